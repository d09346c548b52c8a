"""The fleet overview (home): a page of the visible clusters, the fleet's charts, what reaches
EOL."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clusters.access import visible_clusters
from posture.domain.scoring import Grade
from posture.web.dashboard import overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    clusters = visible_clusters(request.user)
    page = overview.build(clusters, timezone.now(), request.GET.get("sort", overview.DEFAULT_SORT),
                          overview.Filters.from_query(request.GET),
                          overview.parse_page(request.GET.get("page")))
    return render(request, "posture/overview.html", {
        "overview": page,
        "charts": overview.charts(page),
        "grades": Grade.ordered(),
        "providers": overview.provider_choices(),
        "horizon": overview.EOL_HORIZON_DAYS,
        "history_days": overview.HISTORY_DAYS,
    })
