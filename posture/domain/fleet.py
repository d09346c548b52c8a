"""Fleet-wide queries on snapshot aggregates, shared by the API, exports and metrics.

Every query here starts from ``visible_clusters(user)`` (or a queryset derived from it) and reads
the newest snapshot per cluster through subqueries, so a list costs a fixed number of queries
however many clusters there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import F, Func, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject

from clusters.models import Cluster
from posture.domain.models import Snapshot
from posture.lifecycle import SupportStatus, kubernetes_support


def with_latest(clusters: QuerySet[Cluster]) -> QuerySet[Any]:
    """Annotate each cluster with its newest poll and newest successful snapshot's aggregates.

    The rows are Clusters carrying the annotations below as attributes, hence ``Any``.
    """
    newest = Snapshot.objects.filter(cluster=OuterRef("pk")).order_by("-taken_at")
    good = Snapshot.objects.successful_of(OuterRef("pk"))
    return clusters.annotate(
        last_poll_status=Subquery(newest.values("status")[:1]),
        last_poll_at=Subquery(newest.values("taken_at")[:1]),
        last_success_at=Subquery(good.values("taken_at")[:1]),
        latest_snapshot_id=Subquery(good.values("pk")[:1]),
        score=Subquery(good.values("score")[:1]),
        grade=Subquery(good.values("grade")[:1]),
        kubernetes_version=Subquery(good.values("kubernetes_version")[:1]),
        provider=Subquery(good.values("provider")[:1]),
        node_count=Subquery(good.values("node_count")[:1]),
        finding_counts=Subquery(good.values("finding_counts")[:1]),
    )


def with_current(clusters: QuerySet[Cluster]) -> QuerySet[Any]:
    """Annotate each cluster as ``with_latest`` does, from its current row (one join, no
    subquery per cluster): what a list of the whole fleet reads."""
    return clusters.defer("kubeconfig_sealed").annotate(
        last_poll_status=F("current__last_poll_status"),
        last_poll_at=F("current__last_poll_at"),
        last_success_at=F("current__last_success_at"),
        latest_snapshot_id=F("current__snapshot_id"),
        score=F("current__score"),
        grade=F("current__grade"),
        kubernetes_version=F("current__kubernetes_version"),
        provider=F("current__provider"),
        finding_counts=JSONObject(severity=_nested("current__severity_counts"),
                                  platform_severity=_nested("current__platform_counts")),
    )


def _nested(field: str) -> F | Func:
    """A JSON column as a value of ``JSONObject``. SQLite's ``json_object()`` would nest the
    column's text as a string unless ``json()`` marks it as JSON; PostgreSQL's jsonb needs
    nothing."""
    if connection.vendor == "sqlite":
        return Func(F(field), function="JSON", output_field=JSONField())
    return F(field)


@dataclass(frozen=True)
class Eol:
    status: str
    eol: date | None
    days_left: int | None


def kubernetes_eol(cluster: Cluster, today: date) -> Eol:
    """The control plane's end of life, from an annotated cluster (``with_latest``)."""
    version = getattr(cluster, "kubernetes_version", None)
    if not version:
        return Eol(status=str(SupportStatus.UNKNOWN), eol=None, days_left=None)
    support = kubernetes_support(version, today, getattr(cluster, "provider", None) or None)
    return Eol(status=str(support.status), eol=support.eol, days_left=support.days_left)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
