"""The fleet overview: sorting by a column and filtering by grade and label."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from posture.domain.models import Snapshot


def row_names(page: Page) -> list[str]:
    return page.locator("#fleet-table tbody th[scope=row] > a").all_inner_texts()


def test_sorting_and_filtering_change_the_rows(signed_in, alice, fleet):
    clusters = fleet(alice)
    latest = {name: Snapshot.objects.filter(cluster=c).latest("taken_at")
              for name, c in clusters.items()}
    page: Page = signed_in(alice)
    page.goto("/")
    by_score = sorted(clusters, key=lambda name: latest[name].score)
    expect(page.locator("#fleet-table tbody tr")).to_have_count(len(clusters))
    assert row_names(page) == by_score

    table = page.locator("#fleet-table")
    table.get_by_role("link", name="Cluster").click()
    expect(table.get_by_role("columnheader", name="Cluster")).to_have_attribute(
        "aria-sort", "ascending")
    assert row_names(page) == sorted(clusters)
    table.get_by_role("link", name="Cluster").click()
    expect(table.get_by_role("columnheader", name="Cluster")).to_have_attribute(
        "aria-sort", "descending")
    assert row_names(page) == sorted(clusters, reverse=True)

    worst = by_score[0]
    grade = latest[worst].grade
    page.get_by_label("Grade").select_option(grade)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#fleet-table tbody tr")).to_have_count(
        sum(s.grade == grade for s in latest.values()))
    assert worst in row_names(page)
    assert all(latest[name].grade == grade for name in row_names(page))

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Label").fill("env=prod")
    page.get_by_role("button", name="Filter").click()
    prod = sorted(n for n, c in clusters.items() if c.labels.get("env") == "prod")
    expect(page.locator("#fleet-table tbody tr")).to_have_count(len(prod))
    assert sorted(row_names(page)) == prod
    # The sort chosen earlier survives filtering.
    assert row_names(page) == sorted(prod, reverse=True)

    page.get_by_label("Label").fill("env=nowhere")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#overview-no-match")).to_be_visible()
