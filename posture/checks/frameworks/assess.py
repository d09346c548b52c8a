"""Where one evaluation stands on each control of a framework.

``assess`` reads what an evaluation produced — its findings, which checks ran, why the others
did not — and gives every control a status with its findings. It decides nothing new: the
findings are the checks' and the score does not read the result.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from posture.checks.frameworks.data import Control, Framework

if TYPE_CHECKING:
    from posture.checks.results import Evaluation

F = TypeVar("F")


class _Meta(NamedTuple):
    label: str
    colour: str
    rank: int


class ControlStatus(StrEnum):
    """Where a cluster (or a scan) stands on one control; ``rank`` is the display order."""

    FAILED = "failed"
    NOT_EVALUATED = "not_evaluated"
    PASSED = "passed"
    NOT_CHECKABLE = "not_checkable"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _STATUS[self].label

    @property
    def colour(self) -> str:
        """Return the display colour as ``#rrggbb`` (text on white, contrast >= 4.5:1)."""
        return _STATUS[self].colour

    @property
    def rank(self) -> int:
        """Return the display position, 0 first."""
        return _STATUS[self].rank

    @classmethod
    def ordered(cls) -> tuple[ControlStatus, ...]:
        """Return every status in display order: failed first."""
        return tuple(sorted(cls, key=lambda s: s.rank))


_STATUS: dict[ControlStatus, _Meta] = {
    ControlStatus.FAILED: _Meta("Failed", "#b91c1c", 0),
    ControlStatus.NOT_EVALUATED: _Meta("Not evaluated", "#4b5563", 1),
    ControlStatus.PASSED: _Meta("Passed", "#15803d", 2),
    ControlStatus.NOT_CHECKABLE: _Meta("Not checkable through the API", "#57534e", 3),
}

SWITCHED_OFF = "switched off by the policy"
NOT_RUN = "did not run"


@dataclass(frozen=True)
class ControlResult(Generic[F]):
    """One control's status, why, and the findings that decided it.

    ``findings`` are those that count (they fail the control); ``set_apart`` those the caller
    keeps out of the verdict, as the score does (accepted risks, platform-managed
    components), each with the reason. ``unevaluated`` names the control's checks that could
    not run, with why.
    """

    control: Control
    status: ControlStatus
    reason: str = ""
    findings: tuple[F, ...] = ()
    set_apart: tuple[tuple[F, str], ...] = ()
    unevaluated: Mapping[str, str] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        """Return whether the control's checks cover only part of it."""
        return bool(self.control.partial)

    def to_dict(self, finding: Callable[[F], dict[str, Any]]) -> dict[str, Any]:
        """Return a JSON-able dict, each finding written by ``finding``."""
        c = self.control
        return {
            "id": c.id,
            "title": c.title,
            "section": c.section,
            "status": str(self.status),
            "reason": self.reason,
            "partial": c.partial,
            "checks": list(c.checks),
            "not_evaluated_checks": dict(self.unevaluated),
            "findings": [finding(f) for f in self.findings],
            "set_apart": [{**finding(f), "set_apart": why} for f, why in self.set_apart],
        }


@dataclass(frozen=True)
class Assessment(Generic[F]):
    """A framework's controls, each with its result, in the framework's order."""

    framework: Framework
    results: tuple[ControlResult[F], ...]

    def counts(self) -> dict[str, int]:
        """Return how many controls have each status, every status present (display order)."""
        counts = {str(s): 0 for s in ControlStatus.ordered()}
        for r in self.results:
            counts[str(r.status)] += 1
        return counts

    def result(self, control_id: str) -> ControlResult[F]:
        """Return the result of ``control_id``; KeyError if the framework has no such control."""
        for r in self.results:
            if r.control.id == control_id:
                return r
        raise KeyError(control_id)

    def by_section(self) -> list[tuple[str, str, list[ControlResult[F]]]]:
        """Return (section id, section title, its results) for every section, in order."""
        out = []
        for section in self.framework.sections:
            ids = {c.id for c in section.controls}
            out.append(
                (section.id, section.title, [r for r in self.results if r.control.id in ids])
            )
        return out

    def to_dict(self, finding: Callable[[F], dict[str, Any]]) -> dict[str, Any]:
        """Return a JSON-able dict: the framework, the counts, and every control."""
        fw = self.framework
        return {
            "id": fw.id,
            "title": fw.title,
            "version": fw.version,
            "sources": [{"title": s.title, "url": s.url} for s in fw.sources],
            "counts": self.counts(),
            "controls": [r.to_dict(finding) for r in self.results],
        }


