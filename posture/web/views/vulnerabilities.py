"""A cluster's vulnerabilities per image: the page and its CSV export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from clusters.access import get_visible_cluster
from posture.checks.vocabulary import VulnerabilitySeverity
from posture.web.dashboard import vulnerabilities
from posture.web.exports import file_part, vulnerabilities_csv


@login_required
def cluster_vulnerabilities(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    filters = vulnerabilities.Filters.from_query(request.GET)
    # One image's page lists every CVE it stored; the cluster's lists the first of each image.
    per_image = None if filters.image is not None else vulnerabilities.PER_IMAGE
    return render(request, "posture/vulnerabilities.html", {
        "cluster": cluster,
        "page": vulnerabilities.build(cluster, filters, per_image=per_image),
        "severities": VulnerabilitySeverity.ordered(),
    })


@login_required
def cluster_vulnerabilities_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    cluster = get_visible_cluster(request, pk)
    filters = vulnerabilities.Filters.from_query(request.GET)
    page = vulnerabilities.build(cluster, filters, per_image=None)
    response = StreamingHttpResponse(vulnerabilities_csv(cluster, page.images),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="posture-{file_part(cluster.name)}-vulnerabilities.csv"')
    return response
