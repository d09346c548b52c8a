"""Severity and category: one declaration, readable colours, a stable order."""

from __future__ import annotations

import pytest

from posture.checks.vocabulary import Category, Severity


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("member", [*Severity, *Category])
def test_colour_is_readable_on_white(member: Severity | Category) -> None:
    contrast = 1.05 / (_luminance(member.colour) + 0.05)
    assert contrast >= 4.5, f"{member} {member.colour} contrast {contrast:.2f}"


def test_severities_order_most_severe_first() -> None:
    assert [str(s) for s in Severity.ordered()] == ["critical", "high", "medium", "low", "info"]
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.INFO.rank
    assert Severity.CRITICAL.label == "Critical"


def test_categories_have_a_display_order_and_distinct_colours() -> None:
    assert [str(c) for c in Category.ordered()] == [
        "version",
        "nodes",
        "workloads",
        "images",
        "network",
        "access",
        "vulnerabilities",
    ]
    assert len({c.colour for c in Category}) == len(Category)
    assert len({s.colour for s in Severity}) == len(Severity)
