"""The cluster detail page as a scorecard: grade, deductions, support, nodes, PSS, fixes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clusters.polling import poll
from posture.checks import CATALOG, Policy
from posture.dashboard.scorecard import build, current_scorecard, namespace_pss
from posture.lifecycle import kubernetes_support
from tests.emulated import register
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot

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
    assert f"<strong>{taken.score:.1f}</strong>" in page
    for category in taken.category_scores.values():
        for deduction in category["deductions"]:
            assert CATALOG[deduction["check"]].title.replace("'", "&#x27;") in page
    card = current_scorecard(taken, cluster, timezone.now())
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


def test_plan_names_the_fixes_that_reach_the_next_grade(alice, as_alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1))
    for index in range(6):
        finding(cluster, seen, "workload.privileged", name=f"app-{index}")
    finding(cluster, seen, "access.cluster-admin-binding", kind="ClusterRoleBinding",
            namespace="", name="everyone-admin")
    sc = build(cluster, now, Policy())
    assert sc.next_grade is not None and sc.plan
    plan = sc.card.points_to_grade(sc.next_grade)
    assert [f.fix.check for f in sc.plan] == [f.check for f in plan]
    page = as_alice.get(url(cluster)).content.decode()
    plan_text = page[page.index('id="plan-to-grade"'):]
    plan_text = plan_text[:plan_text.index("</p>")]
    assert f"grade-{sc.next_grade}" in plan_text
    for fix in plan:
        assert CATALOG[fix.check].title in plan_text


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
