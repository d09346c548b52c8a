"""What the engine returns: findings and the evaluation of one inventory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from posture.checks.vocabulary import Category, Severity

if TYPE_CHECKING:
    from posture.checks.trivy import VulnerabilityScan

FindingKey = tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem on one resource: the owning workload, never a pod, so pod churn adds none."""

    check: str
    severity: Severity
    category: Category
    kind: str
    namespace: str
    name: str
    container: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> FindingKey:
        """Return the identity: (check, kind, namespace, name, container)."""
        return (self.check, self.kind, self.namespace, self.name, self.container)

    def sort_key(self) -> tuple[int, int, str, str, str, str, str]:
        """Order most severe first, then by category and identity."""
        return (-self.severity.rank, self.category.rank, *self.key)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "check": self.check,
            "severity": str(self.severity),
            "category": str(self.category),
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "container": self.container,
            "message": self.message,
            "evidence": self.evidence,
        }


# Rows as the checks report them: (kind, namespace, name, container, message, evidence).
FindingRow = tuple[str, str, str, str, str, dict[str, Any]]


def build_findings(
    check: str, severity: Severity, category: Category, rows: Iterable[FindingRow]
) -> list[Finding]:
    """Return a ``Finding`` of ``check`` per row, exactly as ``Finding(check, ...)`` would.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, which
    makes it the most expensive step of an evaluation of tens of thousands of findings. Each
    finding is filled in as a ``_Draft`` (the same slots, no frozen ``__setattr__``) and then
    becomes a ``Finding``: CPython allows the class change because the layouts are identical.
    """
    out: list[Finding] = []
    append = out.append
    draft, finished = _Draft, Finding
    for kind, namespace, name, container, message, evidence in rows:
        finding = draft()
        finding.check = check
        finding.severity = severity
        finding.category = category
        finding.kind = kind
        finding.namespace = namespace
        finding.name = name
        finding.container = container
        finding.message = message
        finding.evidence = evidence
        finding.__class__ = finished  # type: ignore[assignment]
        append(finding)  # type: ignore[arg-type]
    return out


class _Draft:
    """A ``Finding`` being filled in: its slots, in its order, and nothing else."""

    __slots__ = tuple(Finding.__dataclass_fields__)
    check: str
    severity: Severity
    category: Category
    kind: str
    namespace: str
    name: str
    container: str
    message: str
    evidence: dict[str, Any]


def _check_drafts() -> None:
    # A field added to Finding (or a weakref slot) must not go unnoticed: fail at import.
    (built,) = build_findings("c", Severity.INFO, Category.WORKLOADS, [("k", "", "n", "", "m", {})])
    expected = Finding("c", Severity.INFO, Category.WORKLOADS, "k", "", "n", "", "m", {})
    if type(built) is not Finding or built.to_dict() != expected.to_dict():
        raise RuntimeError("build_findings no longer builds what Finding(...) does")


_check_drafts()


@dataclass(frozen=True)
class Evaluation:
    """The findings for one inventory, and which checks could not run and why.

    ``vulnerabilities`` is the cluster's Trivy reports read per image, when they could be read
    (None otherwise): the vulnerability checks count from it and storage keeps it.
    """

    findings: list[Finding]
    not_evaluated: dict[str, str]
    evaluated: tuple[str, ...]
    disabled: tuple[str, ...]
    checkset_version: str
    counts_by_severity: dict[str, int]
    counts_by_category: dict[str, int]
    vulnerabilities: VulnerabilityScan | None = None
    # Per namespace, its Pod Security Admission labels and the level its workloads meet
    # (``posture.checks.namespaces``); None when the namespaces could not be read.
    pod_security: dict[str, Any] | None = None


class Ordered(list[FindingRow]):
    """Rows a check reports already in identity order, one per identity.

    The engine sorts and deduplicates every check's rows. A rule that reports rows workload by
    workload, in ``Context.workloads`` order, knows they are in order when the context says so
    (``Context.workloads_in_order``, ``Context.containers_in_order``), and returns them as
    ``Ordered`` to spare the engine the work.
    """
