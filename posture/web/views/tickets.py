"""Fixes as tickets: one checklist entry as a Markdown file, the open fixes as CSV or JSON."""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from clusters.access import get_visible_cluster, visible_clusters
from posture.domain.models import OrgPolicy
from posture.domain.polling import policy_for
from posture.web import tickets
from posture.web.dashboard import checklist
from posture.web.exports import file_part, safe_cell


@login_required
def cluster_issue_markdown(request: HttpRequest, pk: int, check_id: str) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    page = checklist.build(cluster, timezone.now(), checklist.Filters(), policy_for(cluster))
    platform = request.GET.get("platform") == "1"
    group = next((g for g in (*page.groups, *page.platform)
                  if g.check_id == check_id and g.platform == platform), None)
    if group is None:
        raise Http404("No such entry on this cluster's checklist.")
    response = HttpResponse(tickets.issue_markdown(cluster, group),
                            content_type="text/markdown; charset=utf-8")
    name = f"posture-{file_part(cluster.name)}-{file_part(group.slug)}.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def open_fixes_csv(request: HttpRequest) -> StreamingHttpResponse:
    rows = tickets.open_fixes(visible_clusters(request.user), OrgPolicy.load().policy())
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(tickets.FIX_COLUMNS)
        for row in rows:
            values = row.as_dict()
            values["containers"] = " ".join(values["containers"])
            values["platform_managed"] = "yes" if values["platform_managed"] else "no"
            yield writer.writerow([safe_cell(values[c]) for c in tickets.FIX_COLUMNS])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="posture-open-fixes.csv"'
    return response


@login_required
def open_fixes_json(request: HttpRequest) -> HttpResponse:
    rows = tickets.open_fixes(visible_clusters(request.user), OrgPolicy.load().policy())
    body = {"generated_at": timezone.now().isoformat(),
            "accepted_risks": "excluded",
            "fixes": [row.as_dict() for row in rows]}
    response = HttpResponse(json.dumps(body, ensure_ascii=False, indent=1),
                            content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="posture-open-fixes.json"'
    return response
