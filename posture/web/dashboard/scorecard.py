"""One cluster's scorecard: grade, deductions, version support, nodes, Pod Security, fixes."""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clusters.models import Cluster
from posture.checks import CATALOG, Policy
from posture.checks import pss as pss_rules
from posture.checks.base import Check
from posture.checks.namespaces import LEVEL_ORDER, enforced_level
from posture.checks.rules.workloads import CONTROL_CHECKS
from posture.checks.vocabulary import Category, Severity
from posture.domain import scorecard as scoring_now
from posture.domain.models import Finding, Snapshot
from posture.domain.scorecard import Scored, os_unjudged_nodes
from posture.domain.scoring import Cap, Fix, Grade, GradePath, Scope, Scorecard
from posture.lifecycle import KubeSupport, OSSupport, kubernetes_support, os_support
from posture.web.dashboard import today
from posture.web.dashboard.overview import OSRow, os_rows

# How many fixes "Fix first" shows, unless the path to the next grade needs more of the list.
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
    # Its findings are platform-managed (``Policy.platform_managed``); ``scored`` says whether
    # the policy counts them anyway.
    platform: bool = False
    scored: bool = True
    # Recorded with the poll (``Snapshot.pod_security``): the labels as set, the policy version
    # the workloads were evaluated at, and how many there are. Old snapshots have none.
    recorded: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    met_version: str = ""
    workloads: int = 0
    exempt: bool = False

    @property
    def enforce_version(self) -> str:
        return self.labels.get("enforce-version", "")

    @property
    def audit_warn(self) -> list[tuple[str, str, str]]:
        """Return (mode, level, version) of the audit and warn labels that are set."""
        return [(mode, self.labels[mode], self.labels.get(f"{mode}-version", ""))
                for mode in ("audit", "warn") if mode in self.labels]

    @property
    def command(self) -> str:
        """Return the kubectl command that enforces the level met, when it is stricter."""
        if not self.gap:
            return ""
        return (f"kubectl label --overwrite ns {shlex.quote(self.namespace)} "
                f"pod-security.kubernetes.io/enforce={self.met}")

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
    Namespaces the policy exempts (system namespaces among them) show as ``exempt``; platform
    namespaces are marked ``platform``, and ``scored`` False unless the policy scores them.
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
        ns.platform = policy.platform_managed("Namespace", "", name)
        ns.scored = not ns.platform or policy.score_platform_findings
    return sorted(found.values(), key=lambda n: n.namespace)


def namespace_pss_recorded(stored: Mapping[str, Any], rows: Iterable[Mapping[str, Any]],
                           policy: Policy) -> list[NamespacePSS]:
    """Return the Pod Security of EVERY namespace a poll recorded (``Snapshot.pod_security``):
    its labels, the level admission enforces, the level its workloads meet at the
    enforce-version (the rules engine's evaluator, at the poll), and the failing checks of its
    open findings."""
    failing = {ns.namespace: ns for ns in namespace_pss(rows, policy)}
    out = []
    for name, entry in sorted(stored.items()):
        if not isinstance(entry, dict):
            continue
        labels = {k: str(v) for k, v in entry.items()
                  if k not in ("meets", "version", "workloads")}
        met = str(entry.get("meets", ""))
        from_findings = failing.get(name)
        ns = NamespacePSS(
            namespace=name,
            enforced=enforced_level(entry),
            met=met if met in LEVEL_ORDER else "",
            failing=from_findings.failing if from_findings else set(),
            violating_workloads=from_findings.violating_workloads if from_findings else 0,
            recorded=True,
            labels=labels,
            met_version=str(entry.get("version", "")),
            workloads=int(entry.get("workloads", 0) or 0),
            exempt=policy.pss_exempt(name),
        )
        ns.platform = policy.platform_managed("Namespace", "", name)
        ns.scored = not ns.platform or policy.score_platform_findings
        out.append(ns)
    return out


