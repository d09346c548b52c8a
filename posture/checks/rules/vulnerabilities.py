"""Known vulnerabilities, from Trivy Operator's VulnerabilityReports when the cluster has them."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks.base import Check, Hit
from posture.checks.context import Context
from posture.checks.safe import clip
from posture.checks.trivy import VulnerabilityScan, scan
from posture.checks.vocabulary import Category, Severity, VulnerabilitySeverity

_TRIVY_DOC = "https://aquasecurity.github.io/trivy-operator/latest/docs/crds/vulnerability-report/"
# Upgrades quoted in a finding's evidence, most urgent first.
_UPGRADES_QUOTED = 5


def vulnerability_scan(ctx: Context) -> VulnerabilityScan:
    """Return the cluster's reports read per image, built once per evaluation."""
    cached = ctx.memo.get("vulnerability_scan")
    if not isinstance(cached, VulnerabilityScan):
        workloads = ((w.get("kind"), w.get("namespace"), w.get("name"))
                     for w in ctx.objects("workloads"))
        cached = ctx.memo["vulnerability_scan"] = scan(
            ctx.objects("vulnerabilityreports"),
            [(k, ns, n) for k, ns, n in workloads
             if isinstance(k, str) and isinstance(ns, str) and isinstance(n, str)])
    return cached


def _over(ctx: Context, severity: VulnerabilitySeverity, threshold: int,
          label: str) -> Iterator[Hit]:
    for workload, image in sorted(vulnerability_scan(ctx).by_workload.items()):
        count = image.count(severity)
        if count.total <= threshold:
            continue
        where = f" (container {clip(workload.container)})" if workload.container else ""
        if count.fixable is None:
            fixes = "the report lists no details, so whether fixes exist is unknown"
        else:
            fixes = f"{count.fixable} fixable, {count.total - count.fixable} without a fix yet"
        upgrades = [f"{clip(v.package, 120)} {clip(v.installed, 60)} → {clip(v.fixed, 60)}"
                    for v in image.vulnerabilities if v.severity is severity and v.fixable]
        yield Hit(
            workload.kind,
            workload.namespace,
            workload.name,
            workload.container,
            f"{count.total} {label} vulnerabilities in image {clip(image.ref)}{where}: {fixes}",
            {"count": count.total, "fixable": count.fixable, "image": clip(image.ref),
             "threshold": threshold, "upgrades": upgrades[:_UPGRADES_QUOTED]},
        )


def _critical(ctx: Context) -> Iterator[Hit]:
    return _over(ctx, VulnerabilitySeverity.CRITICAL, ctx.policy.max_critical_vulnerabilities,
                 "critical")


def _high(ctx: Context) -> Iterator[Hit]:
    return _over(ctx, VulnerabilitySeverity.HIGH, ctx.policy.max_high_vulnerabilities,
                 "high-severity")


_FIX = (
    "Upgrade each fixable package to its fixed version: move to an image tag that has it (a "
    "newer release of the image or of its base image), or rebuild the image with the upgraded "
    "package, then roll the workload out. The cluster's Vulnerabilities page lists, per image, "
    "every CVE with its package, installed and fixed version, fixable ones first; those without "
    "a fix yet need a different base image, a mitigation or an accepted risk."
)

_SNIPPET = """\
# The packages to upgrade in one workload's image, with their fixed versions:
kubectl get vulnerabilityreports -n NAMESPACE -o json | jq -r '.items[].report.vulnerabilities[]
  | select(.fixedVersion != "") | [.severity, .resource, .installedVersion, .fixedVersion,
  .vulnerabilityID] | @tsv' | sort -u
# Then point the workload at the patched image:
kubectl set image deployment/NAME CONTAINER=REGISTRY/REPOSITORY:PATCHED_TAG -n NAMESPACE"""

CHECKS: tuple[Check, ...] = (
    Check(
        id="vulnerability.critical",
        category=Category.VULNERABILITIES,
        severity=Severity.HIGH,
        title="Image with critical vulnerabilities",
        why="Critical vulnerabilities are often remotely exploitable with public exploits. "
        "Counts come from Trivy Operator's VulnerabilityReports, per image; without Trivy Operator "
        "the check is not evaluated.",
        fix=_FIX,
        snippet=_SNIPPET,
        references=(_TRIVY_DOC,),
        needs=("vulnerabilityreports",),
        run=_critical,
        revision=2,
    ),
    Check(
        id="vulnerability.high",
        category=Category.VULNERABILITIES,
        severity=Severity.MEDIUM,
        title="Image with high-severity vulnerabilities",
        why="High-severity vulnerabilities accumulate in images that are not rebuilt; each is a "
        "possible foothold. Counts come from Trivy Operator's VulnerabilityReports.",
        fix=_FIX,
        snippet=_SNIPPET,
        references=(_TRIVY_DOC,),
        needs=("vulnerabilityreports",),
        run=_high,
        revision=2,
    ),
)
