"""RBAC: the scenario's roles and bindings over the built-in ones every cluster has."""

from __future__ import annotations

from typing import Any

from emulator.objects.common import (
    _RBAC,
    Entry,
    Obj,
    clone,
)
from emulator.objects.network import Network


class Rbac(Network):

    def build_rbac(self) -> None:
        """Build roles, cluster roles and their bindings (with Kubernetes' defaults)."""
        base = min([e.created for e in self.entries("nodes")] + [self.view.day])
        cluster_roles = [Entry(spec, base, base) for spec in _builtin_cluster_roles(
            self.view.service_account)] if self.view.builtins else []
        bindings = [Entry(spec, base, base) for spec in _builtin_cluster_role_bindings(
            self.view.service_account)] if self.view.builtins else []
        for plural, kind, entries in (
            ("clusterroles", "ClusterRole", _merge(cluster_roles, self.entries("clusterroles"))),
            ("roles", "Role", self.entries("roles")),
        ):
            for entry in entries:
                spec = entry.spec
                obj: Obj = {"metadata": self.meta(kind, spec["name"], spec.get("namespace"),
                                                  self.ts(entry.created), spec.get("labels"),
                                                  spec.get("annotations"))}
                if "aggregationRule" in spec:
                    obj["aggregationRule"] = clone(spec["aggregationRule"])
                obj["rules"] = clone(list(spec.get("rules", [])))
                self.out.add(plural, obj)
        for plural, kind, entries in (
            ("clusterrolebindings", "ClusterRoleBinding",
             _merge(bindings, self.entries("clusterrolebindings"))),
            ("rolebindings", "RoleBinding", self.entries("rolebindings")),
        ):
            for entry in entries:
                spec = entry.spec
                subjects = []
                for subject in spec.get("subjects", []):
                    s = dict(subject)
                    if s["kind"] in ("User", "Group"):
                        s.setdefault("apiGroup", _RBAC)
                    subjects.append(s)
                obj = {"metadata": self.meta(kind, spec["name"], spec.get("namespace"),
                                             self.ts(entry.created), spec.get("labels"),
                                             spec.get("annotations")),
                       "roleRef": {"apiGroup": _RBAC, **spec["roleRef"]}}
                if subjects:
                    obj["subjects"] = subjects
                self.out.add(plural, obj)


def _merge(defaults: list[Entry], entries: list[Entry]) -> list[Entry]:
    """Return defaults overridden by the scenario's entries of the same name."""
    names = {e.spec["name"] for e in entries}
    return [d for d in defaults if d.spec["name"] not in names] + list(entries)


_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_READ = ["get", "list", "watch"]


def _builtin_cluster_roles(service_account: tuple[str, str]) -> list[Obj]:
    """Return the default cluster roles every cluster has, plus the reader's role."""
    def role(name: str, rules: list[Obj], **extra: Any) -> Obj:
        return {"name": name, "labels": _BOOTSTRAP_LABELS, "annotations": _AUTOUPDATE,
                "rules": rules, **extra}

    roles = [
        role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                               {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        role("admin", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                          "secrets", "serviceaccounts"],
                        "verbs": ["create", "delete", "deletecollection", "get", "list",
                                  "patch", "update", "watch"]}]),
        role("edit", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                         "secrets"],
                       "verbs": ["create", "delete", "deletecollection", "patch", "update"]}]),
        role("view", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                         "endpoints",
                                                         "persistentvolumeclaims"],
                       "verbs": _READ}]),
        role("system:basic-user", [{"apiGroups": ["authorization.k8s.io"],
                                    "resources": ["selfsubjectaccessreviews",
                                                  "selfsubjectrulesreviews"],
                                    "verbs": ["create"]}]),
        role("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*",
                                                       "/healthz", "/livez", "/openapi",
                                                       "/openapi/*", "/readyz", "/version",
                                                       "/version/"],
                                   "verbs": ["get"]}]),
        role("system:public-info-viewer", [{"nonResourceURLs": ["/healthz", "/livez",
                                                                "/readyz", "/version",
                                                                "/version/"],
                                            "verbs": ["get"]}]),
        role("system:node-proxier", [{"apiGroups": [""], "resources": ["endpoints", "services"],
                                      "verbs": ["list", "watch"]}]),
        role("system:kube-scheduler", [{"apiGroups": [""], "resources": ["pods", "nodes"],
                                        "verbs": _READ}]),
        role("system:kube-controller-manager", [{"apiGroups": ["*"], "resources": ["*"],
                                                 "verbs": ["list", "watch"]}]),
    ]
    for name in ("admin", "edit", "view"):
        aggregated = next(r for r in roles if r["name"] == name)
        aggregated["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{name}": "true"}}]}
    reader_rules = [
        {"apiGroups": [""], "resources": ["nodes", "namespaces", "pods", "services",
                                          "serviceaccounts"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": ["replicasets", "deployments", "statefulsets",
                                              "daemonsets"], "verbs": _READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _READ},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": _READ},
        {"apiGroups": [_RBAC], "resources": ["roles", "rolebindings", "clusterroles",
                                             "clusterrolebindings"], "verbs": _READ},
        {"apiGroups": ["aquasecurity.github.io"], "resources": ["vulnerabilityreports"],
         "verbs": _READ},
    ]
    roles.append({"name": service_account[1], "labels": {"app.kubernetes.io/name": "posture"},
                  "rules": reader_rules})
    return roles


def _builtin_cluster_role_bindings(service_account: tuple[str, str]) -> list[Obj]:
    """Return the default cluster role bindings, plus the reader's binding."""
    def binding(name: str, subjects: list[Obj], role: str | None = None) -> Obj:
        return {"name": name, "labels": _BOOTSTRAP_LABELS, "annotations": _AUTOUPDATE,
                "roleRef": {"kind": "ClusterRole", "name": role or name}, "subjects": subjects}

    authenticated = {"kind": "Group", "name": "system:authenticated"}
    return [
        binding("cluster-admin", [{"kind": "Group", "name": "system:masters"}]),
        binding("system:basic-user", [authenticated]),
        binding("system:discovery", [authenticated]),
        # Kubernetes really does bind this one to unauthenticated users: /version, /healthz.
        binding("system:public-info-viewer",
                [authenticated, {"kind": "Group", "name": "system:unauthenticated"}]),
        binding("system:node-proxier", [{"kind": "User", "name": "system:kube-proxy"}]),
        binding("system:kube-scheduler", [{"kind": "User", "name": "system:kube-scheduler"}]),
        binding("system:kube-controller-manager",
                [{"kind": "User", "name": "system:kube-controller-manager"}]),
        {"name": service_account[1], "labels": {"app.kubernetes.io/name": "posture"},
         "roleRef": {"kind": "ClusterRole", "name": service_account[1]},
         "subjects": [{"kind": "ServiceAccount", "name": service_account[1],
                       "namespace": service_account[0]}]},
    ]
