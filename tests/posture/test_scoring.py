"""The scoring model: properties over random findings, and the worked example in the docs."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from posture.checks import CATALOG
from posture.checks.results import Finding
from posture.checks.vocabulary import Category, Severity
from posture.domain.scoring import (
    CATEGORY_WEIGHTS,
    CURVE_EXPONENT,
    EOL_CEILING,
    EOL_CHECK,
    EOL_GRADE,
    SATURATION,
    SEVERITY_POINTS,
    Cap,
    Fix,
    Grade,
    GradePath,
    Scope,
    Scorecard,
    Scored,
    Size,
    effective_weights,
    from_stored,
    scope_of,
    score,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Building findings ------------------------------------------------------------------------


def _finding(
    check: str,
    kind: str,
    namespace: str,
    name: str,
    container: str = "",
    severity: Severity | None = None,
    category: Category | None = None,
) -> Scored:
    entry = CATALOG.get(check)
    return Scored(
        check,
        str(severity or (entry.severity if entry else Severity.MEDIUM)),
        str(category or (entry.category if entry else Category.WORKLOADS)),
        kind,
        namespace,
        name,
        container,
    )


def workloads(check: str, count: int, start: int = 0, namespace: str = "shop") -> list[Scored]:
    return [
        _finding(check, "Deployment", namespace, f"app-{i}", "main")
        for i in range(start, start + count)
    ]


def nodes(check: str, count: int) -> list[Scored]:
    return [_finding(check, "Node", "", f"node-{i}") for i in range(count)]


def namespaces(check: str, count: int) -> list[Scored]:
    return [_finding(check, "Namespace", "", f"team-{i}") for i in range(count)]


def cluster(check: str, kind: str = "Cluster", name: str = "") -> list[Scored]:
    return [_finding(check, kind, "", name)]


# Random findings: real and unknown check ids, every scope of kind, any severity and category
# (the model must hold for any input, not only the catalog's), few names so findings collide.
KINDS = [
    "Deployment",
    "StatefulSet",
    "Rollout",
    "Node",
    "Namespace",
    "Service",
    "Cluster",
    "ClusterRoleBinding",
    "RoleBinding",
    "Role",
]
CHECK_IDS = [
    "workload.privileged",
    "workload.runs-as-root",
    "image.latest-tag",
    "node.os-eol",
    "network.namespace-not-isolated",
    "access.cluster-admin-binding",
    EOL_CHECK,
    "version.kubernetes-patch-behind",
    "vulnerability.critical",
    "custom.unknown",
]

findings_st = st.builds(
    Scored,
    check=st.sampled_from(CHECK_IDS),
    severity=st.sampled_from([str(s) for s in Severity]),
    category=st.sampled_from([str(c) for c in Category]),
    kind=st.sampled_from(KINDS),
    namespace=st.sampled_from(["", "shop", "kube-system", "team-1"]),
    name=st.sampled_from(["a", "b", "c", "d", "e", "node-1", "team-1"]),
    container=st.sampled_from(["", "main", "sidecar"]),
)
lists_st = st.lists(findings_st, max_size=40)
sizes_st = st.builds(Size, st.integers(0, 400), st.integers(0, 40), st.integers(0, 40))


def _tolerance(card: Scorecard) -> float:
    # Each deduction is rounded to 0.01 and the score to 0.1.
    count = sum(len(c.deductions) for c in card.categories.values())
    return 0.05 + 0.005 * (count + 1) + 1e-9


# --- Properties -------------------------------------------------------------------------------


@PROPERTY
@given(lists_st, sizes_st, st.booleans())
def test_score_is_bounded_and_every_lost_point_is_explained(
    findings: list[Scored], size: Size, eol: bool
) -> None:
    card = score(findings, size, control_plane_eol=eol)
    assert 0.0 <= card.score <= 100.0
    assert card.grade is Grade.for_score(card.score)
    for category in card.categories.values():
        assert 0.0 <= category.score <= 100.0
        lost = sum(d.points for d in category.deductions)
        assert math.isclose(lost, 100.0 - category.score, abs_tol=_tolerance(card))
    overall = sum(d.overall for c in card.categories.values() for d in c.deductions)
    assert math.isclose(overall + card.cap_points, 100.0 - card.score, abs_tol=_tolerance(card))


@PROPERTY
@given(lists_st, sizes_st, st.booleans(), st.data())
def test_resolving_a_finding_never_lowers_the_score(
    findings: list[Scored], size: Size, eol: bool, data: st.DataObject
) -> None:
    assume(findings)
    index = data.draw(st.integers(0, len(findings) - 1))
    before = score(findings, size, control_plane_eol=eol)
    after = score(findings[:index] + findings[index + 1 :], size, control_plane_eol=eol)
    assert after.score >= before.score
    for category in Category:
        assert after.categories[category].score >= before.categories[category].score


@PROPERTY
@given(lists_st, findings_st, sizes_st, st.booleans())
def test_a_new_finding_never_raises_the_score(
    findings: list[Scored], extra: Scored, size: Size, eol: bool
) -> None:
    before = score(findings, size, control_plane_eol=eol)
    after = score([*findings, extra], size, control_plane_eol=eol)
    assert after.score <= before.score


@PROPERTY
@given(lists_st, sizes_st, st.booleans(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(
    findings: list[Scored], size: Size, eol: bool, rng: random.Random
) -> None:
    shuffled = list(findings)
    rng.shuffle(shuffled)
    first = score(findings, size, control_plane_eol=eol)
    second = score(shuffled, size, control_plane_eol=eol)
    assert first.to_dict() == second.to_dict()
    assert first.fixes() == second.fixes()
    assert first.path_to(Grade.A) == second.path_to(Grade.A)


SHARES_ST = st.fixed_dictionaries(
    {
        "workload.privileged": st.integers(0, 30),
        "workload.runs-as-root": st.integers(0, 30),
        "image.latest-tag": st.integers(0, 30),
        "node.os-eol": st.integers(0, 6),
        "node.not-rotated": st.integers(0, 6),
        "network.namespace-not-isolated": st.integers(0, 5),
        "namespace.pss-not-enforced": st.integers(0, 5),
    }
)


def _cluster_of(scale: int, affected: dict[str, int], bindings: int) -> tuple[list[Scored], Size]:
    found: list[Scored] = []
    for check, count in affected.items():
        scope = {"workload": Scope.WORKLOAD, "image": Scope.WORKLOAD, "node": Scope.NODE}.get(
            check.split(".")[0], Scope.NAMESPACE
        )
        n = count * scale
        if scope is Scope.WORKLOAD:
            # Two containers per workload: findings double, affected workloads do not.
            found += workloads(check, n) + [
                f._replace(container="sidecar") for f in workloads(check, n)
            ]
        elif scope is Scope.NODE:
            found += nodes(check, n)
        else:
            found += namespaces(check, n)
    for i in range(bindings * scale):
        found += cluster("access.cluster-admin-binding", "ClusterRoleBinding", f"admin-{i}")
    return found, Size(workloads=30 * scale, nodes=6 * scale, namespaces=5 * scale)


@PROPERTY
@given(SHARES_ST, st.integers(0, 2), st.booleans())
def test_same_shares_in_a_ten_times_bigger_cluster_score_the_same(
    affected: dict[str, int], bindings: int, eol: bool
) -> None:
    small, small_size = _cluster_of(1, affected, bindings)
    big, big_size = _cluster_of(10, affected, bindings)
    assert len(big) == 10 * len(small)
    small_card = score(small, small_size, control_plane_eol=eol)
    big_card = score(big, big_size, control_plane_eol=eol)
    assert big_card.score == small_card.score
    assert {c: s.score for c, s in big_card.categories.items()} == {
        c: s.score for c, s in small_card.categories.items()
    }


@PROPERTY
@given(SHARES_ST)
def test_the_same_count_weighs_less_in_a_bigger_cluster(affected: dict[str, int]) -> None:
    found, size = _cluster_of(1, affected, 0)
    bigger = Size(size.workloads * 10, size.nodes * 10, size.namespaces * 10)
    small = score(found, size, control_plane_eol=False)
    big = score(found, bigger, control_plane_eol=False)
    assert big.score >= small.score
    assert big.score > small.score or small.score == 100.0


@PROPERTY
@given(lists_st, sizes_st, st.booleans(), st.data())
def test_waived_findings_leave_the_score_exactly(
    findings: list[Scored], size: Size, eol: bool, data: st.DataObject
) -> None:
    keys = sorted({(f.check, f.kind, f.namespace, f.name, f.container) for f in findings})
    waived = set(data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else [])
    waived.add(("custom.unknown", "Deployment", "elsewhere", "gone", ""))  # matches nothing
    with_waivers = score(findings, size, control_plane_eol=eol, waived=waived)
    remaining = [
        f for f in findings if (f.check, f.kind, f.namespace, f.name, f.container) not in waived
    ]
    without = score(remaining, size, control_plane_eol=eol)
    assert with_waivers.score == without.score
    assert with_waivers.categories == without.categories
    assert with_waivers.top_fixes(20) == without.top_fixes(20)
    assert with_waivers.waived == len(waived) - 1
    everything = score(findings, size, control_plane_eol=eol)
    assert with_waivers.waived_points == round(with_waivers.score - everything.score, 1)
    assert with_waivers.waived_points >= 0


@PROPERTY
@given(lists_st, sizes_st)
def test_an_end_of_life_control_plane_caps_the_grade_at_d(
    findings: list[Scored], size: Size
) -> None:
    free = score(findings, size, control_plane_eol=False)
    capped = score(findings, size, control_plane_eol=True)
    assert capped.score == min(free.score, EOL_CEILING)
    assert capped.grade.rank <= EOL_GRADE.rank
    assert capped.grade is (EOL_GRADE if free.score >= EOL_GRADE.minimum else free.grade)
    assert capped.capped_by == (Cap.EOL.reason,) and free.capped_by == ()
    assert capped.uncapped == free.uncapped
    # The categories are the same; only what fixing gains can differ (the cap may eat it).
    assert _losses(capped) == _losses(free)


def _losses(card: Scorecard) -> dict[Category, tuple[object, ...]]:
    return {
        category: (cat.score, tuple((d.check, d.points, d.overall) for d in cat.deductions))
        for category, cat in card.categories.items()
    }


CAPS_ST = st.sets(st.sampled_from(list(Cap)))


@PROPERTY
@given(lists_st, sizes_st, CAPS_ST)
def test_caps_hold_the_score_under_the_lowest_ceiling(
    findings: list[Scored], size: Size, caps: set[Cap]
) -> None:
    free = score(findings, size)
    capped = score(findings, size, caps=caps)
    assert capped.score == min([free.score, *(cap.ceiling for cap in caps)])
    assert capped.caps == tuple(sorted(caps, key=lambda c: (c.grade.rank, str(c))))
    assert set(capped.capped_by) == {cap.reason for cap in caps}
    if caps:
        assert capped.cap_grade is min((c.grade for c in caps), key=lambda g: g.rank)
        assert capped.grade.rank <= capped.cap_grade.rank
    assert math.isclose(capped.cap_points, max(0.0, free.uncapped - capped.score), abs_tol=0.06)


@PROPERTY
@given(lists_st, sizes_st, st.booleans(), st.sets(st.sampled_from(CHECK_IDS)))
def test_not_evaluated_checks_neither_add_nor_remove_points(
    findings: list[Scored], size: Size, eol: bool, skipped: set[str]
) -> None:
    card = score(findings, size, control_plane_eol=eol, not_evaluated=skipped)
    seen = score([f for f in findings if f.check not in skipped], size, control_plane_eol=eol)
    assert card.score == seen.score
    assert card.categories == seen.categories
    assert card.not_evaluated == tuple(sorted(skipped))
    # A check that found nothing changes nothing by being unevaluated.
    quiet = set(CHECK_IDS) - {f.check for f in findings}
    assert (
        score(findings, size, control_plane_eol=eol, not_evaluated=quiet).score
        == score(findings, size, control_plane_eol=eol).score
    )


@PROPERTY
@given(lists_st, sizes_st, st.booleans())
def test_fixes_are_ranked_by_risk_and_carry_what_fixing_gains(
    findings: list[Scored], size: Size, eol: bool
) -> None:
    card = score(findings, size, control_plane_eol=eol)
    fixes = card.fixes()
    charged = {d.check for c in card.categories.values() for d in c.deductions}
    assert {f.check for f in fixes} == charged
    assert card.top_fixes(2) == list(fixes[:2])
    for fix in fixes:
        assert fix.points_gained == round(card.score_without([fix.check]) - card.score, 1)
        assert fix.points_gained >= 0
        assert fix.count == len(
            {(f.kind, f.namespace, f.name, f.container) for f in findings if f.check == fix.check}
        )
        assert 0 < fix.exposure <= 1
    risk = [(-f.severity.rank, -f.exposure, -f.affected) for f in fixes]
    assert risk == sorted(risk)
    # Every figure "regained by fixing" in the categories is the fix list's figure.
    for category in card.categories.values():
        for deduction in category.deductions:
            fix = card.fix_for(deduction.check)
            assert fix is not None and deduction.regained == fix.points_gained
    if not eol:
        # The curve is concave: fixing a check never gives back more than its share.
        for fix in fixes:
            share = sum(d.overall for c in card.categories.values() for d in c.deductions
                        if d.check == fix.check)
            assert fix.points_gained <= share + 0.1


@settings(max_examples=80, deadline=None)
@given(st.lists(findings_st, max_size=25), sizes_st, CAPS_ST, st.sampled_from(list(Grade)))
def test_the_path_is_the_shortest_prefix_of_the_ranked_list(
    findings: list[Scored], size: Size, caps: set[Cap], target: Grade
) -> None:
    card = score(findings, size, caps=caps)
    path = card.path_to(target)
    checks = [f.check for f in card.fixes()]

    def earns(count: int) -> bool:
        return Grade.for_score(card.score_without(checks[:count])).rank >= target.rank

    shortest = next((n for n in range(len(checks) + 1) if earns(n)), None)
    assert path.steps == shortest
    if shortest is None:
        assert path.blocked_by and all(cap.grade.rank < target.rank for cap in path.blocked_by)
        assert all(cap.lifted_by is None or cap.lifted_by not in checks for cap in path.blocked_by)
    else:
        assert path.score == card.score_without(checks[:shortest])
        assert path.blocked_by == ()


# --- Units ------------------------------------------------------------------------------------


def test_a_cluster_without_findings_scores_100_in_every_category() -> None:
    card = score([], Size(0, 0, 0), control_plane_eol=False)
    assert card.score == 100.0 and card.grade is Grade.A
    assert set(card.categories) == set(Category)
    assert all(c.score == 100.0 and not c.deductions for c in card.categories.values())
    assert card.top_fixes(5) == [] and card.path_to("A") == GradePath(Grade.A, 0, 100.0)


def _checks_of(category: Category) -> list[str]:
    return sorted(c for c, check in CATALOG.items() if check.category is category)


def test_a_category_none_of_whose_checks_ran_is_not_evaluated_and_leaves_the_mean() -> None:
    found = workloads("workload.privileged", 3)
    card = score(
        found,
        Size(10, 1, 1),
        # As the engine reports it: check id -> why it could not run.
        not_evaluated={"vulnerability.high": "no reports", "vulnerability.critical": "no reports"},
    )
    vulnerabilities = card.categories[Category.VULNERABILITIES]
    assert vulnerabilities.score is None and not vulnerabilities.evaluated
    assert vulnerabilities.effective_weight == 0.0 and vulnerabilities.deductions == ()
    assert card.not_evaluated == ("vulnerability.critical", "vulnerability.high")
    # The other categories share its weight in proportion: the mean of what was seen.
    weights = effective_weights(set(Category) - {Category.VULNERABILITIES})
    assert math.isclose(sum(weights.values()), 1.0)
    assert weights[Category.WORKLOADS] == CATEGORY_WEIGHTS[Category.WORKLOADS] / 0.9
    workloads_score = 100 * math.exp(-SEVERITY_POINTS[Severity.CRITICAL] * 0.3**0.5 / SATURATION)
    expected = weights[Category.WORKLOADS] * workloads_score + (1 - weights[Category.WORKLOADS]) * 100
    assert card.score == round(expected, 1)
    assert card.score < score(found, Size(10, 1, 1)).score
    assert card.to_dict()["categories"]["vulnerabilities"]["score"] is None


def test_one_check_that_ran_keeps_its_category_evaluated() -> None:
    card = score([], Size(1, 1, 1), not_evaluated=_checks_of(Category.VERSION)[1:])
    assert card.categories[Category.VERSION].score == 100.0


def test_an_unreadable_kubernetes_version_is_not_a_perfect_version_score() -> None:
    # What the engine reports when /version answers something that is not a version.
    card = score(
        cluster("access.cluster-admin-binding", "ClusterRoleBinding", "admins"),
        Size(10, 3, 4),
        caps=[Cap.CONTROL_PLANE_UNKNOWN],
        not_evaluated=_checks_of(Category.VERSION),
    )
    assert card.categories[Category.VERSION].score is None
    assert card.capped_by == (Cap.CONTROL_PLANE_UNKNOWN.reason,)
    assert Cap.CONTROL_PLANE_UNKNOWN.grade is Grade.C and card.cap_grade is Grade.C
    clean = score([], Size(10, 3, 4), caps=[Cap.CONTROL_PLANE_UNKNOWN],
                  not_evaluated=_checks_of(Category.VERSION))
    assert clean.score == 79.9 and clean.grade is Grade.C and clean.cap_cuts
    assert clean.path_to(Grade.B) == GradePath(Grade.B, None, None, (Cap.CONTROL_PLANE_UNKNOWN,))


def test_nothing_evaluated_gives_no_score_rather_than_100() -> None:
    card = score([], Size(1, 1, 1), not_evaluated=list(CATALOG))
    assert card.score is None and card.grade is None
    assert all(c.score is None for c in card.categories.values())
    assert card.fixes() == () and card.next_grade() is None


def test_caps_are_listed_in_the_json_with_their_reasons() -> None:
    card = score([], Size(1, 1, 1), caps=[Cap.EOL, Cap.NODE_OS_UNKNOWN])
    stored = json.loads(json.dumps(card.to_dict()))
    assert stored["capped_by"] == list(card.capped_by) == [c.reason for c in card.caps]
    assert [c["cap"] for c in stored["caps"]] == ["eol", "node-os-unknown"]
    assert [c["ceiling"] for c in stored["caps"]] == [69.9, 79.9]


def test_a_critical_in_a_saturated_category_ranks_above_tag_hygiene() -> None:
    # The shape of the neglected scenario: a workloads category near 0, where fixing even a
    # privileged container gains little, beside an images category where a tag fix gains more.
    size = Size(workloads=11, nodes=6, namespaces=9)
    everywhere = ("workload.runs-as-root", "workload.capabilities-not-dropped",
                  "workload.privilege-escalation", "workload.seccomp-profile",
                  "workload.no-resource-limits", "workload.root-filesystem-writable",
                  "workload.service-account-token-automounted", "image.not-pinned-by-digest")
    found = [
        *workloads("workload.privileged", 5),
        *workloads("workload.host-path-volumes", 6),
        *workloads("workload.host-namespaces", 5),
        *workloads("workload.capabilities-added", 3),
        *(f for check in everywhere for f in workloads(check, 11)),
        *namespaces("namespace.pss-not-enforced", 9),
        *workloads("image.latest-tag", 7),
    ]
    card = score(found, size)
    assert card.categories[Category.WORKLOADS].score < 10
    gained = {f.check: f.points_gained for f in card.fixes()}
    # The trap: by points alone, tag hygiene would come before container escapes.
    assert gained["image.latest-tag"] > gained["workload.privileged"]
    assert gained["image.not-pinned-by-digest"] > gained["workload.host-path-volumes"]
    order = [f.check for f in card.fixes()]
    assert order[:4] == ["workload.privileged", "workload.host-path-volumes",
                         "workload.host-namespaces", "workload.capabilities-added"]
    assert order.index("image.not-pinned-by-digest") > order.index("image.latest-tag") > 3
    first = card.fixes()[0]
    assert (first.severity, first.affected, first.out_of) == (Severity.CRITICAL, 5, 11)


def test_cluster_wide_counts_as_the_whole_cluster_in_the_ranking() -> None:
    card = score(
        [*nodes("node.os-eol", 6), *cluster("access.wildcard-role", "ClusterRole", "ops"),
         *workloads("workload.privileged", 1)],
        Size(10, 6, 3),
    )
    # Critical first, then two highs at a share of 1: six nodes outrank one cluster-wide role.
    assert [f.check for f in card.fixes()] == [
        "workload.privileged", "node.os-eol", "access.wildcard-role"]
    assert card.fixes()[2].exposure == 1.0


@PROPERTY
@given(lists_st, sizes_st, st.booleans(), st.data())
def test_platform_findings_leave_the_score_like_waived_ones(
    findings: list[Scored], size: Size, eol: bool, data: st.DataObject
) -> None:
    keys = sorted({(f.check, f.kind, f.namespace, f.name, f.container) for f in findings})
    managed = set(data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else [])
    card = score(findings, size, control_plane_eol=eol, platform=managed)
    rest = [f for f in findings if (f.check, f.kind, f.namespace, f.name, f.container)
            not in managed]
    alone = score(rest, size, control_plane_eol=eol)
    assert card.score == alone.score and card.fixes() == alone.fixes()
    assert card.platform == len(managed)
    everything = score(findings, size, control_plane_eol=eol)
    assert card.platform_points == round(card.score - everything.score, 1) >= 0


def test_category_weights_sum_to_one_and_cover_every_category() -> None:
    assert set(CATEGORY_WEIGHTS) == set(Category)
    assert math.isclose(sum(CATEGORY_WEIGHTS.values()), 1.0)
    assert all(w > 0 for w in CATEGORY_WEIGHTS.values())


def test_more_severe_checks_can_cost_more() -> None:
    points = [SEVERITY_POINTS[s] for s in Severity.ordered()]
    assert points == sorted(points, reverse=True)
    assert SEVERITY_POINTS[Severity.INFO] == 0.0


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("grade", list(Grade))
def test_grade_colours_are_readable_on_white(grade: Grade) -> None:
    assert 1.05 / (_luminance(grade.colour) + 0.05) >= 4.5


def test_grades_are_declared_once_with_their_thresholds() -> None:
    assert [str(g) for g in Grade.ordered()] == ["A", "B", "C", "D", "F"]
    assert [g.minimum for g in Grade.ordered()] == [90.0, 80.0, 70.0, 60.0, 0.0]
    assert len({g.colour for g in Grade}) == len(Grade)
    assert Grade.for_score(90.0) is Grade.A and Grade.for_score(89.9) is Grade.B
    assert Grade.for_score(60.0) is Grade.D and Grade.for_score(59.9) is Grade.F
    assert EOL_CEILING == 69.9 and Grade.for_score(EOL_CEILING) is EOL_GRADE


def test_the_end_of_life_check_exists_in_the_catalog() -> None:
    assert EOL_CHECK in CATALOG
    assert CATALOG[EOL_CHECK].category is Category.VERSION


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        ("Deployment", Scope.WORKLOAD),
        ("CronJob", Scope.WORKLOAD),
        ("Pod", Scope.WORKLOAD),
        ("Rollout", Scope.WORKLOAD),
        ("Node", Scope.NODE),
        ("Namespace", Scope.NAMESPACE),
        ("Service", Scope.NAMESPACE),
        ("Cluster", Scope.CLUSTER),
        ("ClusterRoleBinding", Scope.CLUSTER),
        ("RoleBinding", Scope.CLUSTER),
        ("ClusterRole", Scope.CLUSTER),
        ("Role", Scope.CLUSTER),
    ],
)
def test_a_findings_kind_decides_what_it_is_counted_against(kind: str, scope: Scope) -> None:
    assert scope_of(kind) is scope


def test_containers_of_one_workload_count_as_one_affected_workload() -> None:
    found = [
        _finding("workload.privileged", "Deployment", "shop", "web", c)
        for c in ("main", "sidecar", "init")
    ]
    card = score(found, Size(100, 1, 1), control_plane_eol=False)
    (deduction,) = card.categories[Category.WORKLOADS].deductions
    assert (deduction.count, deduction.affected, deduction.out_of) == (3, 1, 100)
    assert deduction.scope is Scope.WORKLOAD
    assert deduction.raw == round(100 * (1 / 100) ** CURVE_EXPONENT, 2)


def test_services_count_against_their_namespace() -> None:
    found = [
        _finding("network.service-exposed", "Service", "shop", name) for name in ("web", "api")
    ] + [_finding("network.service-exposed", "Service", "blog", "web")]
    card = score(found, Size(10, 1, 8), control_plane_eol=False)
    (deduction,) = card.categories[Category.NETWORK].deductions
    assert (deduction.count, deduction.affected, deduction.out_of) == (3, 2, 8)


def test_cluster_level_checks_count_by_presence() -> None:
    one = score(
        cluster("access.cluster-admin-binding", "ClusterRoleBinding", "a"),
        Size(500, 50, 50),
        control_plane_eol=False,
    )
    three = score(
        [
            *cluster("access.cluster-admin-binding", "ClusterRoleBinding", "a"),
            *cluster("access.cluster-admin-binding", "RoleBinding", "b"),
            *cluster("access.cluster-admin-binding", "ClusterRoleBinding", "c"),
        ],
        Size(5, 1, 1),
        control_plane_eol=False,
    )
    assert one.score == three.score
    (deduction,) = one.categories[Category.ACCESS].deductions
    assert deduction.raw == SEVERITY_POINTS[Severity.CRITICAL]
    expected = 100 * math.exp(-SEVERITY_POINTS[Severity.CRITICAL] / SATURATION)
    assert one.categories[Category.ACCESS].score == round(expected, 1)


def test_more_affected_units_than_the_size_counts_as_everything() -> None:
    card = score(nodes("node.os-eol", 5), Size(10, 2, 1), control_plane_eol=False)
    (deduction,) = card.categories[Category.NODES].deductions
    assert (deduction.affected, deduction.out_of, deduction.raw) == (5, 5, 50.0)


def test_info_findings_cost_nothing() -> None:
    found = workloads("workload.privileged", 3)
    card = score(
        [f._replace(severity="info") for f in found], Size(3, 1, 1), control_plane_eol=False
    )
    assert card.score == 100.0 and card.categories[Category.WORKLOADS].deductions == ()


def test_the_most_severe_finding_of_a_check_sets_its_weight() -> None:
    found = workloads("image.latest-tag", 4)
    mixed = [*found[:3], found[3]._replace(severity="critical")]
    (deduction,) = (
        score(mixed, Size(4, 1, 1), control_plane_eol=False).categories[Category.IMAGES].deductions
    )
    assert deduction.severity is Severity.CRITICAL


def test_size_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        Size(-1, 0, 0)


def test_the_engines_findings_fit_as_they_are() -> None:
    engine = Finding(
        "workload.privileged",
        Severity.CRITICAL,
        Category.WORKLOADS,
        "Deployment",
        "shop",
        "web",
        "main",
        "privileged container",
    )
    plain = _finding("workload.privileged", "Deployment", "shop", "web", "main")
    size = Size(10, 1, 1)
    assert (
        score([engine], size, control_plane_eol=False).to_dict()
        == score([plain], size, control_plane_eol=False).to_dict()
    )
    assert score([engine], size, control_plane_eol=False, waived=[engine.key]).score == 100.0


@dataclass
class _Row:
    """Shaped like the stored finding row: ``check_id``, and a ``check`` method."""

    check_id: str
    severity: str
    category: str
    kind: str
    namespace: str
    name: str
    container: str

    def check(self) -> list[str]:
        return []


def test_stored_rows_go_through_the_adapter() -> None:
    row = _Row("workload.privileged", "critical", "workloads", "Deployment", "shop", "web", "")
    size = Size(10, 1, 1)
    via_adapter = score(from_stored([row]), size, control_plane_eol=False)
    direct = score(
        [_finding("workload.privileged", "Deployment", "shop", "web")],
        size,
        control_plane_eol=False,
    )
    assert via_adapter.to_dict() == direct.to_dict()
    with pytest.raises(TypeError, match="from_stored"):
        score([row], size, control_plane_eol=False)  # type: ignore[list-item]


def test_unknown_severities_are_refused() -> None:
    bad = _finding("workload.privileged", "Deployment", "shop", "web")._replace(severity="dire")
    with pytest.raises(ValueError, match="dire"):
        score([bad], Size(1, 1, 1), control_plane_eol=False)


def test_the_scorecard_is_json_ready() -> None:
    card = _example()
    data = json.loads(json.dumps(card.to_dict()))
    assert data["score"] == card.score and data["grade"] == str(card.grade)
    assert set(data["categories"]) == {str(c) for c in Category}
    workloads_row = data["categories"]["workloads"]["deductions"][0]
    assert workloads_row["check"] == "workload.privileged"


def test_fixing_the_end_of_life_finding_lifts_the_cap() -> None:
    card = score(EOL_EXAMPLE, EXAMPLE_SIZE, control_plane_eol=True)
    assert card.score == EOL_CEILING and card.cap_points > 0
    (first, *rest) = card.top_fixes(5)
    assert first.check == EOL_CHECK and first.points_gained > 0 and first.lifts == (Cap.EOL,)
    assert all(f.points_gained == 0.0 and not f.lifts for f in rest)
    assert card.path_to(Grade.A) == GradePath(Grade.A, 1, card.score_without([EOL_CHECK]))


def test_without_the_end_of_life_finding_nothing_lifts_the_cap() -> None:
    # The finding was waived: the cap follows the control plane, not the finding.
    eol_key = (EOL_CHECK, "Cluster", "", "", "")
    card = score(EOL_EXAMPLE, EXAMPLE_SIZE, control_plane_eol=True, waived=[eol_key])
    assert card.score == EOL_CEILING
    assert card.path_to(Grade.C) == GradePath(Grade.C, None, None, (Cap.EOL,))
    assert card.path_to(Grade.D).steps == 0


def test_scoring_five_thousand_findings_takes_milliseconds() -> None:
    rng = random.Random(7)
    found = []
    for i in range(5000):
        check = rng.choice([c for c in CATALOG if c.startswith(("workload.", "image."))])
        found.append(
            _finding(
                check,
                "Deployment",
                f"ns-{i % 40}",
                f"app-{i % 900}",
                rng.choice(["main", "sidecar"]),
            )
        )
    size = Size(900, 60, 40)
    elapsed = []
    for _ in range(3):
        start = time.perf_counter()
        card = score(found, size, control_plane_eol=False)
        card.top_fixes(10)
        card.path_to(Grade.A)
        elapsed.append(time.perf_counter() - start)
    assert min(elapsed) < 0.25, f"{min(elapsed):.3f}s"


# --- The worked example in docs/scoring.md ----------------------------------------------------

EXAMPLE_SIZE = Size(workloads=300, nodes=12, namespaces=20)
EXAMPLE = [
    *cluster("version.kubernetes-patch-behind"),
    *nodes("node.os-eol", 3),
    *workloads("workload.privileged", 10, namespace="monitoring"),
    *workloads("workload.runs-as-root", 120),
    *workloads("workload.no-resource-limits", 75),
    *workloads("image.latest-tag", 30),
    *namespaces("network.namespace-not-isolated", 8),
    *cluster("access.cluster-admin-binding", "ClusterRoleBinding", "ops-admins"),
]
# No Trivy Operator in the example cluster.
NO_SCANNER = _checks_of(Category.VULNERABILITIES)
EOL_EXAMPLE = [*cluster(EOL_CHECK), *workloads("image.latest-tag", 30)]


def _example(**kwargs: object) -> Scorecard:
    return score(EXAMPLE, EXAMPLE_SIZE, not_evaluated=NO_SCANNER, **kwargs)  # type: ignore[arg-type]


def _share(affected: int, out_of: int, scope: Scope) -> str:
    return f"{affected} of {out_of} {scope.label}" if scope is not Scope.CLUSTER else "present"


def _deduction_rows(card: Scorecard) -> list[str]:
    rows = []
    for category, cat in card.categories.items():
        for d in cat.deductions:
            rows.append(
                f"| {category} | `{d.check}` | {d.severity} | "
                f"{_share(d.affected, d.out_of, d.scope)} | {d.raw:.2f} "
                f"| {d.points:.2f} | {d.overall:.2f} | +{d.regained:.1f} |"
            )
    return rows


def _category_rows(card: Scorecard) -> list[str]:
    rows = []
    for category, cat in card.categories.items():
        if cat.score is None:
            rows.append(f"| {category} | {cat.weight:.2f} | 0 | — | not evaluated | — |")
            continue
        rows.append(
            f"| {category} | {cat.weight:.2f} | {cat.effective_weight:.4f} "
            f"| {sum(d.raw for d in cat.deductions):.2f} | {cat.score:.1f} "
            f"| {cat.effective_weight * cat.score:.2f} |"
        )
    return rows


def _fix_rows(fixes: list[Fix]) -> list[str]:
    return [
        f"| `{f.check}` | {f.severity} | "
        f"{'cluster-wide' if f.scope is Scope.CLUSTER else _share(f.affected, f.out_of, f.scope)} "
        f"| {f.count} | +{f.points_gained:.1f} |"
        for f in fixes
    ]


def _doc() -> str:
    # Prose wraps anywhere; table rows hold single spaces only, so they survive this.
    return " ".join(DOC.read_text(encoding="utf-8").split())


def test_the_docs_deductions_are_the_codes() -> None:
    card = _example()
    doc = _doc()
    for row in _deduction_rows(card) + _category_rows(card):
        assert row in doc, row
    assert f"**{card.score:.1f}, grade D**" in doc and card.grade is Grade.D
    assert f"scored {score(EXAMPLE, EXAMPLE_SIZE).score:.1f} (C)" in doc


def test_the_docs_reading_of_one_row_is_the_codes() -> None:
    card = _example()
    workloads_cat = card.categories[Category.WORKLOADS]
    privileged = workloads_cat.deductions[0]
    share = privileged.affected / privileged.out_of
    total = sum(d.raw for d in workloads_cat.deductions)
    doc = _doc()
    assert f"is a share of {share:.4f}; its square root is {share**CURVE_EXPONENT:.4f}" in doc
    assert f"gives {privileged.raw:.2f} raw points" in doc
    assert (
        f"= {total:.2f} raw points and keeps 100 × e^(−{total / SATURATION:.4f}) = "
        f"{workloads_cat.score:.1f}" in doc
    )
    assert f"It lost {100 - workloads_cat.score:.1f} points" in doc
    assert f"of the share: {privileged.points:.2f}" in doc
    assert (
        f"effective weight of {workloads_cat.effective_weight:.4f}, that is "
        f"{privileged.overall:.2f} points" in doc
    )
    assert f"Fixing it alone regains {privileged.regained:.1f}" in doc
    left = total - privileged.raw
    kept = 100 * math.exp(-left / SATURATION)
    assert f"keeps 100 × e^(−{left / SATURATION:.4f}) = {kept:.1f}" in doc
    overall = sum(d.overall for c in card.categories.values() for d in c.deductions)
    assert f"add up to {overall:.2f} = 100 − {100 - overall:.2f}" in doc
    weights = effective_weights(set(Category) - {Category.VULNERABILITIES})
    assert f"0.15 becoming 0.15 / 0.9 = {weights[Category.VERSION]:.4f}" in doc


def test_the_docs_fix_list_and_path_are_the_codes() -> None:
    card = _example()
    doc = _doc()
    for row in _fix_rows(list(card.fixes())):
        assert row in doc, row
    to_b, to_a = card.path_to(Grade.B), card.path_to(Grade.A)
    assert f"Fixing the first {to_b.steps} in this order reaches B (score {to_b.score:.1f})" in doc
    assert f"first {to_a.steps} reaches A (score {to_a.score:.1f})" in doc


def test_the_docs_end_of_life_example_is_the_codes() -> None:
    card = score(EOL_EXAMPLE, EXAMPLE_SIZE, control_plane_eol=True, not_evaluated=NO_SCANNER)
    uncapped = score(EOL_EXAMPLE, EXAMPLE_SIZE, not_evaluated=NO_SCANNER)
    (fix,) = card.top_fixes(1)
    doc = _doc()
    assert f"would score {uncapped.score:.1f} ({uncapped.grade})" in doc
    assert f"scores **{card.score:.1f}, grade {card.grade}**" in doc
    assert f"`cap_points` is {card.cap_points:.2f}" in doc
    version = card.categories[Category.VERSION]
    assert (
        f"the version category keeps {version.score:.1f} and costs "
        f"{version.deductions[0].overall:.2f} points" in doc
    )
    assert f"the images {card.categories[Category.IMAGES].deductions[0].overall:.2f}" in doc
    assert f"+{fix.points_gained:.1f}" in doc and f"`{fix.check}`" in doc


def test_the_docs_tables_of_constants_are_the_codes() -> None:
    doc = _doc()
    for category in Category.ordered():
        assert f"| {category.label} (`{category}`) | {CATEGORY_WEIGHTS[category]:.2f} |" in doc
    for severity in Severity.ordered():
        assert f"| {severity} | {SEVERITY_POINTS[severity]:g} |" in doc
    for grade in Grade.ordered():
        assert f"| {grade} | {grade.minimum:g} | `{grade.colour}` |" in doc
    for cap in Cap:
        assert f"| `{cap}` | {cap.grade} ({cap.ceiling}) |" in doc
