"""One cluster over time, from snapshot aggregates: one point per day, the day's last poll.

Two queries find the day's last successful snapshot and load only the aggregate fields the
charts read; a third finds when the check set changed. Lifecycle data is judged as of each
day, so "minors behind" is what the cluster trailed then, not what it would trail today.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from django.db.models import Max, Min
from django.db.models.functions import TruncDate

from clusters.models import Cluster
from posture import charts as chart_builders
from posture.charts import Chart, Runway, TrendPoint
from posture.dashboard import today
from posture.lifecycle import kubernetes_support, os_support
from posture.models import SUCCEEDED, Snapshot

DEFAULT_DAYS = 90
RANGES = (30, 90, 365)

_FIELDS = ("taken_at", "score", "category_scores", "finding_counts", "kubernetes_version",
           "provider", "node_summary")


def parse_days(value: str | None) -> int:
    """Return the chosen range in days (one of ``RANGES``), else the default."""
    try:
        days = int(value or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if days in RANGES else DEFAULT_DAYS


def daily_snapshots(cluster: Cluster, now: datetime, days: int) -> list[Snapshot]:
    """Return the last successful snapshot of each day in the range, oldest first."""
    recent = Snapshot.objects.filter(cluster=cluster, status__in=SUCCEEDED,
                                     taken_at__gte=now - timedelta(days=days))
    last_of_day = list(recent.annotate(day=TruncDate("taken_at")).values("day")
                       .annotate(last=Max("taken_at")).values_list("last", flat=True))
    if not last_of_day:
        return []
    return list(recent.filter(taken_at__in=last_of_day).only(*_FIELDS).order_by("taken_at"))


def _runway(node_summary: dict[str, object] | None, day: date) -> dict[str, int]:
    counts: Counter[str] = Counter()
    images = (node_summary or {}).get("os_images") or {}
    if isinstance(images, dict):
        for image, count in images.items():
            if isinstance(count, int):
                support = os_support(str(image), day)
                bucket = Runway.of(support.status, support.days_left)
                counts[str(bucket)] += count
    return dict(counts)


def point(snapshot: Snapshot, day: date) -> TrendPoint:
    """Return a snapshot's aggregates as a trend point for ``day``."""
    support = kubernetes_support(snapshot.kubernetes_version or None, day,
                                 snapshot.provider or None)
    categories = {name: c["score"] for name, c in (snapshot.category_scores or {}).items()
                  if isinstance(c, dict) and "score" in c}
    severities = (snapshot.finding_counts or {}).get("severity") or {}
    return TrendPoint(
        day=day,
        score=snapshot.score,
        categories=categories,
        severities={str(k): int(v) for k, v in severities.items()},
        version=snapshot.kubernetes_version,
        minors_behind=support.minors_behind,
        patches_behind=support.patches_behind,
        os_runway=_runway(snapshot.node_summary, day),
    )


def points(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> list[TrendPoint]:
    """Return one trend point per day with a successful poll, oldest first."""
    return [point(s, today(s.taken_at)) for s in daily_snapshots(cluster, now, days)]


def checkset_changes(cluster: Cluster, now: datetime, days: int) -> list[tuple[date, str]]:
    """Return the days (in range) when a new check set version was first used, oldest first."""
    firsts = (Snapshot.objects.filter(cluster=cluster, status__in=SUCCEEDED)
              .exclude(checkset_version="").values("checkset_version")
              .annotate(first=Min("taken_at")).order_by("first"))
    since = now - timedelta(days=days)
    changes = []
    for index, row in enumerate(firsts):
        # The first version ever used is where history starts, not a change.
        if index > 0 and row["first"] >= since:
            changes.append((today(row["first"]), row["checkset_version"]))
    return changes


def charts(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> list[Chart]:
    """Return the trend charts of ``cluster`` over the last ``days`` days (none without data)."""
    series = points(cluster, now, days)
    if not series:
        return []
    changes = checkset_changes(cluster, now, days)
    return [
        chart_builders.score_trend(series, changes),
        chart_builders.severity_trend(series, changes),
        chart_builders.version_lag_trend(series),
        chart_builders.os_runway_trend(series),
    ]


def score_chart(cluster: Cluster, now: datetime, days: int = DEFAULT_DAYS) -> Chart | None:
    """Return the score chart alone (for the scorecard page), or None without data."""
    series = points(cluster, now, days)
    if not series:
        return None
    return chart_builders.score_trend(series, checkset_changes(cluster, now, days))
