"""Single sign-on in the browser, against a real OpenID provider on 127.0.0.1.

The provider (panva's oidc-provider, tests/oidc/) has its own keys and users; Posture finds it
by discovery, signs in with the authorization code flow and PKCE, maps the provider's groups to
roles at each sign-in, and logs out at the provider. Tokens Posture must refuse are crafted
here, signed with the provider's own key or with one it never published, and handed to Posture
by the provider's token endpoint in place of the real one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import Page, Request, expect

from clusters.access import AUDITORS, SECURITY_TEAM
from posture.domain.models import AuditEvent
from posture.domain.oidc.models import Identity
from tests.factories import ClusterFactory, UserFactory
from tests.oidc.fixtures import (
    AUDITORS_GROUP,
    PROVIDER_NAME,
    PROVIDER_PASSWORD,
    SECURITY_TEAM_GROUP,
    TEAM_PREFIX,
    signing_in_with,
    start_provider,
)
from tests.oidc.provider import OpenIdProvider

A = AuditEvent.Action


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory) -> Iterator[OpenIdProvider]:
    running = start_provider(tmp_path_factory.mktemp("provider"), live_server.url)
    yield running
    running.stop()


@pytest.fixture
def sso(settings, provider) -> Iterator[OpenIdProvider]:
    with signing_in_with(settings, provider):
        yield provider


@pytest.fixture
def teams(transactional_db):
    """Cluster ``pay-1`` belongs to team payments, ``web-1`` to team web."""
    from django.contrib.auth.models import Group

    payments = Group.objects.get_or_create(name="payments")[0]
    web = Group.objects.get_or_create(name="web")[0]
    pay = ClusterFactory(name="pay-1")
    pay.owner_teams.add(payments)
    site = ClusterFactory(name="web-1")
    site.owner_teams.add(web)
    return {"pay-1": pay, "web-1": site}


def start_sign_in(page: Page) -> Request:
    """Open the login page and follow its single sign-on link; return the provider request."""
    page.goto("/login/")
    with page.expect_request(lambda r: "/auth?" in r.url) as authorization:
        page.get_by_role("link", name=f"Log in with {PROVIDER_NAME}").click()
    expect(page.get_by_role("heading", name="Sign in to the test provider")).to_be_visible()
    return authorization.value


def sign_in_at_provider(page: Page, login: str, password: str = PROVIDER_PASSWORD) -> None:
    page.get_by_label("User name").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def provider_answer(page: Page, provider: OpenIdProvider, login: str) -> str:
    """Sign in at the provider outside the browser and return its answer, not yet delivered.

    The provider's login form (open in ``page``) is posted with the browser's cookies for the
    provider, and the provider's redirects are followed up to the one that leads back to
    Posture's callback: the URL an attacker would hold, with a code and a state.
    """
    session = requests.Session()
    host = urlsplit(provider.issuer).hostname
    for cookie in page.context.cookies():
        if cookie["domain"] == host:
            session.cookies.set(cookie["name"], cookie["value"], path=cookie["path"])
    response = session.post(page.url, data={"login": login, "password": PROVIDER_PASSWORD},
                            allow_redirects=False, timeout=10)
    while response.is_redirect:
        location = urljoin(response.url, response.headers["Location"])
        if "/oidc/callback/" in location:
            return location
        response = session.get(location, allow_redirects=False, timeout=10)
    raise AssertionError(f"the provider did not answer with a redirect: {response.text[:500]}")


def sso_log_in(page: Page, login: str) -> None:
    start_sign_in(page)
    sign_in_at_provider(page, login)


def fleet_rows(page: Page):
    return page.locator("#fleet-table tbody th[scope=row] > a")


def role_changes(username: str) -> list[dict]:
    return [e.detail for e in AuditEvent.objects.filter(
        action=A.ROLE_CHANGE, target=username).order_by("at", "pk")]


def refusal(reason: str) -> AuditEvent:
    return AuditEvent.objects.get(action=A.LOGIN_FAILED, detail__reason=reason)


def expect_logged_out(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url("/login/?next=/")


@pytest.mark.threat("An intercepted authorization code is redeemed by someone else",
                    "PKCE with S256: the code is bound to a verifier that stays in the session")
def test_the_authorization_request_carries_state_nonce_and_a_pkce_challenge(page: Page, sso):
    sso.add_user("sam", PROVIDER_PASSWORD, [SECURITY_TEAM_GROUP])
    request = start_sign_in(page)
    query = parse_qs(urlsplit(request.url).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert "openid" in query["scope"][0].split()


def test_a_security_team_member_lands_on_the_fleet_overview(page: Page, sso, teams):
    sso.add_user("sam", PROVIDER_PASSWORD, [SECURITY_TEAM_GROUP, "unrelated-group"])
    sso_log_in(page, "sam")
    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    expect(fleet_rows(page)).to_have_text(["pay-1", "web-1"])
    expect(page.locator(".who")).to_have_text("sam")
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    expect(page.get_by_role("link", name="Register a cluster")).to_be_visible()
    identity = Identity.objects.get(subject="sam")
    assert identity.issuer == sso.issuer and identity.user.username == "sam"
    assert list(identity.user.groups.values_list("name", flat=True)) == [SECURITY_TEAM]
    assert not identity.user.has_usable_password()
    assert AuditEvent.objects.filter(action=A.LOGIN, actor=identity.user).count() == 1


def test_an_auditor_reads_every_cluster_and_changes_nothing(page: Page, sso, teams):
    sso.add_user("ava", PROVIDER_PASSWORD, [AUDITORS_GROUP])
    sso_log_in(page, "ava")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    expect(fleet_rows(page)).to_have_text(["pay-1", "web-1"])
    expect(page.get_by_role("link", name="Register a cluster")).to_have_count(0)
    response = page.goto(f"/clusters/{teams['pay-1'].pk}/settings/")
    assert response is not None and response.status == 403
    assert Identity.objects.get(subject="ava").user.groups.get().name == AUDITORS


def test_a_team_member_sees_only_their_teams_clusters(page: Page, sso, teams):
    sso.add_user("tia", PROVIDER_PASSWORD, [f"{TEAM_PREFIX}payments"])
    sso_log_in(page, "tia")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    expect(fleet_rows(page)).to_have_text(["pay-1"])
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    response = page.goto(teams["web-1"].get_absolute_url())
    assert response is not None and response.status == 404
    response = page.goto(f"/clusters/{teams['pay-1'].pk}/settings/")
    assert response is not None and response.status == 200


@pytest.mark.threat("A person keeps roles the provider has taken away",
                    "Roles are recomputed from the provider's groups at every sign-in; each "
                    "change is an audit row with what was added and removed")
def test_groups_changed_at_the_provider_are_applied_at_the_next_sign_in(page: Page, sso, teams):
    sso.add_user("tia", PROVIDER_PASSWORD, [f"{TEAM_PREFIX}payments"])
    sso_log_in(page, "tia")
    expect(fleet_rows(page)).to_have_text(["pay-1"])

    # Logging out ends the session at the provider too: the next sign-in asks for a password.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page).to_have_url("/login/")

    sso.set_groups("tia", [SECURITY_TEAM_GROUP, f"{TEAM_PREFIX}web"])
    sso_log_in(page, "tia")
    expect(fleet_rows(page)).to_have_text(["pay-1", "web-1"])
    expect(page.get_by_role("link", name="Audit log")).to_be_visible()
    assert role_changes("tia") == [
        {"change": "sign-in", "added": ["payments"], "removed": [], "groups": ["payments"]},
        {"change": "sign-in", "added": [SECURITY_TEAM, "web"], "removed": ["payments"],
         "groups": [SECURITY_TEAM, "web"]},
    ]

    # Signing in again with the same groups changes nothing and writes no role change.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    sso_log_in(page, "tia")
    expect(fleet_rows(page)).to_have_text(["pay-1", "web-1"])
    assert len(role_changes("tia")) == 2
    assert AuditEvent.objects.filter(action=A.LOGIN, actor__username="tia").count() == 3


@pytest.mark.threat("Login CSRF: an attacker's sign-in answer is played into a victim's browser",
                    "The callback needs the state this browser's session started, used once; "
                    "anything else is refused and audited")
def test_a_callback_with_a_wrong_state_is_refused(page: Page, sso):
    sso.add_user("sam", PROVIDER_PASSWORD, [SECURITY_TEAM_GROUP])
    start_sign_in(page)
    answer = provider_answer(page, sso, "sam")
    parts = urlsplit(answer)
    query = parse_qs(parts.query)
    query["state"] = ["forged-" + query["state"][0]]
    page.goto(urlunsplit(parts._replace(query=urlencode(query, doseq=True))))
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    assert refusal("state").detail["method"] == "oidc"
    assert not Identity.objects.exists()
    expect_logged_out(page)
    # Only the state was wrong: the provider's answer itself signs in.
    page.goto(answer)
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()


@pytest.mark.threat("Login CSRF: an attacker's sign-in answer is played into a victim's browser",
                    "The callback needs the state this browser's session started, used once; "
                    "anything else is refused and audited")
def test_an_answer_played_into_another_browser_is_refused_and_works_once(page: Page, sso,
                                                                        browser, live_server):
    sso.add_user("mallory", PROVIDER_PASSWORD, [])
    start_sign_in(page)
    answer = provider_answer(page, sso, "mallory")

    victim = browser.new_context(base_url=live_server.url)
    try:
        theirs = victim.new_page()
        start_sign_in(theirs)  # even while a sign-in of their own is pending
        theirs.goto(answer)
        expect(theirs.get_by_role("heading", name="Sign-in failed")).to_be_visible()
        expect_logged_out(theirs)
    finally:
        victim.close()
    page.goto(answer)
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    page.goto(answer)
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    assert AuditEvent.objects.filter(action=A.LOGIN_FAILED, detail__reason="state").count() == 2


FORGERIES = {
    # name: (claims changed — times relative to now —, signed with the rogue key, the reason)
    # An hour old, expired two minutes ago (past the minute of leeway for clocks).
    "expired": ({"exp": -120, "iat": -3600}, False, "expired"),
    "signed with another key": ({}, True, "signature"),
    "for another client": ({"aud": "another-client"}, False, "audience"),
    "for us and another, issued to the other": (
        {"aud": ["posture", "another-client"], "azp": "another-client"}, False, "audience"),
    "from another issuer": ({"iss": "https://idp.example.com"}, False, "issuer"),
    "for another sign-in (nonce)": ({"nonce": "replayed-nonce"}, False, "nonce"),
}


@pytest.mark.threat("A forged, expired or misdirected ID token signs someone in",
                    "Signature checked against the provider's published keys (asymmetric "
                    "algorithms only), then issuer, audience, authorized party, expiry and the "
                    "sign-in's nonce; a refusal is shown and audited")
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_or_misdirected_id_token_is_refused(page: Page, sso, forgery):
    changes, rogue, reason = FORGERIES[forgery]
    sso.add_user("sam", PROVIDER_PASSWORD, [SECURITY_TEAM_GROUP])
    request = start_sign_in(page)
    nonce = parse_qs(urlsplit(request.url).query)["nonce"][0]
    now = int(time.time())
    claims = sso.standard_claims("sam", nonce)
    for name, value in changes.items():
        claims[name] = now + value if name in ("exp", "iat") else value
    sso.next_id_token(sso.id_token(claims, key=sso.rogue_key if rogue else None))

    sign_in_at_provider(page, "sam")
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    assert refusal(reason).detail["method"] == "oidc"
    assert not Identity.objects.exists()
    expect_logged_out(page)


def test_a_token_crafted_like_the_providers_own_is_accepted(page: Page, sso):
    """The forgeries above differ from this one by one claim or the key, nothing else."""
    sso.add_user("sam", PROVIDER_PASSWORD, [SECURITY_TEAM_GROUP])
    request = start_sign_in(page)
    nonce = parse_qs(urlsplit(request.url).query)["nonce"][0]
    sso.next_id_token(sso.id_token(sso.standard_claims("sam", nonce)))
    sign_in_at_provider(page, "sam")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()


@pytest.mark.threat("An account at the provider takes over a local account with the same name",
                    "Provider accounts are matched by issuer and subject only; a clashing "
                    "user name gets a distinct suffix, and never the local account's rights")
def test_a_provider_user_named_like_the_local_admin_gets_their_own_account(page: Page, sso):
    admin = UserFactory(username="admin", is_superuser=True, is_staff=True)
    sso.add_user("admin", PROVIDER_PASSWORD, [])
    sso_log_in(page, "admin")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()
    user = Identity.objects.get(subject="admin").user
    assert user.username.startswith("admin~")
    expect(page.locator(".who")).to_have_text(user.username)
    assert user != admin and not user.is_superuser and not user.is_staff
    response = page.goto("/admin/")
    assert response is not None and "/admin/login/" in page.url


def test_the_break_glass_admin_still_logs_in_with_a_password(page: Page, sso):
    UserFactory(username="root", is_superuser=True)
    UserFactory(username="alice")
    from tests.browser.conftest import log_in

    log_in(page, "alice")
    expect(page.get_by_role("alert")).to_be_visible()
    expect_logged_out(page)
    log_in(page, "root")
    expect(page.get_by_role("heading", name="Fleet overview")).to_be_visible()


def test_the_sign_in_pages_have_no_serious_axe_violations(browser, live_server, sso):
    from tests.browser.axe import blocking_violations, describe

    # axe goes in as an inline script, which the pages' CSP rightly refuses.
    ctx = browser.new_context(base_url=live_server.url, bypass_csp=True)
    try:
        page = ctx.new_page()
        page.goto("/login/")
        problems = describe("login with single sign-on", blocking_violations(page))
        page.goto("/oidc/callback/?code=c&state=s")
        expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
        problems += describe("sign-in failed", blocking_violations(page))
    finally:
        ctx.close()
    assert problems == [], "\n".join(problems)
