"""Node hygiene: operating system and container runtime support, node age, kernel age.

Findings are keyed by node name. An OS image or runtime the lifecycle data does not know gives
no finding: unknown is not end of life. A node whose OS cannot be judged is left out of the OS
checks, and when no node's OS can be judged those checks are not evaluated rather than passed
(the score caps the grade while any node's OS support is unknown, see docs/scoring.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from posture.checks.advice import Action, generic_snippet
from posture.checks.base import Check, Hit, NotEvaluated
from posture.checks.context import Context
from posture.checks.safe import clip, dig, mapping, text
from posture.checks.vocabulary import Category, Severity
from posture.lifecycle.os_image import OSSupport, os_support
from posture.lifecycle.runtime import runtime_support
from posture.lifecycle.vocabulary import SupportStatus

_NODE = "Node"
_NODES_DOC = "https://kubernetes.io/docs/concepts/architecture/nodes/"
_UPGRADE_DOC = "https://kubernetes.io/docs/tasks/administer-cluster/cluster-upgrade/"
_KERNEL = re.compile(r"([0-9]{1,3})\.([0-9]{1,4})")


@dataclass(frozen=True, slots=True)
class _NodeInfo:
    name: str
    os_image: str
    kernel: str
    kubelet: str
    runtime: str
    created: date | None


def _nodes(ctx: Context) -> list[_NodeInfo]:
    cached = ctx.memo.get("nodes")
    if isinstance(cached, list):
        return cached
    nodes = []
    for node in ctx.objects("nodes"):
        info = mapping(dig(node, "status", "nodeInfo"))
        nodes.append(
            _NodeInfo(
                name=text(dig(node, "metadata", "name")),
                os_image=text(info.get("osImage")),
                kernel=text(info.get("kernelVersion")),
                kubelet=text(info.get("kubeletVersion")),
                runtime=text(info.get("containerRuntimeVersion")),
                created=_date(dig(node, "metadata", "creationTimestamp")),
            )
        )
    ctx.memo["nodes"] = nodes
    return nodes


def _date(value: object) -> date | None:
    """Parse an RFC 3339 timestamp's date; None when it is not one."""
    raw = text(value)
    if len(raw) < 10 or len(raw) > 64:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _os(ctx: Context, node: _NodeInfo) -> OSSupport:
    return os_support(
        node.os_image or None, ctx.today, kernel_version=node.kernel, kubelet_version=node.kubelet
    )


def _judged(ctx: Context) -> list[tuple[_NodeInfo, OSSupport]]:
    """Return the nodes whose OS support is known, with it; raise when there are none."""
    cached = ctx.memo.get("os_judged")
    if isinstance(cached, list):
        return cached
    nodes = _nodes(ctx)
    judged = [(node, support) for node in nodes
              if (support := _os(ctx, node)).status is not SupportStatus.UNKNOWN]
    if nodes and not judged:
        raise NotEvaluated(f"the operating system of none of the {len(nodes)} nodes is known "
                           "to the lifecycle data")
    ctx.memo["os_judged"] = judged
    return judged


def _os_evidence(node: _NodeInfo, support: OSSupport) -> dict[str, Any]:
    return {
        "osImage": clip(node.os_image, 128),
        "family": str(support.family) if support.family else None,
        "cycle": support.cycle,
        "status": str(support.status),
        "eol": support.eol.isoformat() if support.eol else None,
        "days_left": support.days_left,
    }


def _os_eol(ctx: Context) -> Iterator[Hit]:
    for node, support in _judged(ctx):
        if support.status is SupportStatus.EOL:
            since = f" since {support.eol.isoformat()}" if support.eol else ""
            yield Hit(
                _NODE,
                "",
                node.name,
                "",
                f"Node {clip(node.name)} runs {clip(node.os_image, 128)}, past end of life{since}",
                _os_evidence(node, support),
            )


def _os_eol_soon(ctx: Context) -> Iterator[Hit]:
    for node, support in _judged(ctx):
        days = support.days_left
        if support.status is SupportStatus.EXTENDED:
            when = f"is past standard support (extended support until {support.eol})"
        elif (
            support.status is not SupportStatus.EOL
            and days is not None
            and days <= ctx.policy.eol_warning_days
        ):
            when = f"reaches end of life in {days} days ({support.eol})"
        else:
            continue
        yield Hit(
            _NODE,
            "",
            node.name,
            "",
            f"Node {clip(node.name)} runs {clip(node.os_image, 128)}, which {when}",
            _os_evidence(node, support),
        )


def _runtime_eol(ctx: Context) -> Iterator[Hit]:
    for node in _nodes(ctx):
        support = runtime_support(
            node.runtime or None,
            ctx.today,
            kubelet_version=node.kubelet or None,
            os_image=node.os_image or None,
            kernel_version=node.kernel or None,
        )
        if support.status is SupportStatus.EOL:
            since = f" since {support.eol.isoformat()}" if support.eol else ""
            shipped = (
                f" as shipped with {clip(node.os_image, 128)}" if support.shipped_by else ""
            )
            yield Hit(
                _NODE,
                "",
                node.name,
                "",
                f"Node {clip(node.name)} runs container runtime {clip(node.runtime, 128)}"
                f"{shipped}, past end of life{since}",
                {
                    "runtime": clip(node.runtime, 128),
                    "status": str(support.status),
                    "eol": support.eol.isoformat() if support.eol else None,
                    "judged_by": str(support.shipped_by) if support.shipped_by else "upstream",
                },
            )


