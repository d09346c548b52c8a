"""Score a cluster from its open findings: 0-100, a grade, and where every lost point went.

Pure Python, no Django: callers pass plain findings (the engine's ``Finding``, or stored rows
through ``from_stored``) and the cluster's size. ``docs/scoring.md`` explains the model and walks
through an example whose numbers the tests recompute.

In short: each check loses points by its severity and by the *share* of workloads, nodes or
namespaces it affects (square-root curve, capped per check); a category turns the sum of its
checks' points into a score that decays towards 0 without reaching it; the cluster score is the
weighted mean of the categories that could be evaluated; caps hold the grade down (a control
plane past end of life at D, support that cannot be established at C). What to fix first is one
list ranked by risk (``Scorecard.fixes``), and the path to the next grade is a prefix of it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from posture.checks.results import FindingKey
from posture.checks.vocabulary import Category, Severity

# --- Vocabulary -------------------------------------------------------------------------------


class _GradeMeta(NamedTuple):
    label: str
    colour: str
    minimum: float
    rank: int


class Grade(StrEnum):
    """The letter a cluster's score earns; a higher ``rank`` is better."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    F = "F"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _GRADE[self].label

    @property
    def colour(self) -> str:
        """Return the display colour as ``#rrggbb`` (readable on white)."""
        return _GRADE[self].colour

    @property
    def minimum(self) -> float:
        """Return the lowest (rounded) score that earns this grade."""
        return _GRADE[self].minimum

    @property
    def rank(self) -> int:
        """Return the rank: 4 for A down to 0 for F."""
        return _GRADE[self].rank

    @classmethod
    def ordered(cls) -> tuple[Grade, ...]:
        """Return every grade, best first."""
        return tuple(sorted(cls, key=lambda g: -g.rank))

    @classmethod
    def for_score(cls, score: float) -> Grade:
        """Return the grade a (rounded) score earns."""
        for grade in cls.ordered():
            if score >= grade.minimum:
                return grade
        return cls.F


_GRADE: dict[Grade, _GradeMeta] = {
    Grade.A: _GradeMeta("A", "#15803d", 90.0, 4),
    Grade.B: _GradeMeta("B", "#4d7c0f", 80.0, 3),
    Grade.C: _GradeMeta("C", "#a16207", 70.0, 2),
    Grade.D: _GradeMeta("D", "#c2410c", 60.0, 1),
    Grade.F: _GradeMeta("F", "#b91c1c", 0.0, 0),
}


# A category (or a heat-map cell) whose checks could not run: neither a grade's colour nor a
# severity's, readable on white and under white text (contrast at least 4.5:1 both ways).
NOT_EVALUATED_COLOUR = "#6b7280"
NOT_EVALUATED_LABEL = "not evaluated"


class Scope(StrEnum):
    """What a check's findings are counted against: the unit it affects."""

    WORKLOAD = "workload"
    NODE = "node"
    NAMESPACE = "namespace"
    CLUSTER = "cluster"

    @property
    def label(self) -> str:
        """Return the plural noun shown next to a share ("10 of 300 workloads")."""
        return _SCOPE_LABELS[self]


_SCOPE_LABELS: dict[Scope, str] = {
    Scope.WORKLOAD: "workloads",
    Scope.NODE: "nodes",
    Scope.NAMESPACE: "namespaces",
    Scope.CLUSTER: "cluster",
}

# A finding's kind says what it is about. Any kind not listed is a workload's owner kind
# (Deployment, StatefulSet, CronJob, bare Pod, or a custom controller), which is open-ended.
_SCOPE_BY_KIND: dict[str, Scope] = {
    "Node": Scope.NODE,
    "Namespace": Scope.NAMESPACE,
    # A Service is counted against its namespace: Size has no service count, and exposure is
    # decided per namespace (who deploys there, which policies apply).
    "Service": Scope.NAMESPACE,
    "Cluster": Scope.CLUSTER,
    # RBAC objects are judged by presence: one cluster-admin binding to a stranger is the whole
    # problem, however many other bindings exist.
    "ClusterRole": Scope.CLUSTER,
    "ClusterRoleBinding": Scope.CLUSTER,
    "Role": Scope.CLUSTER,
    "RoleBinding": Scope.CLUSTER,
}

