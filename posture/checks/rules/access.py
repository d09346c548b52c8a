"""Access control: who can do what dangerous thing, anonymous access, wildcard roles.

The "who can" checks read one index of the cluster's RBAC (``posture.checks.rbac``) and report
one finding per subject (User, Group or ServiceAccount) and check, with every path (binding →
role → rule) that grants it and the workloads whose pods carry that subject's token: "this
Deployment's token can read every Secret" is one finding. Roles are judged by their rules,
never trusted for their name.

Kubernetes' own subjects (system:masters, the controllers' service accounts in kube-system …)
are reported like any other; the policy's platform rules (``Policy.platform_managed``: platform
namespaces for service accounts, ``platform_rbac`` for users, groups and ClusterRoles) set their
findings apart as platform-managed.

A grant of every verb on every resource (cluster-admin or a role equal to it) is reported once,
by ``access.cluster-admin-binding``; the narrower checks leave those paths out, so an admin is
one finding, not ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from posture.checks import rbac
from posture.checks.base import Check, Hit
from posture.checks.context import Context
from posture.checks.rbac import Path, Subject, WhoCan, WorkloadRef
from posture.checks.safe import clip, dicts, identity_name, mapping, strings, text
from posture.checks.vocabulary import Category, Severity

_RBAC_DOC = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"
_GOOD_PRACTICES_DOC = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
_ESCALATION_DOC = _GOOD_PRACTICES_DOC + "#privilege-escalation-risks"
_ANONYMOUS = (("User", "system:anonymous"), ("Group", "system:unauthenticated"))
# The default binding of system:unauthenticated to this read-only role (/healthz, /version, ...)
# exists in every cluster; reporting it would teach people to ignore the check.
_PUBLIC_ROLES = frozenset({"system:public-info-viewer"})
_MAX_EVIDENCE = 10
_MAX_WORKLOADS = 20
_SHOWN_PATHS = 3
_SHOWN_WORKLOADS = 3
_SHOWN_NAMES = 5
# Stored with every finding and shown on pages: a message and an evidence of bounded size.
_MESSAGE_LIMIT = 990
_EVIDENCE_BUDGET = 990
_RBAC_NEEDS = ("clusterroles", "roles", "clusterrolebindings", "rolebindings")


def who_can(ctx: Context) -> WhoCan:
    """Return the cluster's "who can" index, built once per evaluation."""
    memo = ctx.memo.get("who_can")
    if isinstance(memo, WhoCan):
        return memo
    index = rbac.build(
        ctx.objects("clusterroles"),
        ctx.objects("roles"),
        ctx.objects("clusterrolebindings"),
        ctx.objects("rolebindings"),
        _workload_refs(ctx),
    )
    ctx.memo["who_can"] = index
    return index


def _workload_refs(ctx: Context) -> list[WorkloadRef]:
    if ctx.coverage("pods")[0] != "read":
        return []
    accounts = ctx.service_accounts
    refs = []
    for view in ctx.workloads:
        facts = view.facts
        mounted = facts.automount_token
        if mounted is None:
            sa = accounts.get((view.namespace, facts.service_account))
            value = None if sa is None else sa.get("automountServiceAccountToken")
            mounted = value if isinstance(value, bool) else True
        refs.append(WorkloadRef(view.kind, view.namespace, view.name, facts.service_account,
                                mounted))
    return refs


def _scope_words(paths: list[Path]) -> tuple[str, dict[str, Any]]:
    scopes = rbac.scopes(paths)
    if scopes == [""]:
        return "cluster-wide", {"cluster_wide": True}
    shown = ", ".join(clip(s, 64) for s in scopes[:_SHOWN_NAMES])
    more = f" (+{len(scopes) - _SHOWN_NAMES} more)" if len(scopes) > _SHOWN_NAMES else ""
    word = "namespace" if len(scopes) == 1 else "namespaces"
    evidence = {"cluster_wide": False, "namespaces": [clip(s, 64) for s in scopes[:_MAX_WORKLOADS]]}
    return f"in {word} {shown}{more}", evidence


