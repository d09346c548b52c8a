"""evaluate(): coverage, determinism, template sharing, untrusted input, policy effects."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from posture.checks import CATALOG, CHECKSET_VERSION, Policy, evaluate, pss
from posture.checks.context import Context
from posture.checks.inventory import empty_inventory
from posture.checks.results import Finding
from posture.checks.vocabulary import Severity
from tests.checks.builders import (
    TODAY,
    clean_inventory,
    container,
    inventory,
    namespace,
    node,
    pod_spec,
    with_security,
    workload,
)

POLICY = Policy(approved_registries=("registry.example.com",))


def _messy_cluster() -> dict[str, Any]:
    bad = with_security(pod_spec(), privileged=True, runAsUser=0)
    return clean_inventory(
        version="v1.30.2",
        nodes=[node("n2", os_image="CentOS Linux 7 (Core)"), node("n1", kubelet="v1.25.0")],
        namespaces=[namespace("shop", level=None), namespace("web", level="baseline")],
        workloads=[
            workload("b", "shop", spec=bad),
            workload("a", "web", spec=bad),
            workload("c", "shop", kind="StatefulSet"),
        ],
        networkpolicies=[],
    )


def test_forbidden_resource_makes_its_checks_not_evaluated_never_passed() -> None:
    inv = clean_inventory()
    inv["coverage"]["clusterrolebindings"] = {
        "state": "forbidden",
        "message": 'clusterrolebindings is forbidden: User "posture" cannot list',
        "count": 0,
    }
    result = evaluate(inv, POLICY, TODAY)
    for check_id in ("access.cluster-admin-binding", "access.anonymous-binding"):
        assert check_id not in result.evaluated
        assert "forbidden" in result.not_evaluated[check_id]
    assert "access.wildcard-role" in result.evaluated


def test_absent_trivy_reports_are_not_evaluated() -> None:
    result = evaluate(clean_inventory() | {"vulnerabilityreports": []}, POLICY, TODAY)
    assert "vulnerability.critical" in result.evaluated
    inv = inventory(absent=("vulnerabilityreports",), workloads=[workload()])
    result = evaluate(inv, POLICY, TODAY)
    assert "not available" in result.not_evaluated["vulnerability.critical"]
    assert "vulnerability.high" in result.not_evaluated


def test_missing_coverage_entry_counts_as_not_read() -> None:
    inv = clean_inventory()
    del inv["coverage"]["nodes"]
    result = evaluate(inv, POLICY, TODAY)
    assert "node.os-eol" in result.not_evaluated


def test_unknown_kubernetes_version_is_not_evaluated() -> None:
    result = evaluate(clean_inventory(version=""), POLICY, TODAY)
    assert "version.kubernetes-eol" in result.not_evaluated
    result = evaluate(clean_inventory(version="not-a-version"), POLICY, TODAY)
    assert "version.kubernetes-eol" in result.not_evaluated


def test_an_unreadable_version_leaves_the_whole_version_category_not_evaluated() -> None:
    # Without the API server's minor no kubelet can be compared with it: not a pass.
    result = evaluate(clean_inventory(version='v1.33.2-"><img src=x>'), POLICY, TODAY)
    version_checks = [c for c, check in CATALOG.items() if check.category == "version"]
    assert set(version_checks) <= set(result.not_evaluated)
    assert "not a Kubernetes version" in result.not_evaluated["version.kubelet-skew"]


def test_os_checks_are_not_evaluated_when_no_nodes_os_is_known() -> None:
    unknown = [node("n1", os_image="<b>Custom</b> Linux 1"), node("n2", os_image="Linux")]
    result = evaluate(clean_inventory(nodes=unknown), POLICY, TODAY)
    for check_id in ("node.os-eol", "node.os-eol-soon"):
        assert "none of the 2 nodes" in result.not_evaluated[check_id]
    assert "node.runtime-eol" in result.evaluated
    # One node that can be judged is enough: the unknown one is left out, not failed.
    mixed = [*unknown, node("n3", os_image="CentOS Linux 7 (Core)")]
    result = evaluate(clean_inventory(nodes=mixed), POLICY, TODAY)
    assert "node.os-eol" in result.evaluated
    assert [f.name for f in result.findings if f.check == "node.os-eol"] == ["n3"]


def test_no_approved_registries_means_registry_check_not_evaluated() -> None:
    result = evaluate(clean_inventory(), Policy(), TODAY)
    assert "approved registries" in result.not_evaluated["image.registry-not-approved"]


def test_same_inventory_gives_same_findings_in_same_order() -> None:
    first = evaluate(_messy_cluster(), POLICY, TODAY)
    shuffled = _messy_cluster()
    for key in ("nodes", "namespaces", "workloads"):
        random.Random(7).shuffle(shuffled[key])  # noqa: S311 - a fixed shuffle, not a secret
    second = evaluate(shuffled, POLICY, TODAY)
    assert first.findings, "the messy cluster must have findings"
    assert [f.to_dict() for f in first.findings] == [f.to_dict() for f in second.findings]
    assert first == evaluate(_messy_cluster(), POLICY, TODAY)


def test_findings_are_ordered_most_severe_first() -> None:
    findings = evaluate(_messy_cluster(), POLICY, TODAY).findings
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert findings == sorted(findings, key=Finding.sort_key)
    assert findings[0].severity is Severity.CRITICAL


def test_finding_identity_is_the_workload_not_the_pod() -> None:
    result = evaluate(_messy_cluster(), POLICY, TODAY)
    keys = [f.key for f in result.findings]
    assert len(keys) == len(set(keys))
    privileged = [f for f in result.findings if f.check == "workload.privileged"]
    assert {f.key for f in privileged} == {
        ("workload.privileged", "Deployment", "shop", "b", ""),
        ("workload.privileged", "Deployment", "web", "a", ""),
    }


def test_workloads_sharing_an_identity_give_one_finding_each_the_first() -> None:
    inv = clean_inventory(
        workloads=[
            workload("web", spec=with_security(pod_spec(), runAsUser=0)),
            workload("api"),
            workload("web", spec=with_security(pod_spec(), runAsNonRoot=False)),
        ]
    )
    ctx = Context(inv, POLICY, TODAY)
    assert not ctx.workloads_in_order
    result = evaluate(inv, POLICY, TODAY)
    keys = [f.key for f in result.findings]
    assert len(keys) == len(set(keys))
    # Both "web" workloads may run as root; the first one's finding is the one kept.
    (web,) = [f for f in result.findings if f.check == "workload.runs-as-root"]
    assert web.message == "Container app runs as root (runAsUser: 0, set on the container)"
    (violation,) = [f for f in result.findings if f.check == "workload.violates-namespace-level"]
    assert violation.evidence["controls"] == ["runAsUser"]


def test_container_findings_are_sorted_and_unique_whatever_the_container_order() -> None:
    writable = {"readOnlyRootFilesystem": False}
    spec = pod_spec(
        containers=[
            container("web", securityContext={**writable, "runAsUser": 0}),
            container("app", securityContext=writable),
            container("web", securityContext={**writable, "runAsNonRoot": False}),
        ],
        initContainers=[container("zz-init", securityContext=writable)],
    )
    inv = clean_inventory(workloads=[workload("a", spec=spec), workload("b")])
    ctx = Context(inv, POLICY, TODAY)
    assert ctx.workloads_in_order and not ctx.containers_in_order
    result = evaluate(inv, POLICY, TODAY)
    found = [f.container for f in result.findings if f.check == "workload.root-filesystem-writable"]
    assert found == ["app", "web", "zz-init"]
    # Both "web" containers may run as root; the first one's finding is the one kept.
    (web,) = [f for f in result.findings if f.check == "workload.runs-as-root"]
    assert web.message == "Container web runs as root (runAsUser: 0, set on the container)"


def test_distinct_workloads_with_sorted_containers_are_reported_without_sorting() -> None:
    spec = pod_spec(containers=[container("app"), container("web")])
    inv = clean_inventory(workloads=[workload("b"), workload("a", spec=spec)])
    ctx = Context(inv, POLICY, TODAY)
    assert ctx.workloads_in_order and ctx.containers_in_order
    assert [v.name for v in ctx.workloads] == ["a", "b"]


def test_counts_by_severity_and_category_add_up() -> None:
    result = evaluate(_messy_cluster(), POLICY, TODAY)
    assert sum(result.counts_by_severity.values()) == len(result.findings)
    assert sum(result.counts_by_category.values()) == len(result.findings)
    assert list(result.counts_by_severity) == ["critical", "high", "medium", "low", "info"]
    assert result.checkset_version == CHECKSET_VERSION


def test_shared_template_is_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pss.evaluate_levels

    def counting(obj: Any, version: str) -> Any:
        calls.append(version)
        return real(obj, version)

    monkeypatch.setattr(pss, "evaluate_levels", counting)
    spec = with_security(pod_spec(), privileged=True)
    inv = clean_inventory(
        namespaces=[namespace("a", level=None), namespace("b", level=None)],
        # Same spec, different names, namespaces and labels: one template.
        workloads=[workload("one", "a", spec=spec), workload("two", "b", spec=copy.deepcopy(spec))],
    )
    result = evaluate(inv, POLICY, TODAY)
    assert len([f for f in result.findings if f.check == "workload.privileged"]) == 2
    # One evaluation (both levels in one pass) for the shared template, none per workload.
    assert calls == ["v1.37"]


def test_different_templates_are_evaluated_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pss.evaluate_levels
    monkeypatch.setattr(pss, "evaluate_levels", lambda o, v: calls.append(v) or real(o, v))
    two = with_security(pod_spec(hostPID=True), allowPrivilegeEscalation=True)
    inv = clean_inventory(workloads=[workload("one"), workload("two", spec=two)])
    result = evaluate(inv, POLICY, TODAY)
    assert calls == ["v1.37", "v1.37"]
    # "two" fails a restricted-only control, so its baseline verdict is read too: the
    # baseline control is reported at the baseline level.
    (host,) = [f for f in result.findings if f.check == "workload.host-namespaces"]
    assert host.evidence == {"level": "baseline", "version": "v1.37"}


def test_namespace_enforcing_the_policy_level_adds_no_evaluation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = pss.evaluate_levels
    monkeypatch.setattr(pss, "evaluate_levels", lambda o, v: calls.append(v) or real(o, v))
    spec = with_security(pod_spec(), privileged=True)
    ns = namespace("shop", level="baseline")
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] = "v1.30"
    inv = clean_inventory(namespaces=[ns], workloads=[workload(spec=spec)])
    result = evaluate(inv, POLICY, TODAY)
    # The policy's version and the namespace's differ: one evaluation each, not one per level.
    assert sorted(calls) == ["v1.30", "v1.37"]
    assert "workload.violates-namespace-level" in {f.check for f in result.findings}


def test_templates_differing_only_in_nan_and_null_are_not_shared() -> None:
    # JSON has no NaN, and orjson writes it as null: the two must still be told apart.
    def host_port(value: Any) -> dict[str, Any]:
        spec = pod_spec(containers=[container(ports=[{"containerPort": 80, "hostPort": value}])])
        return spec

    inv = clean_inventory(
        workloads=[
            workload("unset", spec=host_port(None)),
            workload("nan", spec=host_port(float("nan"))),
        ]
    )
    result = evaluate(inv, POLICY, TODAY)
    assert [f.name for f in result.findings if f.check == "workload.host-ports"] == ["nan"]


GARBAGE: list[Any] = [
    None,
    3,
    "x",
    [],
    {"kind": "Deployment", "spec": "x"},
    {"kind": 5, "namespace": ["a"], "name": {"b": 1}, "template": "x"},
    {"kind": "Deployment", "namespace": "shop", "name": "g", "template": {"spec": "x"}},
    {"name": "h", "template": {"spec": {"containers": [None, 3, "x", {"name": 7}]}}},
    {
        "name": "i",
        "template": {
            "metadata": {"annotations": [1], "labels": "x"},
            "spec": {
                "containers": [{"name": "c", "image": 42, "securityContext": "root"}],
                "initContainers": {"a": 1},
                "securityContext": [],
                "volumes": [None, {"hostPath": 1}],
                "automountServiceAccountToken": "yes",
                "os": "windows",
            },
        },
    },
    {"name": "j", "template": {"spec": {"containers": [{"resources": {"limits": [1]}}]}}},
    {"name": "k", "template": {"spec": {"containers": [{"name": "c", "image": "x" * 100_000}]}}},
    {"name": "l", "template": {"spec": {"big": 2**80, 1: "int key", "containers": []}}},
]


def test_garbage_objects_never_break_a_check() -> None:
    inv = inventory(
        version={"gitVersion": ["v1"]},  # type: ignore[arg-type]
        nodes=[
            None,
            {"metadata": "x"},
            {"status": {"nodeInfo": {"osImage": 3}}},
            {"metadata": {"name": "n", "creationTimestamp": "garbage" * 50}},
        ],
        namespaces=[
            None,
            {"metadata": {"name": 3, "labels": []}},
            {"metadata": {"labels": {1: 2}}},
        ],
        workloads=GARBAGE,
        services=[None, {"spec": "x"}, {"spec": {"type": ["NodePort"], "externalIPs": "1.2.3.4"}}],
        networkpolicies=[
            None,
            {"spec": {"podSelector": "x"}},
            {"spec": {"podSelector": None}},
            {
                "metadata": {"namespace": "shop"},
                "spec": {"podSelector": {"matchExpressions": [None, {"operator": 1}]}},
            },
        ],
        serviceaccounts=[None, {"metadata": []}],
        roles=[None, {"rules": "x"}, {"rules": [None, {"verbs": "*"}]}],
        clusterroles=[{"metadata": {"name": None}, "rules": [{"verbs": ["*", None]}]}],
        rolebindings=[{"roleRef": "x", "subjects": "y"}],
        clusterrolebindings=[
            {
                "roleRef": {"name": "cluster-admin", "kind": "ClusterRole"},
                "subjects": [None, {"kind": 1}, {"name": ["x"]}],
            }
        ],
        vulnerabilityreports=[
            None,
            {"metadata": {"labels": "x"}},
            {
                "metadata": {
                    "labels": {
                        "trivy-operator.resource.kind": "Pod",
                        "trivy-operator.resource.name": "p",
                    }
                },
                "report": {"summary": {"criticalCount": "many"}},
            },
        ],
    )
    inv["coverage"]["pods"] = "read"  # type: ignore[typeddict-item]
    result = evaluate(inv, POLICY, TODAY)
    failures = {k: v for k, v in result.not_evaluated.items() if "failed" in v}
    assert failures == {}
    assert "pods" in result.not_evaluated["workload.privileged"]  # malformed coverage: not read
    inv["coverage"]["pods"] = {"state": "read", "message": "", "count": 0}
    result = evaluate(inv, POLICY, TODAY)
    assert {k: v for k, v in result.not_evaluated.items() if "failed" in v} == {}
    assert "workload.no-resource-limits" in result.evaluated
    for f in result.findings:
        assert len(f.message) < 3000


def test_garbage_inventory_shape_does_not_raise() -> None:
    for inv in ({}, {"coverage": "x"}, {"coverage": {"pods": {"state": "read"}}, "workloads": "x"}):
        result = evaluate(inv, POLICY, TODAY)
        assert result.findings == []


def test_a_check_that_raises_is_reported_not_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    from posture.checks import catalog
    from posture.checks.base import Check

    def broken(ctx: Any) -> Any:
        raise KeyError("boom")

    check = CATALOG["network.service-exposed"]
    patched = tuple(
        Check(**{**c.__dict__, "run": broken}) if c.id == check.id else c for c in catalog.CHECKS
    )
    monkeypatch.setattr("posture.checks.engine.CHECKS", patched)
    result = evaluate(clean_inventory(), POLICY, TODAY)
    assert "failed" in result.not_evaluated[check.id]
    assert "network.service-external-ips" in result.evaluated


def test_a_pod_security_failure_leaves_the_other_workload_checks_evaluated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(obj: Any, version: str) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(pss, "evaluate_levels", broken)
    spec = with_security(pod_spec(), readOnlyRootFilesystem=False)
    result = evaluate(clean_inventory(workloads=[workload(spec=spec)]), POLICY, TODAY)
    assert "failed" in result.not_evaluated["workload.privileged"]
    assert "workload.root-filesystem-writable" in result.evaluated
    assert [f.check for f in result.findings] == ["workload.root-filesystem-writable"]
    # The namespace's level met is left unknown, not guessed.
    assert all("meets" not in entry for entry in (result.pod_security or {}).values())


def test_disabled_checks_do_not_run() -> None:
    policy = Policy(approved_registries=("registry.example.com",), disabled_checks=("node.os-eol",))
    result = evaluate(
        clean_inventory(nodes=[node(os_image="CentOS Linux 7 (Core)")]), policy, TODAY
    )
    assert "node.os-eol" in result.disabled
    assert "node.os-eol" not in result.evaluated
    assert not [f for f in result.findings if f.check == "node.os-eol"]


def test_severity_override_changes_the_finding_severity() -> None:
    policy = Policy(
        approved_registries=("registry.example.com",),
        severity_overrides={"node.os-eol": Severity.CRITICAL},
    )
    result = evaluate(
        clean_inventory(nodes=[node(os_image="CentOS Linux 7 (Core)")]), policy, TODAY
    )
    (finding,) = [f for f in result.findings if f.check == "node.os-eol"]
    assert finding.severity is Severity.CRITICAL
    assert result.counts_by_severity["critical"] >= 1


def test_baseline_target_leaves_out_restricted_only_controls() -> None:
    spec = with_security(pod_spec(), allowPrivilegeEscalation=True, privileged=True)
    inv = clean_inventory(workloads=[workload(spec=spec)])
    checks = {f.check for f in evaluate(inv, Policy(pss_level="baseline"), TODAY).findings}
    assert "workload.privileged" in checks
    assert "workload.privilege-escalation" not in checks
    checks = {f.check for f in evaluate(inv, Policy(), TODAY).findings}
    assert "workload.privilege-escalation" in checks


def test_host_path_is_reported_as_host_path_even_when_aiming_for_restricted() -> None:
    spec = pod_spec(volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    findings = evaluate(clean_inventory(workloads=[workload(spec=spec)]), POLICY, TODAY).findings
    assert {"workload.host-path-volumes", "workload.volume-types"} <= {f.check for f in findings}


def test_namespace_enforce_version_is_honoured() -> None:
    # runAsUser=0 is a restricted control only from policy v1.23 on.
    spec = with_security(pod_spec(), runAsUser=0)
    ns = namespace(level="restricted")
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] = "v1.22"
    old = evaluate(clean_inventory(namespaces=[ns], workloads=[workload(spec=spec)]), POLICY, TODAY)
    assert "workload.violates-namespace-level" not in {f.check for f in old.findings}
    new = evaluate(clean_inventory(workloads=[workload(spec=spec)]), POLICY, TODAY)
    assert "workload.violates-namespace-level" in {f.check for f in new.findings}


def test_invalid_enforce_label_reads_as_restricted_latest() -> None:
    ns = namespace(level="strict-ish")
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] = "v9"
    spec = with_security(pod_spec(), runAsUser=0)
    result = evaluate(
        clean_inventory(namespaces=[ns], workloads=[workload(spec=spec)]), POLICY, TODAY
    )
    (hit,) = [f for f in result.findings if f.check == "workload.violates-namespace-level"]
    assert hit.evidence["level"] == "restricted"


def test_provider_windows_come_from_node_labels() -> None:
    # AKS 1.31 standard support ended 2025-11-01, upstream's 2025-11-11; on 2025-11-05 only
    # the AKS window says end of life (LTS is the extended phase).
    day = TODAY.replace(year=2025, month=11, day=5)
    upstream = evaluate(clean_inventory(version="v1.31.14", nodes=[]), POLICY, day)
    aks = evaluate(
        clean_inventory(
            version="v1.31.14",
            nodes=[node(kubelet="v1.31.14", labels={"kubernetes.azure.com/cluster": "x"})],
        ),
        POLICY,
        day,
    )
    upstream_checks = {f.check: f for f in upstream.findings}
    aks_checks = {f.check: f for f in aks.findings}
    assert "version.kubernetes-eol-soon" in upstream_checks
    assert aks_checks["version.kubernetes-eol-soon"].evidence["provider"] == "aks"
    assert "extended" in aks_checks["version.kubernetes-eol-soon"].message


def test_empty_inventory_evaluates_nothing_and_finds_nothing() -> None:
    result = evaluate(empty_inventory(), POLICY, TODAY)
    assert result.findings == []
    assert set(result.not_evaluated) == set(CATALOG)


def test_vulnerability_report_for_unknown_workload_keeps_its_own_identity() -> None:
    report = {
        "metadata": {
            "labels": {
                "trivy-operator.resource.kind": "ReplicaSet",
                "trivy-operator.resource.name": "gone-abc12",
                "trivy-operator.resource.namespace": "shop",
                "trivy-operator.container.name": "app",
            }
        },
        "report": {"summary": {"criticalCount": 1, "highCount": 0}},
    }
    result = evaluate(clean_inventory(vulnerabilityreports=[report]), POLICY, TODAY)
    (hit,) = [f for f in result.findings if f.check == "vulnerability.critical"]
    assert hit.key == ("vulnerability.critical", "ReplicaSet", "shop", "gone-abc12", "app")


def test_system_subjects_holding_cluster_admin_are_reported_and_set_apart_by_the_policy() -> None:
    crb = {
        "metadata": {"name": "addon"},
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [
            {"kind": "ServiceAccount", "name": "addon", "namespace": "kube-system"},
            {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"},
            {"kind": "Group", "name": "system:masters"},
        ],
    }
    result = evaluate(clean_inventory(clusterrolebindings=[crb]), POLICY, TODAY)
    hits = [f for f in result.findings if f.check == "access.cluster-admin-binding"]
    assert [(f.kind, f.namespace, f.name) for f in hits] == [
        ("Group", "", "system:masters"),
        ("ServiceAccount", "ci", "ci"),
        ("ServiceAccount", "kube-system", "addon"),
    ]
    assert [POLICY.platform_managed(f.kind, f.namespace, f.name) for f in hits] == [
        True, False, True]
