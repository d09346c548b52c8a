"""Signing in against the real provider, below the browser: discovery, ID token checks, and
the callback's refusals. The browser tests (tests/browser/test_single_sign_on.py) go through
the whole flow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.test import Client, RequestFactory

from posture.domain.models import AuditEvent
from posture.domain.oidc import discovery
from posture.domain.oidc.backends import OidcBackend, SignInRefused
from posture.domain.oidc.models import Identity
from posture.domain.oidc.provider import OidcSettings
from tests.factories import UserFactory
from tests.oidc.fixtures import SECURITY_TEAM_GROUP, posture_settings

pytestmark = pytest.mark.django_db


def backend_for(provider) -> OidcBackend:
    backend = OidcBackend()
    backend.configure(posture_settings(provider))
    backend.request = RequestFactory().get("/oidc/callback/")
    return backend


def refusal_of(backend: OidcBackend, token: str, nonce: str = "n-1") -> str:
    with pytest.raises(SignInRefused) as refused:
        backend.verify_token(token, nonce=nonce)
    return refused.value.reason


def test_the_providers_discovery_document_gives_its_endpoints(sso):
    meta = discovery.metadata(posture_settings(sso))
    assert meta.issuer == sso.issuer
    assert meta.token_endpoint == f"{sso.issuer}/token"
    assert meta.jwks_uri == f"{sso.issuer}/jwks"
    assert meta.end_session_endpoint == f"{sso.issuer}/session/end"
    assert meta.client_secret_basic


@pytest.mark.threat("A discovery document speaks for another provider or sends secrets in clear",
                    "The document must name the configured issuer exactly; every endpoint "
                    "must be https (http only on loopback)")
@pytest.mark.parametrize(("change", "problem"), [
    ({"issuer": "https://idp.example.com"}, "names another issuer"),
    ({"token_endpoint": "http://idp.example.com/token"}, "must be an https:// URL"),
    ({"jwks_uri": None}, "has no jwks_uri"),
])
def test_a_discovery_document_is_checked(change, problem):
    oidc = OidcSettings(issuer="https://login.example.com", client_id="c", client_secret="s")
    document = {"issuer": oidc.issuer, "authorization_endpoint": "https://login.example.com/a",
                "token_endpoint": "https://login.example.com/t",
                "jwks_uri": "https://login.example.com/k"}
    document.update(change)
    with pytest.raises(discovery.ProviderUnavailable, match=problem):
        discovery.parse(oidc, {k: v for k, v in document.items() if v is not None})


def test_a_token_like_the_providers_own_passes(sso):
    backend = backend_for(sso)
    claims = sso.standard_claims("sam", "n-1")
    assert backend.verify_token(sso.id_token(claims), nonce="n-1") == claims


@pytest.mark.threat("A forged, expired or misdirected ID token signs someone in",
                    "Signature checked against the provider's published keys (asymmetric "
                    "algorithms only), then issuer, audience, authorized party, expiry and the "
                    "sign-in's nonce; a refusal is shown and audited")
def test_unsigned_and_client_secret_signed_tokens_are_refused(sso):
    backend = backend_for(sso)
    claims = sso.standard_claims("sam", "n-1")
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refusal_of(backend, unsigned) == "algorithm"
    # Algorithm confusion: HS256 "signed" with the client's own secret.
    confused = jwt.encode(claims, sso.client_secret, algorithm="HS256",
                          headers={"kid": sso.kid})
    assert refusal_of(backend, confused) == "algorithm"


@pytest.mark.threat("A forged, expired or misdirected ID token signs someone in",
                    "Signature checked against the provider's published keys (asymmetric "
                    "algorithms only), then issuer, audience, authorized party, expiry and the "
                    "sign-in's nonce; a refusal is shown and audited")
@pytest.mark.parametrize(("change", "reason"), [
    ({"exp": None}, "claims"),
    ({"iat": None}, "claims"),
    ({"sub": None}, "claims"),
    ({"nbf": 3600}, "not-yet-valid"),
    ({"exp": -61}, "expired"),
    ({"aud": ["posture", "other"]}, "audience"),  # several audiences and no azp
    ({"azp": "other"}, "audience"),
])
def test_each_claim_rule_refuses_on_its_own(sso, change, reason):
    backend = backend_for(sso)
    now = int(time.time())
    claims = sso.standard_claims("sam", "n-1")
    for name, value in change.items():
        claims[name] = now + value if name in ("exp", "nbf") and value is not None else value
    claims = {k: v for k, v in claims.items() if v is not None}
    assert refusal_of(backend, sso.id_token(claims)) == reason


def test_a_key_the_provider_never_published_is_refused(sso):
    backend = backend_for(sso)
    claims = sso.standard_claims("sam", "n-1")
    assert refusal_of(backend, sso.id_token(claims, kid="unknown-kid")) == "signature"
    assert refusal_of(backend, sso.id_token(claims, key=sso.rogue_key)) == "signature"


def test_a_minute_of_clock_difference_is_tolerated(sso):
    backend = backend_for(sso)
    claims = sso.standard_claims("sam", "n-1", exp=int(time.time()) - 30)
    assert backend.verify_token(sso.id_token(claims), nonce="n-1")["sub"] == "sam"


def test_a_deactivated_user_is_refused_and_keeps_their_roles(sso):
    backend = backend_for(sso)
    user = UserFactory(username="gone", is_active=False)
    Identity.objects.create(user=user, issuer=sso.issuer, subject="gone")
    with pytest.raises(SignInRefused, match="inactive"):
        backend.sign_in({"sub": "gone", "groups": [SECURITY_TEAM_GROUP]})
    assert not user.groups.exists()


def test_the_same_subject_at_another_issuer_is_another_person(sso):
    backend = backend_for(sso)
    other = UserFactory(username="sam")
    Identity.objects.create(user=other, issuer="https://idp.example.com", subject="sam")
    user = backend.sign_in({"sub": "sam", "preferred_username": "sam"})
    assert user != other and user.username.startswith("sam~")
    assert backend.sign_in({"sub": "sam"}) == user


def start(client: Client) -> str:
    response = client.get("/oidc/login/?next=/clusters/")
    assert response.status_code == 302
    return response["Location"]


def test_starting_sends_the_browser_to_the_provider_with_pkce(sso):
    location = start(Client())
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{sso.issuer}/auth?")
    assert query["client_id"] == ["posture"]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["scope"] == ["openid email profile groups"]


def callback_refusal(client: Client, **params: str) -> str:
    response = client.get("/oidc/callback/", params)
    assert response.status_code == 403
    assert "Sign-in failed" in response.content.decode()
    assert "_auth_user_id" not in client.session
    return AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).latest("pk").detail[
        "reason"]


def test_the_callback_refuses_what_it_did_not_ask_for(sso):
    client = Client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    assert callback_refusal(client, code="c", state="other") == "state"
    assert callback_refusal(client, state=state) == "state"  # no code
    assert callback_refusal(client, error="access_denied", state=state) == "provider-error"
    # The refused answer used its state up.
    assert callback_refusal(client, code="c", state=state) == "state"


@pytest.mark.threat("An authorization answer from another provider is accepted (mix-up)",
                    "The answer's iss parameter (RFC 9207) must be the configured issuer")
def test_an_answer_naming_another_issuer_is_refused(sso):
    client = Client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    assert callback_refusal(client, code="c", state=state,
                            iss="https://idp.example.com") == "issuer-mismatch"


def test_an_unreachable_provider_is_said_so(settings, db):
    discovery.forget()
    settings.POSTURE_OIDC = OidcSettings(issuer="http://127.0.0.1:9", client_id="c",
                                         client_secret="s")
    response = Client().get("/oidc/login/")
    assert response.status_code == 403
    assert "could not be reached" in response.content.decode()
    assert AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED).detail[
        "reason"] == "provider-unreachable"
    discovery.forget()


def test_logout_without_single_sign_on_stays_local(as_alice):
    response = as_alice.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"


@pytest.mark.threat('Open redirect after login',
                    'next= is followed only within this site')
def test_next_is_kept_only_within_this_site(sso):
    client = Client()
    client.get("/oidc/login/?next=https://evil.example.com/")
    assert client.session["oidc_login_next"] is None
    client.get("/oidc/login/?next=//evil.example.com/")
    assert client.session["oidc_login_next"] is None
    client.get("/oidc/login/?next=/clusters/")
    assert client.session["oidc_login_next"] == "/clusters/"


def test_a_code_the_provider_does_not_know_is_refused_by_its_token_endpoint(sso):
    client = Client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    assert callback_refusal(client, code="made-up", state=state) == "provider-error"
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).latest("pk")
    assert event.detail["detail"] == "HTTP 400"
