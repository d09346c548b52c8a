"""Access control: who holds cluster-admin, anonymous access, wildcard roles.

"System" subjects are users and groups named ``system:*`` (the control plane's own identities,
such as the ``system:masters`` group) and service accounts in the kube-system namespace. Roles
named ``cluster-admin`` or ``system:*`` are Kubernetes' built-in roles and are not reported as
wildcard roles: they are wildcards by design, and who is bound to them is checked instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from posture.checks.base import Check, Hit
from posture.checks.context import Context
from posture.checks.safe import clip, dicts, mapping, strings, text
from posture.checks.vocabulary import Category, Severity

_RBAC_DOC = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
_GOOD_PRACTICES_DOC = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
_ANONYMOUS = (("User", "system:anonymous"), ("Group", "system:unauthenticated"))
# The default binding of system:unauthenticated to this read-only role (/healthz, /version, ...)
# exists in every cluster; reporting it would teach people to ignore the check.
_PUBLIC_ROLES = frozenset({"system:public-info-viewer"})
_MAX_EVIDENCE = 10


def _bindings(ctx: Context) -> Iterator[tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]]:
    for resource, kind in (
        ("clusterrolebindings", "ClusterRoleBinding"),
        ("rolebindings", "RoleBinding"),
    ):
        for b in ctx.objects(resource):
            meta = mapping(b.get("metadata"))
            namespace = text(meta.get("namespace")) if kind == "RoleBinding" else ""
            yield (
                kind,
                namespace,
                text(meta.get("name")),
                mapping(b.get("roleRef")),
                dicts(b.get("subjects")),
            )


def _subject(s: dict[str, Any]) -> str:
    kind, name = text(s.get("kind")), text(s.get("name"))
    if kind == "ServiceAccount":
        return f"ServiceAccount {clip(text(s.get('namespace')), 64)}/{clip(name, 254)}"
    return f"{kind} {clip(name, 254)}"


def _is_system(s: dict[str, Any]) -> bool:
    if text(s.get("kind")) == "ServiceAccount":
        return text(s.get("namespace")) == "kube-system"
    return text(s.get("name")).startswith("system:")


def _cluster_admin(ctx: Context) -> Iterator[Hit]:
    for kind, ns, name, role_ref, subjects in _bindings(ctx):
        if role_ref.get("kind") != "ClusterRole" or role_ref.get("name") != "cluster-admin":
            continue
        granted = [_subject(s) for s in subjects if not _is_system(s)]
        if granted:
            scope = "the whole cluster" if kind == "ClusterRoleBinding" else f"namespace {clip(ns)}"
            yield Hit(
                kind,
                ns,
                name,
                "",
                f"{kind} {clip(name)} grants cluster-admin on {scope} to "
                f"{', '.join(granted[:_MAX_EVIDENCE])}",
                {"subjects": granted[:_MAX_EVIDENCE], "subject_count": len(granted)},
            )


def _anonymous(ctx: Context) -> Iterator[Hit]:
    for kind, ns, name, role_ref, subjects in _bindings(ctx):
        role = text(role_ref.get("name"))
        if role in _PUBLIC_ROLES:
            continue
        anonymous = sorted(
            {
                text(s.get("name"))
                for s in subjects
                if (text(s.get("kind")), text(s.get("name"))) in _ANONYMOUS
            }
        )
        if anonymous:
            yield Hit(
                kind,
                ns,
                name,
                "",
                f"{kind} {clip(name)} grants {text(role_ref.get('kind'))} {clip(role)} to "
                f"{' and '.join(anonymous)}: anyone who can reach the API server has it",
                {"role": clip(role), "subjects": anonymous},
            )


def _wildcard_rules(rules: object) -> list[dict[str, list[str]]]:
    found = []
    for rule in dicts(rules):
        verbs, resources = strings(rule.get("verbs")), strings(rule.get("resources"))
        if "*" in verbs or "*" in resources:
            found.append(
                {
                    "apiGroups": [clip(g, 64) for g in strings(rule.get("apiGroups"))[:5]],
                    "resources": [clip(r, 64) for r in resources[:5]],
                    "verbs": [clip(v, 32) for v in verbs[:5]],
                }
            )
    return found


def _wildcard_roles(ctx: Context) -> Iterator[Hit]:
    for resource, kind in (("clusterroles", "ClusterRole"), ("roles", "Role")):
        for role in ctx.objects(resource):
            meta = mapping(role.get("metadata"))
            name = text(meta.get("name"))
            if name == "cluster-admin" or name.startswith("system:"):
                continue
            rules = _wildcard_rules(role.get("rules"))
            if rules:
                ns = text(meta.get("namespace")) if kind == "Role" else ""
                yield Hit(
                    kind,
                    ns,
                    name,
                    "",
                    f"{kind} {clip(name)} allows every verb or every resource in "
                    f"{len(rules)} rule(s)",
                    {"rules": rules[:_MAX_EVIDENCE]},
                )


CHECKS: tuple[Check, ...] = (
    Check(
        id="access.cluster-admin-binding",
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        title="cluster-admin granted to a non-system subject",
        why="cluster-admin can do anything, including reading every Secret and changing RBAC. "
        "Each user, group or service account holding it is a path to full cluster takeover.",
        fix="Bind a narrower role (admin/edit/view or a custom one) scoped to the namespaces "
        "needed; keep cluster-admin for break-glass access.",
        snippet="kubectl create rolebinding team-edit --clusterrole=edit --group=team "
        "--namespace=NAMESPACE\nkubectl delete clusterrolebinding NAME",
        references=(_RBAC_DOC + "#user-facing-roles", _GOOD_PRACTICES_DOC),
        needs=("clusterrolebindings", "rolebindings"),
        run=_cluster_admin,
    ),
    Check(
        id="access.anonymous-binding",
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        title="Role bound to anonymous or unauthenticated users",
        why="Bindings to `system:anonymous` or `system:unauthenticated` give their permissions "
        "to anyone who can reach the API server, without credentials. The default binding to "
        "`system:public-info-viewer` is not reported.",
        fix="Delete the binding, or replace the subject with an authenticated group.",
        snippet="kubectl delete clusterrolebinding NAME",
        references=(_RBAC_DOC + "#referring-to-subjects", _GOOD_PRACTICES_DOC),
        needs=("clusterrolebindings", "rolebindings"),
        run=_anonymous,
    ),
    Check(
        id="access.wildcard-role",
        category=Category.ACCESS,
        severity=Severity.HIGH,
        title="Role with wildcard verbs or resources",
        why="A `*` grants every current and future verb or resource, including ones added by "
        "later Kubernetes versions and CRDs: the role's power grows without anyone changing it. "
        "Built-in roles (`cluster-admin`, `system:*`) are not reported.",
        fix="List the verbs and resources the subject needs explicitly.",
        snippet="rules:\n  - apiGroups: [apps]\n    resources: [deployments]\n"
        "    verbs: [get, list, watch, update, patch]",
        references=(_GOOD_PRACTICES_DOC,),
        needs=("roles", "clusterroles"),
        run=_wildcard_roles,
    ),
)
