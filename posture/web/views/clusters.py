"""Registry pages: the cluster list, a cluster's detail, poll now, and registration."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from clusters import kube
from clusters.access import (
    get_changeable_cluster,
    get_visible_cluster,
    require_can_register,
    visible_clusters,
)
from clusters.forms import KubeconfigUploadHandler, RegistrationForm
from clusters.registration import RegistrationError, register, timeouts
from posture.checks.hidden import visible
from posture.domain import registry
from posture.domain.models import Snapshot, SnapshotStatus
from posture.web.views.scorecard import scorecard_context

READER_MANIFEST = Path(settings.BASE_DIR) / "deploy" / "posture-reader.yaml"


@login_required
def cluster_list(request: HttpRequest) -> HttpResponse:
    latest = Snapshot.objects.filter(cluster=OuterRef("pk")).order_by("-taken_at")
    good = Snapshot.objects.successful_of(OuterRef("pk"))
    clusters = visible_clusters(request.user).order_by("name").annotate(
        last_status=Subquery(latest.values("status")[:1]),
        last_taken_at=Subquery(latest.values("taken_at")[:1]),
        version=Subquery(good.values("kubernetes_version")[:1]),
        nodes=Subquery(good.values("node_count")[:1]),
    )
    return render(request, "clusters/cluster_list.html", {"clusters": clusters})


@login_required
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The cluster's scorecard: grade, deductions, support, nodes, Pod Security, polls."""
    cluster = get_visible_cluster(request, pk)
    return render(request, "clusters/cluster_detail.html", scorecard_context(request, cluster))


@login_required
@require_POST
def cluster_poll_now(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_changeable_cluster(request, pk)
    registry.poll_now(cluster, request.user)
    messages.info(request, f"A poll of {cluster.name} is queued.")
    return redirect(reverse("clusters:detail", args=[cluster.pk]) + "?polling=1")


@login_required
def cluster_poll_status(request: HttpRequest, pk: int) -> JsonResponse:
    """The newest poll's state, for the page's progress display.

    ``error`` is display text, in its visible form (hidden characters as escapes, as the page
    itself shows it); the exact text is the API's (``/api/v1/clusters/<pk>/snapshots/``).
    """
    cluster = get_visible_cluster(request, pk)
    snapshot = cluster.snapshots.only("pk", "status", "taken_at", "finished_at", "error",
                                      "duration_ms").first()
    if snapshot is None:
        return JsonResponse({"status": "none"})
    return JsonResponse({
        "id": snapshot.pk,
        "status": snapshot.status,
        "status_label": snapshot.get_status_display(),
        "taken_at": snapshot.taken_at.isoformat(),
        "finished": snapshot.status != SnapshotStatus.RUNNING,
        "duration_ms": snapshot.duration_ms,
        "error": visible(snapshot.error),
    })


# The upload handlers must be replaced before anything reads the body, CSRF's check included:
# the view is exempt here and protected just below, once the handlers are set.
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def cluster_register(request: HttpRequest) -> HttpResponse:
    require_can_register(request)
    request.upload_handlers = [KubeconfigUploadHandler(request)]
    if request.method == "POST":
        try:
            request.POST  # noqa: B018 — parses the body, which may be refused as too large
        except RequestDataTooBig:
            # Nothing was read, so nothing changes: the page is shown again, with the reason.
            return _register_page(request, RegistrationForm.refused_as_too_large(), None,
                                  status=413)
    return _cluster_register(request)


def _register_page(request: HttpRequest, form: RegistrationForm,
                   verified: kube.VerifyResult | None, status: int = 200) -> HttpResponse:
    return render(request, "clusters/cluster_register.html", {
        "form": form,
        "verified": verified,
        "reader_manifest": READER_MANIFEST.read_text(encoding="utf-8"),
    }, status=status)


@csrf_protect
def _cluster_register(request: HttpRequest) -> HttpResponse:
    verified: kube.VerifyResult | None = None
    if request.method == "POST":
        form = RegistrationForm(request.POST, request.FILES)
        valid = form.is_valid()
        if form.credentials is not None and request.POST.get("action") == "verify":
            verified = kube.verify(form.credentials, timeouts())
        elif valid and form.credentials is not None:
            try:
                done = register(
                    name=form.cleaned_data["name"],
                    creds=form.credentials,
                    owner=request.user,  # type: ignore[arg-type]  # login_required: a User
                    poll_interval_minutes=form.cleaned_data["poll_interval_minutes"],
                )
            except RegistrationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                registry.queue_first_poll(done.cluster)
                messages.success(request, f"Registered {done.cluster.name}. The first poll is "
                                          "queued.")
                return redirect(done.cluster)
    else:
        form = RegistrationForm()
    return _register_page(request, form, verified)
