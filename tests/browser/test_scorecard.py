"""The scorecard of the neglected cluster, read as a security engineer reads it.

Every figure the page marks (``data-number``) is checked against the JSON API's scorecard, which
is the same computation: the page may not show a number the API does not give.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from playwright.sync_api import Locator, Page

from posture.checks import CATALOG


def one_decimal(value: float) -> str:
    """Format as the template's ``floatformat:1`` does (half up, on the number as written)."""
    return str(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def signed(value: float) -> str:
    """Format as the template's ``signed`` filter does."""
    if value > 0:
        return f"+{value:.1f}"
    if value < 0:
        return f"\u2212{abs(value):.1f}"
    return "0.0"


def figure(scope: Locator, name: str) -> str:
    return scope.locator(f'[data-number="{name}"]').inner_text().strip()


def test_neglected_scorecard_ranks_by_risk_and_matches_the_api(signed_in, alice, fleet):
    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    page: Page = signed_in(alice)
    page.goto(cluster.get_absolute_url())
    api: dict[str, Any] = page.request.get(f"/api/v1/clusters/{cluster.pk}/scorecard/").json()
    checked = 0

    # The headline and what holds it down.
    head = page.locator("#scorecard-grade")
    assert figure(head, "score") == one_decimal(api["score"])
    checked += 1
    assert api["grade"] == "F" and page.locator(f".grade-{api['grade']}.big").count() == 1
    caps = head.locator(".grade-cap")
    assert [c.get_attribute("data-cap") for c in caps.all()] == [c["cap"] for c in api["caps"]]
    for cap, text in zip(api["caps"], caps.all_inner_texts(), strict=True):
        assert text.startswith(f"Capped at {cap['grade']} while {cap['reason']}")
        assert ("the score is below the cap already" in text) is not cap["cuts"]
    assert "At most" not in page.content()
    for name, key in (("uncapped-score", "uncapped_score"), ("cap-points", "cap_points")):
        if head.locator(f'[data-number="{name}"]').count():
            assert figure(head, name) == one_decimal(api[key])
            checked += 1
    for name, key in (("waived-points", "waived_points"), ("platform-points", "platform_points")):
        if head.locator(f'[data-number="{name}"]').count():
            # Points the score leaves out, said as what they would cost, not as a gain.
            assert figure(head, name) == one_decimal(api[key])
            checked += 1
    assert api["platform"] > 0, "kube-system's DaemonSets are platform-managed"

    # Fix first: the head of the ranked list, risk first, its points the second figure.
    fixes = page.locator("#top-fixes li[data-check]")
    listed = fixes.all()
    assert len(listed) == api["shown_fixes"] >= 5
    for item, fix in zip(listed, api["fixes"], strict=False):
        assert item.get_attribute("data-check") == fix["check"]
        assert item.get_attribute("data-severity") == fix["severity"]
        assert figure(item, "regained") == signed(fix["points_gained"])
        checked += 1
        where = ("cluster-wide" if fix["scope"] == "cluster"
                 else f"{fix['affected']} of {fix['out_of']} {fix['scope']}s")
        assert where in item.inner_text()
    assert listed[0].get_attribute("data-severity") in ("critical", "high")
    top = [fix["severity"] for fix in api["fixes"][:5]]
    assert set(top) <= {"critical", "high"}, top
    # No system DaemonSet among them: they are platform-managed.
    assert "kube-proxy" not in page.locator("#top-fixes").inner_text()

    # The path to the next grade is a prefix of that same list.
    plan = page.locator("#plan-to-grade")
    path = api["path"]
    assert plan.get_attribute("data-steps") == (str(path["steps"]) if path["reachable"] else "")
    if path["reachable"]:
        assert path["steps"] <= len(listed)
        assert figure(plan, "path-score") == one_decimal(path["score"])
        checked += 1
        assert f"grade-{path['target']}" in plan.inner_html()

    # Every category, and in each every deduction with its three labelled figures.
    for name, category in api["categories"].items():
        card = page.locator(f'details[data-category="{name}"]')
        if category["evaluated"]:
            assert figure(card, "category-score") == one_decimal(category["score"])
        else:
            assert figure(card, "category-score") == "not evaluated"
        checked += 1
        rows = card.locator("tr[data-check]")
        assert rows.count() == len(category["deductions"])
        for row, deduction in zip(rows.all(), category["deductions"], strict=True):
            assert row.get_attribute("data-check") == deduction["check"]
            assert figure(row, "points") == f"\u2212{one_decimal(deduction['points'])}"
            assert figure(row, "overall") == f"\u2212{one_decimal(deduction['overall'])}"
            assert figure(row, "regained") == signed(deduction["regained"])
            checked += 3
    headers = page.locator("#category-scores thead").first.inner_text()
    for label in ("Lost in category", "Of the overall score", "Regained by fixing"):
        assert label.upper() in headers.upper()

    # The platform-managed section lists what the score leaves out.
    platform = page.locator("#platform-managed")
    for group in api["platform_findings"]:
        row = platform.locator(f'tr[data-check="{group["check"]}"]')
        assert row.locator("td.num").inner_text() == str(group["count"])
        assert CATALOG[group["check"]].title in row.inner_text()
    assert "DaemonSet kube-system/kube-proxy" in platform.inner_text()
    assert "not scored" in platform.inner_text()

    # Nothing on the page is a figure the API does not give.
    assert page.locator("[data-number]").count() == checked
