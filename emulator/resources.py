"""The API resources the emulator serves, and the discovery documents that describe them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# What a real API server advertises for these built-in resources; the emulator itself only
# answers get and list (writes get 405), but clients read discovery, not the emulator's limits.
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    """One listable resource: where it lives in the API and what discovery says about it."""

    plural: str
    singular: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # A custom resource: served only when its add-on is installed, items carry kind/apiVersion.
    custom: bool = False

    @property
    def group_version(self) -> str:
        """Return ``v1`` for the core group, else ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """Return the kind of this resource's list, e.g. ``PodList``."""
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """Return the name RBAC messages use: ``pods`` or ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> dict[str, Any]:
        """Return this resource's APIResource entry."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": _VERBS,
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry


TRIVY_GROUP = "aquasecurity.github.io"
KYVERNO_GROUP = "kyverno.io"
GATEKEEPER_TEMPLATES = "templates.gatekeeper.sh"
GATEKEEPER_CONSTRAINTS = "constraints.gatekeeper.sh"
_ADMISSION = "admissionregistration.k8s.io"

RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "namespace", "Namespace", "", "v1", False, ("ns",)),
    Resource("nodes", "node", "Node", "", "v1", False, ("no",)),
    Resource("pods", "pod", "Pod", "", "v1", True, ("po",), ("all",)),
    Resource("services", "service", "Service", "", "v1", True, ("svc",), ("all",)),
    Resource("serviceaccounts", "serviceaccount", "ServiceAccount", "", "v1", True, ("sa",)),
    Resource("daemonsets", "daemonset", "DaemonSet", "apps", "v1", True, ("ds",), ("all",)),
    Resource("deployments", "deployment", "Deployment", "apps", "v1", True, ("deploy",), ("all",)),
    Resource("replicasets", "replicaset", "ReplicaSet", "apps", "v1", True, ("rs",), ("all",)),
    Resource("statefulsets", "statefulset", "StatefulSet", "apps", "v1", True, ("sts",), ("all",)),
    Resource("cronjobs", "cronjob", "CronJob", "batch", "v1", True, ("cj",), ("all",)),
    Resource("jobs", "job", "Job", "batch", "v1", True, (), ("all",)),
    Resource("networkpolicies", "networkpolicy", "NetworkPolicy", "networking.k8s.io", "v1", True,
             ("netpol",)),
    Resource("clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
             "rbac.authorization.k8s.io", "v1", False),
    Resource("clusterroles", "clusterrole", "ClusterRole", "rbac.authorization.k8s.io", "v1",
             False),
    Resource("rolebindings", "rolebinding", "RoleBinding", "rbac.authorization.k8s.io", "v1",
             True),
    Resource("roles", "role", "Role", "rbac.authorization.k8s.io", "v1", True),
    Resource("configmaps", "configmap", "ConfigMap", "", "v1", True, ("cm",)),
    Resource("secrets", "secret", "Secret", "", "v1", True),
    Resource("resourcequotas", "resourcequota", "ResourceQuota", "", "v1", True, ("quota",)),
    Resource("limitranges", "limitrange", "LimitRange", "", "v1", True, ("limits",)),
    Resource("ingresses", "ingress", "Ingress", "networking.k8s.io", "v1", True, ("ing",)),
    Resource("validatingadmissionpolicies", "validatingadmissionpolicy",
             "ValidatingAdmissionPolicy", _ADMISSION, "v1", False),
    Resource("validatingadmissionpolicybindings", "validatingadmissionpolicybinding",
             "ValidatingAdmissionPolicyBinding", _ADMISSION, "v1", False),
    Resource("vulnerabilityreports", "vulnerabilityreport", "VulnerabilityReport", TRIVY_GROUP,
             "v1alpha1", True, ("vuln", "vulns"), ("all",), custom=True),
    Resource("clusterpolicies", "clusterpolicy", "ClusterPolicy", KYVERNO_GROUP, "v1", False,
             ("cpol",), ("kyverno", "policies"), custom=True),
    Resource("policies", "policy", "Policy", KYVERNO_GROUP, "v1", True, ("pol",),
             ("kyverno", "policies"), custom=True),
    Resource("constrainttemplates", "constrainttemplate", "ConstraintTemplate",
             GATEKEEPER_TEMPLATES, "v1", False, (), ("all",), custom=True),
)

BY_PLURAL: dict[str, Resource] = {r.plural: r for r in RESOURCES}


def constraint_kind(template: Mapping[str, Any]) -> str:
    """Return the constraint kind a Gatekeeper ConstraintTemplate defines."""
    return str(template["spec"]["crd"]["spec"]["names"]["kind"])


def served(objects: Mapping[str, Any]) -> tuple[Resource, ...]:
    """Return the resources a cluster serves.

    A custom resource's group is served when the objects hold a list (even empty) for one of
    its resources, as when the add-on's CRDs are installed; Gatekeeper serves one constraint
    resource per ConstraintTemplate.
    """
    installed = {r.group for r in RESOURCES if r.custom and objects.get(r.plural) is not None}
    out = [r for r in RESOURCES if not r.custom or r.group in installed]
    for template in objects.get("constrainttemplates") or []:
        kind = constraint_kind(template)
        out.append(Resource(kind.lower(), kind.lower(), kind, GATEKEEPER_CONSTRAINTS,
                            "v1beta1", False, (), ("constraint", "constraints"), custom=True))
    return tuple(out)


def find(group_version: str, plural: str, resources: tuple[Resource, ...]) -> Resource | None:
    """Return the resource served at ``group_version``/``plural``, or None."""
    for r in resources:
        if r.plural == plural and r.group_version == group_version:
            return r
    return None


def api_versions() -> dict[str, Any]:
    """Return the ``/api`` document."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"},
        ],
    }


def _group_versions(resources: tuple[Resource, ...]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in resources:
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    return groups


def api_group(group: str, versions: list[str]) -> dict[str, Any]:
    """Return the APIGroup document of one group."""
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def api_group_list(resources: tuple[Resource, ...]) -> dict[str, Any]:
    """Return the ``/apis`` document."""
    groups = []
    for group, versions in _group_versions(resources).items():
        doc = api_group(group, versions)
        del doc["kind"], doc["apiVersion"]
        groups.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def groups(resources: tuple[Resource, ...]) -> dict[str, list[str]]:
    """Return the served named groups and their versions."""
    return _group_versions(resources)


def api_resource_list(group_version: str, resources: tuple[Resource, ...]) -> dict[str, Any]:
    """Return the APIResourceList of one group version (empty resources if none served)."""
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [r.discovery() for r in resources if r.group_version == group_version],
    }
