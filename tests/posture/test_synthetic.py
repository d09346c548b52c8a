import pytest
from django.core.management import call_command

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
