"""Score a cluster from its open findings: 0-100, a grade, and where every lost point went.

Pure Python, no Django: callers pass plain findings (the engine's ``Finding``, or stored rows
through ``from_stored``) and the cluster's size. ``docs/scoring.md`` explains the model and walks
through an example whose numbers the tests recompute.

In short: each check loses points by its severity and by the *share* of workloads, nodes or
namespaces it affects (square-root curve, capped per check); a category turns the sum of its
checks' points into a score that decays towards 0 without reaching it; the cluster score is the
weighted mean of the category scores; a control plane past end of life caps the grade at D.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
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

# A control plane past end of life gets no security fixes: the grade is at most this one.
EOL_GRADE = Grade.D
# Fixing this check's finding (upgrading) is what lifts the cap in top_fixes and points_to_grade.
EOL_CHECK = "version.kubernetes-eol"
EOL_REASON = "The Kubernetes control plane is past end of life"


def _ceiling(grade: Grade) -> float:
    """Return the highest one-decimal score that still earns ``grade``."""
    better = [g for g in Grade if g.rank == grade.rank + 1]
    return round(better[0].minimum - 0.1, 1) if better else 100.0


EOL_CEILING = _ceiling(EOL_GRADE)

# How many checks points_to_grade decides one by one before its exact per-category search.
_MAX_PINNED = 12

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
    """What one check costs: ``points`` of its category's 100, ``overall`` of the cluster's.

    ``affected`` of ``out_of`` units (``scope``) have the problem, over ``count`` findings;
    ``raw`` is the check's points before its category turns the total into a score.
    """

    check: str
    severity: Severity
    count: int
    points: float
    overall: float
    scope: Scope
    affected: int
    out_of: int
    raw: float


@dataclass(frozen=True)
class CategoryScore:
    """One category's score (0-100), its weight in the cluster score, and its deductions."""

    score: float
    weight: float
    deductions: tuple[Deduction, ...]


