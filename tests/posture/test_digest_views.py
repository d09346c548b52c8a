"""The digest's pages: preferences (logged in, CSRF) and the signed one-click unsubscribe."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from posture.domain import digest
from posture.domain.models import DigestDelivery, DigestPreference

pytestmark = pytest.mark.django_db
URL = reverse("digest:preferences")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The personas' passwords are hashed on creation; the production hasher takes a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def unsubscribe_url(user) -> str:
    return reverse("digest:unsubscribe", args=[digest.unsubscribe_token(user)])


def test_preferences_need_a_login(anon):
    response = anon.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_visible_clusters_are_offered(as_alice, cluster_a, cluster_b):
    page = as_alice.get(URL).content.decode()
    assert "cluster-a" in page
    assert "cluster-b" not in page
    # No preference kept yet: the digest is on.
    assert 'name="enabled" id="id_enabled" checked' in page


def test_saving_a_choice_of_clusters_narrows_the_digest(as_sam, sam, cluster_a, cluster_b):
    response = as_sam.post(URL, {"enabled": "on", "clusters": [cluster_b.pk]})
    assert response.status_code == 302
    preference = DigestPreference.objects.get(user=sam)
    assert preference.enabled
    assert list(preference.clusters.all()) == [cluster_b]
    assert list(digest.chosen_clusters(sam)) == [cluster_b]
    # The page shows the choice back.
    page = as_sam.get(URL).content.decode()
    assert f'value="{cluster_b.pk}" id="id_clusters_1" checked>' in page
    assert f'value="{cluster_a.pk}" id="id_clusters_0">' in page


def test_a_cluster_the_user_cannot_see_is_refused(as_alice, alice, cluster_a, cluster_b):
    response = as_alice.post(URL, {"enabled": "on", "clusters": [cluster_b.pk]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not DigestPreference.objects.filter(user=alice).exists()


def test_turning_the_digest_off(as_alice, alice, cluster_a):
    assert as_alice.post(URL, {}).status_code == 302
    assert DigestPreference.objects.get(user=alice).enabled is False
    assert alice not in digest.recipients()


@pytest.mark.threat('Cross-site request forgery',
                     'CSRF token required on every form')
def test_preferences_post_needs_the_csrf_token(alice, cluster_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(URL, {"enabled": "on"}).status_code == 403
    assert not DigestPreference.objects.filter(user=alice).exists()


def test_recent_deliveries_are_shown(as_alice, alice):
    from datetime import UTC, date, datetime

    DigestDelivery.objects.create(user=alice, week=date(2026, 11, 30), status="sent",
                                  claimed_at=datetime(2026, 11, 30, 7, tzinfo=UTC),
                                  sent_at=datetime(2026, 11, 30, 7, tzinfo=UTC))
    page = as_alice.get(URL).content.decode()
    assert "Week of 30 Nov 2026: sent" in page


def test_unsubscribe_get_only_asks(anon, alice):
    response = anon.get(unsubscribe_url(alice))
    assert response.status_code == 200
    assert "Stop the weekly digest?" in response.content.decode()
    assert alice in digest.recipients()


def test_unsubscribe_post_works_without_session_or_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_url(alice), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "Unsubscribed" in response.content.decode()
    assert DigestPreference.objects.get(user=alice).enabled is False
    assert alice not in digest.recipients()


def test_unsubscribing_keeps_the_chosen_clusters(alice, cluster_a):
    DigestPreference.objects.create(user=alice).clusters.set([cluster_a])
    Client().post(unsubscribe_url(alice))
    preference = DigestPreference.objects.get(user=alice)
    assert preference.enabled is False
    assert list(preference.clusters.all()) == [cluster_a]


@pytest.mark.threat('Someone unsubscribes another user from the digest',
                     'Unsubscribe links are signed per user; a tampered link is refused')
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_unsubscribe_link_is_refused_clearly(alice, bob, method):
    token = digest.unsubscribe_token(alice)
    forged = digest.unsubscribe_token(bob).partition(":")[0] + ":" + token.partition(":")[2]
    for bad in (forged, token[:-3], "nonsense"):
        url = reverse("digest:unsubscribe", args=[bad])
        response = getattr(Client(enforce_csrf_checks=True), method)(url)
        assert response.status_code == 400
        assert "This unsubscribe link is not valid" in response.content.decode()
    assert not DigestPreference.objects.exists()


def test_unsubscribe_refuses_other_methods(alice):
    assert Client().put(unsubscribe_url(alice)).status_code == 405
