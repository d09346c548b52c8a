"""Kubernetes version currency: end of life, patch lag, kubelet skew.

Support windows follow the managed provider when the version string or the node labels show
one (EKS, GKE, AKS), else upstream's.
"""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks.advice import Action, generic_snippet
from posture.checks.base import Check, Hit, NotEvaluated
from posture.checks.context import Context
from posture.checks.safe import clip, dig, string_map, text
from posture.checks.vocabulary import Category, Severity
from posture.lifecycle.kubernetes import (
    KubeSupport,
    detect_provider,
    kubelet_skew_check,
    kubernetes_support,
    parse_kubernetes_version,
)
from posture.lifecycle.vocabulary import SupportStatus

_RELEASES_DOC = "https://kubernetes.io/releases/"
_SKEW_DOC = "https://kubernetes.io/releases/version-skew-policy/"
_CLUSTER = "Cluster"


def _git_version(ctx: Context) -> str:
    return text(dig(ctx.inventory.get("version"), "gitVersion"))


def _support(ctx: Context) -> KubeSupport:
    """Return the cluster version's support, judged once per evaluation."""
    cached = ctx.memo.get("kubernetes_support")
    if isinstance(cached, KubeSupport):
        return cached
    git_version = _git_version(ctx)
    if not git_version:
        raise NotEvaluated("the Kubernetes version is unknown")
    labels = (string_map(dig(node, "metadata", "labels")) for node in ctx.objects("nodes"))
    support = kubernetes_support(git_version, ctx.today, detect_provider(git_version, labels))
    if support.status is SupportStatus.UNKNOWN:
        raise NotEvaluated(clip(support.note or f"no lifecycle data for {git_version}", 200))
    ctx.memo["kubernetes_support"] = support
    return support


def _where(support: KubeSupport) -> str:
    return support.provider.label if support.provider else "upstream Kubernetes"


def _evidence(support: KubeSupport) -> dict[str, object]:
    return {
        "version": clip(support.version.raw if support.version else "", 64),
        "cycle": support.cycle,
        "provider": str(support.provider) if support.provider else None,
        "status": str(support.status),
        "eol": support.eol.isoformat() if support.eol else None,
        "days_left": support.days_left,
    }


def _eol(ctx: Context) -> Iterator[Hit]:
    support = _support(ctx)
    if support.status is SupportStatus.EOL:
        since = f" since {support.eol.isoformat()}" if support.eol else ""
        yield Hit(
            _CLUSTER,
            "",
            "",
            "",
            f"Kubernetes {support.cycle} is past end of life on {_where(support)}{since}: "
            "no security fixes are published for it",
            _evidence(support),
        )


def _eol_soon(ctx: Context) -> Iterator[Hit]:
    support = _support(ctx)
    if support.status is SupportStatus.EOL:
        return
    days = support.days_left
    if support.status is SupportStatus.EXTENDED:
        message = (
            f"Kubernetes {support.cycle} is past standard support on {_where(support)} and "
            f"runs on extended support until {support.eol}"
        )
    elif days is not None and days <= ctx.policy.eol_warning_days:
        message = (
            f"Kubernetes {support.cycle} reaches end of life on {_where(support)} in {days} "
            f"days ({support.eol})"
        )
    else:
        return
    yield Hit(_CLUSTER, "", "", "", message, _evidence(support))


def _patch_behind(ctx: Context) -> Iterator[Hit]:
    support = _support(ctx)
    behind = support.patches_behind
    if behind is None:
        raise NotEvaluated("the patch level or the newest patch of this minor is unknown")
    if behind > ctx.policy.patch_lag_threshold:
        yield Hit(
            _CLUSTER,
            "",
            "",
            "",
            f"Kubernetes {clip(_git_version(ctx), 64)} is {behind} patch releases behind "
            f"{support.latest_patch}",
            {**_evidence(support), "latest_patch": support.latest_patch, "behind": behind},
        )


