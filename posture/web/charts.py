"""Plotly figures for the dashboard, built from snapshot aggregates only.

Every builder is a pure function of plain values and returns a ``Chart``: the figure as plotly
JSON (for the ``figure_json`` filter and ``static/js/charts.js``) and the same numbers as a
table, which the page shows when JavaScript is off. Plotly renders trace names, axis labels and
hover text as HTML, so every string that came from a cluster goes into a figure through
``_shown``: in its visible form (a bidi override reads ``\\u202e``: ``posture.checks.hidden``),
then escaped. Colours come from the vocabulary enums (``Severity``, ``Category``, ``Grade``) and,
for telling clusters apart, from ``CLUSTER_COLOURS``; nowhere else.

Time charts have one point per day on a date axis that spans at least ``MIN_SPAN_DAYS`` and runs
to today, so a new cluster's single poll is a dot on a dated week rather than a line of no length
on an axis of milliseconds, and days without a poll show as such. A chart with nothing to draw
carries an ``empty`` message, which the page shows instead of an empty frame.

Figures are written as the plain dicts of plotly's JSON schema rather than built from
``plotly.graph_objects``: those validate and copy every point, which cost most of a page's time
with a fleet's history (50 lines of 90 days took about 60 ms of CPU). The tests check each
figure against plotly's own validators.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from django.utils.html import escape

from posture.checks.hidden import visible
from posture.checks.vocabulary import Category, Severity
from posture.domain.scoring import NOT_EVALUATED_COLOUR, NOT_EVALUATED_LABEL, Grade
from posture.lifecycle import SupportStatus

# Text and grid colours match the stylesheet's ink and line colours.
_INK = "#1c2430"
_GRID = "#d8dee6"
_LAYOUT: dict[str, Any] = {
    # An explicit minimal template keeps plotly's default theme (about 10 kB) out of each page.
    "template": {"layout": {"font": {"family": "system-ui, sans-serif", "color": _INK}}},
    "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
    "height": 320,
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "hovermode": "x unified",
    "legend": {"orientation": "h", "y": -0.18},
    "xaxis": {"gridcolor": _GRID, "linecolor": _GRID},
    "yaxis": {"gridcolor": _GRID, "linecolor": _GRID, "zeroline": False},
}

# A time chart shows at least a week, so that one or two polls sit on a readable axis of days.
MIN_SPAN_DAYS = 7
_DAY_MS = 86_400_000
# A day's bar covers most of its day, whether the chart holds one day or a year of them.
BAR_WIDTH_MS = int(_DAY_MS * 0.8)

# Colours that tell clusters apart on the fleet chart: Okabe and Ito's colour-blind-safe set and
# three of Paul Tol's, each at least 3:1 against white (WCAG's minimum for lines). Past the
# seventh cluster the colours come round again with another dash, so 21 lines stay distinct.
CLUSTER_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#882255", "#999933", "#332288", "#cc79a7")
CLUSTER_DASHES = ("solid", "dash", "dot")


def _shown(text: str) -> str:
    """Return cluster text as a figure may hold it: visible form, then HTML-escaped."""
    return str(escape(visible(text)))


def cluster_line(index: int) -> dict[str, Any]:
    """Return the line style of the ``index``-th cluster on a chart (0 first)."""
    colours = len(CLUSTER_COLOURS)
    return {"color": CLUSTER_COLOURS[index % colours],
            "dash": CLUSTER_DASHES[(index // colours) % len(CLUSTER_DASHES)], "width": 2}


@dataclass(frozen=True)
class Table:
    """The chart's numbers for readers without JavaScript (or screen readers)."""

    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]


@dataclass(frozen=True)
class Chart:
    """A figure (plotly JSON) with its caption and its table; ``key`` names its DOM ids."""

    key: str
    title: str
    figure: dict[str, Any]
    table: Table
    note: str = ""
    # Set when there is nothing to draw: the page says this instead of drawing an empty frame.
    empty: str = ""

    @property
    def figure_id(self) -> str:
        """Return the id of the element holding the figure's JSON."""
        return f"figure-{self.key}"

    @property
    def trace_names(self) -> list[str]:
        """Return the (escaped) names of the figure's traces, in order."""
        return [str(trace.get("name", "")) for trace in self.figure.get("data", [])]