# --- The model's constants (documented in docs/scoring.md) ------------------------------------

# The scoring model's version, kept with every score (``finding_counts["scoring_version"]``) so a
# trend chart can mark the day a cluster's scores began to be computed differently, as it marks a
# new check set. Bump it with any change that moves the score of unchanged findings (weights,
# points, the curve, caps, what is left out); a new ranking of the fixes does not.
#   1  (stored as no version) every category scored, a not-evaluated one as 100; one cap, EOL.
#   2  not-evaluated categories leave the weighted mean; caps for support that cannot be
#      established; platform-managed findings left out of the score and the headline counts.
SCORING_VERSION = 2
SCORING_VERSION_UNSTORED = 1

CATEGORY_WEIGHTS: Mapping[Category, float] = MappingProxyType(
    {
        Category.VERSION: 0.15,
        Category.NODES: 0.10,
        Category.WORKLOADS: 0.25,
        Category.IMAGES: 0.10,
        Category.NETWORK: 0.10,
        Category.ACCESS: 0.20,
        Category.VULNERABILITIES: 0.10,
    }
)
if set(CATEGORY_WEIGHTS) != set(Category) or not math.isclose(sum(CATEGORY_WEIGHTS.values()), 1):
    raise RuntimeError("category weights must cover every category and sum to 1")

# The most one check can take from its category's raw points, reached when it affects everything.
SEVERITY_POINTS: Mapping[Severity, float] = MappingProxyType(
    {
        Severity.CRITICAL: 100.0,
        Severity.HIGH: 50.0,
        Severity.MEDIUM: 20.0,
        Severity.LOW: 8.0,
        Severity.INFO: 0.0,
    }
)

# Points grow with the square root of the affected share: the first few affected workloads
# cost the most, and a problem everywhere costs the full severity points.
CURVE_EXPONENT = 0.5

# A category keeps 100 * exp(-raw / SATURATION): 100 raw points leave 36.8, and no amount of
# findings reaches 0, so fixing any check always shows progress.
SATURATION = 100.0

def _ceiling(grade: Grade) -> float:
    """Return the highest one-decimal score that still earns ``grade``."""
    better = [g for g in Grade if g.rank == grade.rank + 1]
    return round(better[0].minimum - 0.1, 1) if better else 100.0


class _CapMeta(NamedTuple):
    grade: Grade
    reason: str
    lifted_by: str | None
    lift: str


class Cap(StrEnum):
    """A rule that holds the grade down whatever the findings: the best grade it allows.

    A control plane past end of life gets no security fixes (at most D). When support cannot be
    established at all — the control plane's version is unreadable or not in the lifecycle
    data, or some node's operating system is — the grade is at most C: unknown is neither
    supported nor end of life, so it can neither sink the grade nor leave it untouched.
    """

    EOL = "eol"
    CONTROL_PLANE_UNKNOWN = "control-plane-unknown"
    NODE_OS_UNKNOWN = "node-os-unknown"

    @property
    def grade(self) -> Grade:
        """Return the best grade the cluster can have while this cap is in force."""
        return _CAP[self].grade

    @property
    def ceiling(self) -> float:
        """Return the highest score the cluster can have while this cap is in force."""
        return _ceiling(_CAP[self].grade)

    @property
    def reason(self) -> str:
        """Return why the cap is in force, as a phrase ("the control plane is …")."""
        return _CAP[self].reason

    @property
    def lifted_by(self) -> str | None:
        """Return the check whose fixing lifts the cap, if fixing a finding can."""
        return _CAP[self].lifted_by

    @property
    def lift(self) -> str:
        """Return what lifts the cap, as a phrase."""
        return _CAP[self].lift


