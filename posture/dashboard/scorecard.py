"""One cluster's scorecard: grade, deductions, version support, nodes, Pod Security, fixes."""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clusters.models import Cluster
from posture.checks import CATALOG, Policy
from posture.checks import pss as pss_rules
from posture.checks.base import Check
from posture.checks.rules.workloads import CONTROL_CHECKS
from posture.checks.vocabulary import Category, Severity
from posture.dashboard import today
from posture.dashboard.overview import OSRow, os_rows
from posture.lifecycle import KubeSupport, OSSupport, kubernetes_support, os_support
from posture.models import SUCCEEDED, Finding, Snapshot
from posture.scoring import EOL_GRADE, Fix, Grade, Scorecard
from posture.snapshots import apply_score

TOP_FIXES = 5

# --- Pod Security per namespace ---------------------------------------------------------------

ENFORCE_UNKNOWN = "labelled"
EXEMPT = "exempt"
NOT_ENFORCED_CHECK = "namespace.pss-not-enforced"
VIOLATES_CHECK = "workload.violates-namespace-level"
RUNS_AS_ROOT_CHECK = "workload.runs-as-root"


def _pss_check_levels() -> dict[str, str]:
    """Return, per PSS check, the level a finding of it breaks ("baseline" or "restricted").

    ``mixed`` marks checks that report a control of each level (seccomp); their finding's
    evidence says which level reported it.
    """
    baseline = set(pss_rules.controls("baseline", "latest"))
    controls: dict[str, set[str]] = defaultdict(set)
    for control, check_id in CONTROL_CHECKS.items():
        controls[check_id].add(control)
    levels = {}
    for check_id, mine in controls.items():
        if mine <= baseline:
            levels[check_id] = "baseline"
        elif mine.isdisjoint(baseline):
            levels[check_id] = "restricted"
        elif check_id == "workload.proc-mount-unmasked":
            # An unmasked /proc fails the baseline control whenever it fails the restricted one.
            levels[check_id] = "baseline"
        else:
            levels[check_id] = "mixed"
    # runAsNonRoot and runAsUser are restricted controls, reported per container by this check.
    levels[RUNS_AS_ROOT_CHECK] = "restricted"
    return levels


PSS_CHECK_LEVELS: Mapping[str, str] = _pss_check_levels()
PSS_RELATED = (*PSS_CHECK_LEVELS, NOT_ENFORCED_CHECK, VIOLATES_CHECK)


@dataclass
class NamespacePSS:
    """A namespace's Pod Security: the level enforced by its label and the level it meets."""

    namespace: str
    enforced: str = ENFORCE_UNKNOWN
    met: str = ""
    failing: set[str] = field(default_factory=set)
    violating_workloads: int = 0

    @property
    def failing_titles(self) -> list[str]:
        """Return the titles of the PSS checks its workloads fail, sorted."""
        return sorted(CATALOG[c].title if c in CATALOG else c for c in self.failing)

    @property
    def gap(self) -> bool:
        """Say whether the namespace could enforce a stricter level than it does."""
        order = ("privileged", "baseline", "restricted")
        return (self.enforced in order and self.met in order
                and order.index(self.met) > order.index(self.enforced))


def namespace_pss(rows: Iterable[Mapping[str, Any]], policy: Policy) -> list[NamespacePSS]:
    """Return the Pod Security of every namespace that has an open PSS-related finding.

    *Enforced* comes from the findings too, since snapshots keep no namespace labels: an open
    ``namespace.pss-not-enforced`` finding means no enforce label (privileged); a
    ``workload.violates-namespace-level`` finding's evidence names the enforced level; else the
    namespace is labelled but its level was not recorded.

    *Met* is the strictest level none of the namespace's workloads fails: an open finding of a
    check whose Pod Security controls are all baseline controls means baseline is not met
    (privileged); one of a restricted-only check (or ``workload.runs-as-root``) means restricted
    is not met (baseline); the seccomp check reports a control of each level and its evidence
    ``level`` says which. With no such finding the namespace meets ``target``, the policy's
    level — the only one the checks evaluated. Under a restricted policy, a seccomp finding that
    breaks both levels is recorded at restricted, so "baseline" may be one level generous there.
    Namespaces with no PSS-related finding at all are not listed: they meet ``target``.
    Namespaces the policy exempts (system namespaces among them) show as ``exempt``.
    """
    target = policy.pss_level
    found: dict[str, NamespacePSS] = {}

    def entry(name: str) -> NamespacePSS:
        return found.setdefault(name, NamespacePSS(name))

    broken: dict[str, set[str]] = defaultdict(set)
    workloads: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in rows:
        check_id = row["check_id"]
        stored = row.get("evidence")
        evidence: Mapping[str, Any] = stored if isinstance(stored, dict) else {}
        if check_id == NOT_ENFORCED_CHECK:
            entry(row["name"]).enforced = "privileged"
            continue
        namespace = row["namespace"]
        ns = entry(namespace)
        if check_id == VIOLATES_CHECK:
            level = str(evidence.get("level", ""))
            if level in pss_rules.LEVELS and ns.enforced == ENFORCE_UNKNOWN:
                ns.enforced = level
            workloads[namespace].add((row["kind"], row["name"]))
            continue
        broken_level = PSS_CHECK_LEVELS.get(check_id)
        if broken_level == "mixed":
            broken_level = "baseline" if evidence.get("level") == "baseline" else "restricted"
        if broken_level is None:
            continue
        broken[namespace].add(broken_level)
        ns.failing.add(check_id)
    for name, ns in found.items():
        if policy.pss_exempt(name) and ns.enforced == ENFORCE_UNKNOWN:
            ns.enforced = EXEMPT
        levels = broken.get(name, set())
        ns.met = "privileged" if "baseline" in levels else (
            "baseline" if "restricted" in levels else target)
        ns.violating_workloads = len(workloads.get(name, ()))
    return sorted(found.values(), key=lambda n: n.namespace)


