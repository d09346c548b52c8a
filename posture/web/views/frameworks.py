"""The frameworks pages: where one cluster, or the visible fleet, stands on each control of the
CIS Kubernetes Benchmark and the NSA/CISA guide; the same as CSV."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import get_visible_cluster, visible_clusters
from posture.checks.frameworks.assess import ControlStatus
from posture.checks.frameworks.data import frameworks as shipped
from posture.domain.polling import policy_for
from posture.web.dashboard import frameworks
from posture.web.exports import file_part, frameworks_csv


def _csv(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def cluster_frameworks(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    page = frameworks.cluster_frameworks(cluster, policy_for(cluster), timezone.now())
    return render(request, "posture/cluster_frameworks.html", {
        "cluster": cluster,
        "page": page,
        "statuses": ControlStatus.ordered(),
    })


@login_required
def cluster_framework(request: HttpRequest, pk: int, framework_id: str) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    fw = frameworks.get_framework(framework_id)
    page = frameworks.cluster_frameworks(cluster, policy_for(cluster), timezone.now(), [fw])
    return render(request, "posture/cluster_framework.html", {
        "cluster": cluster,
        "page": page,
        "framework": fw,
        "view": page.view(fw.id) if page.snapshot else None,
        "shown": frameworks.FINDINGS_SHOWN,
    })


@login_required
def cluster_framework_csv(request: HttpRequest, pk: int, framework_id: str
                          ) -> StreamingHttpResponse:
    cluster = get_visible_cluster(request, pk)
    fw = frameworks.get_framework(framework_id)
    page = frameworks.cluster_frameworks(cluster, policy_for(cluster), timezone.now(), [fw])
    rows = ([(cluster.name, page.snapshot.taken_at, page.checkset_version,
              page.view(fw.id).assessment)] if page.snapshot else [])
    return _csv(frameworks_csv(rows), f"posture-{file_part(cluster.name)}-{fw.id}.csv")


@login_required
def fleet_frameworks(request: HttpRequest) -> HttpResponse:
    visible = visible_clusters(request.user)
    now = timezone.now()
    return render(request, "posture/fleet_frameworks.html", {
        "fleets": frameworks.fleet_frameworks(list(shipped().values()), visible, now),
    })


@login_required
def fleet_framework(request: HttpRequest, framework_id: str) -> HttpResponse:
    fw = frameworks.get_framework(framework_id)
    fleet = frameworks.fleet_framework(fw, visible_clusters(request.user), timezone.now())
    return render(request, "posture/fleet_framework.html", {"fleet": fleet, "framework": fw})


@login_required
def fleet_control(request: HttpRequest, framework_id: str, control_id: str) -> HttpResponse:
    fw = frameworks.get_framework(framework_id)
    fleet = frameworks.fleet_framework(fw, visible_clusters(request.user), timezone.now())
    try:
        rollup = fleet.control(control_id)
    except KeyError:
        raise Http404("No such control") from None
    return render(request, "posture/fleet_control.html", {
        "fleet": fleet, "framework": fw, "rollup": rollup})


@login_required
def fleet_framework_csv(request: HttpRequest, framework_id: str) -> StreamingHttpResponse:
    fw = frameworks.get_framework(framework_id)
    fleet = frameworks.fleet_framework(fw, visible_clusters(request.user), timezone.now())
    return _csv(frameworks_csv(fleet.csv_rows()), f"posture-fleet-{fw.id}.csv")
