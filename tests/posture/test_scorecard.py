"""The cluster detail page as a scorecard: grade, deductions, support, nodes, PSS, fixes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.checks import CATALOG, Policy
from posture.domain.polling import poll
from posture.domain.scorecard import current as current_scorecard
from posture.domain.scoring import Cap, Grade
from posture.lifecycle import kubernetes_support
from posture.web.dashboard.scorecard import build, namespace_pss
from tests.emulated import register
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, saturated_workloads, snapshot

pytestmark = pytest.mark.django_db
HOSTILE = "<img src=x onerror=alert(1)>"


def url(cluster) -> str:
    return reverse("clusters:detail", args=[cluster.pk])


def test_polled_cluster_shows_grade_deductions_support_nodes_and_fixes(emulate, alice,
                                                                        as_alice):
    cluster = register(emulate("typical"), "typical")
    cluster.owners.add(alice)
    taken = poll(cluster.pk).snapshot
    page = as_alice.get(url(cluster)).content.decode()
    assert f'grade-{taken.grade} big"' in page
    assert f'<strong data-number="score">{taken.score:.1f}</strong>' in page
    for category in taken.category_scores.values():
        for deduction in category["deductions"]:
            assert CATALOG[deduction["check"]].title.replace("'", "&#x27;") in page
    card = current_scorecard(taken, cluster, timezone.now()).card
    fixes = page[page.index('id="top-fixes"'):page.index('id="category-scores"')]
    for fix in card.top_fixes(5):
        assert CATALOG[fix.check].title.replace("'", "&#x27;") in fixes
    support = kubernetes_support(taken.kubernetes_version, timezone.localdate(),
                                 taken.provider or None)
    version = page[page.index('id="version-support"'):page.index('id="cluster-title"')]
    assert support.status.label in version
    assert f"{support.patches_behind} behind" in version
    nodes = page[page.index('id="node-table"'):]
    for node in taken.nodes:
        assert node["name"] in nodes
    for kept in ('id="poll-history"', 'id="poll-form"', 'id="poll-now"', 'id="poll-progress"'):
        assert kept in page
    # The path names where it lands when a fix overshoots the next grade.
    path = build(cluster, timezone.now(), Policy()).path
    plan = page[page.index('id="plan-to-grade"'):]
    plan = plan[:plan.index("</p>")]
    assert path is not None and path.reachable
    # The badge is the grade the prefix lands on, never the target it overshoots.
    assert f"grade-{path.grade}" in plan
    assert (f"past the next grade, {path.target}" in plan) is (path.grade is not path.target)


def _section(page: str, start: str, end: str = "</section>") -> str:
    part = page[page.index(start):]
    return part[:part.index(end)]


def test_fix_first_is_ranked_by_risk_and_the_path_is_a_prefix_of_it(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1), workload_count=11, namespace_count=5,
                    node_count=3)
    # A workloads category near 0, where fixing the critical gains fewer points than a tag fix.
    saturated_workloads(cluster, seen)
    finding(cluster, seen, "access.cluster-admin-binding", kind="ClusterRoleBinding",
            namespace="", name="everyone-admin")
    sc = build(cluster, now, Policy())
    ranked = list(sc.card.fixes())
    gained = {f.check: f.points_gained for f in ranked}
    assert gained["image.latest-tag"] > gained["workload.privileged"]
    page = as_alice.get(url(cluster)).content.decode()
    fixes = _section(page, 'id="top-fixes"')
    listed = re.findall(r'<li data-check="([^"]+)" data-severity="([^"]+)"', fixes)
    assert [check for check, _ in listed] == [f.check for f in ranked[:len(listed)]]
    assert listed[:2] == [("access.cluster-admin-binding", "critical"),
                          ("workload.privileged", "critical")]
    assert listed[2] == ("workload.host-path-volumes", "high")
    # The path is the shortest prefix of that same list, and the page shows all of it.
    path = sc.card.path_to(sc.next_grade)
    assert path.steps and len(listed) == max(5, path.steps)
    assert sc.card.score_without([f.check for f in ranked[:path.steps]]) == path.score
    plan = _section(page, 'id="plan-to-grade"', "</p>")
    assert f'data-steps="{path.steps}"' in plan
    first = "one" if path.steps == 1 else str(path.steps)
    assert f"Fixing the first {first} in this order reaches" in plan
    assert f"grade-{path.grade}" in plan and f"{path.score:.1f}" in plan
    assert "these 5" not in page and "Top fixes" not in page


def test_every_figure_is_labelled_and_comes_from_one_computation(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    # Stored category scores from an older computation: the page must not mix them in.
    stale = {"workloads": {"score": 12.3, "weight": 0.25, "deductions": [
        {"check": "workload.privileged", "severity": "critical", "count": 1, "points": 87.7,
         "overall": 21.9, "scope": "workload", "affected": 9, "out_of": 10, "raw": 94.0}]}}
    seen = snapshot(cluster, now - timedelta(hours=1), score=31.0, category_scores=stale)
    finding(cluster, seen, "workload.privileged", name="web")
    finding(cluster, seen, "access.anonymous-binding", kind="ClusterRoleBinding", namespace="",
            name="anon")
    card = build(cluster, now, Policy()).card
    page = as_alice.get(url(cluster)).content.decode()
    assert f'<strong data-number="score">{card.score:.1f}</strong>' in page
    assert "stored then as 31.0" in page
    # Only the history chart below reads stored scores (it plots the polls as they were).
    scorecard = page[:page.index('aria-label="Score over time"')]
    assert "87.7" not in scorecard and "12.3" not in scorecard
    categories = _section(page, 'id="category-scores"')
    for label in ("Lost in category", "Of the overall score", "Regained by fixing"):
        assert label in categories
    assert "follows a curve" in categories
    fixes = {f.check: f for f in card.fixes()}
    for category in card.categories.values():
        for d in category.deductions:
            row = _section(categories, f'<tr data-check="{d.check}">', "</tr>")
            assert f'data-number="points">−{d.points:.1f}<' in row
            assert f'data-number="overall">−{d.overall:.1f}<' in row
            assert f'data-number="regained">+{fixes[d.check].points_gained:.1f}<' in row


def test_an_f_under_the_end_of_life_cap_is_not_told_it_is_at_most_d(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1), kubernetes_version="v1.27.16")
    finding(cluster, seen, "version.kubernetes-eol", kind="Cluster", namespace="", name="")
    for check in ("access.cluster-admin-binding", "access.anonymous-binding"):
        finding(cluster, seen, check, kind="ClusterRoleBinding", namespace="", name=check)
    for index in range(8):
        finding(cluster, seen, "workload.privileged", name=f"app-{index}")
    sc = build(cluster, now, Policy())
    assert sc.grade is Grade.F and sc.card.caps == (Cap.EOL,)
    page = as_alice.get(url(cluster)).content.decode()
    grade = _section(page, 'id="scorecard-grade"')
    assert "At most" not in page
    assert ("Capped at D while the Kubernetes control plane is past end of life; the score is "
            "below the cap already.") in grade
    assert 'id="uncapped"' not in grade


def test_a_cap_that_cuts_says_what_the_score_would_be_without_it(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1), kubernetes_version="v1.27.16")
    finding(cluster, seen, "version.kubernetes-eol", kind="Cluster", namespace="", name="")
    sc = build(cluster, now, Policy())
    assert sc.score == 69.9 and sc.card.cap_cuts
    grade = _section(as_alice.get(url(cluster)).content.decode(), 'id="scorecard-grade"')
    assert "Capped at D while the Kubernetes control plane is past end of life." in grade
    assert (f'would be <span data-number="uncapped-score">{sc.card.uncapped:.1f}</span>'
            in grade)
    assert f'<span data-number="cap-points">{sc.card.cap_points:.1f}</span>' in grade
    fix = _section(as_alice.get(url(cluster)).content.decode(), 'id="top-fixes"')
    assert "lifts the D cap" in fix


def test_an_unreadable_version_is_not_evaluated_grey_and_caps_at_c(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    version_checks = {c: "not a Kubernetes version" for c, check in CATALOG.items()
                      if check.category == "version"}
    snapshot(cluster, now - timedelta(hours=1), kubernetes_version=HOSTILE,
             finding_counts={"severity": {}, "category": {}, "not_evaluated": version_checks})
    sc = build(cluster, now, Policy())
    version = next(c for c in sc.categories if c.category == "version")
    assert version.score is None and not version.evaluated
    assert sc.card.caps == (Cap.CONTROL_PLANE_UNKNOWN,)
    assert sc.score == 79.9 and sc.grade is Grade.C
    page = as_alice.get(url(cluster)).content.decode()
    card = _section(page, 'data-category="version"', "</details>")
    assert "not-evaluated" in card and "not evaluated" in card and "100.0" not in card
    grade = _section(page, 'id="scorecard-grade"')
    assert "Capped at C while support cannot be established" in grade
    assert HOSTILE not in page


def test_nodes_whose_os_cannot_be_judged_are_counted_and_cap_at_c(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    nodes = [{"name": f"n{i}", "os_image": image, "kernel": "6.8.0", "kubelet": "v1.37.1",
              "runtime": "containerd://2.1.0", "created": "2026-11-01T00:00:00Z"}
             for i, image in enumerate(["Ubuntu 24.04.2 LTS", "Homegrown OS 7", "Linux"])]
    snapshot(cluster, now - timedelta(hours=1), nodes=nodes,
             node_summary={"os_images": {n["os_image"]: 1 for n in nodes}})
    sc = build(cluster, now, Policy())
    assert sc.os_unjudged == 2 and sc.card.caps == (Cap.NODE_OS_UNKNOWN,)
    page = as_alice.get(url(cluster)).content.decode()
    assert "OS support could not be judged on 2 nodes." in page
    assert "Capped at C while support cannot be established for the operating system" in page


def test_platform_findings_are_shown_apart_and_left_out_of_the_score(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1))
    finding(cluster, seen, "workload.privileged", kind="DaemonSet", namespace="kube-system",
            name="kube-proxy", container="kube-proxy")
    finding(cluster, seen, "image.latest-tag", namespace="shop", name="web", container="app")
    sc = build(cluster, now, Policy())
    assert [f.check for f in sc.card.fixes()] == ["image.latest-tag"]
    assert sc.card.platform == 1 and sc.platform_findings == 1
    page = as_alice.get(url(cluster)).content.decode()
    assert "kube-proxy" not in _section(page, 'id="top-fixes"')
    platform = _section(page, 'id="platform-managed"')
    assert "DaemonSet kube-system/kube-proxy" in platform and "platform-managed" in platform
    assert "not scored" in platform and "score_platform_findings: true" in platform
    assert "1 platform-managed finding not scored" in _section(page, 'id="scorecard-grade"')
    assert "are listed under Platform-managed and are not scored" in _section(
        page, 'id="pod-security"')
    # With the policy counting them, they are ordinary findings again.
    counted = build(cluster, now, Policy(score_platform_findings=True))
    assert counted.card.fixes()[0].check == "workload.privileged" and not counted.platform
    assert counted.score < sc.score


def test_namespace_pod_security_enforced_and_met_levels():
    rows = [
        {"check_id": "workload.privileged", "kind": "Deployment", "namespace": "a", "name": "x"},
        {"check_id": "workload.privilege-escalation", "kind": "Deployment", "namespace": "b",
         "name": "x"},
        {"check_id": "workload.seccomp-profile", "kind": "Deployment", "namespace": "c",
         "name": "x", "evidence": {"level": "baseline"}},
        {"check_id": "workload.seccomp-profile", "kind": "Deployment", "namespace": "d",
         "name": "x", "evidence": {"level": "restricted"}},
        {"check_id": "namespace.pss-not-enforced", "kind": "Namespace", "namespace": "",
         "name": "e"},
        {"check_id": "workload.violates-namespace-level", "kind": "Deployment",
         "namespace": "f", "name": "x", "evidence": {"level": "restricted"}},
        {"check_id": "workload.runs-as-root", "kind": "Deployment", "namespace": "f",
         "name": "x"},
        {"check_id": "workload.privileged", "kind": "DaemonSet", "namespace": "kube-system",
         "name": "proxy"},
    ]
    found = {ns.namespace: ns for ns in namespace_pss(rows, Policy())}
    assert {n: ns.met for n, ns in found.items()} == {
        "a": "privileged", "b": "baseline", "c": "privileged", "d": "baseline",
        "e": "restricted", "f": "baseline", "kube-system": "privileged"}
    assert found["e"].enforced == "privileged" and found["e"].gap
    assert found["f"].enforced == "restricted" and found["f"].violating_workloads == 1
    assert found["a"].enforced == "labelled"
    assert found["kube-system"].enforced == "exempt"
    assert found["kube-system"].platform and not found["kube-system"].scored
    assert not found["a"].platform
    assert namespace_pss(rows, Policy(score_platform_findings=True))[-1].scored
    baseline_policy = namespace_pss(rows[4:5], Policy(pss_level="baseline"))
    assert baseline_policy[0].met == "baseline"


def test_unread_resources_are_shown_with_their_reason(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, timezone.now(), status="partial", coverage={
        "pods": {"state": "read", "count": 3},
        "rolebindings": {"state": "forbidden", "message": "RBAC: access denied"}})
    page = as_alice.get(url(cluster)).content.decode()
    coverage = page[page.index('id="coverage"'):]
    assert "Not read in the last successful poll" in coverage
    assert "rolebindings" in coverage and "RBAC: access denied" in coverage


def test_never_polled_cluster_has_no_grade_yet(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    page = as_alice.get(url(cluster)).content.decode()
    assert "Not scored yet" in page
    assert "Nothing read yet" in page


def test_bob_cannot_see_alices_scorecard(as_bob, cluster_a):
    assert as_bob.get(url(cluster_a)).status_code == 404


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_hostile_node_text_is_escaped(alice, as_alice):
    cluster = ClusterFactory(owners=[alice], labels={"x": HOSTILE})
    snapshot(cluster, timezone.now(), kubernetes_version=HOSTILE,
             node_summary={"os_images": {HOSTILE: 1}},
             nodes=[{"name": HOSTILE, "os_image": HOSTILE, "kernel": HOSTILE,
                     "kubelet": HOSTILE, "runtime": HOSTILE, "created": HOSTILE}])
    page = as_alice.get(url(cluster)).content.decode()
    assert HOSTILE not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6


def _cluster_with(owner, findings: int, nodes: int):
    now = timezone.now()
    cluster = ClusterFactory(owners=[owner])
    node_rows = [{"name": f"n{i}", "os_image": "Ubuntu 22.04.3 LTS", "kernel": "6.8.0",
                  "kubelet": "v1.33.2", "runtime": "containerd://1.7.20",
                  "created": "2025-01-01T00:00:00Z"} for i in range(nodes)]
    for day in range(5):
        seen = snapshot(cluster, now - timedelta(days=day), nodes=node_rows,
                        checkset_version=f"1.0.0+{day % 2}")
    for index in range(findings):
        finding(cluster, seen, "workload.privileged", name=f"w{index}", namespace=f"ns{index % 7}")
        finding(cluster, seen, "workload.runs-as-root", name=f"w{index}", container="app",
                namespace=f"ns{index % 7}")
    return cluster


def test_query_count_does_not_grow_with_findings_or_nodes(alice, as_alice,
                                                          django_assert_max_num_queries):
    small = _cluster_with(alice, 2, 1)
    with CaptureQueriesContext(connection) as counted:
        assert as_alice.get(url(small)).status_code == 200
    big = _cluster_with(alice, 60, 40)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        page = as_alice.get(url(big)).content.decode()
    nodes = page[page.index('id="node-table"'):]
    assert nodes[:nodes.index("</table>")].count('<th scope="row" class="mono"><bdi>n') == 40
    with django_assert_max_num_queries(15):
        as_alice.get(url(big))
