"""Pruning keeps aggregates forever and drops detail past the window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from posture.domain.models import Finding, Snapshot
from posture.domain.retention import prune
from posture.domain.tasks import prune_detail

pytestmark = pytest.mark.django_db


def snap(cluster, days, status="ok"):
    return Snapshot.objects.create(
        cluster=cluster, taken_at=timezone.now() - timedelta(days=days), status=status,
        score=80.0, grade="B", node_count=3, nodes=[{"name": "n1"}] if status == "ok" else None,
        node_summary={"os_images": {"Ubuntu 24.04.1 LTS": 3}})


def test_old_detail_goes_aggregates_stay(cluster_a):
    old, recent = snap(cluster_a, 120), snap(cluster_a, 10)
    old_failed, recent_failed = snap(cluster_a, 121, "failed"), snap(cluster_a, 11, "failed")
    done = prune(keep_days=90)
    assert (done.node_details, done.failed_polls) == (1, 1)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.nodes is None and old.score == 80.0 and old.node_summary
    assert recent.nodes == [{"name": "n1"}]
    assert not Snapshot.objects.filter(pk=old_failed.pk).exists()
    assert Snapshot.objects.filter(pk=recent_failed.pk).exists()


def test_snapshots_that_findings_refer_to_are_kept(cluster_a):
    failed = snap(cluster_a, 200, "failed")
    Finding.objects.create(cluster=cluster_a, check_id="x", kind="Pod", name="p", severity="low",
                           category="workloads", message="m", first_seen=failed,
                           first_seen_at=failed.taken_at)
    assert prune(keep_days=90).failed_polls == 0


def test_the_beat_task_prunes_with_the_configured_window(cluster_a, settings):
    settings.POSTURE_RETENTION_DAYS = 5
    snap(cluster_a, 6)
    assert prune_detail() == {"node_details": 1, "failed_polls": 0}


def test_pruning_twice_changes_nothing_more(cluster_a):
    snap(cluster_a, 100)
    prune(keep_days=90)
    assert prune(keep_days=90) == type(prune(keep_days=90))(0, 0)