# --- The scorecard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeductionRow:
    """One check's cost in a category, with its catalog entry."""

    check: Check | None
    check_id: str
    severity: Severity
    count: int
    points: float
    overall: float
    affected: int
    out_of: int
    scope: str


@dataclass(frozen=True)
class CategoryRow:
    category: Category
    score: float
    weight: float
    deductions: list[DeductionRow]


@dataclass(frozen=True)
class FixRow:
    """A fix with its catalog entry."""

    fix: Fix
    check: Check | None


@dataclass(frozen=True)
class NodeRow:
    """A node from the newest snapshot, with its OS support and age in days."""

    node: Mapping[str, str]
    support: OSSupport
    age_days: int | None


@dataclass
class ClusterScorecard:
    """What the scorecard page shows about a cluster's newest successful snapshot."""

    snapshot: Snapshot | None
    card: Scorecard | None = None
    categories: list[CategoryRow] = field(default_factory=list)
    support: KubeSupport | None = None
    nodes: list[NodeRow] = field(default_factory=list)
    os_images: list[OSRow] = field(default_factory=list)
    namespaces: list[NamespacePSS] = field(default_factory=list)
    pss_target: str = ""
    top_fixes: list[FixRow] = field(default_factory=list)
    next_grade: Grade | None = None
    plan: list[FixRow] | None = None

    @property
    def grade(self) -> Grade | None:
        return Grade(self.snapshot.grade) if self.snapshot and self.snapshot.grade else None

    @property
    def cap_grade(self) -> Grade | None:
        """Return the best grade the cluster can have while a cap is in force, if one is."""
        return EOL_GRADE if self.card is not None and self.card.capped_by else None

    @property
    def unread(self) -> dict[str, Mapping[str, Any]]:
        """Return the resources the newest poll could not read, with the reason."""
        coverage = (self.snapshot.coverage if self.snapshot else None) or {}
        return {name: c for name, c in sorted(coverage.items())
                if isinstance(c, dict) and c.get("state") in ("forbidden", "error")}


# The heaviest fields of a snapshot (a big cluster's node list runs to hundreds of kB), which only
# the scorecard itself shows.
_DETAIL = ("nodes", "coverage", "node_summary", "category_scores")


def latest_successful(cluster: Cluster, *, detail: bool = True) -> Snapshot | None:
    """Return the newest successful snapshot; without ``detail``, leave its nodes, coverage,
    node summary and category breakdown unread (reading one later costs a query)."""
    snapshots = cluster.snapshots.filter(status__in=SUCCEEDED)
    if not detail:
        snapshots = snapshots.defer(*_DETAIL)
    return snapshots.order_by("-taken_at").first()


def current_scorecard(snapshot: Snapshot, cluster: Cluster, now: datetime) -> Scorecard:
    """Score the cluster's open findings now, as the newest snapshot was scored.

    Works on a copy, so the snapshot shown keeps the score it was stored with.
    """
    scratch = copy.copy(snapshot)
    scratch.cluster = cluster
    return apply_score(scratch, now)


def _category_rows(stored: Mapping[str, Any]) -> list[CategoryRow]:
    rows = []
    for category in Category.ordered():
        data = stored.get(str(category))
        if not isinstance(data, dict):
            continue
        deductions = [
            DeductionRow(
                check=CATALOG.get(d["check"]),
                check_id=d["check"],
                severity=Severity(d["severity"]),
                count=d["count"],
                points=d["points"],
                overall=d["overall"],
                affected=d["affected"],
                out_of=d["out_of"],
                scope=d["scope"],
            )
            for d in data.get("deductions", [])
        ]
        rows.append(CategoryRow(category, data["score"], data["weight"], deductions))
    return rows


def _age(created: str, day: date) -> int | None:
    try:
        return (day - date.fromisoformat(created[:10])).days
    except ValueError:
        return None


def build(cluster: Cluster, now: datetime, policy: Policy) -> ClusterScorecard:
    """Return ``cluster``'s scorecard from its newest successful snapshot and open findings."""
    snapshot = latest_successful(cluster)
    if snapshot is None:
        return ClusterScorecard(snapshot=None)
    day = today(now)
    card = current_scorecard(snapshot, cluster, now)
    nodes = [
        NodeRow(n, os_support(n.get("os_image"), day, kernel_version=n.get("kernel"),
                              kubelet_version=n.get("kubelet")), _age(n.get("created", ""), day))
        for n in (snapshot.nodes or []) if isinstance(n, dict)
    ]
    pss_rows = Finding.objects.filter(
        cluster=cluster, resolved_at__isnull=True, check_id__in=PSS_RELATED
    ).values("check_id", "kind", "namespace", "name", "evidence")
    better = [g for g in Grade.ordered() if g.rank == card.grade.rank + 1]
    plan = card.points_to_grade(better[0]) if better else None
    return ClusterScorecard(
        snapshot=snapshot,
        card=card,
        categories=_category_rows(snapshot.category_scores or {}),
        support=kubernetes_support(snapshot.kubernetes_version or None, day,
                                   snapshot.provider or None),
        nodes=nodes,
        os_images=os_rows((snapshot.node_summary or {}).get("os_images"), day),
        namespaces=namespace_pss(pss_rows, policy),
        pss_target=policy.pss_level,
        top_fixes=[FixRow(f, CATALOG.get(f.check)) for f in card.top_fixes(TOP_FIXES)],
        next_grade=better[0] if better else None,
        plan=None if plan is None else [FixRow(f, CATALOG.get(f.check)) for f in plan],
    )
