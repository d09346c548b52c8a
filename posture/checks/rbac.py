"""Who can: which subjects hold which dangerous permissions, and through which path.

A pure index of a cluster's RBAC, built once per evaluation from plain objects (the checks in
``rules/access.py`` read it, and so can a page). Permissions are worked out the way the API
server's RBAC authorizer grants them (``k8s.io/kubernetes/pkg/apis/rbac/v1`` ``VerbMatches``,
``APIGroupMatches``, ``ResourceMatches``, ``ResourceNameMatches``):

- ``*`` in verbs, apiGroups or resources matches everything, a resource ``*/exec`` matches the
  ``exec`` subresource of any resource, and ``*`` matches subresources too;
- a rule with ``resourceNames`` allows only requests that name one of them. A ``create`` of a
  top-level object carries no name when it is authorised, so such a rule never allows it;
- a ClusterRoleBinding grants cluster-wide; a RoleBinding grants only in its own namespace, and
  only namespaced resources (a RoleBinding to a ClusterRole that allows ``nodes/proxy`` gives no
  access to nodes), with one upstream exception: ``bind`` on ``clusterroles`` granted in a
  namespace lets its holder bind those ClusterRoles in that namespace;
- an aggregated ClusterRole (``aggregationRule.clusterRoleSelectors``) holds the rules of every
  ClusterRole whose labels a selector matches, as the aggregation controller writes them;
- a ServiceAccount subject of a RoleBinding without a namespace is in the binding's namespace,
  and a User named ``system:serviceaccount:NS:NAME`` is that service account.

Roles are never trusted by name: a role is judged by its rules. Built-in roles are known by
their ``kubernetes.io/bootstrapping: rbac-defaults`` label together with a name that Kubernetes
creates in the cluster's minor (``data/rbac_defaults.yaml``); ``is_built_in`` says so, for the
checks that leave built-in roles out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import yaml

from posture.checks.safe import clip, dicts, mapping, string_map, text
from posture.checks.selectors import selects

BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
BOOTSTRAP_VALUE = "rbac-defaults"
SUBJECT_KINDS: tuple[str, ...] = ("User", "Group", "ServiceAccount")
_SA_USER_PREFIX = "system:serviceaccount:"
_SA_GROUP = "system:serviceaccounts"
_AUTHENTICATED = "system:authenticated"
_RBAC = "rbac.authorization.k8s.io"
_CERTIFICATES = "certificates.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"


class Subject(NamedTuple):
    """Who a binding grants to; ``namespace`` is set for service accounts only."""

    kind: str
    namespace: str
    name: str

    def shown(self) -> str:
        """Return ``ServiceAccount ns/name``, ``User name`` or ``Group name``, cut for display."""
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {clip(self.namespace, 64)}/{clip(self.name, 254)}"
        return f"{self.kind} {clip(self.name, 254)}"


class Target(NamedTuple):
    """Requests that exercise a permission: these verbs on these resources of one API group.

    ``namespaced`` says whether the resources live in namespaces (so a RoleBinding can grant
    them). ``unnamed`` lists the verbs whose requests carry no object name when authorised (a
    ``create`` of a top-level object), which a rule with ``resourceNames`` therefore never allows.
    """

    verbs: frozenset[str]
    group: str
    resources: tuple[str, ...]
    namespaced: bool
    unnamed: frozenset[str] = frozenset()


class Permission(NamedTuple):
    """A dangerous permission: a subject holds it when it holds every part.

    ``narrow_names``: a grant limited by ``resourceNames`` to a few named objects is a
    deliberate least-privilege grant (a named Secret, exec into one pod) and does not count as
    holding the permission; it is still listed. Where one name is enough to escalate (bind
    ``cluster-admin``, impersonate ``system:masters``, the kubelet API of a node), a limited
    grant counts, and the finding names the names.
    """

    id: str
    does: str
    parts: tuple[tuple[Target, ...], ...]
    narrow_names: bool


def _t(verbs: str, group: str, resources: str, namespaced: bool, unnamed: str = "") -> Target:
    return Target(frozenset(verbs.split()), group, tuple(resources.split()), namespaced,
                  frozenset(unnamed.split()))


_WORKLOADS = "pods replicationcontrollers"
PERMISSIONS: tuple[Permission, ...] = (
    Permission("secrets-read", "read Secrets",
               ((_t("get list watch", "", "secrets", True),),), narrow_names=True),
    Permission("pods-exec", "run commands in pods (exec, attach, port-forward, debug containers)",
               ((_t("create get", "", "pods/exec pods/attach pods/portforward", True),
                 _t("update patch", "", "pods/ephemeralcontainers", True)),),
               narrow_names=True),
    Permission("workload-create", "create pods or workloads",
               ((_t("create", "", _WORKLOADS, True, "create"),
                 _t("create", "apps", "deployments daemonsets statefulsets replicasets", True,
                    "create"),
                 _t("create", "batch", "jobs cronjobs", True, "create")),),
               narrow_names=False),
    Permission("escalate-bind", "grant permissions they do not hold (escalate or bind)",
               ((_t("escalate", _RBAC, "roles", True),
                 _t("escalate", _RBAC, "clusterroles", False),
                 # Upstream: bind on clusterroles granted in a namespace allows binding those
                 # ClusterRoles there (the bind check is made in the new binding's namespace).
                 _t("bind", _RBAC, "roles clusterroles", True)),),
               narrow_names=False),
    Permission("impersonate", "impersonate other users, groups or service accounts",
               ((_t("impersonate", "", "users groups", False),
                 _t("impersonate", "", "serviceaccounts", True)),),
               narrow_names=False),
    Permission("nodes-proxy", "reach the kubelet API of nodes (nodes/proxy)",
               ((_t("get create", "", "nodes/proxy", False),),), narrow_names=False),
    Permission("token-create", "create tokens for service accounts",
               ((_t("create", "", "serviceaccounts/token", True),),), narrow_names=True),
    Permission("rbac-modify", "change RBAC roles and bindings",
               ((_t("create update patch delete", _RBAC, "roles rolebindings", True, "create"),
                 _t("create update patch delete", _RBAC, "clusterroles clusterrolebindings",
                    False, "create")),),
               narrow_names=False),
    Permission("webhook-modify", "change admission webhooks",
               ((_t("create update patch delete", _ADMISSION,
                    "mutatingwebhookconfigurations validatingwebhookconfigurations", False,
                    "create"),),),
               narrow_names=False),
    Permission("csr-approve", "approve certificate signing requests",
               ((_t("update patch", _CERTIFICATES, "certificatesigningrequests/approval", False),),
                (_t("approve", _CERTIFICATES, "signers", False),)),
               narrow_names=False),
)
PERMISSION_BY_ID: dict[str, Permission] = {p.id: p for p in PERMISSIONS}


class Path(NamedTuple):
    """How a subject holds a permission: binding → role → rule, and where.

    ``rule_role`` is the role the rule is written in (for an aggregated ClusterRole, the
    aggregated role, e.g. ``ClusterRole system:aggregate-to-edit``); ``rule`` is its position
    there, from 1. ``scope`` is ``""`` for cluster-wide, else the namespace. ``names`` are the
    rule's ``resourceNames`` (empty: any). ``everything`` marks a rule that allows every verb
    on every resource of every group.
    """

    binding_kind: str
    binding_namespace: str
    binding_name: str
    role_kind: str
    role_name: str
    rule_role: str
    rule: int
    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    names: tuple[str, ...]
    scope: str
    everything: bool

    @property
    def binding(self) -> str:
        """Return ``ClusterRoleBinding name`` or ``RoleBinding namespace/name``."""
        name = clip(self.binding_name)
        if self.binding_namespace:
            return f"{self.binding_kind} {clip(self.binding_namespace, 64)}/{name}"
        return f"{self.binding_kind} {name}"

    @property
    def role(self) -> str:
        """Return ``ClusterRole name`` or ``Role name``."""
        return f"{self.role_kind} {clip(self.role_name)}"

    def shown(self) -> str:
        """Return e.g. ``ClusterRoleBinding ops → ClusterRole reader (rule 2: get secrets)``."""
        own = self.rule_role == f"{self.role_kind} {self.role_name}"
        where = f"rule {self.rule}" if own else (
            f"rule {self.rule} of {clip(self.rule_role)}")
        what = "every verb on everything" if self.everything else (
            f"{', '.join(clip(v, 32) for v in self.verbs)} "
            f"{', '.join(clip(r, 64) for r in self.resources)}")
        limited = ""
        if self.names:
            limited = f" limited to names {', '.join(clip(n, 64) for n in self.names[:5])}"
        return f"{self.binding} → {self.role} ({where}: {what}{limited})"

    def to_dict(self) -> dict[str, Any]:
        """Return the path as evidence, names and lists cut short (evidence stays small)."""
        out: dict[str, Any] = {
            "binding_kind": self.binding_kind,
            "binding_namespace": clip(self.binding_namespace, 64),
            "binding_name": clip(self.binding_name, 64),
            "role_kind": self.role_kind,
            "role_name": clip(self.role_name, 64),
            "rule": self.rule,
            "verbs": [clip(v, 16) for v in self.verbs[:5]],
            "resources": [clip(r, 48) for r in self.resources[:5]],
            "scope": clip(self.scope, 64),
        }
        if self.rule_role != f"{self.role_kind} {self.role_name}":
            out["rule_role"] = clip(self.rule_role, 80)
        if self.names:
            out["resourceNames"] = [clip(n, 48) for n in self.names[:5]]
        return out


class WorkloadRef(NamedTuple):
    """A workload that runs as a service account, and whether its pods mount the token."""

    kind: str
    namespace: str
    name: str
    service_account: str
    token_mounted: bool


class WhoCan:
    """The index: per permission, per subject, the paths that grant it.

    ``everything`` holds the paths through rules that allow everything (cluster-admin or its
    equal); the same paths are in every permission's entry too. ``narrow`` holds, per
    permission, the grants limited to named objects that do not count as holding it.
    """

    def __init__(self) -> None:
        self.grants: dict[str, dict[Subject, list[Path]]] = {p.id: {} for p in PERMISSIONS}
        self.narrow: dict[str, dict[Subject, list[Path]]] = {p.id: {} for p in PERMISSIONS}
        self.everything: dict[Subject, list[Path]] = {}
        self.workloads_by_account: dict[tuple[str, str], list[WorkloadRef]] = {}
        self.all_workloads: list[WorkloadRef] = []

    def holders(self, permission: str) -> dict[Subject, list[Path]]:
        """Return the subjects that hold ``permission``, each with its paths."""
        return self.grants[permission]

    def workloads(self, subject: Subject) -> list[WorkloadRef]:
        """Return the workloads whose pods act as ``subject`` (a service account or its group).

        ``system:serviceaccounts:NS`` covers every workload of NS; ``system:serviceaccounts`` and
        ``system:authenticated`` every workload; users and other groups none.
        """
        if subject.kind == "ServiceAccount":
            return self.workloads_by_account.get((subject.namespace, subject.name), [])
        if subject.kind == "Group":
            if subject.name in (_SA_GROUP, _AUTHENTICATED):
                return self.all_workloads
            if subject.name.startswith(_SA_GROUP + ":"):
                namespace = subject.name[len(_SA_GROUP) + 1:]
                return [w for w in self.all_workloads if w.namespace == namespace]
        return []


class _Rule(NamedTuple):
    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    names: tuple[str, ...]
    role: str  # the role the rule is written in, shown as "ClusterRole name"
    position: int


class _Role(NamedTuple):
    shown: str
    labels: dict[str, str]
    rules: tuple[_Rule, ...]
    selectors: tuple[object, ...] | None  # aggregationRule.clusterRoleSelectors


def _strings(value: object) -> tuple[str, ...]:
    # safe.strings, written out: this runs for every rule of every role, whose lists are
    # nearly always all strings.
    if not isinstance(value, list):
        return ()
    found = tuple(value)
    for v in found:
        if not isinstance(v, str):
            return tuple(v for v in found if isinstance(v, str))
    return found


def _rules(role: str, raw: object) -> tuple[_Rule, ...]:
    """Return the rules of a role that can matter to a dangerous permission.

    A rule whose resources no permission involves (configmaps, services, a nonResourceURLs
    rule …) grants nothing this index records, and most rules are such: they are left out.
    """
    if not isinstance(raw, list):
        return ()
    relevant = _targets_by_resource()
    out = []
    for i, rule in enumerate(raw, start=1):
        if not isinstance(rule, dict):
            continue
        resources = _strings(rule.get("resources"))
        if not any(r in relevant or r == "*" or r.startswith("*/") for r in resources):
            continue
        out.append(_Rule(frozenset(_strings(rule.get("verbs"))),
                         frozenset(_strings(rule.get("apiGroups"))), frozenset(resources),
                         _strings(rule.get("resourceNames")), role, i))
    return tuple(out)


def _role(kind: str, obj: Mapping[str, Any]) -> _Role:
    meta = mapping(obj.get("metadata"))
    shown = f"{kind} {text(meta.get('name'))}"
    aggregation = obj.get("aggregationRule")
    selectors = None
    if kind == "ClusterRole" and isinstance(aggregation, dict):
        raw = aggregation.get("clusterRoleSelectors")
        selectors = tuple(raw) if isinstance(raw, list) else ()
    return _Role(shown, string_map(meta.get("labels")), _rules(shown, obj.get("rules")), selectors)


def everything(rule: _Rule) -> bool:
    """Say whether ``rule`` allows every verb on every resource of every API group, unlimited."""
    return "*" in rule.verbs and "*" in rule.groups and "*" in rule.resources and not rule.names


def _match(rule: _Rule, target: Target) -> tuple[str, ...] | None:
    """Return the verbs of ``target`` that ``rule`` allows (its resources matched), or None."""
    if "*" not in rule.groups and target.group not in rule.groups:
        return None
    verbs = target.verbs if "*" in rule.verbs else target.verbs & rule.verbs
    if rule.names:
        verbs = verbs - target.unnamed
    return tuple(sorted(verbs)) if verbs else None


# Every permission's targets, by the resources they name: (permission id, part, target).
_Entry = tuple[str, int, Target]


@lru_cache(maxsize=1)
def _targets_by_resource() -> dict[str, list[_Entry]]:
    out: dict[str, list[_Entry]] = {}
    for permission in PERMISSIONS:
        for part_index, part in enumerate(permission.parts):
            for target in part:
                for resource in target.resources:
                    out.setdefault(resource, []).append((permission.id, part_index, target))
    return out


def _candidates(rule: _Rule) -> dict[_Entry, list[str]]:
    """Return the targets whose resources a rule matches, each with the resources matched.

    Most rules name resources no dangerous permission involves (configmaps, services …): a
    look-up by resource name leaves them out at once, where trying every target would not.
    The authorizer's resource match: ``*`` matches every resource and subresource, a name
    matches itself, and ``*/sub`` matches the ``sub`` subresource of any resource.
    """
    by_resource = _targets_by_resource()
    names = rule.resources
    if "*" in names:
        wanted = list(by_resource)
    else:
        wanted = [r for r in names if r in by_resource]
        subs = {r[2:] for r in names if r.startswith("*/")}
        if subs:
            wanted += [r for r in by_resource
                       if r.partition("/")[2] in subs and r not in names]
    found: dict[_Entry, list[str]] = {}
    for resource in wanted:
        for entry in by_resource[resource]:
            found.setdefault(entry, []).append(resource)
    return found


# One role's matches: per permission, per part, (rule, verbs, resources, namespaced) tuples.
_Matches = dict[str, list[list[tuple[_Rule, tuple[str, ...], tuple[str, ...], bool]]]]


def _role_matches(rules: Iterable[_Rule]) -> tuple[_Matches, list[_Rule]]:
    found: _Matches = {}
    every = []
    for rule in rules:
        if everything(rule):
            every.append(rule)
        for (permission_id, part_index, target), matched in _candidates(rule).items():
            verbs = _match(rule, target)
            if verbs is None:
                continue
            parts = found.get(permission_id)
            if parts is None:
                parts = found[permission_id] = [
                    [] for _ in PERMISSION_BY_ID[permission_id].parts]
            resources = tuple(r for r in target.resources if r in matched)
            parts[part_index].append((rule, verbs, resources, target.namespaced))
    return found, every


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:
    data = resources.files("posture.checks").joinpath("data/rbac_defaults.yaml").read_text("utf-8")
    # libyaml's loader when PyYAML has it: the file is read once per process, on the first poll.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded: dict[str, Any] = yaml.load(data, Loader=loader)  # noqa: S506 (a safe loader)
    return loaded


@lru_cache(maxsize=1)
def _built_in_cluster_roles() -> dict[str, int]:
    return {entry["name"]: int(entry.get("since", 0)) for entry in _defaults()["cluster_roles"]}


@lru_cache(maxsize=1)
def _built_in_roles() -> frozenset[tuple[str, str]]:
    return frozenset((ns, name) for ns, names in _defaults()["roles"].items() for name in names)


def minor_of(git_version: str) -> int | None:
    """Return the minor of ``v1.30.2`` (30), or None when it cannot be read."""
    parts = git_version.lstrip("v").split(".")
    if len(parts) < 2 or parts[0] != "1":
        return None
    digits = "".join(ch for ch in parts[1] if ch.isdigit())
    return int(digits) if digits and digits == parts[1][: len(digits)] else None


def is_built_in(kind: str, obj: Mapping[str, Any], minor: int | None) -> bool:
    """Say whether a Role or ClusterRole is one Kubernetes creates and reconciles itself.

    Both the bootstrap label and a name Kubernetes creates in ``minor`` (any minor when it is
    unknown) are needed: anyone can name a role ``system:*`` or label it.
    """
    meta = mapping(obj.get("metadata"))
    if string_map(meta.get("labels")).get(BOOTSTRAP_LABEL) != BOOTSTRAP_VALUE:
        return False
    name = text(meta.get("name"))
    if kind == "Role":
        return (text(meta.get("namespace")), name) in _built_in_roles()
    since = _built_in_cluster_roles().get(name)
    return since is not None and (minor is None or minor >= since)


def _user_facing() -> dict[str, dict[str, Any]]:
    return {r["name"]: {"metadata": {"name": r["name"], "labels": r.get("labels", {})},
                        "rules": r.get("rules"), "aggregationRule": r.get("aggregationRule")}
            for r in _defaults()["user_facing_roles"]}


def subject_of(raw: Mapping[str, Any], binding_namespace: str) -> Subject | None:
    """Return the subject a binding names, normalised; None for a kind RBAC does not know."""
    kind, name = text(raw.get("kind")), text(raw.get("name"))
    if not name:
        return None
    if kind == "ServiceAccount":
        namespace = text(raw.get("namespace")) or binding_namespace
        return Subject(kind, namespace, name) if namespace else None
    if kind == "User" and name.startswith(_SA_USER_PREFIX):
        namespace, colon, account = name[len(_SA_USER_PREFIX):].partition(":")
        if colon and namespace and account and ":" not in account:
            return Subject("ServiceAccount", namespace, account)
    if kind in ("User", "Group"):
        return Subject(kind, "", name)
    return None


def build(
    clusterroles: Iterable[Mapping[str, Any]],
    roles: Iterable[Mapping[str, Any]],
    clusterrolebindings: Iterable[Mapping[str, Any]],
    rolebindings: Iterable[Mapping[str, Any]],
    workloads: Iterable[WorkloadRef] = (),
) -> WhoCan:
    """Index who holds each dangerous permission, with every path, from RBAC objects.

    A ClusterRole that bindings name but the objects lack is taken from Kubernetes' own
    definition when it is one of the roles people bind (cluster-admin, admin, edit, view and the
    roles they aggregate): a set of manifests refers to them without defining them.
    """
    index = WhoCan()
    for w in workloads:
        index.workloads_by_account.setdefault((w.namespace, w.service_account), []).append(w)
        index.all_workloads.append(w)

    by_name: dict[str, _Role] = {}
    for obj in clusterroles:
        role = _role("ClusterRole", obj)
        name = role.shown[len("ClusterRole "):]
        by_name.setdefault(name, role)
    for name, obj in _user_facing().items():
        if name not in by_name:
            by_name[name] = _role("ClusterRole", obj)
    namespaced: dict[tuple[str, str], _Role] = {}
    for obj in roles:
        meta = mapping(obj.get("metadata"))
        namespaced.setdefault((text(meta.get("namespace")), text(meta.get("name"))),
                              _role("Role", obj))

    effective = _aggregate(by_name)
    cluster_matches: dict[str, tuple[_Matches, list[_Rule]]] = {}
    role_matches: dict[tuple[str, str], tuple[_Matches, list[_Rule]]] = {}

    for kind, objects in (("ClusterRoleBinding", clusterrolebindings),
                          ("RoleBinding", rolebindings)):
        for binding in objects:
            meta = mapping(binding.get("metadata"))
            namespace = text(meta.get("namespace")) if kind == "RoleBinding" else ""
            ref = mapping(binding.get("roleRef"))
            ref_kind, ref_name = text(ref.get("kind")), text(ref.get("name"))
            if ref_kind == "ClusterRole":
                if ref_name not in effective:
                    continue
                matches = cluster_matches.get(ref_name)
                if matches is None:
                    matches = cluster_matches[ref_name] = _role_matches(effective[ref_name])
            elif ref_kind == "Role" and kind == "RoleBinding":
                key = (namespace, ref_name)
                if key not in namespaced:
                    continue
                matches = role_matches.get(key)
                if matches is None:
                    matches = role_matches[key] = _role_matches(namespaced[key].rules)
            else:
                continue  # a ClusterRoleBinding cannot refer to a Role
            subjects = [s for raw in dicts(binding.get("subjects"))
                        if (s := subject_of(raw, namespace)) is not None]
            if not subjects:
                continue
            where = (kind, namespace, text(meta.get("name")), ref_kind, ref_name)
            _record(index, subjects, where, matches)
    _finish(index)
    return index


def _aggregate(by_name: dict[str, _Role]) -> dict[str, tuple[_Rule, ...]]:
    """Return every ClusterRole's rules with the rules of the roles it aggregates added.

    The aggregation controller writes the union of the matching roles' rules into an
    aggregated role, and a matching role may itself be aggregated: the rules of every role
    reachable through selectors count. The role's own rules are kept too (in a cluster they are
    that union already; in manifests they are what the author wrote).
    """
    aggregated = {name: role for name, role in by_name.items() if role.selectors is not None}
    edges: dict[str, list[str]] = {}
    for name, role in aggregated.items():
        matchers = [_selector(sel) for sel in role.selectors or ()]
        edges[name] = [other for other, candidate in by_name.items()
                       if other != name and any(m(candidate.labels) for m in matchers)]
    out = {name: role.rules for name, role in by_name.items()}
    for name in aggregated:
        seen, stack = {name}, [name]
        rules: list[_Rule] = []
        while stack:
            current = stack.pop()
            rules.extend(by_name[current].rules)
            for nxt in edges.get(current, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        out[name] = tuple(sorted(set(rules), key=lambda r: (r.role, r.position)))
    return out


def _selector(selector: object) -> Callable[[dict[str, str]], bool]:
    """Return a matcher for one label selector, cheap for the plain matchLabels kind.

    Aggregation tries every aggregated role's selectors on every ClusterRole; a selector of
    string matchLabels only is compared directly, anything else goes through ``selects``.
    """
    if isinstance(selector, dict) and set(selector) <= {"matchLabels"}:
        wanted = selector.get("matchLabels") or {}
        if isinstance(wanted, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in wanted.items()
        ):
            pairs = tuple(wanted.items())
            return lambda labels: all(labels.get(k) == v for k, v in pairs)
    return lambda labels: selects(selector, labels)


def _record(index: WhoCan, subjects: list[Subject], where: tuple[str, str, str, str, str],
            matches: tuple[_Matches, list[_Rule]]) -> None:
    found, every = matches
    namespace = where[1]
    if every:
        paths = [Path(*where, r.role, r.position, ("*",), ("*",), (), namespace, True)
                 for r in every]
        for subject in subjects:
            index.everything.setdefault(subject, []).extend(paths)
    every_ids = {(r.role, r.position) for r in every}
    for permission_id, parts in found.items():
        permission = PERMISSION_BY_ID[permission_id]
        part_paths: list[list[Path]] = []
        for part in parts:
            paths = [
                Path(*where, rule.role, rule.position, verbs, resources_, rule.names,
                     namespace, (rule.role, rule.position) in every_ids)
                for rule, verbs, resources_, is_namespaced in part
                if is_namespaced or not namespace
            ]
            part_paths.append(paths)
        for subject in subjects:
            for paths in part_paths:
                for path in paths:
                    limited = bool(path.names) and permission.narrow_names
                    target = index.narrow if limited else index.grants
                    target[permission_id].setdefault(subject, []).append(path)


def _finish(index: WhoCan) -> None:
    """Keep a multi-part permission only for subjects holding every part; order the paths."""
    for permission in PERMISSIONS:
        holders = index.grants[permission.id]
        if len(permission.parts) > 1:
            for subject in list(holders):
                if not all(any(_in_part(p, part) for p in holders[subject])
                           for part in permission.parts):
                    del holders[subject]
        for paths in (*holders.values(), *index.narrow[permission.id].values()):
            paths.sort()
    for paths in index.everything.values():
        paths.sort()


def _in_part(path: Path, part: tuple[Target, ...]) -> bool:
    return any(r in t.resources for t in part for r in path.resources)


def scopes(paths: Iterable[Path]) -> list[str]:
    """Return ``[""]`` when any path is cluster-wide, else the namespaces, sorted."""
    found = {p.scope for p in paths}
    return [""] if "" in found else sorted(found)