@dataclass(frozen=True)
class Span:
    """The days a time chart covers: up to ``until`` (today), and when its history starts.

    ``history_start`` is the day of the first successful poll ever, when it falls in the chosen
    range: the chart says so, since an empty stretch before it is not a gap in polling.
    """

    until: date | None = None
    history_start: date | None = None


class FleetPoint(NamedTuple):
    """One day of one cluster on the fleet chart: the day's last successful poll."""

    day: date
    score: float | None
    grade: str


class TrendPoint(NamedTuple):
    """One day of a cluster's history, as the trend charts read it."""

    day: date
    score: float | None
    categories: Mapping[str, float]
    severities: Mapping[str, int]
    version: str
    minors_behind: int | None
    patches_behind: int | None
    os_runway: Mapping[str, int]


class Runway(StrEnum):
    """How long a node's OS keeps vendor support, the buckets of the node OS chart."""

    EOL = "eol"
    SOON = "soon"
    EXTENDED = "extended"
    YEAR = "year"
    LATER = "later"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        """Return the human label."""
        return _RUNWAY[self][0]

    @property
    def colour(self) -> str:
        """Return the display colour, borrowed from the severity or grade it matches."""
        return _RUNWAY[self][1]

    @classmethod
    def of(cls, status: SupportStatus, days_left: int | None) -> Runway:
        """Return the bucket of an OS in support ``status`` with ``days_left`` of any support."""
        if status == SupportStatus.EOL:
            return cls.EOL
        if days_left is None:
            return cls.UNKNOWN
        if days_left <= 90:
            return cls.SOON
        if status == SupportStatus.EXTENDED:
            return cls.EXTENDED
        return cls.YEAR if days_left <= 365 else cls.LATER


_RUNWAY: dict[Runway, tuple[str, str]] = {
    Runway.EOL: ("Past end of life", Severity.CRITICAL.colour),
    Runway.SOON: ("End of life within 90 days", Severity.HIGH.colour),
    Runway.EXTENDED: ("Extended (paid) support only", Severity.MEDIUM.colour),
    Runway.YEAR: ("End of life within a year", Severity.LOW.colour),
    Runway.LATER: ("Supported for over a year", Grade.A.colour),
    Runway.UNKNOWN: ("Not in the lifecycle data", Severity.INFO.colour),
}


def _trace(kind: str, **properties: Any) -> dict[str, Any]:
    """Return a plotly trace of type ``kind`` (``scatter``, ``bar``, ``heatmap``)."""
    return {**properties, "type": kind}


def _figure(traces: Sequence[dict[str, Any]], **layout: Any) -> dict[str, Any]:
    # Empty shape and annotation lists are left out, as plotly's own serialiser does. A copy:
    # a figure is the caller's to change, the shared layout is not.
    merged = {**_LAYOUT, **{key: value for key, value in layout.items() if value != []}}
    return {"data": list(traces), "layout": copy.deepcopy(merged)}


def _title(text: str) -> dict[str, str]:
    return {"text": text}


def _day(value: date | datetime) -> str:
    return value.isoformat()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _edge(day: date, hours: int) -> str:
    return (datetime.combine(day, time()) + timedelta(hours=hours)).isoformat(sep=" ")


def _extent(days: Sequence[date], span: Span) -> tuple[date, date] | None:
    """Return the first and last day a time chart shows: a week or more, up to ``span.until``."""
    if not days:
        return None
    last = max(days) if span.until is None else max(span.until, max(days))
    return min(min(days), last - timedelta(days=MIN_SPAN_DAYS - 1)), last