def assess(
    fw: Framework,
    findings: Iterable[F],
    *,
    ran: Collection[str],
    not_evaluated: Mapping[str, str] | None = None,
    set_apart: Callable[[F], str | None] | None = None,
    check_of: Callable[[F], str] = attrgetter("check"),
    message_of: Callable[[F], str] = attrgetter("message"),
) -> Assessment[F]:
    """Give every control of ``fw`` a status from an evaluation's findings.

    ``ran`` holds the checks that ran; ``not_evaluated`` says why others did not. A control
    **fails** when a finding of one of its checks counts (``set_apart`` returns None for it);
    otherwise it is **not evaluated** when one of its checks did not run, and **passed** when
    all of them ran. Findings of a check that did not run are left out, as the score leaves
    them out: this run could not confirm them. A control no check evaluates is not evaluated
    or not checkable, as the framework's data says, with its reason.

    ``check_of`` and ``message_of`` read a finding (stored rows call the check ``check_id``).
    """
    ran_set = set(ran)
    reasons = dict(not_evaluated or {})
    per_check: dict[str, list[F]] = {}
    for f in findings:
        per_check.setdefault(check_of(f), []).append(f)
    results: list[ControlResult[F]] = []
    for control in fw.controls:
        if control.not_checkable:
            results.append(
                ControlResult(control, ControlStatus.NOT_CHECKABLE, control.not_checkable)
            )
            continue
        if not control.evaluated_by:
            results.append(
                ControlResult(control, ControlStatus.NOT_EVALUATED, control.not_evaluated)
            )
            continue
        counted: list[F] = []
        apart: list[tuple[F, str]] = []
        unevaluated: dict[str, str] = {}
        seen: set[int] = set()
        for e in control.evaluated_by:
            if e.check not in ran_set:
                unevaluated.setdefault(e.check, reasons.get(e.check) or NOT_RUN)
                continue
            for f in per_check.get(e.check, ()):
                # A check mapped twice to one control (two message filters) counts a finding
                # once.
                if id(f) in seen or not e.covers(message_of(f)):
                    continue
                seen.add(id(f))
                why = set_apart(f) if set_apart is not None else None
                if why:
                    apart.append((f, why))
                else:
                    counted.append(f)
        if counted:
            status, reason = ControlStatus.FAILED, ""
        elif unevaluated:
            status = ControlStatus.NOT_EVALUATED
            reason = "; ".join(f"{check}: {why}" for check, why in unevaluated.items())
        else:
            status, reason = ControlStatus.PASSED, ""
        results.append(
            ControlResult(control, status, reason, tuple(counted), tuple(apart), unevaluated)
        )
    return Assessment(fw, tuple(results))


def assess_evaluation(
    fw: Framework, evaluation: Evaluation, set_apart: Callable[[Any], str | None] | None = None
) -> Assessment[Any]:
    """Assess the engine's ``evaluation`` (checks switched off by the policy did not run)."""
    reasons = {check: SWITCHED_OFF for check in evaluation.disabled}
    reasons.update(evaluation.not_evaluated)
    return assess(
        fw,
        evaluation.findings,
        ran=evaluation.evaluated,
        not_evaluated=reasons,
        set_apart=set_apart,
    )
