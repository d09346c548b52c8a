"""What the engine returns: findings and the evaluation of one inventory."""

from __future__ import annotations

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
