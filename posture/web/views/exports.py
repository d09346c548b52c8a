"""Downloads: findings as CSV, for one cluster or every cluster the user may see."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from clusters.access import get_visible_cluster, visible_clusters
from posture.domain.models import Finding, OrgPolicy, RiskAcceptance
from posture.web.exports import file_part, findings_csv


def _response(rows, clusters, filename: str) -> StreamingHttpResponse:
    acceptances: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for a in RiskAcceptance.objects.filter(cluster__in=clusters, revoked_at__isnull=True,
                                           expires_at__gt=timezone.now()):
        acceptances[a.cluster_id].append(a)
    lines = findings_csv(rows.iterator(chunk_size=2000), acceptances, OrgPolicy.load().policy())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _filtered(request: HttpRequest, rows):
    if request.GET.get("status", "open") == "open":
        rows = rows.filter(resolved_at__isnull=True)
    return rows.select_related("cluster").order_by("cluster__name", "check_id", "namespace",
                                                    "name", "container", "first_seen_at")


@login_required
def cluster_findings_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    cluster = get_visible_cluster(request, pk)
    rows = _filtered(request, Finding.objects.filter(cluster=cluster))
    return _response(rows, [cluster], f"posture-{file_part(cluster.name)}-findings.csv")


@login_required
def fleet_findings_csv(request: HttpRequest) -> StreamingHttpResponse:
    clusters = visible_clusters(request.user)
    rows = _filtered(request, Finding.objects.filter(cluster__in=clusters))
    return _response(rows, clusters, "posture-findings.csv")
