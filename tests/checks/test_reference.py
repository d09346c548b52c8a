"""The engine gives exactly the recorded findings on the generated cluster, under every policy.

Guards speed work on the engine: findings, messages, evidence, order, counts and the check-set
version must not move. Re-record after a deliberate rule change:
``python -m tests.checks.reference``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.checks.generated import POLICIES
from tests.checks.reference import current, recorded


@pytest.fixture(scope="module")
def evaluations() -> tuple[dict[str, Any], dict[str, Any]]:
    return current(), recorded()


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_findings_match_the_recorded_reference(
    evaluations: tuple[dict[str, Any], dict[str, Any]], policy: str
) -> None:
    now, then = evaluations[0][policy], evaluations[1][policy]
    assert len(then["findings"]) > 1000, "the reference must be a real workout"
    for index, (new, old) in enumerate(zip(now["findings"], then["findings"], strict=False)):
        assert new == old, f"finding {index} differs"
    assert len(now["findings"]) == len(then["findings"])
    assert now == then
