"""Fix advice fitted to the cluster: only its provider's commands, the next minor as target."""

from __future__ import annotations

import re
from datetime import date

import pytest

from posture.checks import CATALOG
from posture.checks.advice import (
    UPSTREAM_LABEL,
    Action,
    ClusterFacts,
    advise,
    facts_for,
    generic_snippet,
)
from posture.lifecycle import Provider

# A day the shipped lifecycle data covers: 1.27 to 1.31 are past end of life everywhere.
DAY = date(2026, 12, 1)
CLIS = {"aws ": Provider.EKS, "gcloud ": Provider.GKE, "az ": Provider.AKS, "kubeadm ": None}
PROVIDER_DEPENDENT = {
    "version.kubernetes-eol": Action.UPGRADE_MINOR,
    "version.kubernetes-eol-soon": Action.UPGRADE_MINOR,
    "version.kubernetes-patch-behind": Action.UPGRADE_PATCH,
    "version.kubelet-skew": Action.UPGRADE_NODES,
    "node.os-eol": Action.MOVE_NODE_OS,
    "node.os-eol-soon": Action.MOVE_NODE_OS,
    "node.runtime-eol": Action.REFRESH_NODES,
    "node.not-rotated": Action.REFRESH_NODES,
    "node.kernel-old": Action.REFRESH_NODES,
}


def clis(snippet: str) -> set[Provider | None]:
    """Return whose command-line tools a snippet runs (None: kubeadm's)."""
    lines = [line for line in snippet.splitlines() if not line.startswith("#")]
    return {who for cli, who in CLIS.items() if any(cli in line for line in lines)}


@pytest.mark.parametrize(
    ("version", "provider", "who", "command"),
    [
        (
            "v1.27.16-eks-2f46c53",
            "eks",
            Provider.EKS,
            "aws eks update-cluster-version --name CLUSTER --kubernetes-version 1.28",
        ),
        (
            "v1.29.8-gke.1031000",
            "gke",
            Provider.GKE,
            "gcloud container clusters upgrade CLUSTER --master --cluster-version 1.30",
        ),
        ("v1.30.4", "aks", Provider.AKS, "az aks upgrade -g GROUP -n CLUSTER --kubernetes-version 1.31"),
        ("v1.30.4", None, None, "sudo kubeadm upgrade apply v1.31.14"),
    ],
)
def test_an_eol_cluster_gets_only_its_providers_upgrade_to_the_next_minor(
    version: str, provider: str | None, who: Provider | None, command: str
) -> None:
    facts = facts_for(version, provider, DAY)
    advice = advise(CATALOG["version.kubernetes-eol"], facts)
    assert command in advice.snippet.splitlines()
    assert clis(advice.snippet) == {who}
    assert advice.where == (who.label if who else UPSTREAM_LABEL)
    assert not re.search(r"1\.[XY]\b", advice.snippet), "no placeholder version is left"
    current, nxt = facts.minor, facts.next_minor
    assert nxt == f"1.{int(version.split('.')[1]) + 1}"
    assert f"runs {current}" in advice.note and f"**{nxt}**" in advice.note
    # Every version in the commands is the next minor (or its newest patch): never a jump.
    for found in re.findall(r"\b1\.\d+(?:\.\d+)?\b", advice.snippet):
        assert found.startswith(nxt), (found, advice.snippet)


def test_the_provider_comes_from_the_version_suffix_when_not_given() -> None:
    facts = facts_for("v1.27.16-eks-2f46c53", None, DAY)
    assert facts.provider is Provider.EKS
    assert clis(advise(CATALOG["version.kubernetes-eol"], facts).snippet) == {Provider.EKS}


def test_the_note_names_the_oldest_minor_in_standard_support_when_the_next_is_not() -> None:
    facts = facts_for("v1.27.16-eks-2f46c53", "eks", DAY)
    assert (facts.minor, facts.next_minor) == ("1.27", "1.28")
    assert facts.supported_from is not None
    assert int(facts.supported_from.split(".")[1]) > 28
    note = advise(CATALOG["version.kubernetes-eol"], facts).note
    assert f"until {facts.supported_from}" in note
    # A cluster one minor behind a supported release is sent there and no further.
    ahead = facts_for(f"v{facts.supported_from}.0-eks-1", "eks", DAY)
    behind = facts_for(f"v1.{int(facts.supported_from.split('.')[1]) - 1}.3-eks-1", "eks", DAY)
    assert behind.next_minor == facts.supported_from and behind.supported_from is None
    assert ahead.minor == facts.supported_from