def _workload_words(ctx: Context, index: WhoCan, subject: Subject) -> tuple[str, dict[str, Any]]:
    if ctx.coverage("pods")[0] != "read":
        return "", {}
    refs = index.workloads(subject)
    if not refs:
        if subject.kind == "ServiceAccount":
            return "; no workload runs as it", {"workloads": [], "workload_count": 0}
        return "", {}
    names = [f"{w.kind} {clip(w.namespace, 64)}/{clip(w.name, 128)}" for w in refs]
    mounted = [n for n, w in zip(names, refs, strict=True) if w.token_mounted]
    evidence = {
        "workloads": names[:_MAX_WORKLOADS],
        "workload_count": len(names),
        "token_mounted": len(mounted),
    }
    if mounted:
        shown = ", ".join(mounted[:_SHOWN_WORKLOADS])
        extra = len(mounted) - _SHOWN_WORKLOADS
        more = f" and {extra} more" if extra > 0 else ""
        return f"; its token is mounted in {shown}{more}", evidence
    return f"; {len(names)} workload(s) run as it without mounting the token", evidence


def _subject_hit(ctx: Context, index: WhoCan, subject: Subject, does: str,
                 paths: list[Path], extra: dict[str, Any] | None = None) -> Hit:
    where, scope_evidence = _scope_words(paths)
    limited = sorted({n for p in paths for n in p.names})
    if limited and all(p.names for p in paths):
        names = ", ".join(clip(n, 64) for n in limited[:_SHOWN_NAMES])
        where += f", limited to names {names}" + (" …" if len(limited) > _SHOWN_NAMES else "")
    shown = "; ".join(p.shown() for p in paths[:_SHOWN_PATHS])
    if len(paths) > _SHOWN_PATHS:
        shown += f"; and {len(paths) - _SHOWN_PATHS} more path(s)"
    tail, workload_evidence = _workload_words(ctx, index, subject)
    message = f"{subject.shown()} can {does} {where} ({shown}){tail}"
    evidence: dict[str, Any] = {
        "subject": clip(subject.shown(), 128),
        **scope_evidence,
        "paths": [p.to_dict() for p in paths[:_MAX_EVIDENCE]],
        "path_count": len(paths),
        **workload_evidence,
        **(extra or {}),
    }
    # A long subject name is cut with a hash, never merely cut: two long names stay two findings.
    return Hit(subject.kind, identity_name(subject.namespace), identity_name(subject.name), "",
               clip(message, _MESSAGE_LIMIT), _bounded(evidence))


def _bounded(evidence: dict[str, Any]) -> dict[str, Any]:
    """Drop list entries from the end until the evidence's JSON fits ``_EVIDENCE_BUDGET``.

    Counts (``path_count``, ``workload_count``) keep the whole numbers.
    """
    while len(orjson.dumps(evidence)) > _EVIDENCE_BUDGET:
        if evidence.get("also_limited_to_names"):
            evidence["also_limited_to_names"].pop()
        elif len(evidence["paths"]) > 1:
            evidence["paths"].pop()
        elif evidence.get("workloads"):
            evidence["workloads"].pop()
        elif len(evidence.get("namespaces") or ()) > 1:
            evidence["namespaces"].pop()
        elif evidence["paths"]:
            evidence["paths"].pop()
        else:
            break
    return evidence


def _permission_run(permission_id: str) -> Callable[[Context], Iterator[Hit]]:
    permission = rbac.PERMISSION_BY_ID[permission_id]

    def run(ctx: Context) -> Iterator[Hit]:
        index = who_can(ctx)
        narrow = index.narrow[permission_id]
        for subject, paths in sorted(index.holders(permission_id).items()):
            kept = [p for p in paths if not p.everything]
            if not kept:
                continue
            extra = None
            if subject in narrow:
                extra = {"also_limited_to_names": [p.to_dict() for p in narrow[subject][:3]]}
            yield _subject_hit(ctx, index, subject, permission.does, kept, extra)

    return run


def _cluster_admin(ctx: Context) -> Iterator[Hit]:
    index = who_can(ctx)
    for subject, paths in sorted(index.everything.items()):
        yield _subject_hit(ctx, index, subject, "do anything (every verb on every resource)",
                           paths)


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


def _minor(ctx: Context) -> int | None:
    return rbac.minor_of(text(mapping(ctx.inventory.get("version")).get("gitVersion")))


