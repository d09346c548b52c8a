"""A cluster's scorecard (its detail page) and its trends page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import can_change, get_visible_cluster
from clusters.models import Cluster
from posture.domain.models import Snapshot, SnapshotStatus
from posture.domain.polling import policy_for
from posture.web.dashboard import scorecard, trends

HISTORY_ROWS = 30
# How long after registration the page waits for the first poll (as poll.js does) before it
# stops following and says that no poll has run.
FIRST_POLL_PATIENCE = timedelta(minutes=5)


def first_poll_pending(cluster: Cluster, history: list[Snapshot], now: datetime) -> bool:
    """Say whether the cluster's first poll is queued or running, and worth waiting for."""
    if any(s.status != SnapshotStatus.RUNNING for s in history):
        return False
    return bool(history) or now - cluster.created_at < FIRST_POLL_PATIENCE


def scorecard_context(request: HttpRequest, cluster: Cluster) -> dict[str, Any]:
    """Return what the cluster detail page shows: the scorecard, nodes, polls and coverage."""
    now = timezone.now()
    history = list(cluster.snapshots.defer("nodes", "coverage", "node_summary", "category_scores",
                                           "finding_counts", "pod_security")[:HISTORY_ROWS])
    return {
        "cluster": cluster,
        "scorecard": scorecard.build(cluster, now, policy_for(cluster)),
        "history": history,
        "running": next((s for s in history if s.status == SnapshotStatus.RUNNING), None),
        "first_poll_pending": first_poll_pending(cluster, history, now),
        "owners": cluster.owners.all(),
        "teams": cluster.owner_teams.all(),
        "can_change": can_change(request.user, cluster),
        "score_chart": trends.score_chart(cluster, now, trends.DEFAULT_DAYS),
    }


@login_required
def cluster_trends(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    days = trends.parse_days(request.GET.get("days"))
    return render(request, "posture/trends.html", {
        "cluster": cluster,
        "days": days,
        "ranges": trends.RANGES,
        "charts": trends.charts(cluster, timezone.now(), days),
    })