# Fixing this check's finding (upgrading) is what lifts the end-of-life cap.
EOL_CHECK = "version.kubernetes-eol"

_CAP: dict[Cap, _CapMeta] = {
    Cap.EOL: _CapMeta(
        Grade.D,
        "the Kubernetes control plane is past end of life",
        EOL_CHECK,
        "upgrading the control plane to a supported minor",
    ),
    Cap.CONTROL_PLANE_UNKNOWN: _CapMeta(
        Grade.C,
        "support cannot be established: the control plane's Kubernetes version is unreadable "
        "or not in the lifecycle data",
        None,
        "a Kubernetes version the lifecycle data covers (refresh it with "
        "manage.py refresh_lifecycle if the version is new)",
    ),
    Cap.NODE_OS_UNKNOWN: _CapMeta(
        Grade.C,
        "support cannot be established for the operating system of some nodes",
        None,
        "node images whose osImage the lifecycle data recognises",
    ),
}

EOL_GRADE = Cap.EOL.grade
EOL_CEILING = Cap.EOL.ceiling

# --- Input ------------------------------------------------------------------------------------


class ScoredFinding(Protocol):
    """What scoring reads from a finding; the engine's ``Finding`` fits as it is."""

    @property
    def check(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def container(self) -> str: ...


class StoredFinding(Protocol):
    """A stored finding row, which names its check ``check_id``."""

    @property
    def check_id(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def container(self) -> str: ...


class Scored(NamedTuple):
    """A plain finding as scoring sees it."""

    check: str
    severity: str
    category: str
    kind: str
    namespace: str
    name: str
    container: str


def from_stored(rows: Iterable[StoredFinding]) -> Iterator[Scored]:
    """Adapt stored rows (``check_id``) to what ``score`` reads (``check``)."""
    # An adapter rather than duck typing in score(): a Django model also has a ``check``
    # attribute (its system-check hook), so guessing by attribute name would pick the wrong one.
    for row in rows:
        yield Scored(
            row.check_id,
            row.severity,
            row.category,
            row.kind,
            row.namespace,
            row.name,
            row.container,
        )


@dataclass(frozen=True)
class Size:
    """How many workloads, nodes and namespaces the cluster has: the denominators of shares."""

    workloads: int
    nodes: int
    namespaces: int

    def __post_init__(self) -> None:
        if min(self.workloads, self.nodes, self.namespaces) < 0:
            raise ValueError("a cluster's size cannot be negative")

    def of(self, scope: Scope) -> int:
        """Return how many units of ``scope`` the cluster has (1 for the cluster itself)."""
        return {
            Scope.WORKLOAD: self.workloads,
            Scope.NODE: self.nodes,
            Scope.NAMESPACE: self.namespaces,
            Scope.CLUSTER: 1,
        }[scope]


def scope_of(kind: str) -> Scope:
    """Return what a finding about a resource of ``kind`` is counted against."""
    return _SCOPE_BY_KIND.get(kind, Scope.WORKLOAD)


def _unit(finding: ScoredFinding, scope: Scope) -> tuple[str, ...]:
    # Workload findings are per container; the unit is the workload, so a three-container
    # Deployment with the problem in each still counts as one affected workload.
    if scope is Scope.WORKLOAD:
        return (finding.kind, finding.namespace, finding.name)
    if scope is Scope.NAMESPACE:
        return (finding.name if finding.kind == "Namespace" else finding.namespace,)
    if scope is Scope.NODE:
        return (finding.name,)
    return ()


# --- Output -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deduction:
    """What one check costs, in three figures that answer three different questions.

    ``points``: what it takes from its category's 100 ("lost in the category").
    ``overall``: that loss times the category's effective weight ("of the overall score").
    ``regained``: what the cluster score gains if this check alone is fixed ("regained by
    fixing"), the figure the fix list shows. It differs from ``overall`` because a category's
    curve flattens as it fills: removing one check gives back less than its share (far less in a
    crowded category), unless it is the category's only check; a cap can take the gain away, or
    add to it when the fix lifts the cap.

    ``affected`` of ``out_of`` units (``scope``) have the problem, over ``count`` findings;
    ``raw`` is the check's points before its category turns the total into a score.
    """

    check: str
    severity: Severity
    count: int
    points: float
    overall: float
    regained: float
    scope: Scope
    affected: int
    out_of: int
    raw: float


@dataclass(frozen=True)
class CategoryScore:
    """One category's score (0-100, or None when none of its checks could be evaluated).

    ``weight`` is the category's nominal weight; ``effective_weight`` its share of the cluster
    score once categories that were not evaluated leave the mean (0 for those).
    """

    score: float | None
    weight: float
    effective_weight: float
    deductions: tuple[Deduction, ...]

    @property
    def evaluated(self) -> bool:
        """Say whether any of the category's checks ran."""
        return self.score is not None


@dataclass(frozen=True)
class Fix:
    """Fixing every finding of ``check``: how risky it is, and what the score gains.

    ``severity``, ``affected`` of ``out_of`` units (``scope``; the cluster counts as 1 of 1)
    and ``count`` findings rank it; ``points_gained`` is what the score gains if this check
    alone is fixed; ``lifts`` names the caps that fixing it lifts.
    """

    check: str
    severity: Severity
    count: int
    scope: Scope
    affected: int
    out_of: int
    points_gained: float
    lifts: tuple[Cap, ...] = ()

    @property
    def exposure(self) -> float:
        """Return the share of the affected units, 0-1 (a cluster-wide check is 1)."""
        return self.affected / self.out_of if self.out_of else 1.0


@dataclass(frozen=True)
class GradePath:
    """How to reach ``target``: fix the first ``steps`` checks of the ranked list.

    ``score`` is the score once they are fixed. ``steps`` is None when no prefix of the list
    reaches the target, which only a cap can cause; ``blocked_by`` names the caps that stay in
    force after every fix and hold the grade below the target.
    """

    target: Grade
    steps: int | None
    score: float | None
    blocked_by: tuple[Cap, ...] = ()

    @property
    def reachable(self) -> bool:
        return self.steps is not None

    @property
    def grade(self) -> Grade | None:
        """Return the grade the path ends at: the target, or better when a fix overshoots."""
        return None if self.score is None else Grade.for_score(self.score)


@dataclass(frozen=True)
class _Part:
    """One check's raw deduction in one category, before categories turn points into scores."""

    category: Category
    check: str
    severity: Severity
    scope: Scope
    count: int
    affected: int
    out_of: int
    raw: float


@dataclass(frozen=True)
class _Model:
    """What every "what if these were fixed" question is answered from."""

    parts: tuple[_Part, ...]
    evaluated: frozenset[Category]
    caps: frozenset[Cap]

    def caps_after(self, fixed: frozenset[str]) -> frozenset[Cap]:
        # Fixing a cap's check lifts it only when that check has a counted finding: a waived or
        # unevaluated end-of-life finding leaves nothing here to fix, and the cap stays.
        present = {p.check for p in self.parts}
        return frozenset(
            cap for cap in self.caps
            if not (cap.lifted_by in fixed and cap.lifted_by in present)
        )

    def uncapped(self, fixed: frozenset[str]) -> float | None:
        kept = tuple(p for p in self.parts if p.check not in fixed)
        return _weighted(_category_scores(kept, self.evaluated))

    def after(self, fixed: frozenset[str]) -> float | None:
        raw = self.uncapped(fixed)
        return None if raw is None else _apply_caps(raw, self.caps_after(fixed))


@dataclass(frozen=True)
class Scorecard:
    """A cluster's score, grade and the deductions that explain them.

    ``score`` is None (and ``grade`` None) only when no category could be evaluated at all.
    ``100 - score`` equals the sum of every deduction's ``overall`` plus ``cap_points`` (what
    the caps took), up to rounding; ``uncapped`` is the score the caps cut from. ``caps`` are
    the caps in force, even when the score is below them anyway; ``capped_by`` their reasons.
    ``waived_points`` and ``platform_points`` are what accepted risks and platform-managed
    findings would cost if they counted: shown beside the score rather than hidden in it.
    """

    score: float | None
    grade: Grade | None
    uncapped: float | None
    categories: Mapping[Category, CategoryScore]
    caps: tuple[Cap, ...]
    cap_points: float
    waived: int
    waived_points: float
    platform: int
    platform_points: float
    not_evaluated: tuple[str, ...]
    _model: _Model = field(repr=False)
    _exact: float | None = field(repr=False)
    _fixes: tuple[Fix, ...] = field(repr=False)

    @property
    def capped_by(self) -> tuple[str, ...]:
        """Return why the grade is capped: one reason per cap in force."""
        return tuple(cap.reason for cap in self.caps)

    @property
    def cap_grade(self) -> Grade | None:
        """Return the best grade the caps in force allow, if any cap is."""
        return min((cap.grade for cap in self.caps), key=lambda g: g.rank, default=None)

    @property
    def cap_cuts(self) -> bool:
        """Say whether the caps lowered the score (not merely stand above it)."""
        return self.cap_points > 0

    def score_without(self, checks: Iterable[str]) -> float | None:
        """Return the score once every finding of ``checks`` is fixed (size unchanged)."""
        after = self._model.after(frozenset(checks))
        return None if after is None else _round1(after)

    def fixes(self) -> tuple[Fix, ...]:
        """Return every check with a counted finding, ranked by risk: what to fix first.

        Most severe first; then the larger share of affected units (a cluster-wide check counts
        as the whole cluster); then more affected units; then more points regained; then the
        check id. Points regained come second to risk on purpose: in a category that is near 0
        already, fixing a critical gains little, yet it is still the thing to fix first.
        """
        return self._fixes

    def top_fixes(self, n: int) -> list[Fix]:
        """Return the first ``n`` checks of the ranked list (``fixes``)."""
        return list(self._fixes[:n])

    def fix_for(self, check: str) -> Fix | None:
        """Return the ranked list's entry for ``check``."""
        return next((f for f in self._fixes if f.check == check), None)

    def next_grade(self) -> Grade | None:
        """Return the grade above this one, or None at A (or without a score)."""
        if self.grade is None:
            return None
        better = [g for g in Grade if g.rank == self.grade.rank + 1]
        return better[0] if better else None

    def path_to(self, target: Grade | str) -> GradePath:
        """Return the shortest prefix of the ranked list whose fixing earns ``target``.

        The prefix, not the fewest checks: the path follows the order of ``fixes``, so the
        list the page shows and the path it describes are one list. ``steps`` is 0 when the
        grade is reached already.
        """
        goal = Grade(target)
        if self.score is None:
            return GradePath(goal, None, None)
        if self.grade is not None and self.grade.rank >= goal.rank:
            return GradePath(goal, 0, self.score)
        done: set[str] = set()
        for steps, fix in enumerate(self._fixes, start=1):
            done.add(fix.check)
            after = self.score_without(done)
            if after is not None and Grade.for_score(after).rank >= goal.rank:
                return GradePath(goal, steps, after)
        left = self._model.caps_after(frozenset(done))
        blocking = tuple(sorted((c for c in left if c.grade.rank < goal.rank), key=_cap_order))
        return GradePath(goal, None, None, blocking)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (for a snapshot row, the API or an export)."""
        return {
            "score": self.score,
            "grade": str(self.grade) if self.grade else None,
            "uncapped_score": None if self.uncapped is None else _round1(self.uncapped),
            "capped_by": list(self.capped_by),
            "caps": [
                {"cap": str(cap), "grade": str(cap.grade), "ceiling": cap.ceiling,
                 "reason": cap.reason, "lifted_by": cap.lifted_by}
                for cap in self.caps
            ],
            "cap_points": self.cap_points,
            "waived": self.waived,
            "waived_points": self.waived_points,
            "platform": self.platform,
            "platform_points": self.platform_points,
            "not_evaluated": list(self.not_evaluated),
            "categories": {
                str(category): {
                    "score": cat.score,
                    "evaluated": cat.evaluated,
                    "weight": cat.weight,
                    "effective_weight": cat.effective_weight,
                    "deductions": [
                        {
                            "check": d.check,
                            "severity": str(d.severity),
                            "count": d.count,
                            "points": d.points,
                            "overall": d.overall,
                            "regained": d.regained,
                            "scope": str(d.scope),
                            "affected": d.affected,
                            "out_of": d.out_of,
                            "raw": d.raw,
                        }
                        for d in cat.deductions
                    ],
                }
                for category, cat in self.categories.items()
            },
            "fixes": [
                {
                    "check": f.check,
                    "severity": str(f.severity),
                    "count": f.count,
                    "scope": str(f.scope),
                    "affected": f.affected,
                    "out_of": f.out_of,
                    "points_gained": f.points_gained,
                    "lifts": [str(cap) for cap in f.lifts],
                }
                for f in self._fixes
            ],
        }


# --- The model --------------------------------------------------------------------------------


_SEVERITIES: dict[str, Severity] = {str(s): s for s in Severity}
_CATEGORIES: dict[str, Category] = {str(c): c for c in Category}


def _round1(value: float) -> float:
    return round(value, 1)


def _cap_order(cap: Cap) -> tuple[int, str]:
    return (cap.grade.rank, str(cap))


def _apply_caps(raw: float, caps: Collection[Cap]) -> float:
    return min([raw, *(cap.ceiling for cap in caps)])


def _category_scores(
    parts: tuple[_Part, ...], evaluated: frozenset[Category]
) -> dict[Category, float]:
    raw: dict[Category, float] = dict.fromkeys(Category, 0.0)
    # parts are sorted, so the float sums do not depend on the order findings arrived in.
    for part in parts:
        raw[part.category] += part.raw
    return {
        c: 100.0 * math.exp(-raw[c] / SATURATION) for c in Category.ordered() if c in evaluated
    }


def effective_weights(evaluated: Collection[Category]) -> dict[Category, float]:
    """Return each evaluated category's weight, renormalised so that they sum to 1.

    A category none of whose checks could run says nothing about the cluster: it leaves the
    mean instead of counting as a perfect 100, and the others share its weight in proportion.
    """
    total = sum(CATEGORY_WEIGHTS[c] for c in Category.ordered() if c in evaluated)
    return {
        c: (CATEGORY_WEIGHTS[c] / total if c in evaluated and total else 0.0)
        for c in Category.ordered()
    }


def _weighted(categories: Mapping[Category, float]) -> float | None:
    if not categories:
        return None
    weights = effective_weights(categories.keys())
    return sum(weights[c] * categories[c] for c in Category.ordered() if c in categories)


def _parts(findings: Iterable[tuple[FindingKey, Scored]], size: Size) -> tuple[_Part, ...]:
    severities: dict[tuple[Category, str], Severity] = {}
    keys: dict[tuple[Category, str], set[FindingKey]] = defaultdict(set)
    units: dict[tuple[Category, str], dict[Scope, set[tuple[str, ...]]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for key, finding in findings:
        # The dict lookups are a speed-up; the enum calls only run to refuse unknown values.
        category = _CATEGORIES.get(finding.category) or Category(finding.category)
        severity = _SEVERITIES.get(finding.severity) or Severity(finding.severity)
        group = (category, finding.check)
        # The most severe finding of a check sets its weight; normally they all agree.
        if group not in severities or severity.rank > severities[group].rank:
            severities[group] = severity
        keys[group].add(key)
        scope = scope_of(finding.kind)
        units[group][scope].add(_unit(finding, scope))
    parts = []
    for group in sorted(severities, key=lambda g: (g[0].rank, g[1])):
        severity = severities[group]
        exposures = []
        for scope, affected in units[group].items():
            # A count of affected units above the cluster's size is inconsistent input; treat
            # it as everything affected rather than as a share above 1.
            out_of = max(size.of(scope), len(affected))
            exposures.append(
                (len(affected) / out_of, list(Scope).index(scope), scope, len(affected), out_of)
            )
        # A check reports one kind of unit today; if it ever reports several, its worst share
        # counts, which keeps it under its severity's points.
        share, _, scope, hit, out_of = max(exposures, key=lambda e: (e[0], -e[1]))
        raw = SEVERITY_POINTS[severity] * share**CURVE_EXPONENT
        if raw > 0:
            parts.append(
                _Part(group[0], group[1], severity, scope, len(keys[group]), hit, out_of, raw)
            )
    return tuple(parts)


def _plain(finding: ScoredFinding) -> Scored:
    if not isinstance(finding.check, str):
        # A Django row's ``check`` is its system-check hook, not the check id.
        raise TypeError("pass stored finding rows through from_stored()")
    return Scored(
        finding.check,
        str(finding.severity),
        str(finding.category),
        finding.kind,
        finding.namespace,
        finding.name,
        finding.container,
    )


def _count_by_check(keys: Iterable[FindingKey]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for key in set(keys):
        counts[key[0]] += 1
    return dict(counts)


def _key(finding: Scored) -> FindingKey:
    return (finding.check, finding.kind, finding.namespace, finding.name, finding.container)


@cache
def _catalog_categories() -> Mapping[str, Category]:
    # Imported here: the catalog imports every rule, which scoring's importers need not pay for
    # until they score.
    from posture.checks.catalog import CATALOG

    return MappingProxyType({check_id: check.category for check_id, check in CATALOG.items()})


def _evaluated_categories(
    parts: tuple[_Part, ...], skipped: frozenset[str], catalog: Mapping[str, Category]
) -> frozenset[Category]:
    """Return the categories with a check that ran (or a counted finding, which one did)."""
    ran = {category for check, category in catalog.items() if check not in skipped}
    known = set(catalog.values())
    # A category the catalog has no check for cannot be judged "not evaluated": keep it.
    return frozenset(ran | {p.category for p in parts} | (set(Category) - known))


def _ranked(model: _Model, counts: Mapping[str, int], exact: float | None) -> tuple[Fix, ...]:
    current = _round1(exact) if exact is not None else None
    entries = []
    for check in sorted({p.check for p in model.parts}):
        mine = [p for p in model.parts if p.check == check]
        severity = max((p.severity for p in mine), key=lambda s: s.rank)
        worst = max(mine, key=lambda p: (p.affected / p.out_of if p.out_of else 1.0, p.affected))
        after = model.after(frozenset({check}))
        gain = 0.0 if after is None or exact is None else after - exact
        shown = 0.0 if after is None or current is None else _round1(_round1(after) - current)
        lifts = tuple(sorted(model.caps - model.caps_after(frozenset({check})), key=_cap_order))
        fix = Fix(check, severity, counts.get(check, 0), worst.scope, worst.affected,
                  worst.out_of, shown, lifts)
        order = (-severity.rank, -fix.exposure, -fix.affected, -gain, check)
        entries.append((order, fix))
    return tuple(fix for _, fix in sorted(entries, key=lambda e: e[0]))


def score(
    findings: Iterable[ScoredFinding],
    size: Size,
    *,
    caps: Collection[Cap] = (),
    control_plane_eol: bool = False,
    waived: Collection[FindingKey] = (),
    platform: Collection[FindingKey] = (),
    not_evaluated: Collection[str] = (),
    catalog: Mapping[str, Category] | None = None,
) -> Scorecard:
    """Score a cluster's open findings.

    Findings of checks that were not evaluated are dropped first, since the check could not
    confirm them; then platform-managed findings (by identity key) and waived ones leave the
    score. ``caps`` hold the grade down (``control_plane_eol=True`` is ``Cap.EOL``). A category
    all of whose checks (``catalog``: check id -> category, the shipped catalog by default)
    are in ``not_evaluated`` has no score and leaves the weighted mean.
    """
    in_force = frozenset(caps) | ({Cap.EOL} if control_plane_eol else set())
    skipped = frozenset(not_evaluated)
    managed = frozenset(tuple(k) for k in platform)
    accepted = frozenset(tuple(k) for k in waived)
    every = [(_key(f), f) for f in map(_plain, findings) if f.check not in skipped]
    scored = [(key, f) for key, f in every if key not in managed]
    counted = [(key, f) for key, f in scored if key not in accepted]
    parts = _parts(counted, size)
    evaluated = _evaluated_categories(
        parts, skipped, _catalog_categories() if catalog is None else catalog
    )
    model = _Model(parts, evaluated, in_force)
    raw_categories = _category_scores(parts, evaluated)
    weights = effective_weights(evaluated)
    raw = _weighted(raw_categories)
    exact = None if raw is None else _apply_caps(raw, in_force)
    final = None if exact is None else _round1(exact)
    fixes = _ranked(model, _count_by_check(key for key, _ in counted), exact)
    regained = {f.check: f.points_gained for f in fixes}

    categories: dict[Category, CategoryScore] = {}
    for category in Category.ordered():
        if category not in raw_categories:
            categories[category] = CategoryScore(None, CATEGORY_WEIGHTS[category], 0.0, ())
            continue
        mine = [p for p in parts if p.category is category]
        total = sum(p.raw for p in mine)
        lost = 100.0 - raw_categories[category]
        weight = weights[category]
        deductions = [
            Deduction(
                p.check,
                p.severity,
                p.count,
                round(lost * p.raw / total, 2),
                round(weight * lost * p.raw / total, 2),
                regained[p.check],
                p.scope,
                p.affected,
                p.out_of,
                round(p.raw, 2),
            )
            for p in mine
        ]
        deductions.sort(key=lambda d: (-d.points, d.check))
        categories[category] = CategoryScore(
            _round1(raw_categories[category]),
            CATEGORY_WEIGHTS[category],
            round(weight, 4),
            tuple(deductions),
        )

    def without_exclusion(kept: list[tuple[FindingKey, Scored]]) -> float:
        again = _weighted(_category_scores(_parts(kept, size), evaluated))
        if again is None or final is None:
            return 0.0
        return _round1(final - _round1(_apply_caps(again, in_force)))

    waived_keys = {key for key, _ in scored} & accepted
    platform_keys = {key for key, _ in every} & managed
    return Scorecard(
        score=final,
        grade=None if final is None else Grade.for_score(final),
        uncapped=raw,
        categories=MappingProxyType(categories),
        caps=tuple(sorted(in_force, key=_cap_order)),
        cap_points=0.0 if raw is None or exact is None else round(raw - exact, 2),
        waived=len(waived_keys),
        waived_points=without_exclusion(scored) if waived_keys else 0.0,
        platform=len(platform_keys),
        platform_points=(
            without_exclusion([(k, f) for k, f in every if k not in accepted])
            if platform_keys else 0.0
        ),
        not_evaluated=tuple(sorted(skipped)),
        _model=model,
        _exact=exact,
        _fixes=fixes,
    )
