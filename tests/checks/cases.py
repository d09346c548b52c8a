"""For every check in the catalog: an inventory that passes it and one that fails it.

``test_cases.py`` asserts that every catalog id has both, so a new check without tests fails.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, NamedTuple

from posture.checks.inventory import Inventory
from posture.checks.sensitive import TOKEN_TYPE, reduce_configmap, reduce_token_secret
from tests.checks.builders import (
    DIGEST,
    clean_inventory,
    container,
    default_deny,
    ingress,
    namespace,
    node,
    pod_spec,
    with_security,
    workload,
)


class Case(NamedTuple):
    """A passing and a failing inventory for one check, and the failing finding's kind."""

    passing: Callable[[], Inventory]
    failing: Callable[[], Inventory]
    kind: str


def _spec(**fields: Any) -> Callable[[], Inventory]:
    """Return a builder of the clean cluster whose workload's pod spec has ``fields``."""
    return lambda: clean_inventory(workloads=[workload(spec=pod_spec(**fields))])


def _security(**fields: Any) -> Callable[[], Inventory]:
    """Return a builder of the clean cluster whose container's securityContext has ``fields``."""
    return lambda: clean_inventory(workloads=[workload(spec=with_security(pod_spec(), **fields))])


def _container(**fields: Any) -> Callable[[], Inventory]:
    return lambda: clean_inventory(
        workloads=[workload(spec=pod_spec(containers=[container(**fields)]))]
    )


def _pod_context(**fields: Any) -> Callable[[], Inventory]:
    ctx = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}, **fields}
    return _spec(securityContext=ctx)


def _version(version: str) -> Callable[[], Inventory]:
    return lambda: clean_inventory(version=version)


def _node(**fields: Any) -> Callable[[], Inventory]:
    return lambda: clean_inventory(nodes=[node(**fields)])


def _binding(role: str, *subjects: dict[str, str]) -> Callable[[], Inventory]:
    crb = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"bind-{role}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": list(subjects),
    }
    return lambda: clean_inventory(clusterrolebindings=[crb])


def _role(
    name: str, verbs: list[str], resources: list[str], labels: dict[str, str] | None = None
) -> Callable[[], Inventory]:
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels or {}},
        "rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}],
    }
    return lambda: clean_inventory(clusterroles=[role])


_BUILT_IN = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_CI = {"kind": "ServiceAccount", "name": "ci", "namespace": "shop"}
_ALICE = {"kind": "User", "name": "alice@example.com"}


def _grant(
    *rules: dict[str, Any], subject: dict[str, str] = _CI, namespaced: bool = False
) -> Callable[[], Inventory]:
    """Return the clean cluster plus a ClusterRole with ``rules`` bound to ``subject``.

    The binding is a ClusterRoleBinding, or a RoleBinding in namespace shop when
    ``namespaced``.
    """
    role = {"kind": "ClusterRole", "metadata": {"name": "granted"}, "rules": list(rules)}
    meta: dict[str, Any] = {"name": "grant"}
    if namespaced:
        meta["namespace"] = "shop"
    binding = {
        "kind": "RoleBinding" if namespaced else "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "granted"},
        "subjects": [subject],
    }
    key = "rolebindings" if namespaced else "clusterrolebindings"
    return lambda: clean_inventory(clusterroles=[role], **{key: [binding]})


def _rule(verbs: str, resources: str, group: str = "", names: str = "") -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": resources.split(),
                            "verbs": verbs.split()}
    if names:
        rule["resourceNames"] = names.split()
    return rule


def _report(critical: int, high: int) -> Callable[[], Inventory]:
    report = {
        "kind": "VulnerabilityReport",
        "metadata": {
            "name": "replicaset-web-5d8f9c-app",
            "namespace": "shop",
            "labels": {
                "trivy-operator.resource.kind": "ReplicaSet",
                "trivy-operator.resource.name": "web-5d8f9c",
                "trivy-operator.resource.namespace": "shop",
                "trivy-operator.container.name": "app",
            },
        },
        "report": {
            "artifact": {"repository": "shop/web", "tag": "1.2.3"},
            "summary": {"criticalCount": critical, "highCount": high, "mediumCount": 9},
        },
    }
    return lambda: clean_inventory(vulnerabilityreports=[report])


