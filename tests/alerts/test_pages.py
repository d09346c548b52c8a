"""The alert rules page and the outbox: who sees and changes what, and no secret shown back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from posture.domain import alerts
from posture.domain.alert_models import AlertChannel, AlertDelivery, AlertKind, AlertRule
from posture.domain.models import AuditEvent
from tests.posture.snapshot_factories import snapshot

pytestmark = pytest.mark.django_db
SLACK = "https://hooks.slack.com/services/T000/B000/VERYSECRETPART"


def create(client, **fields):
    data = {"name": "drops", "kind": AlertKind.GRADE_DROPPED, "threshold": "",
            "channel": AlertChannel.SLACK, "url": SLACK, **fields}
    return client.post(reverse("alert-rules"), data)


def test_an_owner_creates_a_rule_and_sees_only_the_host_of_its_url(as_alice, alice):
    response = create(as_alice)
    assert response.status_code == 302
    page = as_alice.get(reverse("alert-rules")).content.decode()
    assert "https://hooks.slack.com/…" in page and "VERYSECRETPART" not in page
    rule = AlertRule.objects.get()
    assert rule.recipient == alice
    edit = as_alice.get(reverse("alert-rule-edit", args=[rule.pk])).content.decode()
    assert "VERYSECRETPART" not in edit
    event = AuditEvent.objects.get(action=AuditEvent.Action.ALERT_RULE_CREATE)
    assert event.actor == alice and "VERYSECRETPART" not in str(event.detail)


def test_a_plain_http_or_missing_url_is_refused(as_alice):
    assert create(as_alice, url="http://hooks.example/x").status_code == 200
    assert create(as_alice, url="").status_code == 200
    assert not AlertRule.objects.exists()


def test_a_threshold_kind_needs_its_n(as_alice):
    page = create(as_alice, kind=AlertKind.EOL_SOON, threshold="").content.decode()
    assert "Give N in days." in page
    assert create(as_alice, kind=AlertKind.EOL_SOON, threshold="30").status_code == 302


def test_a_generic_webhook_shows_its_signing_key_once(as_alice):
    response = create(as_alice, channel=AlertChannel.WEBHOOK, url="https://siem.example/in")
    page = as_alice.get(response["Location"]).content.decode()
    assert "signing key, shown only now" in page
    assert "signing key" not in as_alice.get(reverse("alert-rules")).content.decode()


def test_rules_are_seen_by_their_owner_and_the_fleet_roles(as_alice, as_bob, as_sam, as_ava):
    create(as_alice, name="alice-drops")
    assert "alice-drops" not in as_bob.get(reverse("alert-rules")).content.decode()
    for client in (as_sam, as_ava):
        assert "alice-drops" in client.get(reverse("alert-rules")).content.decode()


def test_an_auditor_cannot_create_rules(as_ava):
    assert create(as_ava).status_code == 403
    assert 'id="new-rule"' not in as_ava.get(reverse("alert-rules")).content.decode()


def test_disabling_a_rule_keeps_its_url_and_is_audited(as_alice, as_sam):
    create(as_alice)
    rule = AlertRule.objects.get()
    sealed = bytes(rule.url_sealed)
    response = as_sam.post(reverse("alert-rule-edit", args=[rule.pk]),
                           {"name": "drops", "threshold": "0", "url": ""})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.enabled is False and bytes(rule.url_sealed) == sealed
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ALERT_RULE_CHANGE).count() == 1


def test_bob_cannot_edit_alices_rule(as_alice, as_bob):
    create(as_alice)
    rule = AlertRule.objects.get()
    assert as_bob.post(reverse("alert-rule-edit", args=[rule.pk]), {}).status_code == 404


def test_the_outbox_lists_ones_own_deliveries(alice, bob, sam, as_alice, as_bob, as_sam,
                                              cluster_a, django_assert_max_num_queries):
    for user in (alice, sam):
        alerts.create_rule(user, recipient=user, name=f"{user.username}-rule",
                           kind=AlertKind.GRADE_DROPPED, threshold=0, channel=AlertChannel.EMAIL)
    for index in range(5):
        first = snapshot(cluster_a, timezone.now() - timedelta(hours=2 * index + 2), score=85.0)
        second = snapshot(cluster_a, timezone.now() - timedelta(hours=2 * index + 1), score=45.0)
        alerts.snapshot_recorded(second, first)
    AlertDelivery.objects.filter(rule__recipient=alice).update(last_error="HTTP 500 from x")
    page = as_alice.get(reverse("alert-outbox")).content.decode()
    assert page.count("alice-rule") == 5 and "sam-rule" not in page
    assert "HTTP 500 from x" in page
    assert "alice-rule" not in as_bob.get(reverse("alert-outbox")).content.decode()
    with django_assert_max_num_queries(12):
        page = as_sam.get(reverse("alert-outbox")).content.decode()
    assert page.count("alice-rule") == 5 and page.count("sam-rule") == 5


def test_the_nav_links_to_alerts(as_alice):
    assert 'id="nav-alerts"' in as_alice.get(reverse("home")).content.decode()