def test_no_newer_minor_on_the_provider_leaves_a_placeholder_and_says_so() -> None:
    newest = facts_for("v1.37.1", None, DAY)
    assert newest.next_minor is None
    advice = advise(CATALOG["version.kubernetes-eol-soon"], newest)
    assert "no minor newer than 1.37" in advice.note
    assert "v1.Y.Z" in advice.snippet


def test_an_unreadable_version_keeps_the_providers_commands_with_placeholders() -> None:
    facts = facts_for('v1.33.2-"><img src=x onerror=alert(1)>', "aks", DAY)
    assert facts == ClusterFacts(provider=Provider.AKS)
    advice = advise(CATALOG["version.kubernetes-eol"], facts)
    assert clis(advice.snippet) == {Provider.AKS}
    assert "--kubernetes-version 1.Y" in advice.snippet
    assert "unknown" in advice.note
    assert "<" not in advice.snippet + advice.note


@pytest.mark.parametrize("provider", [Provider.EKS, Provider.GKE, Provider.AKS, None])
def test_patch_advice_targets_the_newest_patch_of_the_current_minor(
    provider: Provider | None,
) -> None:
    facts = facts_for("v1.30.2", provider, DAY)
    assert facts.latest_patch == "1.30.14"
    advice = advise(CATALOG["version.kubernetes-patch-behind"], facts)
    assert clis(advice.snippet) == {provider}
    assert "1.31" not in advice.snippet + advice.note
    if provider is Provider.EKS:
        # EKS patches the control plane itself; the nodes follow the newest AMI.
        assert "update-nodegroup-version" in advice.snippet
        assert "on its own" in advice.note
    elif provider is Provider.GKE:
        assert "--cluster-version 1.30" in advice.snippet
    else:
        assert "1.30.14" in advice.snippet


@pytest.mark.parametrize("provider", [Provider.EKS, Provider.GKE, Provider.AKS, None])
def test_node_advice_uses_the_providers_node_pool_commands(provider: Provider | None) -> None:
    facts = facts_for("v1.31.4", provider, DAY)
    skew = advise(CATALOG["version.kubelet-skew"], facts)
    assert clis(skew.snippet) == {provider}
    assert "1.31" in skew.snippet and "1.32" not in skew.snippet
    for check_id in ("node.os-eol", "node.runtime-eol", "node.not-rotated", "node.kernel-old"):
        advice = advise(CATALOG[check_id], facts)
        assert advice.fix == CATALOG[check_id].fix
        assert advice.note and advice.where
        if provider is not None:
            assert clis(advice.snippet) == {provider}, (check_id, advice.snippet)
        else:
            assert "kubectl drain NODE" in advice.snippet
            assert not clis(advice.snippet) - {None}


def test_every_provider_dependent_check_names_its_action_and_shows_the_generic_form() -> None:
    actions = {c.id: c.action for c in CATALOG.values() if c.action is not None}
    assert actions == PROVIDER_DEPENDENT
    for check_id, action in PROVIDER_DEPENDENT.items():
        generic = CATALOG[check_id].snippet
        assert generic == generic_snippet(action)
        assert advise(CATALOG[check_id], None).snippet == generic
        for label in (Provider.EKS.label, Provider.GKE.label, Provider.AKS.label, UPSTREAM_LABEL):
            assert f"# {label}\n" in generic
    # Any other snippet that runs a provider's CLI would be provider-dependent advice too.
    for check in CATALOG.values():
        if check.action is None:
            assert not clis(check.snippet) - {None}, check.id
            assert "kubeadm " not in check.snippet, check.id


def test_checks_without_an_action_keep_their_catalog_advice() -> None:
    check = CATALOG["workload.privileged"]
    advice = advise(check, facts_for("v1.27.16-eks-2f46c53", "eks", DAY))
    assert (advice.fix, advice.snippet, advice.note, advice.where) == (
        check.fix,
        check.snippet,
        "",
        "",
    )
