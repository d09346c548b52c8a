"""The frameworks pages in a browser: from the scorecard to a cluster's CIS controls, the counts
as the API gives them, down to a finding; the fleet's page down to the failing clusters."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from posture.checks.frameworks.data import framework
from tests.browser.axe import blocking_violations, describe
from tests.browser.conftest import DESKTOP, PHONE, open_page, sign_in


def test_a_clusters_cis_page_shows_the_apis_counts_and_leads_to_its_findings(signed_in, alice,
                                                                              fleet):
    cluster = fleet(alice, scenarios=("typical",))["typical"]
    page: Page = signed_in(alice)
    page.goto(cluster.get_absolute_url())
    page.get_by_role("link", name="Frameworks", exact=True).last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Frameworks for typical")
    page.get_by_role("link", name=framework("cis").label).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{framework('cis').label} for typical")

    body = page.request.get(f"/api/v1/clusters/{cluster.pk}/frameworks/cis/").json()
    for status, count in body["counts"].items():
        expect(page.locator(f'#framework-counts li[data-status="{status}"] .count')
               ).to_have_text(str(count))
    expect(page.locator("tr.control")).to_have_count(len(framework("cis").controls))
    assert body["counts"]["failed"] > 0, "the typical cluster fails some control"
    failed = next(c for c in body["controls"] if c["status"] == "failed" and c["findings"])
    row = page.locator(f'tr.control[data-control="{failed["id"]}"]')
    expect(row.locator(".control-status")).to_have_text("Failed")
    row.locator("summary").click()
    first = failed["findings"][0]
    link = row.locator(f'a[href="/findings/{first["id"]}/"]')
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(f"{page.url.split('/findings/')[0]}/findings/{first['id']}/")


def test_the_fleet_page_leads_to_the_clusters_failing_a_control(signed_in, sam, fleet):
    clusters = fleet(sam, scenarios=("typical", "neglected"))
    page: Page = signed_in(sam)
    page.goto("/")
    page.locator("#nav-frameworks").click()
    expect(page.locator("#nav-frameworks")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name=framework("cis").label).click()
    body = page.request.get("/api/v1/frameworks/cis/").json()
    control = max(body["controls"], key=lambda c: c["clusters"]["failed"])
    assert control["clusters"]["failed"] > 0
    row = page.locator(f'tr.control[data-control="{control["id"]}"]')
    expect(row.locator("td.failed")).to_have_text(str(control["clusters"]["failed"]))
    row.locator("td.failed a").click()
    failing = page.locator("#failing-clusters tbody th a")
    expect(failing).to_have_text(sorted(c["name"] for c in control["failed_clusters"]))
    failing.first.click()
    expect(page.locator(f'tr.control[data-control="{control["id"]}"]')).to_have_attribute(
        "data-status", "failed")
    assert set(clusters) >= {c["name"] for c in control["failed_clusters"]}


def test_the_frameworks_pages_have_no_serious_axe_violations(browser: Browser, live_server,
                                                             alice, fleet):
    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    paths = [f"/clusters/{cluster.pk}/frameworks/", f"/clusters/{cluster.pk}/frameworks/cis/",
             f"/clusters/{cluster.pk}/frameworks/nsa/", "/frameworks/", "/frameworks/nsa/",
             "/frameworks/cis/5.2.2/"]
    problems: list[str] = []
    for viewport in (DESKTOP, PHONE):
        # axe goes in as an inline script, which the pages' CSP rightly refuses.
        ctx = browser.new_context(base_url=live_server.url, viewport=viewport, bypass_csp=True)
        sign_in(ctx, live_server.url, alice)
        page = ctx.new_page()
        for path in paths:
            open_page(page, path)
            # Open every drill-down: axe checks what is inside as well.
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            problems += describe(f"{path} {viewport['width']}px", blocking_violations(page))
        ctx.close()
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
