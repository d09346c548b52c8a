"""``posture scan``'s core: manifests in, per-object Pod Security verdicts and findings out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from posture.checks import pss
from posture.checks.engine import evaluate
from posture.checks.manifests import LoadError, SourcedObject, build_inventory, load, pod_template
from posture.checks.policy import Policy
from posture.checks.results import Evaluation, Finding


@dataclass
class ScannedObject:
    """One manifest object (or a namespace the manifests only refer to) and its results."""

    source: str
    line: int
    kind: str
    namespace: str
    name: str
    pss: pss.PSSResult | None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the object as ``posture scan --format json`` prints it."""
        verdict = None
        if self.pss is not None:
            verdict = {
                "level": self.pss.level,
                "version": self.pss.version,
                "allowed": self.pss.allowed,
                "violations": [
                    {"control": v.control, "detail": v.detail} for v in self.pss.violations
                ],
            }
        return {
            "source": self.source,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "pss": verdict,
            "findings": [
                {
                    "check": f.check,
                    "severity": str(f.severity),
                    "container": f.container,
                    "message": f.message,
                }
                for f in self.findings
            ],
        }


@dataclass
class ScanResult:
    """Everything one scan produced."""

    objects: list[ScannedObject]
    errors: list[LoadError]
    evaluation: Evaluation

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON output document."""
        return {
            "objects": [o.to_dict() for o in self.objects],
            "errors": [e.to_dict() for e in self.errors],
        }


def scan(paths: Iterable[str], policy: Policy, today: date | None = None) -> ScanResult:
    """Load manifests from ``paths``, evaluate them, and attach each finding to its object."""
    loaded, errors = load(paths)
    evaluation = evaluate(build_inventory(loaded), policy, today)
    objects = [_scanned(o, policy, errors) for o in loaded]
    by_identity: dict[tuple[str, str, str], list[ScannedObject]] = {}
    for o in objects:
        by_identity.setdefault((o.kind, o.namespace, o.name), []).append(o)
    for finding in evaluation.findings:
        targets = by_identity.get((finding.kind, finding.namespace, finding.name))
        if targets is None:
            # A namespace the manifests use but do not declare: point at its first object.
            ns = finding.name if finding.kind == "Namespace" else finding.namespace
            source, line = _first_in(objects, ns)
            extra = ScannedObject(source, line, finding.kind, finding.namespace, finding.name, None)
            objects.append(extra)
            targets = by_identity[(finding.kind, finding.namespace, finding.name)] = [extra]
        for target in targets:
            target.findings.append(finding)
    return ScanResult(objects=objects, errors=errors, evaluation=evaluation)


def _scanned(o: SourcedObject, policy: Policy, errors: list[LoadError]) -> ScannedObject:
    verdict = None
    template = pod_template(o.obj)
    if template is not None:
        try:
            verdict = pss.evaluate(template, policy.pss_level, policy.pss_version)
        except ValueError as exc:
            errors.append(LoadError(o.source, f"{o.kind} {o.name}: {exc}"[:500], line=o.line))
    return ScannedObject(o.source, o.line, o.kind, o.namespace, o.name, verdict)


def _first_in(objects: list[ScannedObject], namespace: str) -> tuple[str, int]:
    for o in objects:
        if o.namespace == namespace and o.source:
            return o.source, o.line
    return "", 0