def _public_role(ctx: Context, role_ref: dict[str, Any]) -> bool:
    """Say whether a binding refers to the built-in read-only public-info role."""
    name = text(role_ref.get("name"))
    if role_ref.get("kind") != "ClusterRole" or name not in _PUBLIC_ROLES:
        return False
    defined = [r for r in ctx.objects("clusterroles")
               if text(mapping(r.get("metadata")).get("name")) == name]
    # Manifests refer to it without defining it; in a cluster it must be the real one.
    return not defined or rbac.is_built_in("ClusterRole", defined[0], _minor(ctx))


def _anonymous(ctx: Context) -> Iterator[Hit]:
    for kind, ns, name, role_ref, subjects in _bindings(ctx):
        if _public_role(ctx, role_ref):
            continue
        role = text(role_ref.get("name"))
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
        groups, urls = strings(rule.get("apiGroups")), strings(rule.get("nonResourceURLs"))
        if "*" in verbs or "*" in resources or (resources and "*" in groups) or "*" in urls:
            entry = {
                "apiGroups": [clip(g, 64) for g in groups[:5]],
                "resources": [clip(r, 64) for r in resources[:5]],
                "verbs": [clip(v, 32) for v in verbs[:5]],
            }
            if urls:
                entry["nonResourceURLs"] = [clip(u, 64) for u in urls[:5]]
            found.append(entry)
    return found


def _wildcard_roles(ctx: Context) -> Iterator[Hit]:
    minor = _minor(ctx)
    for resource, kind in (("clusterroles", "ClusterRole"), ("roles", "Role")):
        for role in ctx.objects(resource):
            if rbac.is_built_in(kind, role, minor):
                continue
            meta = mapping(role.get("metadata"))
            name = text(meta.get("name"))
            rules = _wildcard_rules(role.get("rules"))
            if rules:
                ns = text(meta.get("namespace")) if kind == "Role" else ""
                yield Hit(
                    kind,
                    ns,
                    name,
                    "",
                    f"{kind} {clip(name)} allows every verb, resource, API group or "
                    f"non-resource URL in {len(rules)} rule(s)",
                    {"rules": rules[:_MAX_EVIDENCE]},
                )


def _who_can_check(
    suffix: str, severity: Severity, title: str, why: str, fix: str, snippet: str,
    anchor: str,
) -> Check:
    return Check(
        id=f"access.{suffix}",
        category=Category.ACCESS,
        severity=severity,
        title=title,
        why=why + _WHO_CAN_WHY,
        fix=fix,
        snippet=snippet,
        references=(_GOOD_PRACTICES_DOC + anchor, _RBAC_DOC),
        needs=_RBAC_NEEDS,
        run=_permission_run(suffix),
    )


_WHO_CAN_WHY = (
    " One finding per subject, listing every binding → role → rule path and the workloads "
    "whose pods carry its token. Grants of everything (cluster-admin) are reported by "
    "`access.cluster-admin-binding` instead."
)
_NAMES_NARROW = (
    " A rule limited by `resourceNames` to named objects is a deliberate narrow grant and is "
    "not reported on its own (it is listed when the subject is reported anyway)."
)
_NAMES_COUNT = (
    " A rule limited by `resourceNames` still counts, since one name is enough; the finding "
    "names the names."
)

