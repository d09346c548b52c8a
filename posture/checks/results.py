"""What the engine returns: findings and the evaluation of one inventory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from posture.checks.vocabulary import Category, Severity

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

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; setting the
    slots directly halves the cost, which matters at tens of thousands of findings per cluster.
    """
    new = object.__new__
    set_check, set_severity, set_category = _SET_CHECK, _SET_SEVERITY, _SET_CATEGORY
    set_kind, set_namespace, set_name = _SET_KIND, _SET_NAMESPACE, _SET_NAME
    set_container, set_message, set_evidence = _SET_CONTAINER, _SET_MESSAGE, _SET_EVIDENCE
    out: list[Finding] = []
    append = out.append
    for kind, namespace, name, container, message, evidence in rows:
        finding = new(Finding)
        set_check(finding, check)
        set_severity(finding, severity)
        set_category(finding, category)
        set_kind(finding, kind)
        set_namespace(finding, namespace)
        set_name(finding, name)
        set_container(finding, container)
        set_message(finding, message)
        set_evidence(finding, evidence)
        append(finding)
    return out


def _setter(field_name: str) -> Any:
    # A slot's descriptor sets the value directly, past the frozen class's __setattr__.
    return Finding.__dict__[field_name].__set__


_SET_CHECK = _setter("check")
_SET_SEVERITY = _setter("severity")
_SET_CATEGORY = _setter("category")
_SET_KIND = _setter("kind")
_SET_NAMESPACE = _setter("namespace")
_SET_NAME = _setter("name")
_SET_CONTAINER = _setter("container")
_SET_MESSAGE = _setter("message")
_SET_EVIDENCE = _setter("evidence")
_BUILT_FIELDS = ("check", "severity", "category", "kind", "namespace", "name", "container")
if tuple(Finding.__dataclass_fields__) != (*_BUILT_FIELDS, "message", "evidence"):
    raise RuntimeError("Finding's fields changed: update build_findings")


@dataclass(frozen=True)
class Evaluation:
    """The findings for one inventory, and which checks could not run and why."""

    findings: list[Finding]
    not_evaluated: dict[str, str]
    evaluated: tuple[str, ...]
    disabled: tuple[str, ...]
    checkset_version: str
    counts_by_severity: dict[str, int]
    counts_by_category: dict[str, int]
