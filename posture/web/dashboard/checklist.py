"""The remediation checklist: a cluster's findings grouped by fix, in the scorecard's order.

Each group is one check (one fix), its findings grouped by workload; each finding is open,
an accepted risk (with the acceptance that covers it), or resolved. Groups follow the ranked
list of ``Scorecard.fixes`` (risk first), the one the scorecard's "Fix first" shows; a check's
points are what fixing all of its counted findings would add to the score now. Findings on
platform-managed components (``Policy.platform_managed``) form their own groups, listed apart,
unless the policy scores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clusters.models import Cluster
from posture.checks import CATALOG, Policy
from posture.checks.advice import Advice
from posture.checks.base import Check
from posture.checks.vocabulary import Category, Severity
from posture.domain import scorecard as scoring_now
from posture.domain.models import Finding, RiskAcceptance, Snapshot
from posture.domain.scoring import Scorecard
from posture.domain.waivers import accepting
from posture.web.dashboard import advice, today

# Resolved findings shown with "show resolved": those resolved in this window, newest first.
RESOLVED_DAYS = 90
RESOLVED_LIMIT = 500
PAST_ACCEPTANCES = 50


class Status:
    """A finding's state on the checklist."""

    OPEN = "open"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Filters:
    """What the checklist is narrowed to; empty strings mean no filter."""

    namespace: str = ""
    severity: str = ""
    category: str = ""
    resolved: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Read filters from GET parameters; unknown severities and categories are ignored."""
        severity = query.get("severity", "")
        category = query.get("category", "")
        return cls(
            namespace=query.get("namespace", "").strip()[:253],
            severity=severity if severity in {str(s) for s in Severity} else "",
            category=category if category in {str(c) for c in Category} else "",
            resolved=query.get("resolved", "") in ("1", "on", "true"),
        )


@dataclass(frozen=True)
class Item:
    """One finding on the checklist and its state."""

    finding: Finding
    status: str
    acceptance: RiskAcceptance | None = None
    # On a platform-managed component (``Policy.set_apart``): shown, marked, not scored.
    platform: bool = False


@dataclass
class WorkloadGroup:
    """The findings of one check on one workload (or node, namespace, binding …)."""

    kind: str
    namespace: str
    name: str
    items: list[Item] = field(default_factory=list)


@dataclass
class Group:
    """One check: what fixing it gains, why and how (fitted to the cluster), its findings."""

    check_id: str
    check: Check | None
    points_gained: float
    platform: bool = False
    advice: Advice | None = None
    workloads: list[WorkloadGroup] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {
        Status.OPEN: 0, Status.ACCEPTED: 0, Status.RESOLVED: 0})
    namespaces: set[str] = field(default_factory=set)

    @property
    def severity(self) -> Severity | None:
        return self.check.severity if self.check else None

    @property
    def slug(self) -> str:
        """Return a DOM-id-safe form of the check id (ids use dots); platform groups of the
        same check get their own."""
        slug = self.check_id.replace(".", "-")
        return f"platform-{slug}" if self.platform else slug


@dataclass
class Checklist:
    """The checklist page's content."""

    snapshot: Snapshot | None
    card: Scorecard | None
    groups: list[Group]
    platform: list[Group]
    platform_scored: bool
    filters: Filters
    active: list[RiskAcceptance]
    past: list[RiskAcceptance]
    namespaces: list[str]


def _findings(cluster: Cluster, filters: Filters, now: datetime) -> list[Finding]:
    base = Finding.objects.filter(cluster=cluster).defer("evidence")
    if filters.namespace:
        base = base.filter(namespace=filters.namespace)
    if filters.severity:
        base = base.filter(severity=filters.severity)
    if filters.category:
        base = base.filter(category=filters.category)
    rows = list(base.filter(resolved_at__isnull=True))
    if filters.resolved:
        rows += list(base.filter(resolved_at__gte=now - timedelta(days=RESOLVED_DAYS))
                     .order_by("-resolved_at")[:RESOLVED_LIMIT])
    return rows


def build(cluster: Cluster, now: datetime, filters: Filters, policy: Policy) -> Checklist:
    """Return ``cluster``'s checklist, narrowed by ``filters``."""
    snapshot = Snapshot.objects.latest_successful(cluster, detail=False)
    card = scoring_now.current(snapshot, cluster, now, policy).card if snapshot else None
    ranked = list(card.fixes()) if card else []
    rank = {fix.check: index for index, fix in enumerate(ranked)}
    gains = {fix.check: fix.points_gained for fix in ranked}
    acceptances = list(RiskAcceptance.objects.filter(cluster=cluster)
                       .select_related("created_by", "revoked_by"))
    active = [a for a in acceptances if a.is_active(now)]
    groups: dict[tuple[bool, str], Group] = {}
    workloads: dict[tuple[bool, str, str, str, str], WorkloadGroup] = {}
    every_namespace: set[str] = set()
    facts = advice.cluster_facts(snapshot, today(now))
    for finding in _findings(cluster, filters, now):
        managed = policy.set_apart(finding.kind, finding.namespace, finding.name)
        group = groups.get((managed, finding.check_id))
        if group is None:
            check = CATALOG.get(finding.check_id)
            group = groups[(managed, finding.check_id)] = Group(
                finding.check_id, check, 0.0 if managed else gains.get(finding.check_id, 0.0),
                managed, advice.for_check(check, facts))
        covering = None
        if finding.resolved_at is not None:
            status = Status.RESOLVED
        else:
            covering = accepting(finding, active)
            status = Status.ACCEPTED if covering else Status.OPEN
        key = (managed, finding.check_id, finding.kind, finding.namespace, finding.name)
        workload = workloads.get(key)
        if workload is None:
            workload = workloads[key] = WorkloadGroup(finding.kind, finding.namespace, finding.name)
            group.workloads.append(workload)
        workload.items.append(Item(finding, status, covering, platform=managed))
        group.counts[status] += 1
        if finding.namespace:
            group.namespaces.add(finding.namespace)
            every_namespace.add(finding.namespace)

    def order(group: Group) -> tuple[int, int, int, str]:
        # The scorecard's ranked list first, in its order; then checks with nothing counted
        # (all accepted, resolved, or of no weight): open ones first, the more severe first.
        severity = group.severity.rank if group.severity else -1
        open_first = 0 if group.counts[Status.OPEN] else 1
        return (rank.get(group.check_id, len(rank)), open_first, -severity, group.check_id)

    ordered = sorted((g for g in groups.values() if not g.platform), key=order)
    platform = sorted((g for g in groups.values() if g.platform),
                      key=lambda g: (-(g.severity.rank if g.severity else -1), g.check_id))
    for group in (*ordered, *platform):
        group.workloads.sort(key=lambda w: (w.namespace, w.kind, w.name))
    return Checklist(
        snapshot=snapshot,
        card=card,
        groups=ordered,
        platform=platform,
        platform_scored=policy.score_platform_findings,
        filters=filters,
        active=active,
        past=[a for a in acceptances if not a.is_active(now)][:PAST_ACCEPTANCES],
        namespaces=sorted(every_namespace),
    )
