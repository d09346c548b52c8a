"""What the dashboard pages show, computed from stored rows: the views only parse and render.

``overview`` (the fleet), ``scorecard`` (one cluster now), ``trends`` (one cluster over time),
``checklist`` (what to fix, grouped by fix). Fleet-wide queries read snapshot aggregates, never
a cluster's findings one cluster at a time, and run a fixed number of queries.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from clusters.models import Cluster
from posture.models import SUCCEEDED, Snapshot


def today(now: datetime) -> date:
    """Return the calendar day of ``now`` in the site's time zone (the lifecycle's clock)."""
    return timezone.localdate(now)


def latest_successful_ids(clusters: QuerySet[Cluster]) -> QuerySet[Cluster]:
    """Annotate each cluster with ``latest_id``, its newest successful snapshot's pk."""
    newest = (
        Snapshot.objects.filter(cluster=OuterRef("pk"), status__in=SUCCEEDED)
        .order_by("-taken_at")
        .values("pk")[:1]
    )
    return clusters.annotate(latest_id=Subquery(newest))
