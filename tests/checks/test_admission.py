"""Which guardrails admission enforces, per engine and enforcement mode."""

from __future__ import annotations

from typing import Any

import pytest

from posture.checks import Policy, evaluate
from posture.checks.admission import (
    LATEST_TAG,
    PRIVILEGED,
    REGISTRIES,
    slim_binding,
    slim_constraint,
    slim_kyverno,
    slim_policy,
)
from posture.checks.inventory import Coverage, Inventory
from tests.checks.builders import TODAY, clean_inventory, constraint, namespace

CHECK = "admission.no-guardrails"
_PRIVILEGED_CEL = (
    "object.spec.containers.all(c, !has(c.securityContext) || "
    "!has(c.securityContext.privileged) || !c.securityContext.privileged)"
)


def _missing(inv: Inventory) -> list[str]:
    result = evaluate(inv, Policy(), TODAY)
    assert CHECK in result.evaluated, result.not_evaluated.get(CHECK)
    return sorted(f.container for f in result.findings if f.check == CHECK)


def _bare(**resources: Any) -> Inventory:
    """The clean cluster without any guardrail: no constraints, no Pod Security enforcement."""
    fields: dict[str, Any] = {"gatekeeperconstraints": [], "namespaces": [namespace(level=None)]}
    fields.update(resources)
    return clean_inventory(**fields)


def _vap(actions: list[str] | None, expression: str = _PRIVILEGED_CEL) -> Inventory:
    policy = slim_policy({"metadata": {"name": "no-priv"},
                          "spec": {"validations": [{"expression": expression}]}})
    bindings = [] if actions is None else [slim_binding({
        "metadata": {"name": "no-priv"},
        "spec": {"policyName": "no-priv", "validationActions": actions}})]
    return _bare(validatingadmissionpolicies=[policy], validatingadmissionpolicybindings=bindings)


def _kyverno(name: str, action: str | None, rule_action: str | None = None,
             kind: str = "ClusterPolicy", pattern: object = None) -> Inventory:
    validate: dict[str, Any] = {"pattern": pattern or {"spec": {"containers": [{"image": "x"}]}}}
    if rule_action is not None:
        validate["failureAction"] = rule_action
    spec: dict[str, Any] = {"rules": [{"name": "check", "validate": validate}]}
    if action is not None:
        spec["validationFailureAction"] = action
    policy = slim_kyverno({"kind": kind, "metadata": {"name": name, "namespace": "shop"},
                           "spec": spec})
    key = "kyvernoclusterpolicies" if kind == "ClusterPolicy" else "kyvernopolicies"
    return _bare(**{key: [policy]})


def test_a_cluster_without_guardrails_misses_all_three() -> None:
    assert _missing(_bare()) == sorted([PRIVILEGED, REGISTRIES, LATEST_TAG])


@pytest.mark.parametrize(("actions", "counts"), [
    (["Deny"], True), (["Warn", "Deny"], True), (["Warn", "Audit"], False), (None, False),
])
def test_a_validating_admission_policy_counts_only_with_a_denying_binding(
    actions: list[str] | None, counts: bool
) -> None:
    assert (PRIVILEGED not in _missing(_vap(actions))) is counts


def test_cel_on_images_is_read_as_a_registry_or_a_tag_rule() -> None:
    registry = "object.spec.containers.all(c, c.image.startsWith('registry.example.com/'))"
    tag = "object.spec.containers.all(c, !c.image.endsWith(':latest'))"
    assert _missing(_vap(["Deny"], registry)) == sorted([PRIVILEGED, LATEST_TAG])
    assert _missing(_vap(["Deny"], tag)) == sorted([PRIVILEGED, REGISTRIES])


@pytest.mark.parametrize(("action", "rule_action", "counts"), [
    ("Enforce", None, True),
    ("enforce", None, True),  # Kyverno accepts either case
    ("Audit", None, False),
    (None, None, False),  # Kyverno's default is Audit
    ("Audit", "Enforce", True),  # the rule's failureAction (Kyverno 1.13+) wins
    ("Enforce", "Audit", False),
])
def test_kyverno_counts_only_in_enforce_mode(
    action: str | None, rule_action: str | None, counts: bool
) -> None:
    inv = _kyverno("disallow-latest-tag", action, rule_action)
    assert (LATEST_TAG not in _missing(inv)) is counts


