"""Alert events: found from polls and on a schedule, stored once, queued once per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from posture.domain import alerts
from posture.domain.alert_models import (
    AlertChannel,
    AlertDelivery,
    AlertEvent,
    AlertKind,
    AlertRule,
)
from posture.domain.models import AuditEvent
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def rule(user, kind=AlertKind.GRADE_DROPPED, threshold=0, clusters=(), **kwargs):
    made, _ = alerts.create_rule(user, recipient=user, name=f"{user.username} {kind}",
                                 kind=kind, threshold=threshold,
                                 channel=kwargs.pop("channel", AlertChannel.EMAIL),
                                 clusters=clusters, **kwargs)
    return made


def polled(cluster, before=85.0, after=55.0):
    first = snapshot(cluster, NOW - timedelta(hours=1), score=before)
    second = snapshot(cluster, NOW, score=after)
    return first, second


def test_a_grade_drop_is_one_event_and_one_delivery_per_rule(alice, sam, cluster_a):
    mine, theirs = rule(alice), rule(sam)
    first, second = polled(cluster_a)
    assert alerts.snapshot_recorded(second, first) == 2
    # Recording the same poll again (a retried task) changes nothing.
    assert alerts.snapshot_recorded(second, first) == 0
    [event] = AlertEvent.objects.all()
    assert event.kind == AlertKind.GRADE_DROPPED
    assert event.detail["from"] == "B" and event.detail["to"] == "F"
    assert set(AlertDelivery.objects.values_list("rule", flat=True)) == {mine.pk, theirs.pk}


def test_a_better_grade_or_a_first_poll_is_not_news(alice, cluster_a):
    rule(alice)
    first, second = polled(cluster_a, before=55.0, after=85.0)
    assert alerts.snapshot_recorded(second, first) == 0
    assert alerts.snapshot_recorded(first, None) == 0
    assert not AlertEvent.objects.exists()


@pytest.mark.threat('An alert tells a user about a cluster they may not see',
                     "A rule's scope is its recipient's visibility (clusters.access), checked when each event happens")
def test_owners_are_told_about_their_clusters_only(alice, bob, sam, cluster_a, cluster_b):
    rule(alice), rule(bob), rule(sam)
    first, second = polled(cluster_a)
    alerts.snapshot_recorded(second, first)
    recipients = set(AlertDelivery.objects.values_list("rule__recipient__username", flat=True))
    assert recipients == {"alice", "sam"}


def test_a_rule_narrowed_to_clusters_ignores_the_others(sam, cluster_a, cluster_b):
    rule(sam, clusters=[cluster_b])
    first, second = polled(cluster_a)
    alerts.snapshot_recorded(second, first)
    assert not AlertDelivery.objects.exists()


def test_an_owner_cannot_scope_a_rule_to_a_cluster_they_cannot_see(alice, cluster_a, cluster_b):
    made = rule(alice, clusters=[cluster_a, cluster_b])
    assert list(made.clusters.all()) == [cluster_a]


def test_a_disabled_rule_queues_nothing(alice, cluster_a):
    made = rule(alice)
    alerts.change_rule(alice, made, name=made.name, threshold=0, enabled=False)
    first, second = polled(cluster_a)
    alerts.snapshot_recorded(second, first)
    assert not AlertDelivery.objects.exists()


def test_each_new_critical_finding_is_an_event(alice, cluster_a):
    rule(alice, kind=AlertKind.NEW_CRITICAL)
    first, second = polled(cluster_a, before=60.0, after=60.0)
    finding(cluster_a, first, "access.anonymous-binding", kind="ClusterRoleBinding",
            namespace="", name="old")
    new = finding(cluster_a, second, "access.anonymous-binding", kind="ClusterRoleBinding",
                  namespace="", name="anon-admin")
    finding(cluster_a, second, "image.latest-tag", name="web")  # not critical
    assert alerts.snapshot_recorded(second, first) == 1
    [event] = AlertEvent.objects.all()
    assert event.key == f"finding:{new.pk}"
    assert event.detail["workload"] == "ClusterRoleBinding anon-admin"


def test_findings_of_a_new_check_set_are_a_baseline(alice, cluster_a):
    rule(alice, kind=AlertKind.NEW_CRITICAL)
    first = snapshot(cluster_a, NOW - timedelta(hours=1), checkset_version="older")
    second = snapshot(cluster_a, NOW)
    finding(cluster_a, second, "access.anonymous-binding", kind="ClusterRoleBinding",
            namespace="", name="anon-admin")
    assert alerts.snapshot_recorded(second, first) == 0


def test_end_of_life_within_a_rules_days(alice, cluster_a):
    near, far = (rule(alice, kind=AlertKind.EOL_SOON, threshold=days) for days in (30, 3650))
    # 1.30 left upstream support on 2025-06-28: past end of life on NOW.
    snapshot(cluster_a, NOW - timedelta(minutes=5), kubernetes_version="v1.30.4",
             kubernetes_minor="1.30")
    assert alerts.detect(NOW) == 2
    assert alerts.detect(NOW + timedelta(minutes=5)) == 0
    assert AlertEvent.objects.count() == 2
    assert {d.rule for d in AlertDelivery.objects.all()} == {near, far}
    assert AlertEvent.objects.filter(threshold=30).get().detail["cycle"] == "1.30"


def test_a_supported_version_far_from_end_of_life_raises_nothing(alice, cluster_a):
    rule(alice, kind=AlertKind.EOL_SOON, threshold=1)
    snapshot(cluster_a, NOW, kubernetes_version="v1.37.1", kubernetes_minor="1.37")
    assert alerts.detect(NOW) == 0


def test_polls_failing_for_longer_than_a_rules_hours(alice, cluster_a):
    four, six = (rule(alice, kind=AlertKind.POLL_FAILING, threshold=h) for h in (4, 6))
    snapshot(cluster_a, NOW - timedelta(hours=7))
    for hours in (5, 3, 1):
        snapshot(cluster_a, NOW - timedelta(hours=hours), status="failed")
    assert alerts.detect(NOW) == 1
    assert AlertDelivery.objects.get().rule == four
    # Two more hours of failure: the 6-hour rule is told too, the 4-hour one not again.
    assert alerts.detect(NOW + timedelta(hours=2)) == 1
    assert AlertDelivery.objects.filter(rule=six).count() == 1


def test_a_recovered_cluster_is_not_failing(alice, cluster_a):
    rule(alice, kind=AlertKind.POLL_FAILING, threshold=1)
    snapshot(cluster_a, NOW - timedelta(hours=5), status="failed")
    snapshot(cluster_a, NOW - timedelta(minutes=10))
    assert alerts.detect(NOW) == 0


@pytest.mark.threat('A webhook URL (a credential) leaks through a page, the audit log or an error',
                     'Sealed with the vault keys; shown as scheme and host only; errors name the host and status, never the URL')
def test_a_webhook_url_is_sealed_shown_as_its_host_and_never_audited(alice, cluster_a):
    url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    made = rule(alice, channel=AlertChannel.SLACK, url=url)
    stored = AlertRule.objects.get(pk=made.pk)
    assert url.encode() not in bytes(stored.url_sealed)
    assert stored.destination == "https://hooks.slack.com/…"
    detail = str(AuditEvent.objects.get(action=AuditEvent.Action.ALERT_RULE_CREATE).detail)
    assert "XXXXSECRET" not in detail and "hooks.slack.com" in detail


def test_a_generic_webhook_gets_a_signing_key_once(alice):
    made, key = alerts.create_rule(alice, recipient=alice, name="siem", kind=AlertKind.NEW_CRITICAL,
                                   threshold=0, channel=AlertChannel.WEBHOOK,
                                   url="https://siem.example/in")
    assert len(key) > 30
    assert key.encode() not in bytes(made.secret_sealed)
