"""One finding's story: every row of its identity, the evidence, the fix, its acceptance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clusters.models import Cluster
from posture.checks import CATALOG
from posture.checks.advice import Advice
from posture.checks.base import Check
from posture.checks.hidden import visible_json
from posture.domain.models import Finding, RiskAcceptance, Snapshot
from posture.domain.waivers import accepting
from posture.web.dashboard import advice, today


@dataclass(frozen=True)
class FindingPage:
    """A finding, its lifetimes (oldest first: first seen, resolved, reopened …) and context.

    ``advice`` is fitted to the cluster as its newest successful poll saw it.
    """

    finding: Finding
    lifetimes: list[Finding]
    check: Check | None
    acceptance: RiskAcceptance | None
    evidence: str
    advice: Advice | None

    @property
    def reopened(self) -> int:
        """Return how many times the problem came back after being resolved."""
        return max(0, len(self.lifetimes) - 1)


def build(cluster: Cluster, pk: int, now: datetime) -> FindingPage:
    """Return the page of finding ``pk`` of ``cluster``."""
    finding = Finding.objects.select_related("first_seen", "resolved_in").get(
        pk=pk, cluster=cluster)
    lifetimes = list(Finding.objects.filter(
        cluster=cluster, check_id=finding.check_id, kind=finding.kind,
        namespace=finding.namespace, name=finding.name, container=finding.container,
    ).defer("evidence").order_by("first_seen_at", "pk"))
    acceptances = list(RiskAcceptance.objects.filter(
        cluster=cluster, check_id=finding.check_id).select_related("created_by"))
    active = [a for a in acceptances if a.is_active(now)]
    check = CATALOG.get(finding.check_id)
    facts = None
    if check is not None and check.action is not None:
        # Only a provider-dependent fix needs the cluster's facts (and the query for them).
        newest = Snapshot.objects.latest_successful(cluster, detail=False)
        facts = advice.cluster_facts(newest, today(now))
    return FindingPage(
        finding=finding,
        lifetimes=lifetimes,
        check=check,
        acceptance=accepting(finding, active) if finding.is_open else None,
        # JSON, and its own escapes show hidden characters: the block stays valid, exact JSON.
        evidence=visible_json(finding.evidence),
        advice=advice.for_check(check, facts),
    )