def _kubelet_skew(ctx: Context) -> Iterator[Hit]:
    apiserver = _git_version(ctx)
    if not apiserver:
        raise NotEvaluated("the Kubernetes version is unknown")
    if parse_kubernetes_version(apiserver) is None:
        # Without the API server's minor no kubelet can be compared with it: that is not a pass.
        raise NotEvaluated("the API server's version is not a Kubernetes version")
    limit = ctx.policy.max_kubelet_minor_skew
    for node in ctx.objects("nodes"):
        name = text(dig(node, "metadata", "name"))
        kubelet = text(dig(node, "status", "nodeInfo", "kubeletVersion"))
        check = kubelet_skew_check(apiserver, kubelet)
        if check is None:
            continue
        allowed = check.max_skew if limit is None else min(limit, check.max_skew)
        if check.skew < 0:
            why = "is newer than the API server, which the skew policy never allows"
        elif check.skew > allowed:
            why = f"trails the API server by {check.skew} minors (at most {allowed} allowed)"
        else:
            continue
        yield Hit(
            "Node",
            "",
            name,
            "",
            f"kubelet {clip(kubelet, 64)} on node {clip(name)} {why}",
            {
                "kubelet": clip(kubelet, 64),
                "apiserver": clip(apiserver, 64),
                "skew": check.skew,
                "max_skew": allowed,
            },
        )


_UPGRADE = (
    "Upgrade the control plane to the next minor, then the nodes, and repeat until the cluster "
    "runs a supported minor: Kubernetes upgrades go one minor at a time."
)

CHECKS: tuple[Check, ...] = (
    Check(
        id="version.kubernetes-eol",
        category=Category.VERSION,
        severity=Severity.CRITICAL,
        title="Kubernetes version past end of life",
        why="An end-of-life minor gets no security fixes: every vulnerability found since stays "
        "open, and managed providers may upgrade the cluster on their own schedule.",
        fix=_UPGRADE,
        snippet=generic_snippet(Action.UPGRADE_MINOR),
        references=(_RELEASES_DOC, "https://kubernetes.io/releases/patch-releases/"),
        needs=(),
        run=_eol,
        action=Action.UPGRADE_MINOR,
    ),
    Check(
        id="version.kubernetes-eol-soon",
        category=Category.VERSION,
        severity=Severity.MEDIUM,
        title="Kubernetes version near end of life or on extended support",
        why="Upgrades take planning (API removals, add-on versions). Starting when end of life "
        "is near, or once only paid extended support is left, avoids a rushed upgrade. The "
        "warning window is the policy's `eol_warning_days`.",
        fix=_UPGRADE,
        snippet=generic_snippet(Action.UPGRADE_MINOR),
        references=(_RELEASES_DOC,),
        needs=(),
        run=_eol_soon,
        action=Action.UPGRADE_MINOR,
    ),
    Check(
        id="version.kubernetes-patch-behind",
        category=Category.VERSION,
        severity=Severity.MEDIUM,
        title="Kubernetes patch release far behind",
        why="Patch releases carry the security fixes of a minor; lagging several behind leaves "
        "known vulnerabilities open. The threshold is the policy's `patch_lag_threshold`.",
        fix="Apply the newest patch release of the current minor (a low-risk upgrade).",
        snippet=generic_snippet(Action.UPGRADE_PATCH),
        references=("https://kubernetes.io/releases/patch-releases/",),
        needs=(),
        run=_patch_behind,
        action=Action.UPGRADE_PATCH,
    ),
    Check(
        id="version.kubelet-skew",
        category=Category.VERSION,
        severity=Severity.HIGH,
        title="kubelet version outside the supported skew",
        why="A kubelet newer than the API server, or too many minors older, is unsupported: "
        "features and security fixes behave unpredictably and the control plane cannot be "
        "upgraded further. The limit is upstream's (3 minors from kubelet 1.25, 2 before) or "
        "the policy's `max_kubelet_minor_skew` when stricter.",
        fix="Upgrade (or replace) the node so its kubelet matches the control plane's minor. A "
        "kubelet newer than the control plane cannot be downgraded: upgrade the control plane "
        "instead.",
        snippet=generic_snippet(Action.UPGRADE_NODES),
        references=(_SKEW_DOC,),
        needs=("nodes",),
        run=_kubelet_skew,
        action=Action.UPGRADE_NODES,
    ),
)
