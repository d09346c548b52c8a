"""One cluster over time, from its daily rollups: one point per day, the day's last poll.

One query reads the range's day rows (``posture.domain.rollup_models.ClusterDay``, written with
each snapshot); a second finds when history starts and when the check set or the scoring model
changed, from the same rows. Lifecycle data is judged as of each day, so "minors behind" is what
the cluster trailed then, not what it would trail today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Min

from clusters.models import Cluster
from posture.domain import scoring
from posture.domain.models import ClusterDay
from posture.lifecycle import kubernetes_support, os_support
from posture.web import charts as chart_builders
from posture.web.charts import Chart, Runway, Span, TrendPoint
from posture.web.dashboard import today

DEFAULT_DAYS = 90
RANGES = (30, 90, 365)

_COLUMNS = ("day", "taken_at", "score", "kubernetes_version", "provider", "category_scores",
            "severity_counts", "os_images", "pss_levels")


def parse_days(value: str | None) -> int:
    """Return the chosen range in days (one of ``RANGES``), else the default."""
    try:
        days = int(value or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if days in RANGES else DEFAULT_DAYS


def daily_snapshots(cluster: Cluster, now: datetime, days: int) -> list[dict[str, Any]]:
    """Return the last successful poll of each day in the range, oldest first: its day row's
    ``day``, scores and counts, as the charts read them."""
    return list(ClusterDay.objects.filter(cluster=cluster, taken_at__gte=now - timedelta(days=days))
                .order_by("day").values(*_COLUMNS))


def _runway(images: object, day: date) -> dict[str, int]:
    counts: Counter[str] = Counter()
    if isinstance(images, dict):
        for image, count in images.items():
            if isinstance(count, int):
                support = os_support(str(image), day)
                bucket = Runway.of(support.status, support.days_left)
                counts[str(bucket)] += count
    return dict(counts)


def point(row: Mapping[str, Any]) -> TrendPoint:
    """Return a row of ``daily_snapshots`` as a trend point, judged as of its day."""
    day = row["day"]
    support = kubernetes_support(row["kubernetes_version"] or None, day, row["provider"] or None)
    severities = row["severity_counts"] or {}
    scores = row["category_scores"] if isinstance(row["category_scores"], dict) else {}
    return TrendPoint(
        day=day,
        score=row["score"],
        categories={str(k): float(v) for k, v in scores.items()},
        severities={str(k): int(v) for k, v in severities.items()},
        version=row["kubernetes_version"],
        minors_behind=support.minors_behind,
        patches_behind=support.patches_behind,
        os_runway=_runway(row["os_images"], day),
    )


def points(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> list[TrendPoint]:
    """Return one trend point per day with a successful poll, oldest first."""
    return [point(row) for row in daily_snapshots(cluster, now, days)]


class History(NamedTuple):
    """When a cluster's history starts, and the days its rules changed (oldest first)."""

    start: date | None
    # Days a new check set version was first used, with the version.
    checks: list[tuple[date, str]]
    # Days a new scoring model was first used, with its version (docs/scoring.md).
    scoring: list[tuple[date, str]]


def _changes(firsts: Mapping[str, datetime], since: datetime) -> list[tuple[date, str]]:
    ordered = sorted(firsts.items(), key=lambda item: item[1])
    # The first version ever used is where history starts, not a change.
    return [(today(first), version) for version, first in ordered[1:] if first >= since]


def history(cluster: Cluster, now: datetime, days: int) -> History:
    """Return when history starts and the rules' changes of the last ``days`` days.

    The start is the day of the first successful poll ever, or None when that is before the
    range. The changes are the days a new check set version, or a new scoring model, was first
    used by a day's last poll (``scoring_version`` is kept with each score; a snapshot scored
    before it was kept is model ``SCORING_VERSION_UNSTORED``).
    """
    groups = list(ClusterDay.objects.filter(cluster=cluster)
                  .values("checkset_version", "scoring_version").annotate(first=Min("taken_at"))
                  .order_by())
    since = now - timedelta(days=days)
    first_poll = min((row["first"] for row in groups), default=None)
    start = today(first_poll) if first_poll is not None and first_poll >= since else None
    checks: dict[str, datetime] = {}
    models: dict[str, datetime] = {}
    for row in groups:
        if row["checkset_version"]:
            version = row["checkset_version"]
            checks[version] = min(row["first"], checks.get(version, row["first"]))
        model = str(row["scoring_version"] or scoring.SCORING_VERSION_UNSTORED)
        models[model] = min(row["first"], models.get(model, row["first"]))
    return History(start, _changes(checks, since), _changes(models, since))


def checkset_changes(cluster: Cluster, now: datetime, days: int) -> list[tuple[date, str]]:
    """Return the days (in range) when a new check set version was first used, oldest first."""
    return history(cluster, now, days).checks


def pss_enforcement(rows: list[dict[str, Any]], span: Span) -> Chart:
    """Return the chart of namespaces enforcing each Pod Security level, from the rows of
    ``daily_snapshots``; days polled before the labels were recorded are left out."""
    per_day: list[date] = []
    counts: list[dict[str, int]] = []
    for row in rows:
        stored = row.get("pss_levels")
        if not isinstance(stored, dict):
            continue
        per_day.append(row["day"])
        counts.append({str(level): int(n) for level, n in stored.items()})
    return chart_builders.pss_enforcement_trend(per_day, counts, span)


def charts(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> list[Chart]:
    """Return the trend charts of ``cluster`` over the last ``days`` days (none without data)."""
    rows = daily_snapshots(cluster, now, days)
    series = [point(row) for row in rows]
    if not series:
        return []
    past = history(cluster, now, days)
    span = Span(until=today(now), history_start=past.start)
    return [
        chart_builders.score_trend(series, past.checks, span, scoring=past.scoring),
        chart_builders.severity_trend(series, past.checks, span, scoring=past.scoring),
        chart_builders.version_lag_trend(series, span),
        chart_builders.os_runway_trend(series, span),
        pss_enforcement(rows, span),
    ]


def score_chart(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> Chart | None:
    """Return the score chart alone (for the scorecard page), or None without data."""
    series = points(cluster, now, days)
    if not series:
        return None
    past = history(cluster, now, days)
    return chart_builders.score_trend(series, past.checks, Span(today(now), past.start),
                                      scoring=past.scoring)
