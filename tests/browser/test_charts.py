"""Plotly charts draw on the overview, the scorecard and the trends page."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def expect_drawn_charts(page: Page) -> int:
    """Assert every chart container on the page holds a drawn plot; return how many."""
    plots = page.locator(".plot[data-figure]")
    expect(plots.first).to_be_attached()
    for plot in plots.all():
        expect(plot.locator(".main-svg").first).to_be_visible()
        # A drawn plot has traces (paths), not just empty axes.
        expect(plot.locator(".main-svg path").first).to_be_attached()
        # charts.js folds the data table away once the chart is drawn.
        expect(plot.locator("xpath=..").locator("details.chart-data")).not_to_have_attribute(
            "open", "")
    return plots.count()


def test_charts_render_as_svg(signed_in, alice, fleet):
    typical = fleet(alice, days=3, scenarios=("typical", "neglected"))["typical"]
    page: Page = signed_in(alice)
    for url in ("/", typical.get_absolute_url(), f"/clusters/{typical.pk}/trends/"):
        page.goto(url)
        assert expect_drawn_charts(page) >= 1, url
