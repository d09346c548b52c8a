"""The "who can" index: RBAC grants worked out the way the API server's authorizer grants them.

Upstream: https://kubernetes.io/docs/reference/access-authn-authz/rbac/ (aggregated ClusterRoles,
RoleBindings to ClusterRoles, resourceNames, subjects) and
https://kubernetes.io/docs/concepts/security/rbac-good-practices/ (which permissions escalate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from posture.checks import Policy, evaluate
from posture.checks.policy import PolicyError
from posture.checks.rbac import (
    Subject,
    WhoCan,
    WorkloadRef,
    build,
    is_built_in,
    minor_of,
    subject_of,
)
from tests.checks.builders import TODAY, clean_inventory, pod_spec, workload

POLICY = Policy(approved_registries=("registry.example.com",))
_BUILT_IN = {"kubernetes.io/bootstrapping": "rbac-defaults"}
CI = Subject("ServiceAccount", "shop", "ci")
ALICE = Subject("User", "", "alice")


def cluster_role(name: str, *rules: dict[str, Any], labels: dict[str, str] | None = None,
                 aggregate: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    role: dict[str, Any] = {"kind": "ClusterRole",
                            "metadata": {"name": name, "labels": labels or {}},
                            "rules": list(rules)}
    if aggregate is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return role


def rule(verbs: str, resources: str, group: str = "", names: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"apiGroups": [group], "resources": resources.split(),
                           "verbs": verbs.split()}
    if names:
        out["resourceNames"] = names.split()
    return out


def binding(role: str, *subjects: dict[str, Any], namespace: str = "",
            role_kind: str = "ClusterRole", name: str = "grant") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": "RoleBinding" if namespace else "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"kind": role_kind, "name": role}, "subjects": list(subjects)}


SA_CI = {"kind": "ServiceAccount", "name": "ci", "namespace": "shop"}
USER_ALICE = {"kind": "User", "name": "alice"}


def index(clusterroles: Sequence[Any] = (), roles: Sequence[Any] = (),
          bindings: Sequence[Any] = (), workloads: Sequence[WorkloadRef] = ()) -> WhoCan:
    crbs = [b for b in bindings if b["kind"] == "ClusterRoleBinding"]
    rbs = [b for b in bindings if b["kind"] == "RoleBinding"]
    return build(clusterroles, roles, crbs, rbs, workloads)


def test_a_role_binding_to_a_cluster_role_grants_only_in_its_namespace() -> None:
    who = index([cluster_role("reader", rule("get", "secrets"))],
                bindings=[binding("reader", SA_CI, namespace="shop")])
    (path,) = who.holders("secrets-read")[CI]
    assert path.scope == "shop"
    assert path.binding == "RoleBinding shop/grant"


def test_a_role_binding_grants_no_cluster_scoped_resource() -> None:
    # Nodes are cluster-scoped: a RoleBinding to a role allowing nodes/proxy reaches no node.
    who = index([cluster_role("kubelet", rule("get", "nodes/proxy"))],
                bindings=[binding("kubelet", SA_CI, namespace="shop")])
    assert who.holders("nodes-proxy") == {}
    who = index([cluster_role("kubelet", rule("get", "nodes/proxy"))],
                bindings=[binding("kubelet", SA_CI)])
    assert CI in who.holders("nodes-proxy")


def test_bind_on_cluster_roles_granted_in_a_namespace_counts_there() -> None:
    who = index([cluster_role("binder", rule("bind", "clusterroles", "rbac.authorization.k8s.io",
                                             names="admin"))],
                bindings=[binding("binder", SA_CI, namespace="shop")])
    (path,) = who.holders("escalate-bind")[CI]
    assert (path.scope, path.names) == ("shop", ("admin",))


def test_escalate_on_cluster_roles_needs_a_cluster_role_binding() -> None:
    escalate = cluster_role("escalator", rule("escalate", "clusterroles",
                                              "rbac.authorization.k8s.io"))
    assert index([escalate], bindings=[binding("escalator", SA_CI, namespace="shop")]).holders(
        "escalate-bind") == {}
    assert CI in index([escalate], bindings=[binding("escalator", SA_CI)]).holders(
        "escalate-bind")


def test_aggregated_cluster_roles_hold_the_rules_of_the_roles_they_select() -> None:
    aggregated = cluster_role("monitoring", aggregate=[{"matchLabels": {"agg": "mon"}}])
    piece = cluster_role("monitoring-secrets", rule("list", "secrets"), labels={"agg": "mon"})
    unrelated = cluster_role("other", rule("list", "secrets"), labels={"agg": "no"})
    who = index([aggregated, piece, unrelated], bindings=[binding("monitoring", SA_CI)])
    (path,) = who.holders("secrets-read")[CI]
    assert (path.role, path.rule_role, path.rule) == (
        "ClusterRole monitoring", "ClusterRole monitoring-secrets", 1)


def test_aggregation_follows_aggregated_roles_and_survives_cycles() -> None:
    top = cluster_role("top", aggregate=[{"matchLabels": {"to": "top"}}])
    middle = cluster_role("middle", labels={"to": "top"},
                          aggregate=[{"matchLabels": {"to": "middle"}}])
    leaf = cluster_role("leaf", rule("create", "pods/exec"), labels={"to": "middle"})
    loop = cluster_role("loop", labels={"to": "middle"}, aggregate=[{"matchLabels": {"to": "top"}}])
    who = index([top, middle, leaf, loop], bindings=[binding("top", SA_CI)])
    assert [p.rule_role for p in who.holders("pods-exec")[CI]] == ["ClusterRole leaf"]


def test_built_in_edit_is_known_even_when_manifests_do_not_define_it() -> None:
    who = index(bindings=[binding("edit", USER_ALICE, namespace="shop")])
    for permission in ("secrets-read", "pods-exec", "workload-create", "token-create",
                       "impersonate"):
        assert ALICE in who.holders(permission), permission
    assert ALICE not in who.holders("rbac-modify")  # admin's, not edit's
    assert ALICE in index(bindings=[binding("admin", USER_ALICE, namespace="shop")]).holders(
        "rbac-modify")
    assert index(bindings=[binding("view", USER_ALICE, namespace="shop")]).holders(
        "secrets-read") == {}


def test_a_cluster_role_in_the_cluster_wins_over_the_shipped_definition() -> None:
    shrunk_edit = cluster_role("edit", rule("get", "pods"))
    who = index([shrunk_edit], bindings=[binding("edit", USER_ALICE, namespace="shop")])
    assert who.holders("secrets-read") == {}


@pytest.mark.parametrize(
    ("rule_", "held"),
    [
        (rule("*", "secrets"), True),
        (rule("get", "*"), True),
        ({"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["watch"]}, True),
        (rule("get", "secrets", "apps"), False),
        (rule("create update delete", "secrets"), False),
        (rule("get", "secrets/status"), False),
    ],
)
def test_wildcards_match_as_the_authorizer_matches(rule_: dict[str, Any], held: bool) -> None:
    who = index([cluster_role("r", rule_)], bindings=[binding("r", SA_CI)])
    assert (CI in who.holders("secrets-read")) is held


def test_a_star_slash_subresource_matches_that_subresource_of_any_resource() -> None:
    who = index([cluster_role("r", rule("create", "*/exec"))], bindings=[binding("r", SA_CI)])
    (path,) = who.holders("pods-exec")[CI]
    assert path.resources == ("pods/exec",)


def test_names_limit_grants_narrowly_or_not_at_all() -> None:
    who = index([cluster_role("r", rule("get", "secrets", names="db"),
                              rule("create", "pods", names="web"))],
                bindings=[binding("r", SA_CI)])
    # A named Secret is a deliberate narrow grant: listed, not held.
    assert who.holders("secrets-read") == {}
    assert [p.names for p in who.narrow["secrets-read"][CI]] == [("db",)]
    # create is authorised without a name, so a rule with names never allows it.
    assert who.holders("workload-create") == {}
    assert CI not in who.narrow["workload-create"]


def test_one_name_is_enough_to_impersonate_system_masters() -> None:
    who = index([cluster_role("r", rule("impersonate", "groups", names="system:masters"))],
                bindings=[binding("r", SA_CI)])
    (path,) = who.holders("impersonate")[CI]
    assert path.names == ("system:masters",)


def test_csr_approval_needs_both_the_approval_and_a_signer() -> None:
    approval = rule("update", "certificatesigningrequests/approval", "certificates.k8s.io")
    signer = rule("approve", "signers", "certificates.k8s.io",
                  names="kubernetes.io/kube-apiserver-client")
    assert index([cluster_role("r", approval)], bindings=[binding("r", SA_CI)]).holders(
        "csr-approve") == {}
    assert index([cluster_role("r", signer)], bindings=[binding("r", SA_CI)]).holders(
        "csr-approve") == {}
    who = index([cluster_role("r", approval, signer)], bindings=[binding("r", SA_CI)])
    assert len(who.holders("csr-approve")[CI]) == 2


@pytest.mark.parametrize(
    ("raw", "namespace", "subject"),
    [
        ({"kind": "ServiceAccount", "name": "web"}, "shop", Subject("ServiceAccount", "shop", "web")),
        ({"kind": "ServiceAccount", "name": "web"}, "", None),
        ({"kind": "ServiceAccount", "name": "web", "namespace": "ci"}, "shop",
         Subject("ServiceAccount", "ci", "web")),
        ({"kind": "User", "name": "system:serviceaccount:ci:deployer"}, "",
         Subject("ServiceAccount", "ci", "deployer")),
        ({"kind": "User", "name": "system:serviceaccount:broken"}, "",
         Subject("User", "", "system:serviceaccount:broken")),
        ({"kind": "Group", "name": "system:authenticated"}, "",
         Subject("Group", "", "system:authenticated")),
        ({"kind": "Robot", "name": "r2"}, "", None),
    ],
)
def test_subjects_are_normalised(raw: dict[str, Any], namespace: str,
                                 subject: Subject | None) -> None:
    assert subject_of(raw, namespace) == subject


def test_service_account_groups_carry_every_workload_of_their_namespace() -> None:
    refs = [WorkloadRef("Deployment", "shop", "web", "default", True),
            WorkloadRef("Deployment", "ci", "runner", "ci", False)]
    who = index(workloads=refs)
    assert who.workloads(Subject("Group", "", "system:serviceaccounts:shop")) == refs[:1]
    assert who.workloads(Subject("Group", "", "system:serviceaccounts")) == refs
    assert who.workloads(Subject("Group", "", "system:authenticated")) == refs
    assert who.workloads(Subject("ServiceAccount", "ci", "ci")) == refs[1:]
    assert who.workloads(ALICE) == []


@pytest.mark.parametrize(
    ("labels", "name", "minor", "built_in"),
    [
        (_BUILT_IN, "cluster-admin", 30, True),
        ({}, "cluster-admin", 30, False),
        (_BUILT_IN, "system:evil", 30, False),
        ({}, "system:controller:generic-garbage-collector", 30, False),
        (_BUILT_IN, "system:controller:legacy-service-account-token-cleaner", 27, False),
        (_BUILT_IN, "system:controller:legacy-service-account-token-cleaner", 28, True),
        (_BUILT_IN, "system:controller:legacy-service-account-token-cleaner", None, True),
    ],
)
def test_built_in_roles_need_the_label_and_a_name_of_that_version(
    labels: dict[str, str], name: str, minor: int | None, built_in: bool
) -> None:
    assert is_built_in("ClusterRole", cluster_role(name, labels=labels), minor) is built_in


def test_namespaced_built_in_roles_are_known_by_namespace() -> None:
    role = {"metadata": {"name": "system:controller:bootstrap-signer", "namespace": "kube-system",
                         "labels": _BUILT_IN}}
    assert is_built_in("Role", role, 30)
    role["metadata"]["namespace"] = "shop"
    assert not is_built_in("Role", role, 30)


@pytest.mark.parametrize(("text", "minor"), [("v1.30.2", 30), ("v1.31.0-eks-1234", 31),
                                             ("v1.29+", 29), ("", None), ("v2.0", None)])
def test_minor_of(text: str, minor: int | None) -> None:
    assert minor_of(text) == minor


# Through the engine: one finding per subject, with paths and workloads.


def _evaluate(**resources: Any) -> Any:
    return evaluate(clean_inventory(**resources), POLICY, TODAY)


def _hits(result: Any, check: str) -> list[Any]:
    return [f for f in result.findings if f.check == check]


def test_one_finding_per_subject_with_every_path_and_the_workloads_running_as_it() -> None:
    spec = pod_spec(serviceAccountName="ci")
    del spec["automountServiceAccountToken"]
    result = _evaluate(
        clusterroles=[cluster_role("reader", rule("get list", "secrets"))],
        clusterrolebindings=[binding("reader", SA_CI, name="read-all")],
        rolebindings=[binding("reader", SA_CI, namespace="shop", name="read-shop")],
        workloads=[workload("runner", spec=spec)],
    )
    (hit,) = _hits(result, "access.secrets-read")
    assert (hit.kind, hit.namespace, hit.name, hit.container) == ("ServiceAccount", "shop", "ci", "")
    assert hit.message == (
        "ServiceAccount shop/ci can read Secrets cluster-wide (ClusterRoleBinding read-all → "
        "ClusterRole reader (rule 1: get, list secrets); RoleBinding shop/read-shop → "
        "ClusterRole reader (rule 1: get, list secrets)); its token is mounted in Deployment "
        "shop/runner"
    )
    assert hit.evidence["cluster_wide"] is True
    assert hit.evidence["path_count"] == 2
    assert hit.evidence["workloads"] == ["Deployment shop/runner"]
    assert hit.evidence["token_mounted"] == 1


def test_a_workload_that_does_not_mount_the_token_is_named_as_such() -> None:
    result = _evaluate(
        clusterroles=[cluster_role("reader", rule("get", "secrets"))],
        clusterrolebindings=[binding("reader", {"kind": "ServiceAccount", "name": "default",
                                                "namespace": "shop"})],
    )
    (hit,) = _hits(result, "access.secrets-read")
    assert hit.message.endswith("; 1 workload(s) run as it without mounting the token")


def test_cluster_admin_is_one_finding_not_one_per_permission() -> None:
    result = _evaluate(clusterrolebindings=[binding("cluster-admin", USER_ALICE)])
    access = sorted({f.check for f in result.findings if f.check.startswith("access.")})
    assert access == ["access.cluster-admin-binding"]


def test_a_user_made_role_granting_everything_is_a_cluster_admin_binding() -> None:
    god = cluster_role("system:not-really-built-in", {"apiGroups": ["*"], "resources": ["*"],
                                                      "verbs": ["*"]})
    result = _evaluate(clusterroles=[god],
                       rolebindings=[binding("system:not-really-built-in", USER_ALICE,
                                             namespace="shop")])
    (admin,) = _hits(result, "access.cluster-admin-binding")
    assert admin.message.startswith(
        "User alice can do anything (every verb on every resource) in namespace shop")
    (wildcard,) = _hits(result, "access.wildcard-role")
    assert wildcard.name == "system:not-really-built-in"


def test_a_system_named_role_without_the_label_is_judged_as_a_wildcard_role() -> None:
    result = _evaluate(clusterroles=[cluster_role("system:helper", rule("*", "pods"))])
    assert [f.name for f in _hits(result, "access.wildcard-role")] == ["system:helper"]


def test_the_built_in_cluster_admin_is_not_a_wildcard_role() -> None:
    admin = cluster_role("cluster-admin", {"apiGroups": ["*"], "resources": ["*"],
                                           "verbs": ["*"]}, labels=_BUILT_IN)
    assert _hits(_evaluate(clusterroles=[admin]), "access.wildcard-role") == []


def test_non_resource_url_wildcards_are_wildcard_roles_not_cluster_admin() -> None:
    urls = cluster_role("debug", {"nonResourceURLs": ["*"], "verbs": ["*"]})
    result = _evaluate(clusterroles=[urls], clusterrolebindings=[binding("debug", USER_ALICE)])
    assert [f.name for f in _hits(result, "access.wildcard-role")] == ["debug"]
    assert _hits(result, "access.cluster-admin-binding") == []


def test_a_fake_public_info_viewer_bound_to_anonymous_is_reported() -> None:
    fake = cluster_role("system:public-info-viewer", rule("list", "secrets"))
    anonymous = binding("system:public-info-viewer",
                        {"kind": "Group", "name": "system:unauthenticated"})
    result = _evaluate(clusterroles=[fake], clusterrolebindings=[anonymous])
    assert len(_hits(result, "access.anonymous-binding")) == 1
    real = cluster_role("system:public-info-viewer", labels=_BUILT_IN)
    result = _evaluate(clusterroles=[real], clusterrolebindings=[anonymous])
    assert _hits(result, "access.anonymous-binding") == []


def test_kubernetes_own_subjects_are_reported_as_platform_managed() -> None:
    controller = {"kind": "ServiceAccount", "name": "generic-garbage-collector",
                  "namespace": "kube-system"}
    gc = cluster_role("system:controller:generic-garbage-collector",
                      rule("get list watch patch update delete", "*", "*"), labels=_BUILT_IN)
    result = _evaluate(clusterroles=[gc],
                       clusterrolebindings=[binding(gc["metadata"]["name"], controller)])
    (hit,) = _hits(result, "access.secrets-read")
    assert (hit.kind, hit.namespace) == ("ServiceAccount", "kube-system")
    assert POLICY.platform_managed(hit.kind, hit.namespace, hit.name)
    assert _hits(result, "access.wildcard-role") == []  # built-in


@pytest.mark.parametrize(
    ("kind", "name", "managed"),
    [("Group", "system:masters", True), ("User", "system:node:ip-10-0-0-1", True),
     ("User", "eks:node-manager", True), ("ClusterRole", "eks:addon-manager", True),
     ("ClusterRole", "gce:cloud-provider", True), ("Group", "system:authenticated", False),
     ("Group", "system:serviceaccounts", False), ("User", "alice", False),
     ("ClusterRole", "system:evil", False)],
)
def test_platform_rbac_names_kubernetes_and_provider_identities(
    kind: str, name: str, managed: bool
) -> None:
    assert Policy().platform_managed(kind, "", name) is managed


def test_platform_rbac_patterns_are_checked() -> None:
    assert Policy.from_dict({"platform_rbac": ["User/robot"]}).platform_managed("User", "", "robot")
    with pytest.raises(PolicyError, match="platform_rbac"):
        Policy.from_dict({"platform_rbac": ["Robot/r2"]})
