"""Chart builders (pure functions) and serving plotly.js from static files."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.templatetags.static import static
from django.test import override_settings

from posture.checks.vocabulary import Category, Severity
from posture.domain.scoring import NOT_EVALUATED_COLOUR, NOT_EVALUATED_LABEL, Grade
from posture.lifecycle import SupportStatus
from posture.site.staticfinders import PLOTLY_PATH, PlotlyFinder
from posture.web import charts
from posture.web.charts import BAR_WIDTH_MS, CLUSTER_COLOURS, FleetPoint, Runway, Span, TrendPoint

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
DAY = date(2026, 3, 1)
VOCABULARY_COLOURS = ({s.colour for s in Severity} | {c.colour for c in Category}
                      | {g.colour for g in Grade} | {r.colour for r in Runway}
                      | set(CLUSTER_COLOURS))
ONE_DAY_MS = 86_400_000


def _colours(figure: dict) -> set[str]:
    found = set()
    for trace in figure["data"]:
        for part in ("line", "marker"):
            colour = (trace.get(part) or {}).get("color")
            if colour:
                found.add(colour)
        for _, colour in trace.get("colorscale") or []:
            found.add(colour)
    return found


def _point(offset: int, **fields) -> TrendPoint:
    values = dict(day=DAY + timedelta(days=offset), score=70.0 + offset,
                  categories={"workloads": 50.0 + offset}, severities={"high": offset},
                  version="v1.33.1", minors_behind=1, patches_behind=offset,
                  os_runway={"eol": 1, "later": 2})
    values.update(fields)
    return TrendPoint(**values)


def _fleet(*points: tuple[date, float | None]) -> list[FleetPoint]:
    return [FleetPoint(day, score, "" if score is None else str(Grade.for_score(score)))
            for day, score in points]


def test_fleet_chart_has_one_trace_per_cluster_with_the_grade_of_each_day():
    series = {"beta": _fleet((DAY, 81.26), (DAY + timedelta(days=1), 92.0)),
              "alpha": _fleet((DAY, 55.0))}
    chart = charts.fleet_scores(series)
    assert chart.trace_names == ["alpha", "beta"]
    beta = chart.figure["data"][1]
    assert beta["y"] == [81.3, 92.0]
    assert beta["x"] == [DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()]
    assert beta["customdata"] == ["B", "A"]
    assert "%{fullData.name}" in beta["hovertemplate"]
    assert "%{customdata}" in beta["hovertemplate"]
    assert [row[0] for row in chart.table.rows] == ["alpha", "beta"]


def test_fleet_chart_colours_clusters_apart_and_shows_grades_as_bands():
    # Three clusters of the same grade used to be three identical red lines.
    series = {name: _fleet((DAY, 20.0 + i), (DAY + timedelta(days=1), 25.0 + i))
              for i, name in enumerate(("c", "a", "b"))}
    chart = charts.fleet_scores(series)
    lines = [trace["line"] for trace in chart.figure["data"]]
    assert len({line["color"] for line in lines}) == 3
    assert {line["color"] for line in lines} <= set(CLUSTER_COLOURS)
    assert Grade.F.colour not in {line["color"] for line in lines}
    assert all("markers" in trace["mode"] for trace in chart.figure["data"])
    bands = [s for s in chart.figure["layout"]["shapes"] if s["type"] == "rect"]
    assert {(b["y0"], b["fillcolor"]) for b in bands} == {(g.minimum, g.colour) for g in Grade}
    # Past the palette's length, the colours come round with another dash: no two lines alike.
    many = charts.fleet_scores({f"c{i:02}": _fleet((DAY, 50.0)) for i in range(21)})
    styles = {(t["line"]["color"], t["line"]["dash"]) for t in many.figure["data"]}
    assert len(styles) == 21


def test_fleet_chart_of_new_clusters_has_a_dated_week_up_to_today():
    chart = charts.fleet_scores({"new": _fleet((DAY, 40.0))}, Span(until=DAY + timedelta(days=2)))
    axis = chart.figure["layout"]["xaxis"]
    assert axis["type"] == "date"
    first, last = _range_days(axis)
    assert last >= DAY + timedelta(days=2)
    assert (last - first).days + 1 >= charts.MIN_SPAN_DAYS
    assert chart.figure["data"][0]["mode"] == "lines+markers"


def test_heatmap_is_clusters_by_categories_in_grade_colours():
    chart = charts.category_heatmap([("a", {"workloads": 42.0, "access": 95.0}), ("b", {})])
    heatmap = chart.figure["data"][0]
    assert heatmap["y"] == ["a", "b"]
    assert heatmap["x"] == [c.label for c in Category.ordered()]
    workloads = [c for c in Category.ordered()].index(Category.WORKLOADS)
    assert heatmap["z"][0][workloads] == 42.0
    assert heatmap["z"][1] == [None] * len(Category)
    assert {colour for _, colour in heatmap["colorscale"]} == {g.colour for g in Grade}


def test_heatmap_shows_not_evaluated_categories_grey_never_in_a_grades_colour():
    chart = charts.category_heatmap(
        [("a", {"workloads": 42.0}), ("b", {"workloads": 90.0})],
        [{"version", "vulnerabilities"}, set()])
    scores, grey = chart.figure["data"]
    version = Category.ordered().index(Category.VERSION)
    workloads = Category.ordered().index(Category.WORKLOADS)
    assert scores["z"][0][version] is None  # no score, so no grade colour
    assert grey["z"][0][version] == 0 and grey["z"][0][workloads] is None
    assert grey["z"][1] == [None] * len(Category)
    assert grey["text"][0][version] == NOT_EVALUATED_LABEL
    assert {colour for _, colour in grey["colorscale"]} == {NOT_EVALUATED_COLOUR}
    assert NOT_EVALUATED_COLOUR not in {g.colour for g in Grade}
    assert "not evaluated" in grey["hovertemplate"] and grey["showscale"] is False
    assert chart.table.rows[0][1 + version] == NOT_EVALUATED_LABEL
    assert chart.table.rows[0][1 + workloads] == 42.0
    # Without any such cell there is no second trace.
    assert len(charts.category_heatmap([("a", {"workloads": 1.0})]).figure["data"]) == 1


def test_trend_charts_use_only_vocabulary_colours():
    points = [_point(i) for i in range(3)]
    built = [charts.score_trend(points, []), charts.severity_trend(points, []),
             charts.version_lag_trend(points), charts.os_runway_trend(points),
             charts.fleet_scores({"a": _fleet((DAY, 1.0))}),
             charts.category_heatmap([("a", {})])]
    # The score line is drawn in the page's ink colour, the one colour that is not a vocabulary's.
    allowed = VOCABULARY_COLOURS | {"#1c2430"}
    for chart in built:
        assert _colours(chart.figure) <= allowed, chart.key


def test_severity_trend_stacks_one_trace_per_severity_in_its_colour():
    chart = charts.severity_trend([_point(0), _point(1)], [])
    by_name = {t["name"]: t for t in chart.figure["data"]}
    assert set(by_name) == {s.label for s in Severity}
    assert by_name["High"]["marker"]["color"] == Severity.HIGH.colour
    assert by_name["High"]["y"] == [0, 1]
    assert chart.figure["layout"]["barmode"] == "stack"


def test_checkset_changes_become_vertical_markers():
    change = (DAY + timedelta(days=1), HOSTILE)
    chart = charts.score_trend([_point(0), _point(1), _point(2)], [change])
    lines = [s for s in chart.figure["layout"]["shapes"] if s["type"] == "line"]
    assert [(s["x0"], s["x1"]) for s in lines] == [(change[0].isoformat(),) * 2]
    [note] = [a for a in chart.figure["layout"]["annotations"] if a["text"] == "checks changed"]
    assert HOSTILE not in note["hovertext"] and ESCAPED in note["hovertext"]
    assert change[0].isoformat() in chart.note


def test_a_scoring_model_change_is_marked_like_a_checkset_change():
    day = DAY + timedelta(days=1)
    chart = charts.score_trend([_point(0), _point(1), _point(2)], [], scoring=[(day, "2")])
    lines = [s for s in chart.figure["layout"]["shapes"] if s["type"] == "line"]
    assert [(s["x0"], s["line"]["dash"]) for s in lines] == [(day.isoformat(), "dot")]
    [note] = [a for a in chart.figure["layout"]["annotations"] if "changed" in a["text"]]
    assert (note["text"], note["hovertext"]) == ("scoring changed", "Scoring model 2")
    assert f"The scoring model changed on {day.isoformat()} (model 2)" in chart.note
    assert "check set" not in chart.note


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_cluster_text_is_escaped_in_figures():
    fleet = charts.fleet_scores({HOSTILE: _fleet((DAY, 50.0))})
    assert fleet.trace_names == [ESCAPED]
    assert HOSTILE not in json.dumps(fleet.figure)
    heat = charts.category_heatmap([(HOSTILE, {})])
    assert heat.figure["data"][0]["y"] == [ESCAPED]
    lag = charts.version_lag_trend([_point(0, version=HOSTILE)])
    assert lag.figure["data"][0]["customdata"] == [ESCAPED]
    # Tables are rendered by templates, which escape on their own: they keep the raw text.
    assert fleet.table.rows[0][0] == HOSTILE


# A cluster whose first poll was on DAY, seen five days later.
NEW = Span(until=DAY + timedelta(days=5), history_start=DAY)


def _every_builder() -> list[charts.Chart]:
    points = [_point(0), _point(1, score=None, categories={}, minors_behind=None), _point(2)]
    return [
        charts.fleet_scores({HOSTILE: _fleet((DAY, 50.04)),
                             "b": _fleet((DAY, 81.26), (DAY + timedelta(days=1), None))},
                            NEW),
        charts.fleet_scores({}),
        charts.category_heatmap([("a", {"workloads": 42.0}), (HOSTILE, {})]),
        charts.category_heatmap([("a", {"workloads": 42.0}), (HOSTILE, {})],
                                [{"version", "vulnerabilities"}, {"vulnerabilities"}]),
        charts.score_trend(points, [(DAY + timedelta(days=1), HOSTILE)]),
        charts.score_trend(points, [], NEW),
        charts.severity_trend(points, [(DAY, "v2")], NEW),
        charts.severity_trend([], []),
        charts.version_lag_trend(points, NEW),
        charts.os_runway_trend(points, NEW),
        charts.fleet_grades({"A": 3, "C": 1, "": 2}),
        charts.fleet_grades({}),
        charts.fleet_trend([(DAY, 71.5, 3), (DAY + timedelta(days=1), 72.0, 4)], NEW),
        charts.fleet_trend([]),
        charts.eol_months([(DAY.replace(day=1), HOSTILE, 3), (DAY.replace(day=1), "b", 1)], DAY),
        charts.eol_months([]),
    ]


@pytest.mark.parametrize("chart", _every_builder(), ids=lambda c: c.key)
def test_figures_are_exactly_what_plotly_would_write(chart):
    # Figures are written as plain dicts; plotly's own objects validate every property (an
    # unknown or ill-typed one raises) and serialise in plotly's normal form (a string title
    # becomes {"text": ...}, empty shape lists are dropped). Both must leave the figure as is.
    assert json.loads(pio.to_json(go.Figure(chart.figure))) == chart.figure


def test_figures_do_not_share_layout_parts():
    first, second = charts.severity_trend([_point(0)], []), charts.severity_trend([_point(0)], [])
    first.figure["layout"]["yaxis"]["title"]["text"] = "changed"
    first.figure["layout"]["template"]["layout"]["font"]["color"] = "red"
    assert second.figure["layout"]["yaxis"]["title"] == {"text": "Findings"}
    assert charts.os_runway_trend([_point(0)]).figure["layout"]["template"]["layout"]["font"][
        "color"] == "#1c2430"


def test_runway_buckets_by_status_and_days_left():
    assert Runway.of(SupportStatus.EOL, 500) is Runway.EOL
    assert Runway.of(SupportStatus.UNKNOWN, None) is Runway.UNKNOWN
    assert Runway.of(SupportStatus.SUPPORTED, 90) is Runway.SOON
    assert Runway.of(SupportStatus.EXTENDED, 90) is Runway.SOON
    assert Runway.of(SupportStatus.EXTENDED, 900) is Runway.EXTENDED
    assert Runway.of(SupportStatus.MAINTENANCE, 91) is Runway.YEAR
    assert Runway.of(SupportStatus.SUPPORTED, 366) is Runway.LATER


PLOTLY_FILE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def test_finder_exposes_only_the_bundled_plotly_file():
    assert Path(finders.find(PLOTLY_PATH)).resolve() == PLOTLY_FILE
    finder = PlotlyFinder()
    assert [path for path, _ in finder.list([])] == ["plotly.min.js"]
    assert finder.find("vendor/widgetbundle.js") == ""
    assert finder.find(PLOTLY_PATH, find_all=True) == [str(PLOTLY_FILE)]
    assert finder.check() == []


def test_collectstatic_copies_plotly_under_vendor(tmp_path):
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND":
                                "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", "--noinput", "-v0")
    copied = tmp_path / "vendor" / "plotly.min.js"
    assert copied.read_bytes() == PLOTLY_FILE.read_bytes()
    assert not (tmp_path / "vendor" / "widgetbundle.js").exists()


@pytest.mark.django_db
def test_pages_load_plotly_from_static_never_a_cdn(as_alice, alice):
    from django.urls import reverse
    from django.utils import timezone

    from tests.factories import ClusterFactory
    from tests.posture.snapshot_factories import snapshot

    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, timezone.now())
    page = as_alice.get(reverse("home")).content.decode()
    assert f'<script src="{static(PLOTLY_PATH)}" defer></script>' in page
    assert "cdn" not in page.lower()
    assert "<script>" not in page  # no inline script: json_script blocks only


# --- Time axes of new and short histories ------------------------------------------------------


def _range_days(axis: dict) -> tuple[date, date]:
    """Return the first and last whole day an x-axis range shows (half a day of margin each side)."""
    start, end = (datetime.fromisoformat(edge) for edge in axis["range"])
    return (start + timedelta(hours=12)).date(), (end - timedelta(hours=12)).date()


def _trend_charts(points: list[TrendPoint], span: Span) -> list[charts.Chart]:
    return [charts.score_trend(points, [], span), charts.severity_trend(points, [], span),
            charts.version_lag_trend(points, span), charts.os_runway_trend(points, span)]


@pytest.mark.parametrize("polls", [1, 2])
def test_a_new_clusters_charts_show_dated_points_on_a_week(polls):
    points = [_point(offset, severities={"high": 2}) for offset in range(polls)]
    today = points[-1].day
    for chart in _trend_charts(points, Span(until=today, history_start=DAY)):
        axis = chart.figure["layout"]["xaxis"]
        assert axis["type"] == "date", chart.key
        first, last = _range_days(axis)
        assert (first, last) == (today - timedelta(days=charts.MIN_SPAN_DAYS - 1), today)
        assert first <= DAY
        for trace in chart.figure["data"]:
            if trace["type"] == "scatter":
                # A line through one point draws nothing: every day's value is a marker too.
                assert "markers" in trace["mode"], (chart.key, trace["name"])
            else:
                # A single day's bar is a day wide, not the whole axis.
                assert trace["width"] == BAR_WIDTH_MS < ONE_DAY_MS
        assert "History starts on 2026-03-01" in chart.note, chart.key
        assert not chart.empty, chart.key
        shade = [s for s in chart.figure["layout"]["shapes"] if s.get("xref") == "x"
                 and s["type"] == "rect"]
        assert [(s["x0"], s["x1"]) for s in shade] == [(axis["range"][0], "2026-02-28 12:00:00")]


def test_the_axis_runs_to_today_so_days_without_a_poll_show():
    points = [_point(0), _point(1)]
    score = charts.score_trend(points, [], Span(until=DAY + timedelta(days=20)))
    first, last = _range_days(score.figure["layout"]["xaxis"])
    assert (first, last) == (DAY, DAY + timedelta(days=20))


def test_a_long_history_starts_its_axis_at_its_first_day_without_a_note():
    points = [_point(offset) for offset in range(30)]
    chart = charts.severity_trend(points, [], Span(until=points[-1].day))
    assert _range_days(chart.figure["layout"]["xaxis"]) == (DAY, points[-1].day)
    assert "History starts" not in chart.note
    assert [s for s in chart.figure["layout"].get("shapes", []) if s["type"] == "rect"] == []


def test_a_chart_with_nothing_to_draw_says_so():
    blank = [_point(0, score=None, categories={}, severities={}, minors_behind=None,
                    patches_behind=None, os_runway={})]
    for chart in _trend_charts(blank, Span()):
        assert chart.empty, chart.key
    assert charts.fleet_scores({}).empty
    assert charts.fleet_scores({"a": _fleet((DAY, None))}).empty
    for chart in _trend_charts([_point(1)], Span()):
        assert chart.empty == "", chart.key
    # Zero findings on every day is a fact worth stating, not an empty frame of zero bars.
    assert charts.severity_trend([_point(0, severities={"high": 0})], []).empty
