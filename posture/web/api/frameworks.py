"""API: where a cluster, or the visible fleet, stands on each control of a framework."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from clusters.access import get_visible_cluster, visible_clusters
from posture.domain.fleet import iso
from posture.domain.polling import policy_for
from posture.web.api.auth import api_view
from posture.web.dashboard import frameworks


@api_view
def cluster_framework(request: HttpRequest, pk: int, framework_id: str) -> JsonResponse:
    """The cluster's newest successful poll, control by control (``snapshot`` null: none)."""
    cluster = get_visible_cluster(request, pk)
    fw = frameworks.get_framework(framework_id)
    page = frameworks.cluster_frameworks(cluster, policy_for(cluster), timezone.now(), [fw])
    body = {
        "cluster": {"id": cluster.pk, "name": cluster.name},
        "framework": {"id": fw.id, "title": fw.title, "version": fw.version,
                      "sources": [{"title": s.title, "url": s.url} for s in fw.sources]},
        "snapshot": None,
        "counts": None,
        "controls": [],
        "findings_per_control": frameworks.FINDINGS_SHOWN,
    }
    if page.snapshot is not None:
        assessment = page.view(fw.id).assessment
        body["snapshot"] = {"id": page.snapshot.pk, "taken_at": iso(page.snapshot.taken_at),
                            "checkset_version": page.checkset_version}
        body["counts"] = assessment.counts()
        body["controls"] = [frameworks.control_dict(r) for r in assessment.results]
    return JsonResponse(body)


@api_view
def fleet_framework(request: HttpRequest, framework_id: str) -> JsonResponse:
    """Per control, how many visible clusters have each status, and which fail it."""
    fw = frameworks.get_framework(framework_id)
    fleet = frameworks.fleet_framework(fw, visible_clusters(request.user), timezone.now())
    return JsonResponse(frameworks.fleet_dict(fleet))