def _service(**spec: Any) -> Callable[[], Inventory]:
    svc = {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}
    return lambda: clean_inventory(services=[svc])


def _policies(*specs: dict[str, Any]) -> Callable[[], Inventory]:
    policies = [
        {"kind": "NetworkPolicy", "metadata": {"name": f"np-{i}", "namespace": "shop"}, "spec": s}
        for i, s in enumerate(specs)
    ]
    return lambda: clean_inventory(networkpolicies=policies)


def _namespace_level(ns_level: str | None, spec: dict[str, Any]) -> Callable[[], Inventory]:
    return lambda: clean_inventory(
        namespaces=[namespace(level=ns_level)], workloads=[workload(spec=spec)]
    )


def _no_automount() -> Inventory:
    spec = pod_spec()
    del spec["automountServiceAccountToken"]
    return clean_inventory(workloads=[workload(spec=spec)])


def _automount_off_on_service_account() -> Inventory:
    spec = pod_spec(serviceAccountName="web")
    del spec["automountServiceAccountToken"]
    sa = {
        "kind": "ServiceAccount",
        "metadata": {"name": "web", "namespace": "shop"},
        "automountServiceAccountToken": False,
    }
    return clean_inventory(workloads=[workload(spec=spec)], serviceaccounts=[sa])


def _own_account_with_token() -> Inventory:
    spec = pod_spec(serviceAccountName="web")
    del spec["automountServiceAccountToken"]
    return clean_inventory(workloads=[workload(spec=spec)])


_SECRET_REF = {"secretKeyRef": {"name": "db", "key": "password"}}


def _configmap(**data: str) -> Callable[[], Inventory]:
    cm = {"kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": "shop"},
          "data": data}
    # The inventory holds ConfigMaps as the collector and the manifest reader reduce them.
    return lambda: clean_inventory(configmaps=[reduce_configmap(cm)])


def _secret(kind: str) -> Callable[[], Inventory]:
    secret = {"kind": "Secret", "type": kind, "data": {"token": "ZXlK"},
              "metadata": {"name": "web-token", "namespace": "shop",
                           "annotations": {"kubernetes.io/service-account.name": "web"}}}
    reduced = reduce_token_secret(secret)
    return lambda: clean_inventory(secrets=[reduced] if reduced else [])


_clean = clean_inventory
_ALLOW_WEB = {
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}]}],
}

