"""``posture scan --framework``: a scan's findings filtered to one framework, grouped by control.

Only findings of checks mapped to one of the framework's controls are kept (and they alone
decide ``--fail-on``); each control gets its status as ``assess`` gives it. The exit statuses
mean what they mean without the option.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, NamedTuple, TextIO

from posture.checks.frameworks.assess import Assessment, ControlStatus, assess
from posture.checks.frameworks.data import Framework
from posture.checks.hidden import visible
from posture.checks.results import Finding
from posture.checks.safe import clip
from posture.checks.scan import ScannedObject, ScanResult


class Located(NamedTuple):
    """A finding at the object (file and line) it was reported on."""

    obj: ScannedObject
    finding: Finding

    def to_dict(self) -> dict[str, Any]:
        """Return the finding and where it is, as the JSON output lists it under a control."""
        f = self.finding
        return {
            "source": self.obj.source,
            "line": self.obj.line or None,
            "kind": f.kind,
            "namespace": f.namespace,
            "name": f.name,
            "check": f.check,
            "severity": str(f.severity),
            "container": f.container,
            "message": f.message,
        }


def in_framework(fw: Framework) -> Callable[[Finding], bool]:
    """Return whether a finding falls under one of ``fw``'s controls."""

    def keep(f: Finding) -> bool:
        return bool(fw.controls_of(f.check, f.message))

    return keep


def filtered(result: ScanResult, fw: Framework) -> ScanResult:
    """Return ``result`` with only the findings that fall under one of ``fw``'s controls."""
    keep = in_framework(fw)
    objects = [replace(o, findings=[f for f in o.findings if keep(f)]) for o in result.objects]
    evaluation = replace(
        result.evaluation, findings=[f for f in result.evaluation.findings if keep(f)]
    )
    return ScanResult(objects=objects, errors=result.errors, evaluation=evaluation)


def assess_scan(result: ScanResult, fw: Framework) -> Assessment[Located]:
    """Assess a scan against ``fw``: each control with its findings where they were found."""
    located = [Located(o, f) for o in result.objects for f in o.findings]
    evaluation = result.evaluation
    reasons = {check: "switched off by the policy" for check in evaluation.disabled}
    reasons.update(evaluation.not_evaluated)
    return assess(
        fw,
        located,
        ran=evaluation.evaluated,
        not_evaluated=reasons,
        check_of=lambda x: x.finding.check,
        message_of=lambda x: x.finding.message,
    )


def to_dict(assessment: Assessment[Located]) -> dict[str, Any]:
    """Return the ``framework`` member of ``posture scan --framework --format json``."""
    return assessment.to_dict(Located.to_dict)


def write_text(result: ScanResult, assessment: Assessment[Located], out: TextIO) -> None:
    """Write input errors, then every control by section with its findings, then a summary."""
    for error in result.errors:
        where = ":".join(str(p) for p in (error.source, error.line, error.column) if p)
        out.write(f"{_safe(where)}: error: {_safe(error.message)}\n")
    fw = assessment.framework
    out.write(f"{fw.label}\n")
    for sid, title, results in assessment.by_section():
        out.write(f"\n{sid} {title}\n")
        for r in results:
            c = r.control
            status = _STATUS_WORDS[r.status]
            what = "(the whole section)" if c.summary else c.title
            line = f"  {status:<{_WIDTH}} {c.id} {what}"
            if c.partial and r.status is not ControlStatus.NOT_CHECKABLE:
                line += " (partly checked)"
            out.write(line + "\n")
            if r.status is ControlStatus.NOT_EVALUATED:
                out.write(f"      {_safe(r.reason)}\n")
            for obj, f in r.findings:
                where = (
                    f"{obj.source}:{obj.line}" if obj.source else "(not declared in these files)"
                )
                name = f"{f.namespace}/{f.name}" if f.namespace else f.name
                container = f" [{_safe(f.container)}]" if f.container else ""
                out.write(
                    f"      {_safe(where)}: {_safe(f.kind)} {_safe(name)}{container}: "
                    f"{f.severity.upper()} {f.check}: {_safe(f.message)}\n"
                )
    counts = assessment.counts()
    summary = ", ".join(f"{counts[str(s)]} {_SUMMARY_WORDS[s]}" for s in ControlStatus.ordered())
    total = len(result.evaluation.findings)
    line = f"{fw.label}: {summary}; {total} finding{'' if total == 1 else 's'} under its controls"
    if result.errors:
        line += f"; {len(result.errors)} error{'' if len(result.errors) == 1 else 's'}"
    out.write(f"\n{line}\n")


_STATUS_WORDS = {
    ControlStatus.FAILED: "FAILED",
    ControlStatus.NOT_EVALUATED: "not evaluated",
    ControlStatus.PASSED: "passed",
    ControlStatus.NOT_CHECKABLE: "not checkable",
}
_SUMMARY_WORDS = {
    ControlStatus.FAILED: "failed",
    ControlStatus.NOT_EVALUATED: "not evaluated",
    ControlStatus.PASSED: "passed",
    ControlStatus.NOT_CHECKABLE: "not checkable through the API",
}
_WIDTH = max(len(word) for word in _STATUS_WORDS.values())


def _safe(text: str) -> str:
    # Names and messages come from the scanned files (see posture.checks.cli).
    return visible(clip(text, 2000))
