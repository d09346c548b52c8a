"""The printable report for auditors: one cluster's, or the fleet's the user may see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import get_visible_cluster, visible_clusters
from posture.web.dashboard import report


@login_required
def cluster_report(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    now = timezone.now()
    return render(request, "posture/report.html", {
        "reports": [report.cluster_report(cluster, now)],
        "fleet": False,
        "generated_at": now,
        "cluster": cluster,
    })


@login_required
def fleet_report(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(request, "posture/report.html", {
        "reports": report.fleet_report(visible_clusters(request.user), now),
        "fleet": True,
        "generated_at": now,
    })