def _day_axis(days: Sequence[date], span: Span) -> dict[str, Any]:
    """Return a date x-axis over ``_extent``, with half a day of margin either side so that each
    day's point or bar sits on its day.

    Without an explicit range plotly spans a single day's points by a millisecond either side
    and labels the axis in fractions of a second.
    """
    axis: dict[str, Any] = {**_LAYOUT["xaxis"], "type": "date", "hoverformat": "%Y-%m-%d"}
    extent = _extent(days, span)
    if extent is None:
        return axis
    return {**axis, "range": [_edge(extent[0], -12), _edge(extent[1], 12)]}


def _history_note(span: Span) -> str:
    if span.history_start is None:
        return ""
    return f"History starts on {span.history_start.isoformat()}, the first successful poll."


def _history_shade(days: Sequence[date],
                   span: Span) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return a shaded, labelled stretch (shapes, annotations) for the days the axis shows
    before the first poll."""
    extent = _extent(days, span)
    start = span.history_start
    if start is None or extent is None or extent[0] >= start:
        return [], []
    shade = {
        "type": "rect", "xref": "x", "yref": "paper", "x0": _edge(extent[0], -12),
        "x1": _edge(start, -12), "y0": 0, "y1": 1, "fillcolor": Severity.INFO.colour,
        "opacity": 0.08, "line": {"width": 0}, "layer": "below",
    }
    middle = extent[0] + (start - extent[0]) / 2
    label = {
        "xref": "x", "x": _edge(middle, -12), "yref": "paper", "y": 0.5,
        "text": "before the first poll", "showarrow": False,
        "font": {"size": 11, "color": Severity.INFO.colour},
    }
    return [shade], [label]


def _notes(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _grade_bands() -> list[dict[str, Any]]:
    """Return a faint band per grade across the plot, so a score's height reads as its grade."""
    return [
        {
            "type": "rect",
            "xref": "paper",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": grade.minimum,
            "y1": _band_top(grade),
            "fillcolor": grade.colour,
            "opacity": 0.07,
            "line": {"width": 0},
            "layer": "below",
        }
        for grade in Grade
    ]


def _grade_labels() -> list[dict[str, Any]]:
    """Return each grade's letter at the right edge of its band."""
    return [
        {
            "xref": "paper",
            "x": 1,
            "xanchor": "left",
            "yref": "y",
            "y": (grade.minimum + _band_top(grade)) / 2,
            "text": grade.label,
            "showarrow": False,
            "font": {"size": 10, "color": grade.colour},
        }
        for grade in Grade
    ]


# Room at the right for the grade letters.
_GRADED_MARGIN = {**_LAYOUT["margin"], "r": 28}


def _has_values(traces: Sequence[dict[str, Any]]) -> bool:
    return any(value is not None for trace in traces for value in trace.get("y", []))


# --- Fleet ------------------------------------------------------------------------------------


def fleet_scores(series: Mapping[str, Sequence[FleetPoint]], span: Span | None = None) -> Chart:
    """Plot each cluster's score per day, one colour (and dash) per cluster over grade bands.

    ``series`` maps a cluster name to its points, oldest first. The hover names the cluster and
    the grade of that day's poll.
    """
    span = span or Span()
    traces = []
    days: set[date] = set()
    names = sorted(series)
    for index, name in enumerate(names):
        points = series[name]
        days.update(p.day for p in points)
        traces.append(
            _trace(
                "scatter",
                x=[_day(p.day) for p in points],
                y=[_round(p.score) for p in points],
                customdata=[p.grade for p in points],
                mode="lines+markers",
                name=_shown(name),
                line=cluster_line(index),
                marker={"size": 5},
                hovertemplate="%{fullData.name}: %{y:.1f} (%{customdata})<extra></extra>",
            )
        )
    ordered = sorted(days)
    figure = _figure(
        traces,
        xaxis=_day_axis(ordered, span),
        yaxis={**_LAYOUT["yaxis"], "range": [0, 100], "title": _title("Score")},
        shapes=_grade_bands(),
        annotations=_grade_labels(),
        margin=_GRADED_MARGIN,
    )
    # The table samples weekly back from the newest day, so it stays readable without charts.
    sampled = ordered[::-1][::7][::-1]
    rows: list[tuple[object, ...]] = []
    for name in names:
        by_day = {p.day: p.score for p in series[name]}
        rows.append((name, *(_round(by_day.get(day)) for day in sampled)))
    return Chart(
        "fleet-scores",
        "Score per cluster, daily",
        figure,
        Table(("Cluster", *(day.isoformat() for day in sampled)), rows),
        note="One point per day: the day's last successful poll. Bands show the grades.",
        empty="" if _has_values(traces) else "No cluster has a score in this period.",
    )