@dataclass(frozen=True)
class Fix:
    """Fixing every finding of ``check`` (``count`` of them) raises the score by this much."""

    check: str
    points_gained: float
    count: int


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
class Scorecard:
    """A cluster's score, grade and the deductions that explain them.

    ``100 - score`` equals the sum of every deduction's ``overall`` plus ``cap_points`` (what
    the end-of-life cap took), up to rounding. ``capped_by`` names the rule that limits the
    grade whenever it is in force, even if the score was below the cap anyway.
    ``waived_points`` is what the waived findings would cost if they counted: accepted risk,
    shown beside the score rather than hidden in it.
    """

    score: float
    grade: Grade
    categories: Mapping[Category, CategoryScore]
    capped_by: str
    cap_points: float
    waived: int
    waived_points: float
    not_evaluated: tuple[str, ...]
    _parts: tuple[_Part, ...] = field(repr=False)
    _eol: bool = field(repr=False)
    _exact: float = field(repr=False)
    # Findings per check, by identity: a finding filed under two categories is still one.
    _counts: Mapping[str, int] = field(repr=False)

    def score_without(self, checks: Iterable[str]) -> float:
        """Return the score once every finding of ``checks`` is fixed (size unchanged)."""
        return _round1(self._after(frozenset(checks)))

    def top_fixes(self, n: int) -> list[Fix]:
        """Return up to ``n`` checks whose fixing gains the most points, best first."""
        return self._ranked()[:n]

    def points_to_grade(self, target: Grade | str) -> list[Fix] | None:
        """Return the fewest checks whose fixing earns ``target``, or None if none can.

        The fixes come in the order to do them; each one's ``points_gained`` is what it adds
        after the ones before it, so they sum to the total gain. An empty list: already there.
        """
        goal = Grade(target)
        if self.grade.rank >= goal.rank:
            return []
        for size in range(1, len({p.check for p in self._parts}) + 1):
            for chosen in self._best_sets(size):
                if Grade.for_score(_round1(self._after(chosen))).rank >= goal.rank:
                    return self._plan(chosen)
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (for a snapshot row or an export)."""
        return {
            "score": self.score,
            "grade": str(self.grade),
            "capped_by": self.capped_by,
            "cap_points": self.cap_points,
            "waived": self.waived,
            "waived_points": self.waived_points,
            "not_evaluated": list(self.not_evaluated),
            "categories": {
                str(category): {
                    "score": cat.score,
                    "weight": cat.weight,
                    "deductions": [
                        {
                            "check": d.check,
                            "severity": str(d.severity),
                            "count": d.count,
                            "points": d.points,
                            "overall": d.overall,
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
        }

    def _after(self, fixed: frozenset[str]) -> float:
        raw = self._uncapped(fixed)
        return min(raw, EOL_CEILING) if self._capped(fixed) else raw

    def _capped(self, fixed: frozenset[str]) -> bool:
        # Upgrading the control plane fixes the end-of-life finding and lifts the cap; with no
        # such finding (waived, or not evaluated) nothing here can lift it.
        lifted = EOL_CHECK in fixed and any(p.check == EOL_CHECK for p in self._parts)
        return self._eol and not lifted

    def _uncapped(self, fixed: frozenset[str]) -> float:
        return _weighted(_category_scores(tuple(p for p in self._parts if p.check not in fixed)))

    def _ranked(self) -> list[Fix]:
        base = self._uncapped(frozenset())
        ranked = []
        for check in sorted({p.check for p in self._parts}):
            after = self._after(frozenset({check}))
            fix = Fix(check, _round1(_round1(after) - self.score), self._counts[check])
            # Under the cap many fixes gain nothing yet; the uncapped gain still orders them.
            uncapped = self._uncapped(frozenset({check})) - base
            ranked.append(((-(after - self._exact), -uncapped, check), fix))
        return [fix for _, fix in sorted(ranked)]

    def _best_sets(self, size: int) -> Iterator[frozenset[str]]:
        """Yield candidates for the best ``size`` checks to fix, one per way of pinning.

        A pinned check is decided up front, fixed or not, and the rest are chosen exactly by
        ``_best_removal``: the end-of-life check when the cap is in force (fixing it lifts the
        cap, which the per-category search cannot see), and any check whose findings are filed
        under several categories (stored findings from before a check changed category).
        """
        categories: dict[str, set[Category]] = defaultdict(set)
        for part in self._parts:
            categories[part.check].add(part.category)
        pinned = sorted(check for check, cats in categories.items() if len(cats) > 1)
        if self._eol and EOL_CHECK in categories and EOL_CHECK not in pinned:
            pinned.append(EOL_CHECK)
        # Exponential in the pinned checks, which number 0 or 1 in practice; past a dozen,
        # the search would be slow and such data is broken anyway, so the rest stay unfixed.
        pinned, stuck = pinned[:_MAX_PINNED], frozenset(pinned[_MAX_PINNED:])
        for fixed in itertools.chain.from_iterable(
            itertools.combinations(pinned, n) for n in range(min(size, len(pinned)) + 1)
        ):
            kept = stuck | (frozenset(pinned) - set(fixed))
            free = _best_removal(self._parts, size - len(fixed), fixed=frozenset(fixed), kept=kept)
            if free is not None:
                yield free | frozenset(fixed)

    def _plan(self, chosen: frozenset[str]) -> list[Fix]:
        order = [fix for fix in self._ranked() if fix.check in chosen]
        plan: list[Fix] = []
        done: set[str] = set()
        before = self.score
        for fix in order:
            done.add(fix.check)
            now = _round1(self._after(frozenset(done)))
            plan.append(Fix(fix.check, _round1(now - before), fix.count))
            before = now
        return plan


# --- The model --------------------------------------------------------------------------------


_SEVERITIES: dict[str, Severity] = {str(s): s for s in Severity}
_CATEGORIES: dict[str, Category] = {str(c): c for c in Category}


def _round1(value: float) -> float:
    return round(value, 1)


def _category_scores(parts: tuple[_Part, ...]) -> dict[Category, float]:
    raw: dict[Category, float] = dict.fromkeys(Category, 0.0)
    # parts are sorted, so the float sums do not depend on the order findings arrived in.
    for part in parts:
        raw[part.category] += part.raw
    return {c: 100.0 * math.exp(-raw[c] / SATURATION) for c in Category.ordered()}


def _weighted(categories: Mapping[Category, float]) -> float:
    return sum(CATEGORY_WEIGHTS[c] * categories[c] for c in Category.ordered())


def _best_removal(
    parts: tuple[_Part, ...], size: int, *, fixed: frozenset[str], kept: frozenset[str]
) -> frozenset[str] | None:
    """Return the ``size`` checks, besides ``fixed`` and never ``kept``, best fixed together.

    Every other check sits in one category. The raw score is a sum of per-category terms, and
    within a category only the total of the removed points matters, so the best choice fixes
    each category's largest deductions; a small knapsack over categories decides how many to
    take from each. None when there are not ``size`` checks to choose from.
    """
    # best[k] = (raw score of the categories so far, checks chosen) with k checks chosen.
    best: dict[int, tuple[float, tuple[str, ...]]] = {0: (0.0, ())}
    for category in Category.ordered():
        mine = [p for p in parts if p.category is category]
        free = sorted(
            (p for p in mine if p.check not in fixed | kept), key=lambda p: (-p.raw, p.check)
        )
        options = []
        for take in range(len(free) + 1):
            chosen = {p.check for p in free[:take]}
            left = sum(p.raw for p in mine if p.check not in chosen and p.check not in fixed)
            term = CATEGORY_WEIGHTS[category] * 100.0 * math.exp(-left / SATURATION)
            options.append((take, term, tuple(sorted(chosen))))
        merged: dict[int, tuple[float, tuple[str, ...]]] = {}
        for k, (value, checks) in best.items():
            for take, term, chosen_here in options:
                if k + take > size:
                    continue
                candidate = (value + term, checks + chosen_here)
                if k + take not in merged or candidate[0] > merged[k + take][0]:
                    merged[k + take] = candidate
        best = merged
    return frozenset(best[size][1]) if size in best else None


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


def score(
    findings: Iterable[ScoredFinding],
    size: Size,
    *,
    control_plane_eol: bool,
    waived: Collection[FindingKey] = (),
    not_evaluated: Collection[str] = (),
) -> Scorecard:
    """Score a cluster's open findings.

    Waived findings (by identity key) leave before scoring; findings of checks that were not
    evaluated are dropped too, since the check could not confirm them. ``control_plane_eol``
    caps the grade at ``EOL_GRADE``.
    """
    skipped = frozenset(not_evaluated)
    accepted = frozenset(tuple(k) for k in waived)
    every = [(_key(f), f) for f in map(_plain, findings) if f.check not in skipped]
    counted = [(key, f) for key, f in every if key not in accepted]
    parts = _parts(counted, size)
    raw_categories = _category_scores(parts)
    raw = _weighted(raw_categories)
    exact = min(raw, EOL_CEILING) if control_plane_eol else raw
    final = _round1(exact)

    categories: dict[Category, CategoryScore] = {}
    for category in Category.ordered():
        mine = [p for p in parts if p.category is category]
        total = sum(p.raw for p in mine)
        lost = 100.0 - raw_categories[category]
        weight = CATEGORY_WEIGHTS[category]
        deductions = [
            Deduction(
                p.check,
                p.severity,
                p.count,
                round(lost * p.raw / total, 2),
                round(weight * lost * p.raw / total, 2),
                p.scope,
                p.affected,
                p.out_of,
                round(p.raw, 2),
            )
            for p in mine
        ]
        deductions.sort(key=lambda d: (-d.points, d.check))
        categories[category] = CategoryScore(
            _round1(raw_categories[category]), weight, tuple(deductions)
        )

    waived_count = len({key for key, _ in every} & accepted)
    if waived_count:
        unwaived = _weighted(_category_scores(_parts(every, size)))
        unwaived = min(unwaived, EOL_CEILING) if control_plane_eol else unwaived
        waived_points = _round1(final - _round1(unwaived))
    else:
        waived_points = 0.0
    return Scorecard(
        score=final,
        grade=Grade.for_score(final),
        categories=MappingProxyType(categories),
        capped_by=EOL_REASON if control_plane_eol else "",
        cap_points=round(raw - exact, 2),
        waived=waived_count,
        waived_points=waived_points,
        not_evaluated=tuple(sorted(skipped)),
        _parts=parts,
        _eol=control_plane_eol,
        _exact=exact,
        _counts=MappingProxyType(_count_by_check(key for key, _ in counted)),
    )
