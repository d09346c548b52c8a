"""workload.default-service-account-token beside workload.service-account-token-automounted."""

from __future__ import annotations

from typing import Any

import pytest

from posture.checks import Policy, evaluate
from tests.checks.builders import TODAY, clean_inventory, pod_spec, workload

DEFAULT = "workload.default-service-account-token"
TOKEN = "workload.service-account-token-automounted"


def _account(name: str, automount: bool | None) -> dict[str, Any]:
    sa: dict[str, Any] = {"kind": "ServiceAccount", "metadata": {"name": name, "namespace": "shop"}}
    if automount is not None:
        sa["automountServiceAccountToken"] = automount
    return sa


def _findings(pod: dict[str, Any], account: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = pod_spec(**pod)
    if "automountServiceAccountToken" not in pod:
        del spec["automountServiceAccountToken"]
    inv = clean_inventory(workloads=[workload(spec=spec)],
                          serviceaccounts=[account] if account else [])
    result = evaluate(inv, Policy(), TODAY)
    return {f.check: f for f in result.findings if f.check in (DEFAULT, TOKEN)}


@pytest.mark.parametrize(
    ("pod", "account", "decided"),
    [
        ({}, None, "default"),
        ({}, _account("default", None), "default"),
        ({"serviceAccountName": "default"}, _account("default", True), "serviceaccount"),
        ({"automountServiceAccountToken": True}, _account("default", False), "pod"),
        # The deprecated alias names the default account too.
        ({"serviceAccount": "default"}, None, "default"),
        # An empty serviceAccountName is unset: the alias, then the default, decide.
        ({"serviceAccountName": "", "serviceAccount": ""}, None, "default"),
    ],
)
def test_the_default_account_with_a_token_is_reported_with_who_decided(
    pod: dict[str, Any], account: dict[str, Any] | None, decided: str
) -> None:
    found = _findings(pod, account)
    assert found[DEFAULT].evidence == {"serviceAccount": "default", "automountFrom": decided}
    assert found[DEFAULT].container == ""
    # The token itself is the other check's finding, worded as such.
    assert found[TOKEN].message.startswith("Pods get a token for service account default")
    assert found[DEFAULT].message.startswith("Runs as the default service account of namespace")


@pytest.mark.parametrize(
    ("pod", "account"),
    [
        ({"automountServiceAccountToken": False}, None),
        ({}, _account("default", False)),
        ({"automountServiceAccountToken": False}, _account("default", True)),
    ],
)
def test_no_token_means_nothing_is_shared_worth_reporting(
    pod: dict[str, Any], account: dict[str, Any] | None
) -> None:
    assert _findings(pod, account) == {}


def test_a_workload_of_its_own_account_is_only_the_token_checks_business() -> None:
    found = _findings({"serviceAccountName": "web"}, _account("web", None))
    assert set(found) == {TOKEN}
    # The alias is read only when serviceAccountName is unset.
    found = _findings({"serviceAccountName": "web", "serviceAccount": "default"})
    assert set(found) == {TOKEN}
