"""Findings built in bulk by the engine are the same objects ``Finding(...)`` makes."""

from __future__ import annotations

import dataclasses

import pytest

from posture.checks.results import Finding, build_findings
from posture.checks.vocabulary import Category, Severity

ROWS = [
    ("Deployment", "shop", "web", "app", "Container app runs as root", {"runAsUser": 0}),
    ("Namespace", "", "shop", "", "no default deny", {}),
]


def test_built_findings_equal_constructed_ones_field_by_field() -> None:
    built = build_findings("workload.runs-as-root", Severity.HIGH, Category.WORKLOADS, ROWS)
    made = [Finding("workload.runs-as-root", Severity.HIGH, Category.WORKLOADS, *r) for r in ROWS]
    assert [type(f) for f in built] == [Finding, Finding]
    assert built == made
    assert [hash(f) for f in built] == [hash(f) for f in made]
    assert [dataclasses.astuple(f) for f in built] == [dataclasses.astuple(f) for f in made]
    assert built[0].evidence is ROWS[0][5]


def test_built_findings_are_frozen() -> None:
    (finding, _) = build_findings("c", Severity.LOW, Category.NETWORK, ROWS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.message = "changed"  # type: ignore[misc]
    assert dataclasses.replace(finding, message="changed").message == "changed"
    assert finding.message == ROWS[0][4]
