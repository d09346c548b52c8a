"""Small builders for inventories, workloads and manifests in the rules engine's tests."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from posture.checks.inventory import RESOURCES, Coverage, Inventory, Workload, empty_inventory

TODAY = date(2026, 9, 1)
DIGEST = "sha256:" + "a" * 64
GOOD_IMAGE = f"registry.example.com/shop/web:1.2.3@{DIGEST}"
CURRENT_VERSION = "v1.36.4"


def container(name: str = "app", **overrides: Any) -> dict[str, Any]:
    """Return a container that passes every container check; ``overrides`` replace keys."""
    c: dict[str, Any] = {
        "name": name,
        "image": GOOD_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    }
    c.update(overrides)
    return c


def pod_spec(**overrides: Any) -> dict[str, Any]:
    """Return a pod spec that passes every workload and image check."""
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container()],
    }
    spec.update(overrides)
    return spec


def with_security(spec: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return ``spec`` with its first container's securityContext updated."""
    spec = copy.deepcopy(spec)
    spec["containers"][0]["securityContext"].update(fields)
    return spec


def workload(
    name: str = "web",
    namespace: str = "shop",
    spec: dict[str, Any] | None = None,
    kind: str = "Deployment",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Workload:
    """Return a workload whose template has ``spec`` (a passing one by default)."""
    labels = {"app": name} if labels is None else labels
    metadata: dict[str, Any] = {"labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        labels=labels,
        template={"metadata": metadata, "spec": pod_spec() if spec is None else spec},
        pods=2,
    )


def namespace(name: str = "shop", level: str | None = "restricted") -> dict[str, Any]:
    """Return a Namespace, labelled to enforce ``level`` unless it is None."""
    labels = {"kubernetes.io/metadata.name": name}
    if level is not None:
        labels["pod-security.kubernetes.io/enforce"] = level
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def default_deny(namespace: str = "shop") -> dict[str, Any]:
    """Return a NetworkPolicy that denies all ingress in ``namespace``."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def default_deny_egress(namespace: str = "shop") -> dict[str, Any]:
    """Return a NetworkPolicy that denies all egress in ``namespace``."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-egress", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
    }


def quota(namespace: str = "shop") -> dict[str, Any]:
    """Return a ResourceQuota in ``namespace``."""
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute", "namespace": namespace},
            "spec": {"hard": {"requests.cpu": "4", "pods": "20"}}}


def limit_range(namespace: str = "shop") -> dict[str, Any]:
    """Return a LimitRange in ``namespace``."""
    return {"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "defaults", "namespace": namespace},
            "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"}}]}}


def ingress(tls: list[dict[str, Any]] | None = None, *hosts: str) -> dict[str, Any]:
    """Return an Ingress with one rule per host ("" for a rule without host) and ``tls``."""
    rules = []
    for host in hosts or ("shop.example.com",):
        rule: dict[str, Any] = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "web", "port": {"number": 80}}}}]}}
        if host:
            rule["host"] = host
        rules.append(rule)
    spec: dict[str, Any] = {"rules": rules}
    if tls is not None:
        spec["tls"] = tls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


def constraint(kind: str, action: str | None = None, **parameters: Any) -> dict[str, Any]:
    """Return a Gatekeeper constraint as the collector keeps it."""
    spec: dict[str, Any] = {"parameters": parameters}
    if action is not None:
        spec["enforcementAction"] = action
    return {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind,
            "metadata": {"name": kind.lower()}, "spec": spec}


def node(
    name: str = "node-a",
    os_image: str = "Ubuntu 24.04.1 LTS",
    kubelet: str = CURRENT_VERSION,
    runtime: str = "containerd://2.0.1",
    kernel: str = "6.8.0-1015-aws",
    created: str = "2026-08-20T10:00:00Z",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return a Node that passes every node check on ``TODAY``."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "creationTimestamp": created, "labels": labels or {}},
        "status": {
            "nodeInfo": {
                "osImage": os_image,
                "kubeletVersion": kubelet,
                "containerRuntimeVersion": runtime,
                "kernelVersion": kernel,
            }
        },
    }


def inventory(
    *,
    version: str = CURRENT_VERSION,
    forbidden: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
    **resources: list[Any],
) -> Inventory:
    """Return an inventory with every resource read, except the ones named."""
    inv = empty_inventory()
    inv["version"] = {"gitVersion": version} if version else {}
    for key, value in resources.items():
        inv[key] = value  # type: ignore[literal-required]
    for resource in RESOURCES:
        state = "forbidden" if resource in forbidden else "absent" if resource in absent else "read"
        message = "forbidden: cannot list resource" if state == "forbidden" else ""
        inv["coverage"][resource] = Coverage(state=state, message=message, count=0)  # type: ignore[typeddict-item]
    return inv


def clean_inventory(**overrides: Any) -> Inventory:
    """Return a small cluster that passes every check (given an approved-registry policy)."""
    resources: dict[str, Any] = {
        "nodes": [node()],
        "namespaces": [namespace()],
        "workloads": [workload()],
        "networkpolicies": [default_deny(), default_deny_egress()],
        "services": [
            {
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"type": "ClusterIP", "selector": {"app": "web"}},
            }
        ],
        "vulnerabilityreports": [],
        "resourcequotas": [quota()],
        "limitranges": [limit_range()],
        "ingresses": [ingress([{"hosts": ["shop.example.com"], "secretName": "shop-tls"}])],
        "configmaps": [],
        "secrets": [],
        # Admission refuses unapproved registries and :latest (and Pod Security Admission at
        # restricted refuses privileged containers).
        "gatekeeperconstraints": [
            constraint("K8sAllowedRepos", repos=["registry.example.com/"]),
            constraint("K8sDisallowedTags", "deny", tags=["latest"]),
        ],
    }
    resources.update(overrides)
    return inventory(**resources)
