"""Every check passes its passing object and fails its failing object."""

from __future__ import annotations

import pytest

from posture.checks import CATALOG, Policy, evaluate
from tests.checks.builders import TODAY, clean_inventory
from tests.checks.cases import CASES

POLICY = Policy(approved_registries=("registry.example.com",))


def test_every_catalog_check_has_a_passing_and_a_failing_case() -> None:
    assert sorted(CASES) == sorted(CATALOG)


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_failing_object_gives_a_finding(check_id: str) -> None:
    case = CASES[check_id]
    result = evaluate(case.failing(), POLICY, TODAY)
    assert check_id in result.evaluated, result.not_evaluated.get(check_id)
    hits = [f for f in result.findings if f.check == check_id]
    assert hits, f"{check_id} found nothing"
    assert {f.kind for f in hits} == {case.kind}
    assert all(f.message and f.severity == CATALOG[check_id].severity for f in hits)


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_passing_object_gives_no_finding(check_id: str) -> None:
    result = evaluate(CASES[check_id].passing(), POLICY, TODAY)
    assert check_id in result.evaluated, result.not_evaluated.get(check_id)
    assert [f for f in result.findings if f.check == check_id] == []


def test_clean_cluster_passes_every_check() -> None:
    result = evaluate(clean_inventory(), POLICY, TODAY)
    assert result.findings == []
    assert result.not_evaluated == {}
    assert sorted(result.evaluated) == sorted(CATALOG)