def _grade_colourscale() -> list[list[object]]:
    """Return a stepped colour scale over 0-100 whose bands are the grades' ranges."""
    stops: list[list[object]] = []
    grades = sorted(Grade, key=lambda g: g.minimum)
    for index, grade in enumerate(grades):
        upper = grades[index + 1].minimum if index + 1 < len(grades) else 100.0
        stops.append([grade.minimum / 100, grade.colour])
        stops.append([upper / 100, grade.colour])
    return stops


def category_heatmap(
    rows: Sequence[tuple[str, Mapping[str, float]]],
    not_evaluated: Sequence[Collection[str]] = (),
) -> Chart:
    """Plot clusters (rows) by categories (columns), coloured by the grade each score earns.

    ``not_evaluated`` gives, row by row, the categories none of whose checks could run: their
    cells are grey and say "not evaluated" (a second trace, under no score), never a colour a
    score would earn. A cell with neither is left blank.
    """
    categories = Category.ordered()
    names = [_shown(name) for name, _ in rows]
    z = [[_round(scores.get(str(c))) for c in categories] for _, scores in rows]
    unknown = [
        [str(c) in (not_evaluated[i] if i < len(not_evaluated) else ()) and z[i][j] is None
         for j, c in enumerate(categories)]
        for i in range(len(rows))
    ]
    heatmap = _trace(
        "heatmap",
        z=z,
        x=[c.label for c in categories],
        y=names,
        zmin=0,
        zmax=100,
        colorscale=_grade_colourscale(),
        colorbar={"title": {"text": "Score"}, "thickness": 12},
        texttemplate="%{z:.0f}",
        textfont={"color": "#ffffff"},
        hovertemplate="%{y} · %{x}: %{z:.1f}<extra></extra>",
        xgap=2,
        ygap=2,
    )
    traces = [heatmap]
    if any(any(row) for row in unknown):
        traces.append(_trace(
            "heatmap",
            z=[[0 if cell else None for cell in row] for row in unknown],
            x=[c.label for c in categories],
            y=names,
            zmin=0,
            zmax=1,
            colorscale=[[0, NOT_EVALUATED_COLOUR], [1, NOT_EVALUATED_COLOUR]],
            showscale=False,
            text=[[NOT_EVALUATED_LABEL if cell else "" for cell in row] for row in unknown],
            texttemplate="%{text}",
            textfont={"color": "#ffffff"},
            hovertemplate=f"%{{y}} · %{{x}}: {NOT_EVALUATED_LABEL}<extra></extra>",
            name=NOT_EVALUATED_LABEL,
            xgap=2,
            ygap=2,
        ))
    figure = _figure(
        traces,
        height=max(200, 60 + 34 * len(rows)),
        hovermode="closest",
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"side": "top"},
        margin={"l": 16, "r": 16, "t": 48, "b": 16},
    )
    table = Table(
        ("Cluster", *(c.label for c in categories)),
        [(name, *(NOT_EVALUATED_LABEL if flag else value
                  for value, flag in zip(values, flags, strict=True)))
         for (name, _), values, flags in zip(rows, z, unknown, strict=True)],
    )
    return Chart("category-heatmap", "Category scores, latest poll", figure, table,
                 note="Grey cells: not evaluated (none of the category's checks could run).")


