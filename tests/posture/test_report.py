"""The printable report: score, deductions, accepted risks in force, as of the poll's time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from posture.domain.models import RiskAcceptance
from posture.domain.scorecard import rescore_latest
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited(alice):
    cluster = ClusterFactory(name="payments-prod", owners=[alice])
    taken = timezone.now() - timedelta(hours=3)
    seen = snapshot(cluster, taken)
    finding(cluster, seen, "workload.privileged", namespace="shop", name="cart")
    finding(cluster, seen, "image.latest-tag", namespace="shop", name="cart", container="app")
    RiskAcceptance.objects.create(cluster=cluster, check_id="image.latest-tag",
                                  reason="vendor <b>image</b>, pinned next release",
                                  created_by=alice, expires_at=timezone.now() + timedelta(days=20))
    RiskAcceptance.objects.create(cluster=cluster, check_id="workload.privileged",
                                  reason="expired one", created_by=alice,
                                  expires_at=timezone.now() - timedelta(days=1))
    rescore_latest(cluster)
    return cluster, seen


def test_cluster_report_has_score_deductions_risks_and_as_of(audited, as_alice):
    cluster, seen = audited
    page = as_alice.get(reverse("clusters:report", args=[cluster.pk])).content.decode()
    seen.refresh_from_db()
    assert "Security posture report: <bdi>payments-prod</bdi>" in page
    assert f"<strong>{seen.score:.1f}</strong> / 100" in page
    assert seen.taken_at.isoformat()[:16] in page or f'datetime="{seen.taken_at:%Y-%m-%d}' in page
    assert "Privileged" in page and "workload.privileged" in page
    risks = page[page.index("Accepted risks in force"):]
    assert "vendor &lt;b&gt;image&lt;/b&gt;, pinned next release" in risks
    assert "expired one" not in risks
    assert "css/report." in page


def test_fleet_report_lists_only_the_clusters_i_may_see(audited, bob, as_alice, as_bob, as_sam):
    cluster, _ = audited
    ClusterFactory(name="bobs-cluster", owners=[bob])
    mine = as_alice.get(reverse("fleet-report")).content.decode()
    assert "payments-prod" in mine and "bobs-cluster" not in mine
    assert "bobs-cluster" in as_bob.get(reverse("fleet-report")).content.decode()
    assert "payments-prod" not in as_bob.get(reverse("fleet-report")).content.decode()
    everyone = as_sam.get(reverse("fleet-report")).content.decode()
    assert "payments-prod" in everyone and "bobs-cluster" in everyone
    assert "no successful poll" in everyone


def test_another_teams_cluster_report_answers_404(audited, as_bob):
    cluster, _ = audited
    assert as_bob.get(reverse("clusters:report", args=[cluster.pk])).status_code == 404
