"""Each cluster's day and "now" rows: written with every snapshot, rebuilt set-based in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.forms.models import model_to_dict
from django.utils import timezone

from clusters import collector, kube
from posture.domain import risk, rollups
from posture.domain.models import ClusterCurrent, ClusterDay, OrgPolicy, Snapshot, SnapshotStatus
from posture.domain.polling import poll
from posture.lifecycle import kubernetes_support
from posture.web.dashboard import scorecard
from tests.emulated import register
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=3))


def test_a_poll_writes_the_current_row_and_the_day_with_the_scorecards_score(emulate, alice):
    emulator = emulate("neglected")
    cluster = register(emulator, "neglected")
    cluster.owners.add(alice)
    taken = poll(cluster.pk, opts=FAST).snapshot
    assert taken.status == SnapshotStatus.OK, taken.error
    now = ClusterCurrent.objects.get(cluster=cluster)
    card = scorecard.build(cluster, timezone.now(), OrgPolicy.load().policy())
    assert (now.snapshot_id, now.score, now.grade) == (taken.pk, taken.score, taken.grade)
    assert now.score == card.card.score
    assert now.critical == taken.finding_counts["severity"]["critical"] > 0
    assert now.last_poll_status == SnapshotStatus.OK and now.last_success_at == taken.taken_at
    assert now.kubernetes_eol == kubernetes_support(taken.kubernetes_version,
                                                    taken.taken_at.date()).eol
    day = ClusterDay.objects.get(cluster=cluster)
    assert (day.snapshot_id, day.day, day.score, day.grade) == (
        taken.pk, timezone.localdate(taken.taken_at), taken.score, taken.grade)
    assert day.category_counts == taken.finding_counts["category"]
    assert day.nodes == taken.node_count
    assert day.scoring_version == str(taken.finding_counts["scoring_version"])

    emulator.stop()
    failed = poll(cluster.pk, opts=FAST).snapshot
    assert failed.status == SnapshotStatus.FAILED
    now.refresh_from_db()
    # A failed poll changes the last poll only: the score is still the last successful one's.
    assert (now.last_poll_status, now.last_poll_at) == (SnapshotStatus.FAILED, failed.taken_at)
    assert (now.snapshot_id, now.score) == (taken.pk, taken.score)
    assert ClusterDay.objects.filter(cluster=cluster).count() == 1


def test_an_accepted_risk_rescores_the_current_row_as_the_scorecard(alice):
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=1))
    finding(cluster, seen, "workload.privileged", namespace="shop", name="web")
    risk.accept(cluster=cluster, check_id="workload.privileged", namespace="shop",
                name_pattern="", reason="vendor", expires_at=timezone.now() + timedelta(days=5),
                user=alice)
    seen.refresh_from_db()
    now = ClusterCurrent.objects.get(cluster=cluster)
    day = ClusterDay.objects.get(cluster=cluster)
    assert now.score == day.score == seen.score
    assert now.grade == day.grade == seen.grade


def test_the_day_keeps_its_last_poll_and_now_its_newest_whatever_the_order_saved():
    cluster = ClusterFactory()
    day = datetime(2026, 6, 1, tzinfo=UTC)
    late = snapshot(cluster, day.replace(hour=18), score=70.0)
    snapshot(cluster, day.replace(hour=8), score=50.0)
    snapshot(cluster, day.replace(hour=20), status=SnapshotStatus.FAILED)
    snapshot(cluster, day - timedelta(days=1), score=40.0)
    rows = list(ClusterDay.objects.filter(cluster=cluster).values_list("day", "score"))
    assert rows == [((day - timedelta(days=1)).date(), 40.0), (day.date(), 70.0)]
    now = ClusterCurrent.objects.get(cluster=cluster)
    assert (now.snapshot_id, now.score, now.last_poll_status) == (late.pk, 70.0, "failed")


def _rows() -> list[dict]:
    days = [model_to_dict(r, exclude=["id"]) for r in ClusterDay.objects.order_by("cluster",
                                                                                  "day")]
    now = [model_to_dict(r) for r in ClusterCurrent.objects.order_by("cluster")]
    for row in (*days, *now):
        row["not_evaluated"] = sorted(row["not_evaluated"])
    return days + now


def test_the_set_based_rebuild_writes_what_saving_each_snapshot_wrote():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    scored = ClusterFactory()
    for day in range(5):
        snapshot(scored, now - timedelta(days=day, hours=day), score=60.0 + day,
                 kubernetes_version="v1.33.2-eks-1a2b3c4", provider="eks",
                 node_summary={"os_images": {"CentOS Linux 7 (Core)": 2}, "eol_os_nodes": 2,
                               "os_unknown_nodes": 0},
                 finding_counts={"severity": {"critical": 2, "high": 1},
                                 "platform_severity": {"high": 1},
                                 "category": {"workloads": 3}, "scoring_version": 3},
                 category_scores={"workloads": {"score": 61.5, "evaluated": True},
                                  "vulnerabilities": {"score": None, "evaluated": False}},
                 pod_security=None if day == 4 else {
                     "a": {"enforce": "baseline"}, "b": {}, "c": {"enforce": "strictest"},
                     "d": {"enforce": None}, "e": {"enforce": "baseline"}})
        snapshot(scored, now - timedelta(days=day, hours=day + 2), score=10.0)
    snapshot(scored, now, status=SnapshotStatus.FAILED)
    failing = ClusterFactory()
    snapshot(failing, now, status=SnapshotStatus.FAILED)
    ClusterFactory()  # never polled: no rows
    saved = _rows()
    assert len(saved) == 5 + 2
    levels = ClusterDay.objects.filter(cluster=scored).order_by("-day")
    assert levels[0].pss_levels == {"baseline": 2, "privileged": 2, "restricted": 1}
    assert levels[4].pss_levels is None
    with connection.cursor() as cursor:
        rollups.rebuild(cursor, settings.TIME_ZONE)
    assert _rows() == saved
    with connection.cursor() as cursor:
        rollups.rebuild(cursor, settings.TIME_ZONE, clusters=[failing.pk])
    assert _rows() == saved


def test_a_run_marked_failed_in_bulk_updates_the_last_poll():
    cluster = ClusterFactory()
    running = snapshot(cluster, timezone.now(), status=SnapshotStatus.RUNNING, score=None)
    assert ClusterCurrent.objects.get(cluster=cluster).last_poll_status == "running"
    Snapshot.objects.filter(pk=running.pk).update(status=SnapshotStatus.FAILED)
    rollups.refresh_last_poll(cluster.pk)
    assert ClusterCurrent.objects.get(cluster=cluster).last_poll_status == "failed"
