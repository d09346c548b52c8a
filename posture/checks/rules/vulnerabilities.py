"""Known vulnerabilities, from Trivy Operator's VulnerabilityReports when the cluster has them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from posture.checks.base import Check, Hit
from posture.checks.context import Context
from posture.checks.safe import clip, dig, integer, string_map, text
from posture.checks.vocabulary import Category, Severity

_TRIVY_DOC = "https://aquasecurity.github.io/trivy-operator/latest/docs/crds/vulnerability-report/"
# Trivy Operator scans the object that owns the pods: the ReplicaSet of a Deployment and the
# Job of a CronJob. Findings belong to the top owner, as every other workload finding does.
_OWNERS = {"ReplicaSet": "Deployment", "Job": "CronJob"}
_KIND = "trivy-operator.resource.kind"
_NAME = "trivy-operator.resource.name"
_NAMESPACE = "trivy-operator.resource.namespace"
_CONTAINER = "trivy-operator.container.name"

_Key = tuple[str, str, str, str]


class _Counts(NamedTuple):
    critical: int
    high: int
    image: str


def _counts(ctx: Context) -> dict[_Key, _Counts]:
    """Return (critical, high, image) per (kind, namespace, name, container), worst report."""
    workloads = {(v.kind, v.namespace, v.name) for v in ctx.workloads}
    out: dict[_Key, _Counts] = {}
    for report in ctx.objects("vulnerabilityreports"):
        labels = string_map(dig(report, "metadata", "labels"))
        kind, name = labels.get(_KIND, ""), labels.get(_NAME, "")
        ns = labels.get(_NAMESPACE) or text(dig(report, "metadata", "namespace"))
        if not kind or not name:
            continue
        owner = _OWNERS.get(kind)
        if owner:
            parent = name.rsplit("-", 1)[0]
            if (owner, ns, parent) in workloads:
                kind, name = owner, parent
        summary = dig(report, "report", "summary")
        critical = integer(dig(summary, "criticalCount")) or 0
        high = integer(dig(summary, "highCount")) or 0
        artifact = dig(report, "report", "artifact")
        image = text(dig(artifact, "repository"))
        tag = text(dig(artifact, "tag"))
        image = f"{image}:{tag}" if image and tag else image
        key = (kind, ns, name, labels.get(_CONTAINER, ""))
        previous = out.get(key)
        if previous is None or (critical, high) > (previous.critical, previous.high):
            out[key] = _Counts(critical, high, clip(image))
    return out


def _over(
    ctx: Context, pick: Callable[[_Counts], int], threshold: int, label: str
) -> Iterator[Hit]:
    for (kind, ns, name, container), counts in sorted(_counts(ctx).items()):
        count = pick(counts)
        if count > threshold:
            image = counts.image
            on = f" in image {image}" if image else ""
            where = f" (container {clip(container)})" if container else ""
            yield Hit(
                kind,
                ns,
                name,
                container,
                f"{count} {label} vulnerabilities{on}{where}",
                {"count": count, "image": image, "threshold": threshold},
            )


def _critical(ctx: Context) -> Iterator[Hit]:
    return _over(ctx, lambda c: c.critical, ctx.policy.max_critical_vulnerabilities, "critical")


def _high(ctx: Context) -> Iterator[Hit]:
    return _over(ctx, lambda c: c.high, ctx.policy.max_high_vulnerabilities, "high-severity")


_FIX = (
    "Rebuild the image on a patched base image and upgrade the affected packages; "
    "`kubectl get vulnerabilityreports -n NAMESPACE -o wide` lists them."
)

CHECKS: tuple[Check, ...] = (
    Check(
        id="vulnerability.critical",
        category=Category.VULNERABILITIES,
        severity=Severity.HIGH,
        title="Image with critical vulnerabilities",
        why="Critical vulnerabilities are often remotely exploitable with public exploits. "
        "Counts come from Trivy Operator's VulnerabilityReports; without Trivy Operator the "
        "check is not evaluated.",
        fix=_FIX,
        snippet="kubectl get vulnerabilityreports -A -o wide",
        references=(_TRIVY_DOC,),
        needs=("vulnerabilityreports",),
        run=_critical,
    ),
    Check(
        id="vulnerability.high",
        category=Category.VULNERABILITIES,
        severity=Severity.MEDIUM,
        title="Image with high-severity vulnerabilities",
        why="High-severity vulnerabilities accumulate in images that are not rebuilt; each is a "
        "possible foothold. Counts come from Trivy Operator's VulnerabilityReports.",
        fix=_FIX,
        snippet="kubectl get vulnerabilityreports -A -o wide",
        references=(_TRIVY_DOC,),
        needs=("vulnerabilityreports",),
        run=_high,
    ),
)
