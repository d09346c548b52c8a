"""The security team's policy: thresholds and choices the checks read.

Stored as JSON in the database and edited by people, so ``Policy.from_dict`` refuses unknown
keys and wrong types with a message that names the key.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from posture.checks import pss
from posture.checks.vocabulary import Severity

# Aiming for "privileged" would check nothing.
PSS_TARGET_LEVELS: tuple[str, ...] = tuple(lv for lv in pss.LEVELS if lv != "privileged")
_KERNEL = re.compile(r"^[0-9]+\.[0-9]+$")

# Namespaces that run the control plane's own pods; never asked to carry an enforce label.
SYSTEM_NAMESPACES: tuple[str, ...] = ("kube-system", "kube-public", "kube-node-lease")

# Where the platform's own components run: findings there are "platform-managed" and, unless the
# policy says ``score_platform_findings``, stay out of the score (see docs/scoring.md). Only
# namespaces that the providers create and manage themselves are listed; the names come from
# their documentation:
# - Kubernetes' initial namespaces:
#   https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces
# - EKS: the CloudWatch Observability add-on runs in amazon-cloudwatch
#   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Observability-EKS-addon.html),
#   the GuardDuty runtime monitoring agent in amazon-guardduty
#   (https://docs.aws.amazon.com/guardduty/latest/ug/eks-runtime-monitoring-coverage.html).
# - GKE: GKE's own gke-managed-* namespaces (gke-managed-system, gke-managed-cim,
#   gke-managed-filestorecsi, gke-managed-volumepopulator …), and Managed Service for
#   Prometheus's gmp-system ("do not modify or deploy anything in this namespace"), gmp-public
#   and gke-gmp-system (https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed).
# - AKS: the Azure Policy add-on's Gatekeeper runs in gatekeeper-system
#   (https://learn.microsoft.com/azure/governance/policy/concepts/policy-for-kubernetes), the
#   application routing add-on in app-routing-system (https://learn.microsoft.com/azure/aks/app-routing),
#   `az aks command invoke` in aks-command
#   (https://learn.microsoft.com/azure/aks/access-private-cluster), the Istio add-on in
#   aks-istio-system (https://learn.microsoft.com/azure/aks/istio-about).
# A cluster that runs its own Gatekeeper in gatekeeper-system should take it off the list.
PLATFORM_NAMESPACES: tuple[str, ...] = (
    *SYSTEM_NAMESPACES,
    "amazon-cloudwatch",
    "amazon-guardduty",
    "gke-managed-*",
    "gke-gmp-system",
    "gmp-system",
    "gmp-public",
    "gatekeeper-system",
    "app-routing-system",
    "aks-command",
    "aks-istio-system",
)

# RBAC subjects and ClusterRoles that Kubernetes, kubeadm or the provider creates and manages, as
# Kind/name patterns: their access findings are platform-managed (shown apart, and out of the
# score unless ``score_platform_findings``), never dropped. Their service accounts need no entry:
# they live in kube-system, a platform namespace. Sources:
# - Kubernetes' default bindings and core component identities (system:masters, the nodes'
#   system:node:NAME users in system:nodes, kube-controller-manager, kube-scheduler, kube-proxy):
#   https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
# - kubeadm's admin.conf group kubeadm:cluster-admins, its bootstrap-token group and the API
#   server's kubelet client kube-apiserver-kubelet-client:
#   https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/
# - EKS: "All resources that start with eks are created by Amazon EKS" (its users, groups and
#   ClusterRoles): https://docs.aws.amazon.com/eks/latest/userguide/default-roles-users.html
# - GKE's own ClusterRoles, named gce:* and system:gke-*.
# AKS names its objects without a common prefix, so none is listed; add yours here. A role
# named like these is still judged by its rules, and a subject bound to it still gets its own
# findings: a name can only set a ClusterRole's own finding apart, never hide what it grants.
PLATFORM_RBAC: tuple[str, ...] = (
    "Group/system:masters",
    "Group/system:nodes",
    "User/system:node:*",
    "User/system:kube-controller-manager",
    "User/system:kube-scheduler",
    "User/system:kube-proxy",
    "Group/kubeadm:cluster-admins",
    "Group/system:bootstrappers:kubeadm:default-node-token",
    "User/kube-apiserver-kubelet-client",
    "User/eks:*",
    "Group/eks:*",
    "ClusterRole/eks:*",
    "ClusterRole/gce:*",
    "ClusterRole/system:gke-*",
)
_RBAC_KINDS = ("User", "Group", "ClusterRole")


class PolicyError(ValueError):
    """A policy document is invalid; the message names the offending key."""


@dataclass(frozen=True, slots=True)
class KeyDoc:
    """What a policy key means, the type of its value and an example value (as YAML)."""

    meaning: str
    type: str
    example: str


def _key(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING,
         meaning: str, type: str, example: str) -> Any:
    """Declare a policy key with its documentation, which the policy page renders."""
    doc = {"doc": KeyDoc(meaning=meaning, type=type, example=example)}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=doc)
    return field(default=default, metadata=doc)


@dataclass(frozen=True)
class Policy:
    """Thresholds and choices for one evaluation; the defaults are a sensible baseline.

    Every key is declared with ``_key``: its documentation lives beside it (the policy page and
    ``policy_keys()`` read it), and a test fails for a key without one.
    """

    approved_registries: tuple[str, ...] = _key(
        (), meaning="Registry hosts, optionally with a path prefix, that images may come from. "
        "Empty leaves the approved-registry check not evaluated.",
        type="list of strings", example="[ghcr.io/acme, registry.k8s.io]")
    insecure_registries: tuple[str, ...] = _key(
        (), meaning="Registry hosts (optionally host:port) that nodes pull from over plain "
        "HTTP or without verifying TLS, as configured in the container runtime: images from "
        "them are reported (check image.insecure-registry). A host without a port matches "
        "every port.", type="list of strings", example="[registry.lab.internal:5000]")
    eol_warning_days: int = _key(
        90, meaning="How many days before an end of life (Kubernetes, node OS) the checks and "
        "the weekly digest warn about it.", type="integer, 0 or more", example="120")
    max_node_age_days: int = _key(
        90, meaning="Nodes older than this many days should have been replaced with a patched "
        "image (check node.not-rotated).", type="integer, 0 or more", example="30")
    patch_lag_threshold: int = _key(
        3, meaning="How many patch releases a cluster may lag behind the newest patch of its "
        "Kubernetes minor.", type="integer, 0 or more", example="2")
    max_kubelet_minor_skew: int | None = _key(
        None, meaning="The most minor versions a kubelet may trail the API server by; null "
        "follows the upstream version skew policy for the cluster's version.",
        type="integer, 0 or more, or null", example="1")
    min_kernel_version: str = _key(
        "5.4", meaning="Linux nodes on an older kernel line than this are reported "
        "(check node.kernel-old).", type='string "MAJOR.MINOR"', example='"6.1"')
    pss_level: str = _key(
        "restricted", meaning="The Pod Security Standards level workloads should meet.",
        type=f"one of {', '.join(PSS_TARGET_LEVELS)}", example="baseline")
    pss_level_by_cluster_label: Mapping[str, str] = _key(
        factory=dict, meaning="Per-cluster override of pss_level by a cluster label; the "
        "first matching selector in key order wins.",
        type="mapping of label selector (key=value) to level", example="{env=dev: baseline}")
    pss_version: str = _key(
        "latest", meaning="The Kubernetes version whose Pod Security Standards the workloads "
        "are evaluated against.", type='"latest" or a version like "v1.30"',
        example='"v1.30"')
    pss_exempt_namespaces: tuple[str, ...] = _key(
        (), meaning="Namespaces, besides kube-system, kube-public and kube-node-lease, that "
        "need no Pod Security Admission enforce label.", type="list of strings",
        example="[gatekeeper-system, monitoring]")
    max_critical_vulnerabilities: int = _key(
        0, meaning="How many critical vulnerabilities a container's image may have (Trivy "
        "Operator's VulnerabilityReport) before it is reported.",
        type="integer, 0 or more", example="1")
    max_high_vulnerabilities: int = _key(
        0, meaning="How many high-severity vulnerabilities a container's image may have "
        "(Trivy Operator's VulnerabilityReport) before it is reported.",
        type="integer, 0 or more", example="5")
    max_acceptance_days: int = _key(
        180, meaning="The longest a risk may be accepted for, in days.",
        type="integer, 0 or more", example="90")
    disabled_checks: tuple[str, ...] = _key(
        (), meaning="Check ids switched off: they are not evaluated and cost no points.",
        type="list of check ids", example="[image.not-pinned-by-digest]")
    severity_overrides: Mapping[str, Severity] = _key(
        factory=dict, meaning="A severity of the organisation's own for a check, instead of "
        "the catalog's.", type=f"mapping of check id to {', '.join(Severity)}",
        example="{image.latest-tag: high}")
    platform_namespaces: tuple[str, ...] = _key(
        PLATFORM_NAMESPACES, meaning="Namespaces where the platform's own components run: "
        "their findings are platform-managed, shown apart and, unless "
        "score_platform_findings, left out of the score, the headline counts and the digest. "
        "The default lists the namespaces Kubernetes, EKS, GKE and AKS create and manage; a "
        "cluster that runs its own Gatekeeper should take gatekeeper-system off.",
        type="list of namespace names, shell wildcards allowed",
        example="[kube-system, gke-managed-*, platform-addons]")
    platform_workloads: tuple[str, ...] = _key(
        (), meaning="Provider add-ons outside those namespaces, as kind/namespace/name: their "
        "findings are platform-managed too. A cluster-scoped object's namespace is empty, "
        "which * matches.",
        type="list of kind/namespace/name patterns, shell wildcards in each part",
        example="[DaemonSet/monitoring/ama-*]")
    platform_rbac: tuple[str, ...] = _key(
        PLATFORM_RBAC, meaning="Users, groups and ClusterRoles that Kubernetes, kubeadm or the "
        "provider creates and manages, as Kind/name: their access findings are "
        "platform-managed. The default lists Kubernetes' and kubeadm's own identities and "
        "EKS's and GKE's prefixes; service accounts in platform namespaces need no entry.",
        type="list of User/name, Group/name or ClusterRole/name patterns, shell wildcards "
        "in the name", example="[Group/system:masters, ClusterRole/eks:*, User/ops-robot]")
    score_platform_findings: bool = _key(
        False, meaning="Count platform-managed findings in the score, the headline counts and "
        "the digest like any other.", type="true or false", example="true")

    @classmethod
    def from_dict(cls, data: object) -> Policy:
        """Build a policy from a JSON/YAML mapping, refusing unknown keys and wrong types."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise PolicyError(f"policy: expected a mapping, got {_type_name(data)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise PolicyError(
                f"policy: unknown key(s) {', '.join(unknown)}; "
                f"known keys: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _PARSERS[key](key, value)
        policy = cls(**values)
        policy._check_ids()
        return policy

    @classmethod
    def from_yaml_file(cls, path: str | Path) -> Policy:
        """Read a policy from a YAML (or JSON) file."""
        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh)
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
        try:
            return cls.from_dict(data)
        except PolicyError as exc:
            raise PolicyError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-able form that ``from_dict`` reads back."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = {k: str(v) for k, v in sorted(value.items())}
            out[f.name] = value
        return out

    def for_cluster(self, labels: Mapping[str, str]) -> Policy:
        """Return this policy with the PSS level a cluster with ``labels`` must meet."""
        for selector in sorted(self.pss_level_by_cluster_label):
            key, _, value = selector.partition("=")
            if labels.get(key) == value:
                return dataclasses.replace(
                    self, pss_level=self.pss_level_by_cluster_label[selector])
        return self

    def severity_for(self, check_id: str, default: Severity) -> Severity:
        """Return the severity the policy gives ``check_id``."""
        return self.severity_overrides.get(check_id, default)

    def pss_exempt(self, namespace: str) -> bool:
        """Say whether ``namespace`` needs no Pod Security Admission enforce label."""
        return namespace in SYSTEM_NAMESPACES or namespace in self.pss_exempt_namespaces

    def platform_managed(self, kind: str, namespace: str, name: str) -> bool:
        """Say whether a finding about ``kind`` ``namespace``/``name`` is platform-managed.

        The one place that decides it. It is asked at scoring time, like an acceptance, so a
        change of policy takes effect on the next rescore; stored findings carry no such flag.
        A Namespace finding is about the namespace it names.
        """
        where = name if kind == "Namespace" else namespace
        return (
            self.platform_namespace(where)
            or self.platform_workload(kind, namespace, name)
            or self.platform_rbac_object(kind, name)
        )

    def platform_namespace(self, namespace: str) -> bool:
        """Say whether ``namespace`` is one of ``platform_namespaces`` (half of the rule above)."""
        return bool(namespace) and _matcher(self.platform_namespaces)(namespace)

    def platform_workload(self, kind: str, namespace: str, name: str) -> bool:
        """Say whether ``platform_workloads`` names the object (the other half)."""
        return bool(self.platform_workloads) and _matcher(self.platform_workloads)(
            f"{kind}/{namespace}/{name}"
        )

    def platform_rbac_object(self, kind: str, name: str) -> bool:
        """Say whether ``platform_rbac`` names the User, Group or ClusterRole ``name``."""
        return kind in _RBAC_KINDS and bool(self.platform_rbac) and _matcher(
            self.platform_rbac)(f"{kind}/{name}")

    def set_apart(self, kind: str, namespace: str, name: str) -> bool:
        """Say whether a finding is shown apart as platform-managed and left out of the score,
        the headline counts and the digest: platform-managed, and the policy does not score
        those (``score_platform_findings``)."""
        return not self.score_platform_findings and self.platform_managed(kind, namespace, name)

    def _check_ids(self) -> None:
        for key, ids in (
            ("disabled_checks", self.disabled_checks),
            ("severity_overrides", tuple(self.severity_overrides)),
        ):
            unknown = sorted(i for i in ids if i not in _check_ids)
            if unknown:
                raise PolicyError(f"policy.{key}: unknown check id(s) {', '.join(unknown)}")


# The catalog's check ids, which a policy may name. The catalog hands them over when it is built
# (importing any of posture.checks builds it first), so this module imports nothing above it:
# the catalog imports the rules, which import the context, which imports this module.
_check_ids: frozenset[str] = frozenset()


def know_checks(ids: Iterable[str]) -> None:
    """Set the check ids a policy may name (``posture.checks.catalog`` calls it)."""
    global _check_ids
    _check_ids = frozenset(ids)


@lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> Any:
    """Return a function saying whether a text matches any of ``patterns`` (shell wildcards).

    One regular expression for all of them: it is asked for every open finding at each score.
    """
    if not patterns:
        return lambda text: False
    combined = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
    return lambda text: combined.match(text) is not None
@dataclass(frozen=True, slots=True)
class PolicyKey:
    """One documented policy key: its name, documentation and default (as JSON, valid YAML)."""

    name: str
    meaning: str
    type: str
    default: str
    example: str


def policy_keys(schema: type[Policy] = Policy) -> tuple[PolicyKey, ...]:
    """Return every key of ``schema`` with its documentation, in declaration order.

    Raises ``PolicyError`` for a key declared without documentation (see ``_key``).
    """
    defaults = schema().to_dict()
    keys = []
    for f in dataclasses.fields(schema):
        doc = f.metadata.get("doc")
        if not isinstance(doc, KeyDoc) or not all((doc.meaning, doc.type, doc.example)):
            raise PolicyError(f"policy.{f.name}: declared without documentation; use _key()")
        keys.append(PolicyKey(name=f.name, meaning=doc.meaning, type=doc.type,
                              default=json.dumps(defaults[f.name]), example=doc.example))
    return tuple(keys)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"policy.{key}: expected an integer, got {_type_name(value)}")
    if value < 0:
        raise PolicyError(f"policy.{key}: must be zero or more, got {value}")
    return value


