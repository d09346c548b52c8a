"""The audit log page and its CSV export, for the security team and auditors."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from clusters.access import require_whole_fleet
from posture.domain.models import AuditEvent
from posture.web.exports import safe_cell


def _events(request: HttpRequest) -> tuple[QuerySet[AuditEvent], dict[str, str]]:
    require_whole_fleet(request, "The audit log is for the security team and auditors")
    events = AuditEvent.objects.select_related("cluster")
    filters = {k: request.GET.get(k, "").strip() for k in ("action", "actor", "cluster",
                                                            "since", "until")}
    if filters["action"]:
        events = events.filter(action=filters["action"])
    if filters["actor"]:
        events = events.filter(actor_name__icontains=filters["actor"])
    if filters["cluster"]:
        events = events.filter(target__icontains=filters["cluster"]) | events.filter(
            cluster__name__icontains=filters["cluster"])
    tz = timezone.get_current_timezone()
    if since := parse_date(filters["since"]):
        events = events.filter(at__gte=datetime.combine(since, time.min, tz))
    if until := parse_date(filters["until"]):
        events = events.filter(at__lte=datetime.combine(until, time.max, tz))
    return events.order_by("-at"), filters


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    events, filters = _events(request)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "posture/audit_log.html", {
        "page": page, "filters": filters, "actions": AuditEvent.Action.choices,
        "query": request.GET.urlencode(),
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    events, _ = _events(request)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[object]:
        yield writer.writerow(["at", "actor", "action", "cluster", "target", "ip", "detail"])
        for e in events.iterator(chunk_size=2000):
            yield writer.writerow([safe_cell(v) for v in (
                e.at.isoformat(), e.actor_name, e.action, e.cluster.name if e.cluster else "",
                e.target, e.ip or "", e.detail)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="posture-audit.csv"'
    return response
