"""Fleet findings in the browser: find a check across the fleet, narrow it by severity, drill
into it and reach the cluster's checklist where it is fixed."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from posture.checks import CATALOG
from posture.domain.models import Finding


def test_filter_by_severity_drill_into_a_check_and_reach_a_checklist(signed_in, alice, fleet):
    clusters = fleet(alice)
    open_rows = Finding.objects.filter(cluster__in=clusters.values(), resolved_at__isnull=True)
    checks = set(open_rows.values_list("check_id", flat=True))
    critical = {c for c in checks if CATALOG[c].severity == "critical"}
    assert critical and critical != checks, "the scenarios must mix severities"

    page: Page = signed_in(alice)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Findings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Findings across the fleet")
    rows = page.locator("#fleet-findings-table tbody tr")
    expect(rows).to_have_count(len(checks))

    page.get_by_label("Severity").select_option(label="Critical")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(len(critical))
    assert {r.get_attribute("data-check") for r in rows.all()} == critical
    for badge in rows.locator("td:first-child").all():
        expect(badge).to_have_text("Critical")

    # The most widespread critical check comes first; open it.
    first = rows.first
    check_id = first.get_attribute("data-check")
    assert check_id
    affected = {c.name for c in clusters.values()
                if open_rows.filter(cluster=c, check_id=check_id).exists()}
    expect(first.locator("td").nth(2)).to_contain_text(f"{len(affected)} of {len(clusters)}")
    first.get_by_role("link", name=CATALOG[check_id].title).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(CATALOG[check_id].title)
    # The severity filter travels with the drill-down.
    expect(page.get_by_label("Severity")).to_have_value("critical")
    listed = page.locator("#fleet-check-clusters tbody th[scope=row] > a")
    expect(listed).to_have_count(len(affected))
    assert set(listed.all_inner_texts()) == affected
    name = sorted(affected)[0]
    section = page.locator(f"section.cluster-findings[data-cluster='{clusters[name].pk}']")
    expect(section.locator("tbody tr")).to_have_count(
        open_rows.filter(cluster=clusters[name], check_id=check_id).count())

    page.get_by_role("link", name=f"{name}'s checklist").click()
    anchor = check_id.replace(".", "-")
    expect(page).to_have_url(re.compile(
        rf"/clusters/{clusters[name].pk}/checklist/#check-{re.escape(anchor)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Checklist for {name}")
    expect(page.locator(f'#checklist .check-group[data-check="{check_id}"]')).to_be_visible()
