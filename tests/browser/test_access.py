"""An owner cannot reach another owner's cluster in the browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_bob_gets_404_for_alices_cluster_and_does_not_see_it(signed_in, alice, bob, fleet):
    theirs = fleet(alice, scenarios=("typical",))["typical"]
    mine = fleet(bob, scenarios=("well-kept",))["well-kept"]
    page: Page = signed_in(bob)
    for url in (theirs.get_absolute_url(), f"/clusters/{theirs.pk}/checklist/",
                f"/clusters/{theirs.pk}/trends/", f"/clusters/{theirs.pk}/findings.csv"):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        expect(page.get_by_text(theirs.name, exact=True)).to_have_count(0)

    page.goto("/")
    rows = page.locator("#fleet-table tbody th[scope=row] > a")
    expect(rows).to_have_text([mine.name])
    page.goto("/clusters/")
    expect(page.get_by_role("link", name=theirs.name, exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name=mine.name, exact=True)).to_be_visible()