# --- The scorecard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeductionRow:
    """One check's cost in a category, in the scorecard's three labelled figures."""

    check: Check | None
    check_id: str
    severity: Severity
    count: int
    points: float     # lost in the category
    overall: float    # of the overall score
    regained: float   # regained by fixing (the fix list's figure)
    affected: int
    out_of: int
    scope: str


@dataclass(frozen=True)
class CategoryRow:
    """A category's score (None: not evaluated), its weights and its deductions."""

    category: Category
    score: float | None
    weight: float
    effective_weight: float
    deductions: list[DeductionRow]

    @property
    def evaluated(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class FixRow:
    """A fix of the ranked list, with its catalog entry and its place in the list."""

    position: int
    fix: Fix
    check: Check | None

    @property
    def cluster_wide(self) -> bool:
        return self.fix.scope is Scope.CLUSTER


@dataclass(frozen=True)
class CapRow:
    """A cap in force, as the grade card words it."""

    cap: Cap
    cuts: bool


@dataclass
class PlatformGroup:
    """The platform-managed findings of one check: shown apart, not scored by default."""

    check_id: str
    check: Check | None
    severity: Severity
    resources: list[str] = field(default_factory=list)
    count: int = 0


@dataclass(frozen=True)
class NodeRow:
    """A node from the newest snapshot, with its OS support and age in days."""

    node: Mapping[str, str]
    support: OSSupport
    age_days: int | None


@dataclass
class ClusterScorecard:
    """What the scorecard page shows about a cluster's newest successful snapshot.

    Every figure comes from ``card``, computed once for the request from the open findings,
    today's acceptances and the policy; the stored snapshot supplies only the facts it was
    polled with (versions, nodes, coverage) and ``stored_score`` for comparison.
    """

    snapshot: Snapshot | None
    card: Scorecard | None = None
    categories: list[CategoryRow] = field(default_factory=list)
    support: KubeSupport | None = None
    nodes: list[NodeRow] = field(default_factory=list)
    os_images: list[OSRow] = field(default_factory=list)
    os_unjudged: int = 0
    namespaces: list[NamespacePSS] = field(default_factory=list)
    pss_target: str = ""
    pss_recorded: bool = False
    fixes: list[FixRow] = field(default_factory=list)
    path: GradePath | None = None
    caps: list[CapRow] = field(default_factory=list)
    platform: list[PlatformGroup] = field(default_factory=list)
    platform_scored: bool = False

    @property
    def grade(self) -> Grade | None:
        return self.card.grade if self.card is not None else None

    @property
    def score(self) -> float | None:
        return self.card.score if self.card is not None else None

    @property
    def next_grade(self) -> Grade | None:
        return self.path.target if self.path is not None else None

    @property
    def stored_score(self) -> float | None:
        """Return the score stored with the poll when it differs from today's, else None."""
        if self.snapshot is None or self.card is None or self.snapshot.score == self.card.score:
            return None
        return self.snapshot.score

    @property
    def cap_grade(self) -> Grade | None:
        """Return the best grade the caps in force allow, if any cap is."""
        return self.card.cap_grade if self.card is not None else None

    @property
    def has_platform_namespaces(self) -> bool:
        return any(ns.platform for ns in self.namespaces)

    @property
    def platform_findings(self) -> int:
        return sum(group.count for group in self.platform)

    @property
    def unread(self) -> dict[str, Mapping[str, Any]]:
        """Return the resources the newest poll could not read, with the reason."""
        coverage = (self.snapshot.coverage if self.snapshot else None) or {}
        return {name: c for name, c in sorted(coverage.items())
                if isinstance(c, dict) and c.get("state") in ("forbidden", "error")}


def category_rows(card: Scorecard) -> list[CategoryRow]:
    """Return the card's categories, in display order, with their labelled figures."""
    rows = []
    for category in Category.ordered():
        cat = card.categories[category]
        deductions = [
            DeductionRow(check=CATALOG.get(d.check), check_id=d.check, severity=d.severity,
                         count=d.count, points=d.points, overall=d.overall, regained=d.regained,
                         affected=d.affected, out_of=d.out_of, scope=str(d.scope))
            for d in cat.deductions
        ]
        rows.append(CategoryRow(category, cat.score, cat.weight, cat.effective_weight,
                                deductions))
    return rows


def fix_rows(card: Scorecard, path: GradePath | None) -> list[FixRow]:
    """Return the head of the ranked list the page shows: the first ``TOP_FIXES``, or as many
    as the path to the next grade takes."""
    shown = max(TOP_FIXES, path.steps or 0) if path is not None else TOP_FIXES
    return [FixRow(i, f, CATALOG.get(f.check))
            for i, f in enumerate(card.top_fixes(shown), start=1)]


def platform_groups(scored: Scored) -> list[PlatformGroup]:
    """Return the platform-managed open findings grouped by check, most severe first."""
    groups: dict[str, PlatformGroup] = {}
    for row in scored.rows:
        if row.identity not in scored.platform:
            continue
        group = groups.get(row.check_id)
        severity = Severity(row.severity)
        if group is None:
            group = groups[row.check_id] = PlatformGroup(row.check_id, CATALOG.get(row.check_id),
                                                         severity)
        elif severity.rank > group.severity.rank:
            group.severity = severity
        where = "/".join(p for p in (row.namespace, row.name) if p)
        resource = f"{row.kind} {where}"
        if resource not in group.resources:
            group.resources.append(resource)
        group.count += 1
    for group in groups.values():
        group.resources.sort()
    return sorted(groups.values(), key=lambda g: (-g.severity.rank, g.check_id))


def _age(created: str, day: date) -> int | None:
    try:
        return (day - date.fromisoformat(created[:10])).days
    except ValueError:
        return None


def build(cluster: Cluster, now: datetime, policy: Policy) -> ClusterScorecard:
    """Return ``cluster``'s scorecard from its newest successful snapshot and open findings."""
    snapshot = Snapshot.objects.latest_successful(cluster)
    if snapshot is None:
        return ClusterScorecard(snapshot=None)
    day = today(now)
    scored = scoring_now.current(snapshot, cluster, now, policy)
    card = scored.card
    nodes = [
        NodeRow(n, os_support(n.get("os_image"), day, kernel_version=n.get("kernel"),
                              kubelet_version=n.get("kubelet")), _age(n.get("created", ""), day))
        for n in (snapshot.nodes or []) if isinstance(n, dict)
    ]
    pss_rows = Finding.objects.filter(
        cluster=cluster, resolved_at__isnull=True, check_id__in=PSS_RELATED
    ).values("check_id", "kind", "namespace", "name", "evidence")
    better = card.next_grade()
    path = card.path_to(better) if better is not None else None
    return ClusterScorecard(
        snapshot=snapshot,
        card=card,
        categories=category_rows(card),
        support=kubernetes_support(snapshot.kubernetes_version or None, day,
                                   snapshot.provider or None),
        nodes=nodes,
        os_images=os_rows((snapshot.node_summary or {}).get("os_images"), day),
        os_unjudged=os_unjudged_nodes(snapshot, snapshot.taken_at.date()),
        namespaces=(namespace_pss_recorded(snapshot.pod_security, pss_rows, policy)
                    if isinstance(snapshot.pod_security, dict)
                    else namespace_pss(pss_rows, policy)),
        pss_recorded=isinstance(snapshot.pod_security, dict),
        pss_target=policy.pss_level,
        fixes=fix_rows(card, path),
        path=path,
        caps=[CapRow(cap, card.uncapped is not None and card.uncapped > cap.ceiling)
              for cap in card.caps],
        platform=platform_groups(scored),
        platform_scored=policy.score_platform_findings,
    )