CASES: dict[str, Case] = {
    # Kubernetes version
    "version.kubernetes-eol": Case(_clean, _version("v1.30.14"), "Cluster"),
    "version.kubernetes-eol-soon": Case(_clean, _version("v1.34.11"), "Cluster"),
    "version.kubernetes-patch-behind": Case(_clean, _version("v1.36.0"), "Cluster"),
    "version.kubelet-skew": Case(_clean, _node(kubelet="v1.32.9"), "Node"),
    # Nodes
    "node.os-eol": Case(_clean, _node(os_image="CentOS Linux 7 (Core)"), "Node"),
    "node.os-eol-soon": Case(_clean, _node(os_image="Ubuntu 18.04.6 LTS"), "Node"),
    "node.runtime-eol": Case(_clean, _node(runtime="docker://20.10.7"), "Node"),
    "node.not-rotated": Case(_clean, _node(created="2025-01-01T00:00:00Z"), "Node"),
    "node.kernel-old": Case(_clean, _node(kernel="4.14.355-275.572.amzn2.x86_64"), "Node"),
    # Pod Security Standards controls
    "workload.privileged": Case(_clean, _security(privileged=True), "Deployment"),
    "workload.host-process": Case(
        _clean, _security(windowsOptions={"hostProcess": True}), "Deployment"
    ),
    "workload.host-namespaces": Case(_clean, _spec(hostPID=True), "Deployment"),
    "workload.host-path-volumes": Case(
        _clean, _spec(volumes=[{"name": "h", "hostPath": {"path": "/var/run"}}]), "Deployment"
    ),
    "workload.capabilities-added": Case(
        _clean,
        _security(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
        "Deployment",
    ),
    "workload.host-ports": Case(
        _clean, _container(ports=[{"containerPort": 80, "hostPort": 80}]), "Deployment"
    ),
    "workload.host-probes": Case(
        _clean,
        _container(livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}}),
        "Deployment",
    ),
    "workload.apparmor-disabled": Case(
        _clean, _security(appArmorProfile={"type": "Unconfined"}), "Deployment"
    ),
    "workload.selinux-options": Case(
        _clean, _security(seLinuxOptions={"type": "spc_t"}), "Deployment"
    ),
    "workload.proc-mount-unmasked": Case(_clean, _security(procMount="Unmasked"), "Deployment"),
    "workload.seccomp-profile": Case(
        _clean, _pod_context(seccompProfile={"type": "Unconfined"}), "Deployment"
    ),
    "workload.unsafe-sysctls": Case(
        _clean, _pod_context(sysctls=[{"name": "kernel.msgmax", "value": "1"}]), "Deployment"
    ),
    "workload.privilege-escalation": Case(
        _clean, _security(allowPrivilegeEscalation=True), "Deployment"
    ),
    "workload.capabilities-not-dropped": Case(_clean, _security(capabilities={}), "Deployment"),
    "workload.volume-types": Case(
        _clean,
        _spec(volumes=[{"name": "n", "nfs": {"server": "nfs.example.com", "path": "/"}}]),
        "Deployment",
    ),
    # Other workload checks
    "workload.violates-namespace-level": Case(
        _namespace_level("baseline", with_security(pod_spec(), allowPrivilegeEscalation=True)),
        _namespace_level("baseline", with_security(pod_spec(), privileged=True)),
        "Deployment",
    ),
    "workload.runs-as-root": Case(_clean, _security(runAsUser=0), "Deployment"),
    "workload.root-filesystem-writable": Case(
        _clean, _security(readOnlyRootFilesystem=False), "Deployment"
    ),
    "workload.no-resource-limits": Case(
        _clean, _container(resources={"limits": {"cpu": "1"}}), "Deployment"
    ),
    "workload.service-account-token-automounted": Case(
        _automount_off_on_service_account, _no_automount, "Deployment"
    ),
    "workload.requests-missing": Case(
        # Limits only: upstream, each request defaults to its limit.
        _clean, _container(resources={"requests": {"cpu": "100m"}}), "Deployment"
    ),
    "workload.default-service-account-token": Case(
        _own_account_with_token, _no_automount, "Deployment"
    ),
    "workload.secret-in-env": Case(
        _container(env=[{"name": "DB_PASSWORD", "valueFrom": _SECRET_REF},
                        {"name": "LOG_LEVEL", "value": "debug"}]),
        _container(env=[{"name": "DB_PASSWORD", "value": "hunter2"}]),
        "Deployment",
    ),
    "namespace.pss-not-enforced": Case(
        _clean, lambda: clean_inventory(namespaces=[namespace(level=None)]), "Namespace"
    ),
    # Images
    "image.registry-not-approved": Case(
        _clean, _container(image=f"nginx:1.27.3@{DIGEST}"), "Deployment"
    ),
    "image.insecure-registry": Case(
        _clean, _container(image=f"10.0.4.12:5000/shop/web:1.2.3@{DIGEST}"), "Deployment"
    ),
    "image.latest-tag": Case(
        _clean, _container(image="registry.example.com/shop/web:latest"), "Deployment"
    ),
    "image.not-pinned-by-digest": Case(
        _clean, _container(image="registry.example.com/shop/web:1.2.3"), "Deployment"
    ),
    "image.floating-tag-not-pulled": Case(
        _container(image="registry.example.com/shop/web", imagePullPolicy="Always"),
        _container(image="registry.example.com/shop/web", imagePullPolicy="IfNotPresent"),
        "Deployment",
    ),
    # Network
    "network.namespace-not-isolated": Case(_policies(_ALLOW_WEB), _policies(), "Namespace"),
    "network.no-default-deny-ingress": Case(_clean, _policies(_ALLOW_WEB), "Namespace"),
    "network.service-exposed": Case(_clean, _service(type="NodePort"), "Service"),
    "network.service-external-ips": Case(
        _clean, _service(type="ClusterIP", externalIPs=["203.0.113.7"]), "Service"
    ),
    # Access
    "access.cluster-admin-binding": Case(
        _binding("view", {"kind": "User", "name": "alice@example.com"}),
        _binding("cluster-admin", {"kind": "User", "name": "alice@example.com"}),
        "User",
    ),
    "access.anonymous-binding": Case(
        _binding("system:public-info-viewer", {"kind": "Group", "name": "system:unauthenticated"}),
        _binding("view", {"kind": "User", "name": "system:anonymous"}),
        "ClusterRoleBinding",
    ),
    "access.wildcard-role": Case(
        _role("cluster-admin", ["*"], ["*"], _BUILT_IN), _role("ops", ["*"], ["pods"]),
        "ClusterRole",
    ),
    "access.secrets-read": Case(
        _grant(_rule("get", "secrets", names="app-db")), _grant(_rule("list", "secrets")),
        "ServiceAccount",
    ),
    "access.pods-exec": Case(
        _grant(_rule("create", "pods/exec", names="web-0"), subject=_ALICE),
        _grant(_rule("create", "pods/exec pods/attach"), subject=_ALICE),
        "User",
    ),
    "access.workload-create": Case(
        _grant(_rule("create", "deployments", "apps", names="web")),
        _grant(_rule("create", "deployments", "apps")),
        "ServiceAccount",
    ),
    "access.escalate-bind": Case(
        _grant(_rule("get list", "clusterroles", "rbac.authorization.k8s.io")),
        _grant(_rule("escalate", "clusterroles", "rbac.authorization.k8s.io")),
        "ServiceAccount",
    ),
    "access.impersonate": Case(
        _grant(_rule("impersonate", "users"), namespaced=True),
        _grant(_rule("impersonate", "users")),
        "ServiceAccount",
    ),
    "access.nodes-proxy": Case(
        _grant(_rule("get", "nodes/proxy"), namespaced=True),
        _grant(_rule("get", "nodes/proxy")),
        "ServiceAccount",
    ),
    "access.token-create": Case(
        _grant(_rule("create", "serviceaccounts/token", names="builder")),
        _grant(_rule("create", "serviceaccounts/token")),
        "ServiceAccount",
    ),
    "access.rbac-modify": Case(
        _grant(_rule("get list watch", "clusterrolebindings", "rbac.authorization.k8s.io")),
        _grant(_rule("update", "clusterrolebindings", "rbac.authorization.k8s.io")),
        "ServiceAccount",
    ),
    "access.webhook-modify": Case(
        _grant(_rule("get", "validatingwebhookconfigurations", "admissionregistration.k8s.io")),
        _grant(_rule("patch", "validatingwebhookconfigurations", "admissionregistration.k8s.io")),
        "ServiceAccount",
    ),
    "access.csr-approve": Case(
        _grant(_rule("update", "certificatesigningrequests/approval", "certificates.k8s.io")),
        _grant(_rule("update", "certificatesigningrequests/approval", "certificates.k8s.io"),
               _rule("approve", "signers", "certificates.k8s.io")),
        "ServiceAccount",
    ),
    # Vulnerabilities
    "vulnerability.critical": Case(_report(0, 5), _report(2, 0), "Deployment"),
    "vulnerability.high": Case(_report(1, 0), _report(0, 3), "Deployment"),
    # Namespace configuration
    "network.no-default-deny-egress": Case(
        _clean, lambda: clean_inventory(networkpolicies=[default_deny()]), "Namespace"
    ),
    "network.ingress-without-tls": Case(
        _clean, lambda: clean_inventory(ingresses=[ingress()]), "Ingress"
    ),
    "network.service-selects-nothing": Case(
        _clean, _service(type="ClusterIP", selector={"app": "web-v1"}), "Service"
    ),
    "workload.namespace-without-quota": Case(
        _clean, lambda: clean_inventory(resourcequotas=[]), "Namespace"
    ),
    "workload.namespace-without-limitrange": Case(
        _clean, lambda: clean_inventory(limitranges=[]), "Namespace"
    ),
    "workload.secret-in-configmap": Case(
        _configmap(DB_HOST="db", DB_PASSWORD_FILE="/run/secrets/db"),
        _configmap(DB_HOST="db", DB_PASSWORD="hunter2-but-longer"),
        "ConfigMap",
    ),
    "access.service-account-token-secret": Case(
        _secret("kubernetes.io/tls"), _secret(TOKEN_TYPE), "Secret"
    ),
    "admission.no-guardrails": Case(
        _clean, lambda: clean_inventory(gatekeeperconstraints=[]), "Cluster"
    ),
}


def copy_case(inv: Inventory) -> Inventory:
    """Return a deep copy (tests that mutate an inventory must not share one)."""
    return copy.deepcopy(inv)