def _optional_int(key: str, value: object) -> int | None:
    return None if value is None else _int(key, value)


def _str_list(key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise PolicyError(f"policy.{key}: expected a list of strings, got {_type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise PolicyError(f"policy.{key}[{i}]: expected a non-empty string")
    return tuple(item.strip() for item in value)


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"policy.{key}: expected true or false, got {_type_name(value)}")
    return value


_WORKLOAD_PATTERN_PARTS = 3


def _rbac_patterns(key: str, value: object) -> tuple[str, ...]:
    patterns = _str_list(key, value)
    for i, pattern in enumerate(patterns):
        kind, slash, name = pattern.partition("/")
        if not slash or kind not in _RBAC_KINDS or not name:
            raise PolicyError(
                f"policy.{key}[{i}]: expected User/name, Group/name or ClusterRole/name like "
                f'"Group/system:masters" (shell wildcards in the name), got {pattern!r}'[:300]
            )
    return patterns


def _workload_patterns(key: str, value: object) -> tuple[str, ...]:
    patterns = _str_list(key, value)
    for i, pattern in enumerate(patterns):
        parts = pattern.split("/")
        # Kubernetes names never contain "/", so the pattern splits unambiguously.
        if len(parts) != _WORKLOAD_PATTERN_PARTS or not parts[0] or not parts[2]:
            raise PolicyError(
                f"policy.{key}[{i}]: expected kind/namespace/name like "
                f'"DaemonSet/kube-system/ama-*" (use "*" for any part), got {pattern!r}'[:300]
            )
    return patterns


def _registries(key: str, value: object) -> tuple[str, ...]:
    return tuple(r.lower().rstrip("/") for r in _str_list(key, value))


def _choice(choices: tuple[str, ...]) -> Any:
    def parse(key: str, value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise PolicyError(
                f"policy.{key}: expected one of {', '.join(choices)}, got {value!r}"[:300]
            )
        return value

    return parse


def _pattern(regex: re.Pattern[str], example: str) -> Any:
    def parse(key: str, value: object) -> str:
        if not isinstance(value, str) or not regex.match(value):
            raise PolicyError(f"policy.{key}: expected a value like {example}, got {value!r}"[:300])
        return value

    return parse


def _pss_version(key: str, value: object) -> str:
    if isinstance(value, str):
        try:
            pss.effective_version(value)
        except ValueError:
            pass
        else:
            return value
    raise PolicyError(
        f'policy.{key}: expected "latest" or a version like "v1.30", got {value!r}'[:300]
    )


def _levels_by_label(key: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise PolicyError(f'policy.{key}: expected a mapping like {{"env=dev": "baseline"}}')
    out: dict[str, str] = {}
    for selector, level in value.items():
        if not isinstance(selector, str) or "=" not in selector or selector.startswith("="):
            raise PolicyError(f"policy.{key}: {selector!r} is not a label selector like env=dev"
                              [:300])
        out[selector] = _choice(PSS_TARGET_LEVELS)(f"{key}.{selector}", level)
    return out


def _overrides(key: str, value: object) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise PolicyError(f"policy.{key}: expected a mapping of check id to severity")
    out: dict[str, Severity] = {}
    for check_id, severity in value.items():
        if not isinstance(check_id, str):
            raise PolicyError(f"policy.{key}: check ids must be strings")
        try:
            out[check_id] = Severity(severity)
        except ValueError:
            allowed = ", ".join(Severity)
            raise PolicyError(
                f"policy.{key}.{check_id}: expected one of {allowed}, got {severity!r}"[:300]
            ) from None
    return out


_PARSERS: dict[str, Any] = {
    "approved_registries": _registries,
    "insecure_registries": _registries,
    "eol_warning_days": _int,
    "max_node_age_days": _int,
    "patch_lag_threshold": _int,
    "max_kubelet_minor_skew": _optional_int,
    "min_kernel_version": _pattern(_KERNEL, '"5.4"'),
    "pss_level": _choice(PSS_TARGET_LEVELS),
    "pss_level_by_cluster_label": _levels_by_label,
    "pss_version": _pss_version,
    "pss_exempt_namespaces": _str_list,
    "max_critical_vulnerabilities": _int,
    "max_high_vulnerabilities": _int,
    "max_acceptance_days": _int,
    "disabled_checks": _str_list,
    "severity_overrides": _overrides,
    "platform_namespaces": _str_list,
    "platform_workloads": _workload_patterns,
    "platform_rbac": _rbac_patterns,
    "score_platform_findings": _bool,
}