def _old_nodes(ctx: Context) -> Iterator[Hit]:
    limit = ctx.policy.max_node_age_days
    for node in _nodes(ctx):
        if node.created is None:
            continue
        age = (ctx.today - node.created).days
        if age > limit:
            yield Hit(
                _NODE,
                "",
                node.name,
                "",
                f"Node {clip(node.name)} is {age} days old (limit {limit}): it has not been "
                "replaced with a patched image since",
                {"created": node.created.isoformat(), "age_days": age, "limit_days": limit},
            )


def _kernel(raw: str) -> tuple[int, int] | None:
    match = _KERNEL.match(raw)
    return (int(match[1]), int(match[2])) if match else None


def _old_kernels(ctx: Context) -> Iterator[Hit]:
    minimum = _kernel(ctx.policy.min_kernel_version)
    for node in _nodes(ctx):
        kernel = _kernel(node.kernel)
        if kernel is None or minimum is None or node.os_image.lower().startswith("windows"):
            continue
        if kernel < minimum:
            yield Hit(
                _NODE,
                "",
                node.name,
                "",
                f"Node {clip(node.name)} runs Linux kernel {clip(node.kernel, 64)}, older than "
                f"{ctx.policy.min_kernel_version}",
                {"kernel": clip(node.kernel, 64), "minimum": ctx.policy.min_kernel_version},
            )


_ROTATE = (
    "Replace the node with one built from a current image: drain it, then let the node group "
    "or autoscaler create a new one."
)

CHECKS: tuple[Check, ...] = (
    Check(
        id="node.os-eol",
        category=Category.NODES,
        severity=Severity.HIGH,
        title="Node operating system past end of life",
        why="An end-of-life OS gets no security updates: kernel and system package "
        "vulnerabilities stay open on a machine that runs every pod scheduled there.",
        fix="Move the node pool to a supported OS image, then rotate the nodes.",
        snippet=generic_snippet(Action.MOVE_NODE_OS),
        references=(_NODES_DOC, _UPGRADE_DOC),
        needs=("nodes",),
        run=_os_eol,
        action=Action.MOVE_NODE_OS,
    ),
    Check(
        id="node.os-eol-soon",
        category=Category.NODES,
        severity=Severity.MEDIUM,
        title="Node operating system near end of life",
        why="Moving a node pool to a new OS release needs testing; starting before end of life "
        "avoids running unpatched nodes. The window is the policy's `eol_warning_days`.",
        fix="Plan the move of the node pool to a newer OS release.",
        snippet=generic_snippet(Action.MOVE_NODE_OS),
        references=(_NODES_DOC,),
        needs=("nodes",),
        run=_os_eol_soon,
        action=Action.MOVE_NODE_OS,
    ),
    Check(
        id="node.runtime-eol",
        category=Category.NODES,
        severity=Severity.HIGH,
        title="Container runtime past end of life",
        why="The container runtime is what isolates containers; an unsupported one keeps its "
        "container-escape vulnerabilities. Image-based node systems (Bottlerocket, "
        "Container-Optimized OS, Flatcar, Talos) build and patch the runtime they ship, so "
        "there it is judged by the OS release's support, not by upstream's end of life.",
        fix="Move to a supported containerd or CRI-O release (usually by a newer node image); "
        "on an image-based OS, move to a supported release of that OS.",
        snippet=generic_snippet(Action.REFRESH_NODES),
        references=("https://kubernetes.io/docs/setup/production-environment/container-runtimes/",),
        needs=("nodes",),
        run=_runtime_eol,
        action=Action.REFRESH_NODES,
        # 2: a runtime shipped by an image-based OS is judged by the OS release's support.
        revision=2,
    ),
    Check(
        id="node.not-rotated",
        category=Category.NODES,
        severity=Severity.LOW,
        title="Node older than the rotation limit",
        why="Nodes that are never replaced drift from the current image and miss the OS and "
        "kernel patches that a rotation brings. The limit is the policy's `max_node_age_days`.",
        fix=_ROTATE,
        snippet=generic_snippet(Action.REFRESH_NODES),
        references=(_UPGRADE_DOC,),
        needs=("nodes",),
        run=_old_nodes,
        action=Action.REFRESH_NODES,
    ),
    Check(
        id="node.kernel-old",
        category=Category.NODES,
        severity=Severity.LOW,
        title="Very old Linux kernel",
        why="Old kernel lines lack hardening and fixes for container escapes; the minimum is "
        "the policy's `min_kernel_version`.",
        fix="Move to a node image with a current kernel, then rotate the nodes.",
        snippet=generic_snippet(Action.REFRESH_NODES),
        references=(_NODES_DOC,),
        needs=("nodes",),
        run=_old_kernels,
        action=Action.REFRESH_NODES,
    ),
)