CHECKS: tuple[Check, ...] = (
    Check(
        id="access.cluster-admin-binding",
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        title="cluster-admin (or a role granting everything) held by a subject",
        why="cluster-admin can do anything, including reading every Secret and changing RBAC. "
        "Each user, group or service account holding it is a path to full cluster takeover. "
        "Any role whose rules allow every verb on every resource of every API group counts, "
        "whatever its name; bound by a RoleBinding it is full control of that namespace. "
        "Kubernetes' own holders (the system:masters group, kube-system service accounts) are "
        "reported as platform-managed. One finding per subject, listing every binding → role "
        "→ rule path and the workloads whose pods carry its token.",
        fix="Bind a narrower role (admin/edit/view or a custom one) scoped to the namespaces "
        "needed; keep cluster-admin for break-glass access.",
        snippet="kubectl create rolebinding team-edit --clusterrole=edit --group=team "
        "--namespace=NAMESPACE\nkubectl delete clusterrolebinding NAME",
        references=(_RBAC_DOC + "#user-facing-roles", _GOOD_PRACTICES_DOC),
        needs=_RBAC_NEEDS,
        run=_cluster_admin,
        # 2: judged by the role's rules, one finding per subject, system subjects kept.
        revision=2,
    ),
    Check(
        id="access.anonymous-binding",
        category=Category.ACCESS,
        severity=Severity.CRITICAL,
        title="Role bound to anonymous or unauthenticated users",
        why="Bindings to `system:anonymous` or `system:unauthenticated` give their permissions "
        "to anyone who can reach the API server, without credentials. The default binding to "
        "the built-in `system:public-info-viewer` is not reported.",
        fix="Delete the binding, or replace the subject with an authenticated group.",
        snippet="kubectl delete clusterrolebinding NAME",
        references=(_RBAC_DOC + "#referring-to-subjects", _GOOD_PRACTICES_DOC),
        needs=("clusterrolebindings", "rolebindings", "clusterroles"),
        run=_anonymous,
        # 2: system:public-info-viewer is left out only when it is the built-in role.
        revision=2,
    ),
    Check(
        id="access.wildcard-role",
        category=Category.ACCESS,
        severity=Severity.HIGH,
        title="Role with wildcard verbs, resources, API groups or URLs",
        why="A `*` grants every current and future verb, resource or API group, including ones "
        "added by later Kubernetes versions and CRDs: the role's power grows without anyone "
        "changing it. Kubernetes' built-in roles are not reported: a role is built-in when it "
        "has the `kubernetes.io/bootstrapping: rbac-defaults` label and a name Kubernetes "
        "creates in the cluster's version; a `system:` name alone proves nothing.",
        fix="List the verbs and resources the subject needs explicitly.",
        snippet="rules:\n  - apiGroups: [apps]\n    resources: [deployments]\n"
        "    verbs: [get, list, watch, update, patch]",
        references=(_GOOD_PRACTICES_DOC,),
        needs=("roles", "clusterroles"),
        run=_wildcard_roles,
        # 2: built-in by label and known name, not by name prefix; apiGroups and URLs too.
        revision=2,
    ),
    _who_can_check(
        "secrets-read",
        Severity.HIGH,
        "Subject can read Secrets",
        "`get`, `list` and `watch` on Secrets all return their values: whoever holds them "
        "reads every password, key and service-account token there, and with a token, that "
        "account's permissions." + _NAMES_NARROW,
        "Grant Secrets access by name (`resourceNames`) to the one workload that needs it, or "
        "mount the Secret instead of reading it through the API.",
        "rules:\n  - apiGroups: [\"\"]\n    resources: [secrets]\n    resourceNames: [app-db]\n"
        "    verbs: [get]",
        "#listing-secrets",
    ),
    _who_can_check(
        "pods-exec",
        Severity.HIGH,
        "Subject can run commands in pods",
        "`pods/exec`, `pods/attach` and `pods/portforward` (`create`, or `get` on API servers "
        "that authorise WebSocket upgrades with it), and adding debug containers through "
        "`pods/ephemeralcontainers`, run code inside existing pods, with their service "
        "accounts' tokens and mounted Secrets." + _NAMES_NARROW,
        "Remove exec rights from standing roles; grant them for debugging through a "
        "time-limited binding.",
        "kubectl delete rolebinding NAME -n NAMESPACE",
        "#workload-creation",
    ),
    _who_can_check(
        "workload-create",
        Severity.MEDIUM,
        "Subject can create pods or workloads",
        "Creating a Pod, Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob or "
        "ReplicationController runs code as any service account of the namespace, with every "
        "Secret and ConfigMap there mountable. `resourceNames` cannot limit `create`, so a "
        "rule with names grants no create at all. Changing an existing workload (`update`, "
        "`patch`) is not counted here.",
        "Let a deployment pipeline, not people, create workloads, and enforce Pod Security "
        "Admission in the namespace so what it creates stays unprivileged.",
        "kubectl label ns NAMESPACE pod-security.kubernetes.io/enforce=restricted",
        "#workload-creation",
    ),
    _who_can_check(
        "escalate-bind",
        Severity.HIGH,
        "Subject can escalate or bind roles",
        "`escalate` on roles lets a subject write rules it does not hold, and `bind` lets it "
        "bind roles it does not hold: both bypass RBAC's escalation prevention, up to "
        "cluster-admin. `bind` on ClusterRoles granted in a namespace allows binding them "
        "there." + _NAMES_COUNT,
        "Remove `escalate` and `bind`; where a controller must bind roles, limit it with "
        "`resourceNames` to the roles it hands out.",
        "rules:\n  - apiGroups: [rbac.authorization.k8s.io]\n    resources: [clusterroles]\n"
        "    verbs: [bind]\n    resourceNames: [view]",
        "#escalate-verb",
    ),
    _who_can_check(
        "impersonate",
        Severity.HIGH,
        "Subject can impersonate others",
        "`impersonate` on users, groups or service accounts lets a subject act as them, "
        "including as members of `system:masters`." + _NAMES_COUNT,
        "Remove `impersonate`, or limit it with `resourceNames` to identities with less access "
        "than the impersonator.",
        "kubectl get clusterrolebindings,rolebindings -A -o wide | grep NAME",
        "#impersonate-verb",
    ),
    _who_can_check(
        "nodes-proxy",
        Severity.HIGH,
        "Subject can reach the kubelet API (nodes/proxy)",
        "`nodes/proxy` reaches the kubelet API of nodes through the API server: it can run "
        "commands in every pod on those nodes, bypassing admission and audit of pod exec. "
        "Nodes are cluster-scoped, so only ClusterRoleBindings grant it." + _NAMES_COUNT,
        "Remove `nodes/proxy`; monitoring agents need `nodes/metrics` and `nodes/stats` only.",
        "rules:\n  - apiGroups: [\"\"]\n    resources: [nodes/metrics, nodes/stats]\n"
        "    verbs: [get]",
        "#access-to-proxy-subresource-of-nodes",
    ),
    _who_can_check(
        "token-create",
        Severity.HIGH,
        "Subject can create service account tokens",
        "`create` on `serviceaccounts/token` issues tokens for other service accounts: their "
        "permissions, for as long as the token lives." + _NAMES_NARROW,
        "Remove the right, or limit it with `resourceNames` to the accounts the subject must "
        "issue tokens for.",
        "rules:\n  - apiGroups: [\"\"]\n    resources: [serviceaccounts/token]\n"
        "    resourceNames: [builder]\n    verbs: [create]",
        "#token-request",
    ),
    _who_can_check(
        "rbac-modify",
        Severity.MEDIUM,
        "Subject can change RBAC roles or bindings",
        "Creating, changing or deleting Roles, ClusterRoles and their bindings re-grants the "
        "subject's own permissions to anyone and removes others' access. Escalation prevention "
        "stops it from granting more than it holds, unless it can also escalate or bind."
        + _NAMES_COUNT,
        "Keep RBAC changes with the people and pipeline that own access; grant namespaced "
        "Roles rather than ClusterRoles where a team manages its own access.",
        "kubectl auth can-i --list --as=system:serviceaccount:NAMESPACE:NAME",
        "#escalate-verb",
    ),
    _who_can_check(
        "webhook-modify",
        Severity.HIGH,
        "Subject can change admission webhooks",
        "Mutating and validating webhook configurations decide what reaches the cluster: "
        "whoever changes them can read every object admitted, rewrite it (mutating), or switch "
        "off the policies that webhooks enforce." + _NAMES_COUNT,
        "Limit webhook configuration changes to the cluster's administrators and the "
        "controllers that own a webhook (with `resourceNames`).",
        "kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations",
        "#control-admission-webhooks",
    ),
    _who_can_check(
        "csr-approve",
        Severity.HIGH,
        "Subject can approve certificate signing requests",
        "With `update` on `certificatesigningrequests/approval` and `approve` on a signer, a "
        "subject can approve certificates the cluster then signs: for the "
        "kube-apiserver-client signer, a client certificate for any user or group, "
        "system:masters included. Only subjects holding both are reported." + _NAMES_COUNT,
        "Leave CSR approval to the controllers that ship with Kubernetes; limit any other "
        "approver to its signer with `resourceNames`.",
        "rules:\n  - apiGroups: [certificates.k8s.io]\n    resources: [signers]\n"
        "    resourceNames: [example.com/my-signer]\n    verbs: [approve]",
        "#csrs-and-certificate-issuing",
    ),
)
