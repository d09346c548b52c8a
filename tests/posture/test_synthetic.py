import pytest
from django.core.management import call_command
from django.utils import timezone

from clusters.models import Cluster
from posture.domain.models import Finding, Snapshot

pytestmark = pytest.mark.django_db


def test_seed_history_builds_consistent_history(capsys):
    call_command("seed_history", "--clusters", "2", "--days", "30", "--polls-per-day", "4")
    assert "seeded 2 clusters, 240 snapshots" in capsys.readouterr().out
    assert Cluster.objects.count() == 2
    assert Snapshot.objects.count() == 240
    for finding in Finding.objects.exclude(resolved_at=None):
        assert finding.resolved_at > finding.first_seen_at
    latest = Snapshot.objects.order_by("-taken_at").first()
    assert latest.open_findings == Finding.objects.filter(
        cluster=latest.cluster, resolved_at=None).count()
    assert 0 <= latest.score <= 100 and latest.grade


def test_seeded_history_has_the_rollups_the_pages_read():
    from posture.domain.models import ClusterCurrent, ClusterDay

    call_command("seed_history", "--clusters", "3", "--days", "20", "--polls-per-day", "4")
    # One row per cluster and calendar day it was polled on: 20 days of polls starting at this
    # hour touch 21 dates unless they start before 06:00.
    polled_days = {(cluster_id, timezone.localdate(taken_at)) for cluster_id, taken_at
                   in Snapshot.objects.values_list("cluster_id", "taken_at")}
    assert len(polled_days) in (3 * 20, 3 * 21)
    assert set(ClusterDay.objects.values_list("cluster_id", "day")) == polled_days
    for cluster in Cluster.objects.all():
        latest = Snapshot.objects.filter(cluster=cluster).order_by("-taken_at").first()
        now = ClusterCurrent.objects.get(cluster=cluster)
        assert (now.snapshot_id, now.score, now.grade, now.last_poll_status) == (
            latest.pk, latest.score, latest.grade, "ok")
        assert now.kubernetes_eol is not None
        newest_day = ClusterDay.objects.filter(cluster=cluster).order_by("-day").first()
        assert newest_day.snapshot_id == latest.pk
    # Findings point at the snapshots the COPY wrote.
    first_seen = set(Finding.objects.values_list("first_seen_id", flat=True))
    assert first_seen <= set(Snapshot.objects.values_list("pk", flat=True))
