"""Logging in: throttled guessing, session fixation, safe redirects."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
URL = reverse("login")


def attempt(client, password, username="alice", **extra):
    return client.post(URL, {"username": username, "password": password, **extra})


@pytest.mark.threat('Password guessing',
                     'Logins throttled per user name and per address')
def test_five_failures_lock_the_user_name_even_with_the_right_password(alice):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert attempt(client, "guess").status_code == 200
    page = attempt(Client(REMOTE_ADDR="198.51.100.1"), "correct-horse-battery")
    assert page.status_code == 200
    assert "Too many failed logins" in page.content.decode()


@pytest.mark.threat('Password guessing',
                     'Logins throttled per user name and per address')
def test_failures_from_one_address_lock_that_address(alice, bob):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for name in ("x1", "x2", "x3", "x4", "x5"):
        attempt(client, "guess", username=name)
    assert "Too many failed logins" in attempt(client, "correct-horse-battery").content.decode()
    other = attempt(Client(REMOTE_ADDR="198.51.100.2"), "correct-horse-battery", username="bob")
    assert other.status_code == 302


@pytest.mark.threat('Session fixation',
                     'The session key is rotated at login')
def test_a_good_login_works_and_rotates_the_session(alice):
    client = Client()
    client.get(URL)
    client.cookies["sessionid"] = "attacker-chosen-session-id"
    response = attempt(client, "correct-horse-battery")
    assert response.status_code == 302
    assert client.cookies["sessionid"].value != "attacker-chosen-session-id"


@pytest.mark.threat('Open redirect after login',
                     'next= is followed only within this site')
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "javascript:alert(1)"])
def test_next_cannot_send_the_user_to_another_site(alice, target):
    response = attempt(Client(), "correct-horse-battery", next=target)
    assert response.status_code == 302
    assert response.url.startswith("/") and not response.url.startswith("//")


def test_next_within_the_site_is_followed(alice):
    response = attempt(Client(), "correct-horse-battery", next="/policy/")
    assert response.url == "/policy/"
