"""Fleet findings: every check across the visible clusters, one check's drill-down, and both as
CSV."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import visible_clusters
from posture.checks.vocabulary import Category, Severity
from posture.domain.models import OrgPolicy
from posture.web.dashboard import fleet_findings
from posture.web.exports import checks_csv, file_part, findings_csv


@login_required
def fleet_findings_page(request: HttpRequest) -> HttpResponse:
    visible = visible_clusters(request.user)
    filters = fleet_findings.Filters.from_query(request.GET)
    page = fleet_findings.build(visible, filters, timezone.now(), OrgPolicy.load().policy())
    return render(request, "posture/fleet_findings.html", {
        "page": page,
        "severities": Severity.ordered(),
        "categories": Category.ordered(),
    })


@login_required
def fleet_check_page(request: HttpRequest, check_id: str) -> HttpResponse:
    visible = visible_clusters(request.user)
    if not fleet_findings.known_check(visible, check_id):
        raise Http404("No such check")
    filters = fleet_findings.Filters.from_query(request.GET)
    detail = fleet_findings.check_detail(visible, check_id, filters, timezone.now(),
                                         OrgPolicy.load().policy())
    return render(request, "posture/fleet_check.html", {
        "detail": detail,
        "severities": Severity.ordered(),
        "limit": fleet_findings.DETAIL_LIMIT,
    })


def _csv(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def fleet_findings_csv(request: HttpRequest) -> StreamingHttpResponse:
    visible = visible_clusters(request.user)
    page = fleet_findings.build(visible, fleet_findings.Filters.from_query(request.GET),
                                timezone.now(), OrgPolicy.load().policy())
    return _csv(checks_csv(page.rows, page.scope.polled), "posture-fleet-checks.csv")


@login_required
def fleet_check_csv(request: HttpRequest, check_id: str) -> StreamingHttpResponse:
    visible = visible_clusters(request.user)
    if not fleet_findings.known_check(visible, check_id):
        raise Http404("No such check")
    filters = fleet_findings.Filters.from_query(request.GET).for_check()
    policy = OrgPolicy.load().policy()
    view = fleet_findings.scope(visible, filters, timezone.now(), policy)
    rows = (fleet_findings.findings_in(view, filters)
            .filter(fleet_findings.OPEN, check_id=check_id).select_related("cluster")
            .order_by("cluster__name", "namespace", "kind", "name", "container", "first_seen_at",
                      "pk"))
    # Catalog ids are letters, digits, dots and dashes; a stored id could be anything.
    return _csv(findings_csv(rows.iterator(chunk_size=2000), view.acceptances_by_cluster(),
                             policy), f"posture-{file_part(check_id)}-findings.csv")