def test_kyverno_rules_are_recognised_by_what_they_validate() -> None:
    pattern = {"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}}
    assert PRIVILEGED not in _missing(_kyverno("house-rules", "Enforce", pattern=pattern))


@pytest.mark.parametrize(("level", "counts"), [
    ("baseline", True), ("restricted", True), ("privileged", False),
])
def test_kyverno_pod_security_rules_refuse_privileged_above_the_privileged_level(
    level: str, counts: bool
) -> None:
    policy = slim_kyverno({"kind": "ClusterPolicy", "metadata": {"name": "psa"}, "spec": {
        "validationFailureAction": "Enforce",
        "rules": [{"name": "baseline", "validate": {"podSecurity": {
            "level": level, "version": "latest"}}}]}})
    inv = _bare(kyvernoclusterpolicies=[policy])
    assert (PRIVILEGED not in _missing(inv)) is counts


def test_a_namespaced_kyverno_policy_guards_no_cluster() -> None:
    inv = _kyverno("disallow-latest-tag", "Enforce", kind="Policy")
    assert LATEST_TAG in _missing(inv)
    result = evaluate(inv, Policy(), TODAY)
    (finding, *_) = [f for f in result.findings if f.check == CHECK]
    assert finding.evidence["namespaced_kyverno_policies"] == 1


@pytest.mark.parametrize(("action", "counts"), [
    (None, True), ("deny", True), ("dryrun", False), ("warn", False),
])
def test_gatekeeper_counts_when_it_denies(action: str | None, counts: bool) -> None:
    inv = _bare(gatekeeperconstraints=[slim_constraint(
        constraint("K8sPSPPrivilegedContainer", action))])
    assert (PRIVILEGED not in _missing(inv)) is counts


def test_disallowed_tags_must_include_latest() -> None:
    other = _bare(gatekeeperconstraints=[constraint("K8sDisallowedTags", tags=["dev"])])
    latest = _bare(gatekeeperconstraints=[constraint("K8sDisallowedTags", tags=["latest"])])
    assert LATEST_TAG in _missing(other)
    assert LATEST_TAG not in _missing(latest)


def test_pod_security_admission_everywhere_refuses_privileged() -> None:
    assert PRIVILEGED not in _missing(_bare(namespaces=[namespace(level="baseline")]))
    assert PRIVILEGED in _missing(_bare(namespaces=[namespace(level="privileged")]))


def test_an_unreadable_engine_makes_a_missing_guardrail_unknown() -> None:
    inv = _bare()
    inv["coverage"]["kyvernoclusterpolicies"] = Coverage(
        state="forbidden", message="clusterpolicies.kyverno.io is forbidden", count=0)
    result = evaluate(inv, Policy(), TODAY)
    assert "Kyverno" in result.not_evaluated[CHECK]


def test_an_unreadable_engine_does_not_matter_when_every_guardrail_is_found() -> None:
    inv = clean_inventory()
    inv["coverage"]["validatingadmissionpolicies"] = Coverage(
        state="forbidden", message="forbidden", count=0)
    assert _missing(inv) == []


def test_engines_not_installed_are_no_error() -> None:
    inv = _bare()
    for resource in ("kyvernoclusterpolicies", "kyvernopolicies", "gatekeeperconstraints"):
        inv["coverage"][resource] = Coverage(state="absent", message="not installed", count=0)
    assert _missing(inv) == sorted([PRIVILEGED, REGISTRIES, LATEST_TAG])


def test_slim_objects_keep_only_what_recognition_reads() -> None:
    big = {"kind": "ClusterPolicy", "metadata": {"name": "p", "annotations": {"a": "b"}},
           "spec": {"validationFailureAction": "Enforce", "background": True,
                    "rules": [{"name": f"r{i}", "match": {"any": []},
                               "validate": {"message": "x" * 10_000}} for i in range(500)]}}
    slim = slim_kyverno(big)
    assert slim["metadata"] == {"name": "p"}
    assert len(slim["spec"]["rules"]) == 50
    assert all(len(r["validate"]["text"]) <= 4000 for r in slim["spec"]["rules"])
    assert slim_constraint("junk")["spec"] == {"enforcementAction": ""}
    assert slim_binding({"spec": {"validationActions": "Deny"}})["spec"]["validationActions"] == []
