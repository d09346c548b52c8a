"""Registry pages: the cluster list, a cluster's detail, and registration."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clusters import kube
from clusters.access import get_visible_cluster, visible_clusters
from clusters.forms import RegistrationForm
from clusters.registration import RegistrationError, register, timeouts

READER_MANIFEST = Path(settings.BASE_DIR) / "deploy" / "posture-reader.yaml"


@login_required
def cluster_list(request: HttpRequest) -> HttpResponse:
    clusters = visible_clusters(request.user).order_by("name")
    return render(request, "clusters/cluster_list.html", {"clusters": clusters})


@login_required
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    return render(request, "clusters/cluster_detail.html", {"cluster": cluster})


@login_required
@require_http_methods(["GET", "POST"])
def cluster_register(request: HttpRequest) -> HttpResponse:
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
                    owner=request.user,  # type: ignore[arg-type]
                    poll_interval_minutes=form.cleaned_data["poll_interval_minutes"],
                )
            except RegistrationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, f"Registered {done.cluster.name}. The first poll is "
                                          "queued.")
                return redirect(done.cluster)
    else:
        form = RegistrationForm()
    return render(request, "clusters/cluster_register.html", {
        "form": form,
        "verified": verified,
        "reader_manifest": READER_MANIFEST.read_text(encoding="utf-8"),
    })
