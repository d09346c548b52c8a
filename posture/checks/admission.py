"""What a cluster's admission control enforces: which guardrails a policy engine denies on.

Three engines are recognised, from the objects they are configured with:

- ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, built in): a policy counts only
  when a ValidatingAdmissionPolicyBinding names it and its ``validationActions`` include
  ``Deny``. What it enforces is read from its CEL ``validations[].expression`` text.
- Kyverno (kyverno.io/v1): a ClusterPolicy counts for a rule whose ``validate.failureAction``
  (Kyverno 1.13+), or else the policy's ``validationFailureAction``, is ``Enforce`` (Kyverno's
  default is ``Audit``). Namespaced Policies guard one namespace, not the cluster: they are not
  counted.
- Gatekeeper (constraints.gatekeeper.sh/v1beta1): a constraint counts when its
  ``enforcementAction`` is ``deny`` or unset (Gatekeeper's default); its kind says what it
  enforces.

Recognition is by the names the engines' policy libraries use and by words in the policy
text; it is a heuristic, documented in the check's catalog entry. The ``slim_*`` functions
reduce each object to what recognition reads, as the collector parses it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from posture.checks.safe import MAX_NAME, clip, dicts, mapping, strings, text

PRIVILEGED = "privileged"
REGISTRIES = "registries"
LATEST_TAG = "latest-tag"
# What each guardrail refuses, as the object of "refuses".
GUARDRAILS: dict[str, str] = {
    PRIVILEGED: "privileged containers",
    REGISTRIES: "images from registries that are not approved",
    LATEST_TAG: "images tagged :latest",
}
ENGINES: dict[str, tuple[str, ...]] = {
    "ValidatingAdmissionPolicy": ("validatingadmissionpolicies",
                                  "validatingadmissionpolicybindings"),
    "Kyverno": ("kyvernoclusterpolicies",),
    "Gatekeeper": ("gatekeeperconstraints",),
}
# What ``posture scan`` records for these resources when the manifests hold no admission
# policy at all: an application's manifests say nothing about the cluster's admission.
NOT_IN_MANIFESTS = "no admission policy among the manifests"

# Policy names from the Kyverno policy library (kyverno/policies), by guardrail.
_KYVERNO_NAMES = {
    PRIVILEGED: frozenset({"disallow-privileged-containers", "privileged-containers"}),
    REGISTRIES: frozenset({"restrict-image-registries", "allowed-image-registries"}),
    LATEST_TAG: frozenset({"disallow-latest-tag", "require-image-tag", "validate-image-tag"}),
}
# Constraint kinds from the Gatekeeper library (open-policy-agent/gatekeeper-library),
# lower-cased, by guardrail.
_GATEKEEPER_KINDS = {
    PRIVILEGED: frozenset({"k8spspprivilegedcontainer"}),
    REGISTRIES: frozenset({"k8sallowedrepos", "k8sallowedreposv2"}),
    # Requiring a digest leaves no tag to float.
    LATEST_TAG: frozenset({"k8sdisallowedtags", "k8simagedigests"}),
}
# The constraint kinds recognised (lower-cased, as their resources are named): the collector
# lists only these, so the reader needs no wildcard on constraints.gatekeeper.sh.
GATEKEEPER_KINDS: frozenset[str] = frozenset().union(*_GATEKEEPER_KINDS.values())
# Bounds on what is kept of one policy object.
_MAX_ITEMS = 50
_MAX_TEXT = 4000


def _meta(obj: dict[str, Any]) -> dict[str, str]:
    meta = mapping(obj.get("metadata"))
    kept = {"name": clip(text(meta.get("name")), MAX_NAME)}
    if isinstance(meta.get("namespace"), str):
        kept["namespace"] = clip(meta["namespace"], MAX_NAME)
    return kept


def _text(value: object) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str)[:_MAX_TEXT]
    except (TypeError, ValueError):
        return ""


def slim_policy(obj: object) -> dict[str, Any]:
    """Keep a ValidatingAdmissionPolicy's name and its validations' expressions."""
    source = obj if isinstance(obj, dict) else {}
    validations = dicts(mapping(source.get("spec")).get("validations"))[:_MAX_ITEMS]
    return {"metadata": _meta(source), "spec": {"validations": [
        {"expression": clip(text(v.get("expression")), _MAX_TEXT)} for v in validations]}}


def slim_binding(obj: object) -> dict[str, Any]:
    """Keep a ValidatingAdmissionPolicyBinding's policy name and validation actions."""
    source = obj if isinstance(obj, dict) else {}
    spec = mapping(source.get("spec"))
    return {"metadata": _meta(source), "spec": {
        "policyName": clip(text(spec.get("policyName")), MAX_NAME),
        "validationActions": [clip(a, 32) for a in strings(spec.get("validationActions"))][:8]}}


