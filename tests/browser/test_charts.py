"""Plotly charts draw on the overview, the scorecard and the trends page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE


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


DATE_TICK = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}(\d{4})?$")


def test_a_new_clusters_trends_after_one_poll_show_dated_points(signed_in, alice, fleet):
    cluster = fleet(alice, scenarios=("typical",))["typical"]  # registered, then polled once
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/trends/")
    assert expect_drawn_charts(page) == 5
    for plot in page.locator(".plot[data-figure]").all():
        ticks = plot.locator(".xaxislayer-above .xtick text").all_text_contents()
        # Days, not the fractions of a second plotly chose for a single day's points.
        assert len(ticks) >= 3, ticks
        assert all(DATE_TICK.match(tick) for tick in ticks), ticks
    score = page.locator("#plot-score-trend")
    expect(score.locator(".scatterlayer .trace").first.locator(".points path").first).to_be_visible()
    # One day's bar is about a day wide, not the whole plot.
    plot_width = page.locator("#plot-severity-trend .nsewdrag").first.bounding_box()["width"]
    bar = page.locator("#plot-severity-trend .barlayer .point path").first.bounding_box()
    assert 0 < bar["width"] < plot_width / 5
    expect(page.locator("#chart-score-trend figcaption")).to_contain_text("History starts on")


def test_charts_fit_their_card_on_a_phone(signed_in, alice, fleet):
    cluster = fleet(alice, days=1, scenarios=("typical",))["typical"]
    page: Page = signed_in(alice)
    page.set_viewport_size(PHONE)
    for url in ("/", f"/clusters/{cluster.pk}/trends/"):
        page.goto(url)
        expect_drawn_charts(page)
        # Charts are drawn while their data tables are open; a wide table must not widen them.
        for plot in page.locator(".plot[data-figure]").all():
            drawn = float(plot.locator(".main-svg").first.get_attribute("width") or 0)
            room = plot.evaluate("element => element.getBoundingClientRect().width")
            assert 0 < drawn <= room + 0.5, url
