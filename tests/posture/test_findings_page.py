"""A finding's page: its lifetimes, evidence, fix and acceptance; hidden from non-owners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from posture.domain.models import RiskAcceptance
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def reopened(cluster_a):
    """A problem seen, resolved, and back again on cluster A; returns (first, second) rows."""
    now = timezone.now()
    first_seen = snapshot(cluster_a, now - timedelta(days=20))
    fixed = snapshot(cluster_a, now - timedelta(days=10))
    back = snapshot(cluster_a, now - timedelta(days=2))
    first = finding(cluster_a, first_seen, "workload.privileged", namespace="shop",
                    name="cart", resolved=fixed, message="Container app is privileged")
    second = finding(cluster_a, back, "workload.privileged", namespace="shop", name="cart",
                     message=f"Container {HOSTILE} is privileged",
                     evidence={"level": "baseline", "note": HOSTILE})
    # Same check elsewhere: not part of this finding's history.
    finding(cluster_a, back, "workload.privileged", namespace="shop", name="other")
    return first, second


def test_history_lists_every_lifetime_of_the_identity(reopened, as_alice):
    first, second = reopened
    page = as_alice.get(reverse("finding", args=[second.pk])).content.decode()
    history = page[page.index('id="history-table"'):]
    history = history[:history.index("</table>")]
    assert history.count("<tr") == 3  # header and two lifetimes
    assert "Container app is privileged" in history
    assert "reopened" in history and "still open" in history
    assert reverse("finding", args=[first.pk]) in history
    assert "came back 1 time" in page


def test_page_shows_evidence_and_the_fix_escaped(reopened, as_alice):
    _, second = reopened
    page = as_alice.get(reverse("finding", args=[second.pk])).content.decode()
    assert HOSTILE not in page
    evidence = page[page.index('id="finding-evidence"'):]
    assert "&quot;level&quot;: &quot;baseline&quot;" in evidence[:evidence.index("</pre>")]
    assert "Why and how" in page and "privileged: false" in page


def test_status_names_the_covering_acceptance(reopened, as_alice, alice):
    first, second = reopened
    RiskAcceptance.objects.create(cluster=second.cluster, check_id="workload.privileged",
                                  namespace="shop", name_pattern="ca*", reason="vendor image",
                                  expires_at=timezone.now() + timedelta(days=9), created_by=alice)
    status = as_alice.get(reverse("finding", args=[second.pk])).content.decode()
    status = status[status.index('id="finding-status"'):]
    assert "accepted risk" in status[:400] and "vendor image" in status[:400]
    resolved = as_alice.get(reverse("finding", args=[first.pk])).content.decode()
    resolved = resolved[resolved.index('id="finding-status"'):]
    assert "resolved" in resolved[:200] and "accepted" not in resolved[:200]


def test_findings_of_other_clusters_are_404(reopened, as_bob, as_ava):
    _, second = reopened
    assert as_bob.get(reverse("finding", args=[second.pk])).status_code == 404
    assert as_bob.get(reverse("finding", args=[second.pk + 1000])).status_code == 404
    assert as_ava.get(reverse("finding", args=[second.pk])).status_code == 200


def test_an_eks_clusters_finding_shows_only_the_eks_command_with_the_next_minor(cluster_a,
                                                                                as_alice):
    now = timezone.now()
    seen = snapshot(cluster_a, now - timedelta(hours=1), kubernetes_version="v1.27.16-eks-2f46c53",
                    kubernetes_minor="1.27", provider="eks")
    eol = finding(cluster_a, seen, "version.kubernetes-eol", kind="Cluster", namespace="",
                  name="")
    page = as_alice.get(reverse("finding", args=[eol.pk])).content.decode()
    fix = page[page.index('id="finding-fix"'):]
    fix = fix[:fix.index("</section>")]
    assert "aws eks update-cluster-version --name CLUSTER --kubernetes-version 1.28" in fix
    for other in ("gcloud ", "az aks", "kubeadm", "1.Y", "1.33"):
        assert other not in fix, other
    assert 'src="/static/js/snippets.js"' in page or "js/snippets" in page


def test_a_findings_why_renders_markdown(reopened, as_alice):
    _, second = reopened
    eol_soon = finding(second.cluster, second.first_seen, "version.kubernetes-eol-soon",
                       kind="Cluster", namespace="", name="")
    page = as_alice.get(reverse("finding", args=[eol_soon.pk])).content.decode()
    assert "<code>eol_warning_days</code>" in page
    assert "`" not in page