# --- One cluster ------------------------------------------------------------------------------


def _change_markers(
    changes: Sequence[tuple[date, str]], y_top: float,
    scoring: Sequence[tuple[date, str]] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return a dotted line and a label for each day the check set or the scoring model changed
    (one per day: "checks and scoring changed" when both did)."""
    by_day: dict[date, list[tuple[str, str]]] = {}
    for day, version in changes:
        by_day.setdefault(day, []).append(("checks", f"Check set {version}"))
    for day, version in scoring:
        by_day.setdefault(day, []).append(("scoring", f"Scoring model {version}"))
    shapes = []
    notes = []
    for day, what in sorted(by_day.items()):
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _day(day),
                "x1": _day(day),
                "y0": 0,
                "y1": 1,
                "line": {"color": Severity.INFO.colour, "dash": "dot", "width": 1},
            }
        )
        notes.append(
            {
                "x": _day(day),
                "y": y_top,
                "xref": "x",
                "yref": "y",
                "text": f"{' and '.join(kind for kind, _ in what)} changed",
                "hovertext": "<br>".join(_shown(detail) for _, detail in what),
                "showarrow": False,
                "yanchor": "bottom",
                "font": {"size": 10, "color": Severity.INFO.colour},
            }
        )
    return shapes, notes


def _time_figure(traces: Sequence[dict[str, Any]], points: Sequence[TrendPoint], span: Span,
                 shapes: Sequence[dict[str, Any]] = (), **layout: Any) -> dict[str, Any]:
    """Return a figure of one cluster's days: a date axis, the shade before history starts."""
    days = [p.day for p in points]
    shade, label = _history_shade(days, span)
    annotations = [*label, *layout.pop("annotations", [])]
    # One right margin for every time chart, so stacked charts' days line up.
    return _figure(traces, xaxis=_day_axis(days, span), shapes=[*shade, *shapes],
                   annotations=annotations, margin=_GRADED_MARGIN, **layout)


def score_trend(points: Sequence[TrendPoint], changes: Sequence[tuple[date, str]],
                span: Span | None = None, *, scoring: Sequence[tuple[date, str]] = ()) -> Chart:
    """Plot the score and every category's sub-score per day, over the grades' bands.

    A dotted vertical line marks each day the check set (``changes``) or the scoring model
    (``scoring``) changed: a step there may come from the rules rather than from the cluster.
    Markers show the days that have a poll.
    """
    span = span or Span()
    x = [_day(p.day) for p in points]
    traces = [
        _trace(
            "scatter",
            x=x,
            y=[_round(p.score) for p in points],
            mode="lines+markers",
            name="Score",
            line={"color": _INK, "width": 3},
            marker={"size": 7},
            hovertemplate="Score: %{y:.1f}<extra></extra>",
        )
    ]
    for category in Category.ordered():
        traces.append(
            _trace(
                "scatter",
                x=x,
                y=[_round(p.categories.get(str(category))) for p in points],
                mode="lines+markers",
                name=category.label,
                line={"color": category.colour, "width": 1.5},
                marker={"size": 4},
                visible=True,
                hovertemplate=f"{category.label}: %{{y:.1f}}<extra></extra>",
            )
        )
    shapes, notes = _change_markers(changes, 100, scoring)
    figure = _time_figure(
        traces,
        points,
        span,
        [*_grade_bands(), *shapes],
        yaxis={**_LAYOUT["yaxis"], "range": [0, 105], "title": _title("Score")},
        annotations=[*_grade_labels(), *notes],
        height=380,
    )
    categories = Category.ordered()
    table = Table(
        ("Day", "Score", *(c.label for c in categories)),
        [
            (p.day, _round(p.score), *(_round(p.categories.get(str(c))) for c in categories))
            for p in points
        ],
    )
    return Chart("score-trend", "Score and category scores", figure, table,
                 note=_notes(_history_note(span), _changes_note(changes, scoring)),
                 empty="" if _has_values(traces) else "No poll in this period has a score.")


def _band_top(grade: Grade) -> float:
    better = [g for g in Grade if g.rank == grade.rank + 1]
    return better[0].minimum if better else 100.0


def _changes_note(changes: Sequence[tuple[date, str]],
                  scoring: Sequence[tuple[date, str]] = ()) -> str:
    parts = []
    if changes:
        listed = ", ".join(f"{day.isoformat()} ({version})" for day, version in changes)
        parts.append(f"The check set changed on {listed}.")
    if scoring:
        listed = ", ".join(f"{day.isoformat()} (model {version})" for day, version in scoring)
        parts.append(f"The scoring model changed on {listed}: scores and counts before and "
                     "after are computed differently (docs/scoring.md).")
    return " ".join(parts)


def _bars(points: Sequence[TrendPoint], values: Sequence[list[int]], names: Sequence[str],
          colours: Sequence[str]) -> list[dict[str, Any]]:
    # An explicit width: plotly sizes bars by the smallest gap between days, and a single day
    # has none, so its bar would fill the whole axis.
    x = [_day(p.day) for p in points]
    return [
        _trace("bar", x=x, y=y, name=name, marker={"color": colour}, width=BAR_WIDTH_MS,
               hovertemplate=f"{name}: %{{y}}<extra></extra>")
        for y, name, colour in zip(values, names, colours, strict=True)
    ]


def _any_nonzero(values: Sequence[list[int]]) -> bool:
    return any(value for row in values for value in row)


def severity_trend(points: Sequence[TrendPoint], changes: Sequence[tuple[date, str]],
                   span: Span | None = None, *,
                   scoring: Sequence[tuple[date, str]] = ()) -> Chart:
    """Plot the open findings per day, stacked by severity (most severe on top)."""
    span = span or Span()
    severities = [s for s in reversed(Severity.ordered())]
    values = [[p.severities.get(str(s), 0) for p in points] for s in severities]
    traces = _bars(points, values, [s.label for s in severities], [s.colour for s in severities])
    top = max((sum(p.severities.values()) for p in points), default=0)
    shapes, notes = _change_markers(changes, top, scoring)
    figure = _time_figure(
        traces,
        points,
        span,
        shapes,
        barmode="stack",
        yaxis={**_LAYOUT["yaxis"], "title": _title("Findings"), "rangemode": "tozero"},
        annotations=notes,
    )
    ordered = Severity.ordered()
    table = Table(
        ("Day", *(s.label for s in ordered)),
        [(p.day, *(p.severities.get(str(s), 0) for s in ordered)) for p in points],
    )
    return Chart("severity-trend", "Findings by severity", figure, table,
                 note=_notes(_history_note(span), _changes_note(changes, scoring)),
                 empty="" if _any_nonzero(values) else "No open findings on any day shown.")


def version_lag_trend(points: Sequence[TrendPoint], span: Span | None = None) -> Chart:
    """Plot how many minor releases (and patches) the control plane trails, per day."""
    span = span or Span()
    x = [_day(p.day) for p in points]
    versions = [_shown(p.version) for p in points]
    traces = [
        _trace(
            "scatter",
            x=x,
            y=[p.minors_behind for p in points],
            customdata=versions,
            mode="lines+markers",
            line={"shape": "hv", "color": Category.VERSION.colour, "width": 2},
            marker={"size": 6},
            name="Minor releases behind",
            hovertemplate="%{customdata}: %{y} minor(s) behind<extra></extra>",
        ),
        _trace(
            "scatter",
            x=x,
            y=[p.patches_behind for p in points],
            mode="lines+markers",
            line={"shape": "hv", "color": Severity.INFO.colour, "width": 1, "dash": "dash"},
            marker={"size": 4},
            name="Patches behind",
            hovertemplate="%{y} patch(es) behind<extra></extra>",
        ),
    ]
    figure = _time_figure(
        traces,
        points,
        span,
        yaxis={**_LAYOUT["yaxis"], "title": _title("Behind"), "rangemode": "tozero", "dtick": 1},
    )
    table = Table(
        ("Day", "Version", "Minor releases behind", "Patches behind"),
        [(p.day, p.version, p.minors_behind, p.patches_behind) for p in points],
    )
    return Chart(
        "version-lag",
        "Kubernetes version lag",
        figure,
        table,
        note=_notes("Behind the newest minor release the provider offered that day.",
                    _history_note(span)),
        empty="" if _has_values(traces) else (
            "The lifecycle data does not place the versions these polls reported."),
    )


def os_runway_trend(points: Sequence[TrendPoint], span: Span | None = None) -> Chart:
    """Plot nodes per day, stacked by how long their OS keeps vendor support."""
    span = span or Span()
    values = [[p.os_runway.get(str(bucket), 0) for p in points] for bucket in Runway]
    traces = _bars(points, values, [b.label for b in Runway], [b.colour for b in Runway])
    figure = _time_figure(
        traces,
        points,
        span,
        barmode="stack",
        yaxis={**_LAYOUT["yaxis"], "title": _title("Nodes"), "rangemode": "tozero"},
    )
    table = Table(
        ("Day", *(b.label for b in Runway)),
        [(p.day, *(p.os_runway.get(str(b), 0) for b in Runway)) for p in points],
    )
    return Chart("os-runway", "Node OS support", figure, table, note=_history_note(span),
                 empty="" if _any_nonzero(values) else "No nodes were read in this period.")


# Pod Security levels a namespace enforces, by what it lets in: colours borrowed from the
# severity, or grade, they correspond to.
PSS_ENFORCEMENT: tuple[tuple[str, str, str], ...] = (
    ("privileged", "None (privileged)", Severity.HIGH.colour),
    ("baseline", "Baseline", Severity.LOW.colour),
    ("restricted", "Restricted", Grade.A.colour),
)


def pss_enforcement_trend(days: Sequence[date], counts: Sequence[Mapping[str, int]],
                          span: Span | None = None) -> Chart:
    """Plot, per day, how many namespaces enforce each Pod Security level (stacked)."""
    span = span or Span()
    x = [_day(day) for day in days]
    values = [[c.get(level, 0) for c in counts] for level, _, _ in PSS_ENFORCEMENT]
    traces = [
        _trace("bar", x=x, y=y, name=label, marker={"color": colour}, width=BAR_WIDTH_MS,
               hovertemplate=f"{label}: %{{y}}<extra></extra>")
        for y, (_, label, colour) in zip(values, PSS_ENFORCEMENT, strict=True)
    ]
    shade, note_label = _history_shade(days, span)
    figure = _figure(traces, xaxis=_day_axis(days, span), shapes=shade,
                     annotations=note_label, margin=_GRADED_MARGIN, barmode="stack",
                     yaxis={**_LAYOUT["yaxis"], "title": _title("Namespaces"),
                            "rangemode": "tozero"})
    table = Table(("Day", *(label for _, label, _ in PSS_ENFORCEMENT)),
                  [(day, *(c.get(level, 0) for level, _, _ in PSS_ENFORCEMENT))
                   for day, c in zip(days, counts, strict=True)])
    return Chart("pss-enforcement", "Namespaces enforcing each Pod Security level", figure,
                 table, note=_history_note(span),
                 empty="" if _any_nonzero(values) else
                 "No poll in this period recorded the namespaces' Pod Security labels.")


# --- Fleet aggregates (the overview's whole selection, summed in SQL) --------------------------

def fleet_grades(counts: Mapping[str, int]) -> Chart:
    """Plot how many clusters have each grade now (``counts`` by grade, "" for none yet)."""
    grades = Grade.ordered()
    values = [int(counts.get(str(g), 0)) for g in grades]
    traces = [_trace("bar", x=[g.label for g in grades], y=values,
                     marker={"color": [g.colour for g in grades]}, name="Clusters",
                     hovertemplate="%{x}: %{y} cluster(s)<extra></extra>")]
    figure = _figure(traces, hovermode="closest", showlegend=False,
                     xaxis={**_LAYOUT["xaxis"], "title": _title("Grade")},
                     yaxis={**_LAYOUT["yaxis"], "title": _title("Clusters"),
                            "rangemode": "tozero"})
    rows: list[tuple[object, ...]] = [(g.label, v) for g, v in zip(grades, values, strict=True)]
    unscored = int(counts.get("", 0))
    if unscored:
        rows.append(("No score yet", unscored))
    return Chart("fleet-grades", "Clusters by grade", figure, Table(("Grade", "Clusters"), rows),
                 note="Every cluster the filters keep, not only this page's.",
                 empty="" if any(values) else "No cluster has a grade yet.")


def fleet_trend(days: Sequence[tuple[date, float, int]], span: Span | None = None) -> Chart:
    """Plot the fleet's mean score per day (``(day, mean, clusters scored)``, oldest first)."""
    span = span or Span()
    x = [_day(day) for day, _, _ in days]
    traces = [_trace("scatter", x=x, y=[mean for _, mean, _ in days],
                     customdata=[count for _, _, count in days], mode="lines+markers",
                     name="Mean score", line={"color": CLUSTER_COLOURS[0], "width": 2},
                     marker={"size": 4},
                     hovertemplate="Mean %{y:.1f} over %{customdata} cluster(s)<extra></extra>")]
    figure = _figure(
        traces,
        xaxis=_day_axis([day for day, _, _ in days], span),
        yaxis={**_LAYOUT["yaxis"], "range": [0, 100], "title": _title("Score")},
        shapes=_grade_bands(),
        annotations=_grade_labels(),
        margin=_GRADED_MARGIN,
    )
    sampled = list(days)[::-1][::7][::-1]
    return Chart("fleet-trend", "Fleet mean score, daily", figure,
                 Table(("Day", "Mean score", "Clusters scored"),
                       [(day, mean, count) for day, mean, count in sampled]),
                 note="Mean of each cluster's last successful poll of the day, over every "
                      "cluster the filters keep. The table samples weekly.",
                 empty="" if days else "No cluster has a score in this period.")


def eol_months(entries: Sequence[tuple[date, str, int]], day: date | None = None) -> Chart:
    """Plot control planes by the month their end of life falls in, stacked by what ends.

    ``entries`` are (first day of the month, what ends, clusters); months before ``day``'s are
    past end of life.
    """
    months = sorted({month for month, _, _ in entries})
    kinds = sorted({what for _, what, _ in entries})
    counts = {(month, what): count for month, what, count in entries}
    traces = []
    for index, what in enumerate(kinds):
        traces.append(_trace(
            "bar", x=[month.strftime("%Y-%m") for month in months],
            y=[counts.get((month, what), 0) for month in months], name=_shown(what),
            marker={"color": CLUSTER_COLOURS[index % len(CLUSTER_COLOURS)]},
            hovertemplate="%{fullData.name}: %{y} cluster(s)<extra></extra>"))
    figure = _figure(traces, barmode="stack",
                     xaxis={**_LAYOUT["xaxis"], "type": "category",
                            "title": _title("End of life (month)")},
                     yaxis={**_LAYOUT["yaxis"], "title": _title("Clusters"),
                            "rangemode": "tozero"})
    this_month = day.replace(day=1) if day else None
    rows: list[tuple[object, ...]] = [
        (month.strftime("%Y-%m"), what, count,
         "past" if this_month and month < this_month else "")
        for month, what, count in entries]
    return Chart("eol-months", "Control planes by end-of-life month", figure,
                 Table(("Month", "What ends", "Clusters", "Past"), rows),
                 note="Every cluster the filters keep, counted by month: not one mark per "
                      "cluster.",
                 empty="" if entries else "The lifecycle data has no end date for these "
                                          "control planes.")
