"""Password logins once single sign-on is on: break-glass administrators only, or nobody."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from posture.domain.oidc.backends import OidcBackend
from posture.domain.oidc.provider import LocalLogin, OidcSettings
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
OIDC = OidcSettings(issuer="https://login.example.com", client_id="posture", client_secret="x",
                    provider_name="Example SSO")


@pytest.fixture
def single_sign_on(settings):
    settings.POSTURE_OIDC = OIDC
    settings.POSTURE_LOCAL_LOGIN = LocalLogin.SUPERUSERS
    return settings


def log_in(username: str, client: Client | None = None):
    client = client or Client()
    return client, client.post(reverse("login"), {"username": username, "password": PASSWORD})


def test_without_single_sign_on_the_login_page_is_unchanged(alice):
    page = Client().get(reverse("login")).content.decode()
    assert "Log in with" not in page and 'name="password"' in page
    assert log_in("alice")[1].status_code == 302


@pytest.mark.threat("Local passwords stay a way in once single sign-on is on",
                    "POSTURE_LOCAL_LOGIN: superusers only by default (break-glass), or off; "
                    "the admin's login and existing sessions follow the same rule")
def test_only_superusers_log_in_with_a_password(single_sign_on, alice):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    page = Client().get(reverse("login")).content.decode()
    assert "Log in with <bdi>Example SSO</bdi>" in page and 'name="password"' in page
    assert 'href="/oidc/login/"' in page
    assert log_in("alice")[1].status_code == 200  # the form again, with its error
    assert log_in("root")[1].status_code == 302


@pytest.mark.threat("Local passwords stay a way in once single sign-on is on",
                    "POSTURE_LOCAL_LOGIN: superusers only by default (break-glass), or off; "
                    "the admin's login and existing sessions follow the same rule")
def test_the_admin_login_follows_the_same_rule(single_sign_on):
    UserFactory(username="staffer", is_staff=True)
    response = Client().post(reverse("admin:login"), {"username": "staffer",
                                                      "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in response.client.session


@pytest.mark.threat("Local passwords stay a way in once single sign-on is on",
                    "POSTURE_LOCAL_LOGIN: superusers only by default (break-glass), or off; "
                    "the admin's login and existing sessions follow the same rule")
def test_switching_local_login_off_ends_local_sessions(settings, alice):
    client, response = log_in("alice")
    assert response.status_code == 302 and client.get("/").status_code == 200
    settings.POSTURE_OIDC = OIDC
    settings.POSTURE_LOCAL_LOGIN = LocalLogin.OFF
    assert client.get("/").status_code == 302


def test_with_local_login_off_the_page_offers_only_the_provider(single_sign_on):
    single_sign_on.POSTURE_LOCAL_LOGIN = LocalLogin.OFF
    UserFactory(username="root", is_superuser=True)
    page = Client().get(reverse("login") + "?next=/fleet/findings/").content.decode()
    assert 'name="password"' not in page
    assert 'href="/oidc/login/?next=%2Ffleet%2Ffindings%2F"' in page
    assert log_in("root")[1].status_code == 200


def test_local_login_on_keeps_every_account(single_sign_on, alice):
    single_sign_on.POSTURE_LOCAL_LOGIN = LocalLogin.ON
    assert log_in("alice")[1].status_code == 302


def test_the_provider_backend_ignores_password_logins(single_sign_on, rf):
    """A password form posted with ?code=…&state=… never reaches the provider."""
    request = rf.post("/login/?code=stolen&state=any")
    backend = OidcBackend()
    assert backend.authenticate(request, username="x", password="y") is None
    assert backend.authenticate(request, username="x", password="y", nonce="n",
                                code_verifier="v") is None
