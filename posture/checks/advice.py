"""Fix advice that fits the cluster: its provider's commands, with its next minor as the target.

A check whose fix depends on where the cluster runs names an ``Action``. Its catalog snippet
(``generic_snippet``: docs/checks.md, SARIF) shows every provider's commands with placeholder
versions; ``advise`` shows only the cluster's provider's (upstream kubeadm's when none is
detected) with the versions filled in from ``ClusterFacts``. Callers build the facts once per
cluster with ``facts_for``, from the version string and provider the cluster reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from posture.lifecycle.kubernetes import coerce_provider, kubernetes_support
from posture.lifecycle.vocabulary import Provider, SupportStatus

if TYPE_CHECKING:
    from posture.checks.base import Check

UPSTREAM_LABEL = "Upstream Kubernetes (kubeadm)"
# Where an upgrade should come to rest: paid extended support is a reprieve, not a target.
_STANDARD = frozenset({SupportStatus.SUPPORTED, SupportStatus.MAINTENANCE})
# The generic form's placeholders, in the style of the catalog's other snippets (CLUSTER, NODE).
_GENERIC = {
    "minor": "1.X",
    "version": "1.X.Z",
    "patch": "1.X.Z",
    "next": "1.Y",
    "next_patch": "1.Y.Z",
}


class Action(StrEnum):
    """What a provider-dependent fix asks the cluster's owner to do."""

    UPGRADE_MINOR = "upgrade-minor"
    UPGRADE_PATCH = "upgrade-patch"
    UPGRADE_NODES = "upgrade-nodes"
    REFRESH_NODES = "refresh-nodes"
    MOVE_NODE_OS = "move-node-os"


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What fitted advice needs to know about one cluster.

    ``minor`` and ``version`` are the control plane's (``1.27``, ``1.27.16``); ``latest_patch``
    and ``next_patch`` are upstream's newest patches of that minor and of the next one;
    ``next_minor`` is None when the provider offers nothing newer yet; ``supported_from`` is the
    oldest newer minor in the provider's standard support, when the next one is not.
    """

    provider: Provider | None
    minor: str | None = None
    version: str | None = None
    latest_patch: str | None = None
    next_minor: str | None = None
    next_patch: str | None = None
    supported_from: str | None = None


@dataclass(frozen=True, slots=True)
class Advice:
    """How to fix one check: the fix (Markdown), the cluster's note (Markdown) and the snippet.

    ``where`` names whose commands the snippet holds ("" for the generic form, which holds
    every provider's).
    """

    fix: str
    snippet: str
    note: str = ""
    where: str = ""


def facts_for(
    git_version: str | None, provider: Provider | str | None, today: date
) -> ClusterFacts:
    """Return the facts of a cluster that reports ``git_version`` and runs on ``provider``."""
    chosen = coerce_provider(provider) if provider else None
    support = kubernetes_support(git_version, today, chosen)
    parsed = support.version
    if parsed is None:
        return ClusterFacts(provider=chosen or support.provider)
    where = support.provider
    minor = parsed.cycle
    version = None if parsed.patch is None else f"{minor}.{parsed.patch}"
    next_minor = f"{parsed.major}.{parsed.minor + 1}"
    newest = _minor_number(support.newest_minor)
    if newest is not None and newest <= parsed.minor:
        next_minor = ""
    next_patch = _plain_patch(kubernetes_support(next_minor, today).latest_patch or None)
    supported_from = None
    if next_minor and newest is not None:
        for candidate in range(parsed.minor + 1, newest + 1):
            cycle = f"{parsed.major}.{candidate}"
            if kubernetes_support(cycle, today, where).status in _STANDARD:
                supported_from = None if cycle == next_minor else cycle
                break
    return ClusterFacts(
        provider=where,
        minor=minor,
        version=version,
        latest_patch=_plain_patch(support.latest_patch),
        next_minor=next_minor or None,
        next_patch=next_patch if next_minor else None,
        supported_from=supported_from,
    )


def _minor_number(cycle: str | None) -> int | None:
    if not cycle or "." not in cycle:
        return None
    try:
        return int(cycle.split(".", 1)[1])
    except ValueError:
        return None


def _plain_patch(value: str | None) -> str | None:
    # Upstream's newest patch, as the lifecycle table spells it ("1.27.16").
    if not value or not all(part.isdigit() for part in value.split(".")):
        return None
    return value


def advise(check: Check, facts: ClusterFacts | None) -> Advice:
    """Return the advice for ``check`` on a cluster with ``facts`` (the generic form for None)."""
    if check.action is None or facts is None:
        return Advice(fix=check.fix, snippet=check.snippet)
    values = _values(facts)
    snippet = _COMMANDS[check.action][facts.provider].format_map(values)
    note = _note(check.action, facts)
    return Advice(fix=check.fix, snippet=snippet, note=note, where=where_label(facts.provider))


def generic_snippet(action: Action) -> str:
    """Return every provider's commands for ``action``, with placeholder versions."""
    blocks = [
        f"# {where_label(provider)}\n{template.format_map(_GENERIC)}"
        for provider, template in _COMMANDS[action].items()
    ]
    return "\n\n".join(blocks)


def where_label(provider: Provider | None) -> str:
    """Return whose commands these are: the provider's label, or upstream's."""
    return provider.label if provider else UPSTREAM_LABEL


def _in_sentence(provider: Provider | None) -> str:
    return provider.label if provider else "upstream Kubernetes"


def _values(facts: ClusterFacts) -> dict[str, str]:
    minor = facts.minor or _GENERIC["minor"]
    return {
        "minor": minor,
        "version": facts.version or _GENERIC["version"],
        "patch": facts.latest_patch or facts.version or _GENERIC["patch"],
        "next": facts.next_minor or _GENERIC["next"],
        "next_patch": facts.next_patch or f"{facts.next_minor or _GENERIC['next']}.Z",
    }


def _note(action: Action, facts: ClusterFacts) -> str:
    where = _in_sentence(facts.provider)
    if facts.minor is None:
        return "The cluster's Kubernetes version is unknown: put the versions in by hand."
    if action is Action.UPGRADE_MINOR:
        if facts.next_minor is None:
            return f"{where} offers no minor newer than {facts.minor} yet."
        note = (
            f"The control plane runs {facts.minor}: upgrade it to **{facts.next_minor}**, the "
            "next minor (minors cannot be skipped), then the nodes."
        )
        if facts.supported_from:
            note += (
                f" {facts.next_minor} is out of standard support on {where} too: keep going one "
                f"minor at a time until {facts.supported_from}, the oldest minor in its standard "
                "support."
            )
        return note
    return _NOTES[action][facts.provider].format_map(_values(facts))


# Each provider's commands per action (None: upstream, a kubeadm cluster). Placeholders:
# {minor} and {version} are the control plane's, {patch} upstream's newest patch of {minor},
# {next} the next minor and {next_patch} upstream's newest patch of it.
_COMMANDS: Mapping[Action, Mapping[Provider | None, str]] = {
    Action.UPGRADE_MINOR: {
        Provider.EKS: "aws eks update-cluster-version --name CLUSTER --kubernetes-version {next}\n"
        "# then each managed node group\n"
        "aws eks update-nodegroup-version --cluster-name CLUSTER --nodegroup-name NODEGROUP "
        "--kubernetes-version {next}",
        Provider.GKE: "gcloud container clusters upgrade CLUSTER --master "
        "--cluster-version {next}\n"
        "# then each node pool\n"
        "gcloud container clusters upgrade CLUSTER --node-pool POOL --cluster-version {next}",
        Provider.AKS: "az aks get-upgrades -g GROUP -n CLUSTER -o table\n"
        "# upgrades the control plane, then every node pool\n"
        "az aks upgrade -g GROUP -n CLUSTER --kubernetes-version {next}",
        None: "# on the first control-plane node, with the kubeadm {next_patch} package installed\n"
        "kubeadm upgrade plan\n"
        "sudo kubeadm upgrade apply v{next_patch}\n"
        "# then on every other node, drained one at a time, with kubeadm and kubelet "
        "{next_patch}\n"
        "sudo kubeadm upgrade node && sudo systemctl restart kubelet",
    },
    Action.UPGRADE_PATCH: {
        Provider.EKS: "# EKS patches the control plane itself; see its platform version\n"
        "aws eks describe-cluster --name CLUSTER --query 'cluster.[version,platformVersion]'\n"
        "# nodes: the newest AMI of the node group's version\n"
        "aws eks update-nodegroup-version --cluster-name CLUSTER --nodegroup-name NODEGROUP",
        Provider.GKE: "# a minor alone picks GKE's newest patch of it\n"
        "gcloud container clusters upgrade CLUSTER --master --cluster-version {minor}\n"
        "gcloud container clusters upgrade CLUSTER --node-pool POOL --cluster-version {minor}",
        Provider.AKS: "az aks get-upgrades -g GROUP -n CLUSTER -o table\n"
        "# the full patch version: the newest {minor} patch listed above\n"
        "az aks upgrade -g GROUP -n CLUSTER --kubernetes-version {patch}",
        None: "# on the first control-plane node, with the kubeadm {patch} package installed\n"
        "kubeadm upgrade plan\n"
        "sudo kubeadm upgrade apply v{patch}",
    },
    Action.UPGRADE_NODES: {
        Provider.EKS: "aws eks update-nodegroup-version --cluster-name CLUSTER --nodegroup-name "
        "NODEGROUP --kubernetes-version {minor}",
        Provider.GKE: "gcloud container clusters upgrade CLUSTER --node-pool POOL "
        "--cluster-version {minor}",
        Provider.AKS: "az aks nodepool upgrade -g GROUP --cluster-name CLUSTER -n POOL "
        "--kubernetes-version {minor}",
        None: "kubectl drain NODE --ignore-daemonsets --delete-emptydir-data\n"
        "# on the node, with the kubeadm and kubelet {version} packages installed\n"
        "sudo kubeadm upgrade node && sudo systemctl restart kubelet\n"
        "kubectl uncordon NODE",
    },
    Action.REFRESH_NODES: {
        Provider.EKS: "# replaces each node with the newest AMI of the node group's version\n"
        "aws eks update-nodegroup-version --cluster-name CLUSTER --nodegroup-name NODEGROUP",
        Provider.GKE: "# recreates each node at the control plane's version, from a current image\n"
        "gcloud container clusters upgrade CLUSTER --node-pool POOL",
        Provider.AKS: "# replaces each node with the newest node image\n"
        "az aks nodepool upgrade -g GROUP --cluster-name CLUSTER -n POOL --node-image-only",
        None: "kubectl cordon NODE\n"
        "kubectl drain NODE --ignore-daemonsets --delete-emptydir-data\n"
        "# then rebuild the machine from a current image (or let its node group replace it)\n"
        "kubectl uncordon NODE",
    },
    Action.MOVE_NODE_OS: {
        Provider.EKS: "# a node group cannot change its AMI type: add one with a current type\n"
        "aws eks create-nodegroup --cluster-name CLUSTER --nodegroup-name NODEGROUP-al2023 "
        "--ami-type AL2023_x86_64_STANDARD --node-role NODE_ROLE_ARN --subnets SUBNET_IDS\n"
        "kubectl drain -l eks.amazonaws.com/nodegroup=NODEGROUP --ignore-daemonsets "
        "--delete-emptydir-data\n"
        "aws eks delete-nodegroup --cluster-name CLUSTER --nodegroup-name NODEGROUP",
        Provider.GKE: "# recreates the pool's nodes with another node image type\n"
        "gcloud container clusters upgrade CLUSTER --node-pool POOL --image-type COS_CONTAINERD",
        Provider.AKS: "az aks nodepool add -g GROUP --cluster-name CLUSTER -n NEWPOOL "
        "--os-sku AzureLinux --kubernetes-version {minor}\n"
        "kubectl drain -l kubernetes.azure.com/agentpool=POOL --ignore-daemonsets "
        "--delete-emptydir-data\n"
        "az aks nodepool delete -g GROUP --cluster-name CLUSTER -n POOL",
        None: "kubectl cordon NODE\n"
        "kubectl drain NODE --ignore-daemonsets --delete-emptydir-data\n"
        "# then reinstall the machine with a supported OS release and rejoin it\n"
        "kubeadm token create --print-join-command",
    },
}

# The note under the fix, per action and provider (UPGRADE_MINOR's is built in ``_note``).
_NOTES: Mapping[Action, Mapping[Provider | None, str]] = {
    Action.UPGRADE_PATCH: {
        Provider.EKS: "Amazon EKS applies the newest patch of {minor} to the control plane on "
        "its own (its platform versions); update the node groups to the newest AMI of {minor}.",
        Provider.GKE: "Google GKE picks its newest patch of {minor} when given the minor alone; "
        "upstream's newest is {patch}.",
        Provider.AKS: "Azure AKS needs the full patch version to move within {minor}; "
        "upstream's newest is {patch}, AKS may offer an older one first.",
        None: "The newest patch of {minor} is {patch}: upgrade kubeadm to it first.",
    },
    Action.UPGRADE_NODES: {
        Provider.EKS: "The control plane runs {minor}: update each node group to it.",
        Provider.GKE: "The control plane runs {minor}: upgrade each node pool to it.",
        Provider.AKS: "The control plane runs {minor}: upgrade each node pool to it.",
        None: "The control plane runs {version}: bring each node's kubelet to it, one node at a "
        "time.",
    },
    Action.REFRESH_NODES: {
        Provider.EKS: "On Amazon EKS, updating a managed node group replaces its nodes with the "
        "newest AMI, draining each one first.",
        Provider.GKE: "On Google GKE, upgrading a node pool recreates its nodes from the current "
        "node image, draining each one first.",
        Provider.AKS: "On Azure AKS, a node-image upgrade replaces each node with the newest node "
        "image, draining it first.",
        None: "Without a managed node pool, drain each node and rebuild it from a current image, "
        "one at a time.",
    },
    Action.MOVE_NODE_OS: {
        Provider.EKS: "On Amazon EKS, move the workloads to a node group with a current AMI type "
        "(Amazon Linux 2023 or Bottlerocket), then remove the old one.",
        Provider.GKE: "On Google GKE, the node OS release follows the pool's version; to leave "
        "an image type, switch the pool to another (Container-Optimized OS or Ubuntu).",
        Provider.AKS: "On Azure AKS, the node OS release follows the pool's version and OS SKU; "
        "to leave an OS SKU, add a pool with a current one and remove the old pool.",
        None: "Rebuild each node with a supported OS release, one at a time.",
    },
}
