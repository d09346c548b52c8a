"""A finding's page: its history, evidence, the fix, and whether a risk acceptance covers it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import get_visible_cluster
from posture.domain.models import Finding
from posture.web.dashboard import findings


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_id = Finding.objects.filter(pk=pk).values_list("cluster_id", flat=True).first()
    if cluster_id is None:
        raise Http404("No such finding")
    # The same 404 for a finding of a cluster the user cannot see as for a missing one.
    cluster = get_visible_cluster(request, cluster_id)
    return render(request, "posture/finding.html",
                  {"cluster": cluster, "page": findings.build(cluster, pk, timezone.now())})
