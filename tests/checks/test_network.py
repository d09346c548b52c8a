"""NetworkPolicy isolation read the way the API server defaults and enforces policyTypes."""

from __future__ import annotations

from typing import Any

import pytest

from posture.checks import Policy, evaluate
from posture.checks.rules.network import policy_types
from tests.checks.builders import TODAY, clean_inventory, workload

POLICY = Policy(approved_registries=("registry.example.com",))
_ALL = {"podSelector": {}}


def _findings(check: str, *specs: dict[str, Any]) -> list[Any]:
    policies = [
        {"kind": "NetworkPolicy", "metadata": {"name": f"np-{i}", "namespace": "shop"}, "spec": s}
        for i, s in enumerate(specs)
    ]
    inv = clean_inventory(networkpolicies=policies, workloads=[workload("web"), workload("db")])
    return [f for f in evaluate(inv, POLICY, TODAY).findings if f.check == check]


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({}, ("Ingress",)),
        ({"policyTypes": []}, ("Ingress",)),
        ({"egress": [{}]}, ("Ingress", "Egress")),
        ({"egress": []}, ("Ingress",)),
        ({"policyTypes": ["Egress"], "ingress": [{}]}, ("Egress",)),
        ({"policyTypes": ["Ingress", "Egress"]}, ("Ingress", "Egress")),
        ({"policyTypes": "Ingress"}, ()),
    ],
)
def test_policy_types_follow_upstream_defaulting(spec: dict[str, Any], types: tuple[str, ...]) -> None:
    assert policy_types(spec) == types


def test_egress_only_policy_does_not_isolate_ingress() -> None:
    (hit,) = _findings(
        "network.namespace-not-isolated", {**_ALL, "policyTypes": ["Egress"]}
    )
    assert hit.evidence["unselected_count"] == 2
    assert hit.evidence["egress_only"] == ["Deployment/db", "Deployment/web"]
    assert "selected only by Egress policies" in hit.message


def test_policy_with_egress_rules_and_no_policy_types_still_isolates_ingress() -> None:
    assert _findings("network.namespace-not-isolated", {**_ALL, "egress": [{}]}) == []


def test_empty_policy_types_default_to_ingress() -> None:
    assert _findings("network.no-default-deny-ingress", {**_ALL, "policyTypes": []}) == []
    assert _findings("network.namespace-not-isolated", {**_ALL, "policyTypes": []}) == []


def test_egress_only_default_deny_is_not_an_ingress_default_deny() -> None:
    (hit,) = _findings("network.no-default-deny-ingress", {**_ALL, "policyTypes": ["Egress"]})
    assert hit.name == "shop"
