"""``posture scan``'s core: manifests in, per-object Pod Security verdicts and findings out.

The exit status is decided here, once, from the result: the CLI returns it and the SARIF log
reports it, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from functools import partial
from typing import Any

from posture.checks import pss
from posture.checks.engine import evaluate
from posture.checks.manifests import (
    InputError,
    InventoryBuilder,
    LoadError,
    SourcedObject,
    iter_files,
    pod_template,
    read_file,
)
from posture.checks.policy import Policy
from posture.checks.results import Evaluation, Finding
from posture.checks.vocabulary import Severity


class ExitCode(IntEnum):
    """``posture scan``'s exit statuses.

    Unreadable input wins over findings: a scan that could not read part of its input has not
    judged it, and a pipeline must learn that first (the findings of the readable files are
    reported all the same). ``--allow-errors`` lets the findings decide despite unreadable
    files, but never passes a scan that found no manifest at all.
    """

    CLEAN = 0
    FINDINGS = 1
    USAGE = 2
    INPUT = 3

    @property
    def summary(self) -> str:
        """Return what the status means, as the help text and the docs say it."""
        return _EXIT_SUMMARIES[self]


_EXIT_SUMMARIES = {
    ExitCode.CLEAN: "every input was read and no finding is at or above --fail-on",
    ExitCode.FINDINGS: "a finding at or above --fail-on (and every input was read, or "
    "--allow-errors was given)",
    ExitCode.USAGE: "usage error: bad arguments, a missing path, an invalid policy file",
    ExitCode.INPUT: "unreadable input: a file could not be read or parsed, an object is "
    "malformed, or no manifest was found",
}


# Slots: a scan holds one of these per object until its output is written.
@dataclass(slots=True)
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

    @property
    def found_nothing(self) -> bool:
        """Return whether no path held a single manifest."""
        return any(e.kind is InputError.NO_MANIFESTS for e in self.errors)

    def exit_code(self, fail_on: Severity, allow_errors: bool = False) -> ExitCode:
        """Return the exit status for a ``--fail-on`` threshold (see ``ExitCode``)."""
        if self.found_nothing or (self.errors and not allow_errors):
            return ExitCode.INPUT
        threshold = fail_on.rank
        if any(f.severity.rank >= threshold for f in self.evaluation.findings):
            return ExitCode.FINDINGS
        return ExitCode.CLEAN

    def to_dict(self, exit_code: ExitCode, objects: bool = True) -> dict[str, Any]:
        """Return the JSON output document (without its ``objects``: what else it holds)."""
        doc: dict[str, Any] = {"objects": [o.to_dict() for o in self.objects]} if objects else {}
        doc["errors"] = [e.to_dict() for e in self.errors]
        doc["exit_code"] = int(exit_code)
        return doc


def scan(
    paths: Iterable[str], policy: Policy, today: date | None = None, jobs: int = 1
) -> ScanResult:
    """Load manifests from ``paths``, evaluate them, and attach each finding to its object.

    Objects are read file by file and only what the checks need of each is kept: a
    workload's pod template packed (``PackedTemplate``), unpacked by the engine one at a time.
    Every finding is held until the output is written, so the evaluation is compact: findings
    share equal messages and evidence. ``jobs`` processes parse the files (1: this one); the
    result does not depend on it.
    """
    errors: list[LoadError] = []
    malformed: list[LoadError] = []
    builder = InventoryBuilder()
    objects: list[ScannedObject] = []
    # Many objects get the same verdict, word for word (the same chart, the same omissions):
    # one copy of each is kept, for they are all held until the output is written.
    verdicts: dict[pss.PSSResult, pss.PSSResult] = {}
    for sourced, scanned, problem in iter_files(paths, errors, partial(_judged, policy), jobs):
        builder.add(sourced)
        if scanned.pss is not None:
            kept = verdicts.get(scanned.pss)
            if kept is not None:
                scanned.pss = kept
            elif len(verdicts) < 4096:
                verdicts[scanned.pss] = scanned.pss
        objects.append(scanned)
        if problem is not None:
            malformed.append(problem)
    # Unreadable input first, then malformed objects, each in file order.
    errors.extend(malformed)
    # Every finding is held until the output is written: compact ones share equal values.
    evaluation = evaluate(builder.inventory(), policy, today, compact=True)
    by_identity: dict[tuple[str, str, str], list[ScannedObject]] = {}
    for o in objects:
        by_identity.setdefault((o.kind, o.namespace, o.name), []).append(o)
    for finding in evaluation.findings:
        targets = by_identity.get((finding.kind, finding.namespace, finding.name))
        if targets is None:
            targets = _bindings_of(finding, by_identity)
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


def _bindings_of(
    finding: Finding, by_identity: dict[tuple[str, str, str], list[ScannedObject]]
) -> list[ScannedObject] | None:
    """Return the bindings that grant a subject's access finding (users and groups are not
    objects in manifests, and a service account need not be), or None."""
    found: list[ScannedObject] = []
    for path in finding.evidence.get("paths") or ():
        if not isinstance(path, dict):
            continue
        key = (str(path.get("binding_kind")), str(path.get("binding_namespace")),
               str(path.get("binding_name")))
        for target in by_identity.get(key, ()):
            if target not in found:
                found.append(target)
    return found or None


def _judged(
    policy: Policy, name: str
) -> tuple[list[tuple[SourcedObject, ScannedObject, LoadError | None]], list[LoadError]]:
    """Read one file and judge each object's pod template (in a worker process with --jobs)."""
    objects, errors = read_file(name)
    return [(o, *_scanned(o, policy)) for o in objects], errors


def _scanned(o: SourcedObject, policy: Policy) -> tuple[ScannedObject, LoadError | None]:
    verdict = None
    problem = None
    template = pod_template(o.obj)
    if template is not None:
        try:
            verdict = pss.evaluate(template, policy.pss_level, policy.pss_version)
        except ValueError as exc:
            message = f"{o.kind} {o.name}: {exc}"[:500]
            problem = LoadError(o.source, message, line=o.line, kind=InputError.INVALID_OBJECT)
    return ScannedObject(o.source, o.line, o.kind, o.namespace, o.name, verdict), problem


def _first_in(objects: list[ScannedObject], namespace: str) -> tuple[str, int]:
    for o in objects:
        if o.namespace == namespace and o.source:
            return o.source, o.line
    return "", 0
