"""A cluster's "who can" page: the subjects holding each dangerous permission."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import get_visible_cluster
from posture.domain.polling import policy_for
from posture.web.dashboard import who_can


@login_required
def cluster_who_can(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    return render(request, "posture/who_can.html", {
        "cluster": cluster,
        "page": who_can.build(cluster, timezone.now(), policy_for(cluster)),
    })