def slim_kyverno(obj: object) -> dict[str, Any]:
    """Keep a Kyverno policy's name, failure actions and each validate rule's text."""
    source = obj if isinstance(obj, dict) else {}
    spec = mapping(source.get("spec"))
    rules = []
    for rule in dicts(spec.get("rules"))[:_MAX_ITEMS]:
        validate = rule.get("validate")
        if not isinstance(validate, dict):
            continue
        rules.append({"name": clip(text(rule.get("name")), MAX_NAME), "validate": {
            "failureAction": clip(text(validate.get("failureAction")), 32),
            "text": _text(validate)}})
    return {"kind": clip(text(source.get("kind")), 64), "metadata": _meta(source), "spec": {
        "validationFailureAction": clip(text(spec.get("validationFailureAction")), 32),
        "rules": rules}}


def slim_constraint(obj: object) -> dict[str, Any]:
    """Keep a Gatekeeper constraint's kind, name, enforcement action and image parameters."""
    source = obj if isinstance(obj, dict) else {}
    spec = mapping(source.get("spec"))
    params = mapping(spec.get("parameters"))
    kept: dict[str, Any] = {"enforcementAction": clip(text(spec.get("enforcementAction")), 32)}
    tags = strings(params.get("tags"))
    if tags:
        kept["parameters"] = {"tags": [clip(t, 128) for t in tags[:_MAX_ITEMS]]}
    return {"kind": clip(text(source.get("kind")), 64), "metadata": _meta(source), "spec": kept}


def _from_text(body: str) -> set[str]:
    """Guess the guardrails a policy's text enforces from the fields it names."""
    lowered = body.lower()
    found = set()
    if '"podsecurity"' in lowered:
        # Kyverno's podSecurity rule applies a Pod Security Standard (its level and version
        # are not image rules): both levels above privileged forbid privileged containers.
        levels = ("baseline", "restricted")
        return {PRIVILEGED} if any(f'"level": "{lv}"' in lowered for lv in levels) else set()
    if "privileged" in lowered:
        found.add(PRIVILEGED)
    if "latest" in lowered:
        found.add(LATEST_TAG)
    elif "image" in lowered and any(w in lowered for w in ("startswith", "matches(", "registr")):
        found.add(REGISTRIES)
    return found


def _vap(policies: Iterable[dict[str, Any]], bindings: Iterable[dict[str, Any]]) -> dict[str, str]:
    denying = {text(mapping(b.get("spec")).get("policyName")) for b in bindings
               if "Deny" in strings(mapping(b.get("spec")).get("validationActions"))}
    found: dict[str, str] = {}
    for policy in policies:
        name = text(mapping(policy.get("metadata")).get("name"))
        if name not in denying:
            continue
        body = " ".join(text(v.get("expression"))
                        for v in dicts(mapping(policy.get("spec")).get("validations")))
        for guardrail in _from_text(body):
            found.setdefault(guardrail, f"ValidatingAdmissionPolicy/{clip(name)}")
    return found


def _kyverno(policies: Iterable[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for policy in policies:
        if policy.get("kind") not in ("ClusterPolicy", "", None):
            continue
        name = text(mapping(policy.get("metadata")).get("name"))
        spec = mapping(policy.get("spec"))
        default = text(spec.get("validationFailureAction"))
        for rule in dicts(spec.get("rules")):
            validate = mapping(rule.get("validate"))
            action = text(validate.get("failureAction")) or default
            if action.lower() != "enforce":
                continue
            rule_name = text(rule.get("name"))
            guardrails = _from_text(text(validate.get("text")) + " " + rule_name)
            for guardrail, names in _KYVERNO_NAMES.items():
                if name in names or rule_name in names:
                    guardrails.add(guardrail)
            for guardrail in guardrails:
                found.setdefault(guardrail, f"ClusterPolicy/{clip(name)}")
    return found


def _gatekeeper(constraints: Iterable[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for constraint in constraints:
        spec = mapping(constraint.get("spec"))
        if text(spec.get("enforcementAction")).lower() not in ("", "deny"):
            continue
        kind = text(constraint.get("kind"))
        name = text(mapping(constraint.get("metadata")).get("name"))
        for guardrail, kinds in _GATEKEEPER_KINDS.items():
            if kind.lower() not in kinds:
                continue
            if kind.lower() == "k8sdisallowedtags" and "latest" not in strings(
                    mapping(spec.get("parameters")).get("tags")):
                continue
            found.setdefault(guardrail, f"{clip(kind, 64)}/{clip(name)}")
    return found


def enforced(objects: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Return each guardrail some read policy enforces, with the first such policy."""
    found: dict[str, str] = {}
    for part in (
        _vap(objects.get("validatingadmissionpolicies", []),
             objects.get("validatingadmissionpolicybindings", [])),
        _kyverno(objects.get("kyvernoclusterpolicies", [])),
        _gatekeeper(objects.get("gatekeeperconstraints", [])),
    ):
        for guardrail, where in part.items():
            found.setdefault(guardrail, where)
    return found
