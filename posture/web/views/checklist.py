"""The remediation checklist, and accepting or revoking a risk from it."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clusters.access import can_change, get_changeable_cluster, get_visible_cluster
from clusters.models import Cluster
from posture.checks import CATALOG
from posture.checks.vocabulary import Category, Severity
from posture.domain.models import RiskAcceptance, Snapshot
from posture.domain.polling import policy_for
from posture.domain.risk import AcceptanceError, accept, revoke
from posture.web.dashboard import checklist


class Scope:
    CLUSTER = "cluster"
    NAMESPACE = "namespace"
    WORKLOAD = "workload"
    CHOICES = (
        (CLUSTER, "The whole cluster"),
        (NAMESPACE, "One namespace"),
        (WORKLOAD, "Workloads by name"),
    )


class AcceptRiskForm(forms.Form):
    """Accept one check's risk in a scope, with a reason, until a date."""

    check_id = forms.CharField(widget=forms.HiddenInput)
    scope = forms.ChoiceField(choices=Scope.CHOICES, initial=Scope.CLUSTER,
                              widget=forms.RadioSelect, label="Scope")
    namespace = forms.CharField(required=False, max_length=253, label="Namespace",
                                help_text="For one namespace; optional for workloads.")
    name_pattern = forms.CharField(required=False, max_length=253, label="Workload name",
                                   help_text="Shell wildcards allowed, e.g. web-*.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Reason")
    expires_on = forms.DateField(label="Expires on",
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The acceptance ends at the start of this day.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope = data.get("scope")
        if scope == Scope.CLUSTER:
            data["namespace"], data["name_pattern"] = "", ""
        elif scope == Scope.NAMESPACE:
            data["name_pattern"] = ""
            if not data.get("namespace", "").strip():
                self.add_error("namespace", "Name the namespace.")
        elif scope == Scope.WORKLOAD and not data.get("name_pattern", "").strip():
            self.add_error("name_pattern", "Name the workload (or a pattern).")
        return data

    def expires_at(self) -> datetime:
        """Return the expiry as the start of the chosen day in the site's time zone."""
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.combine(day, time.min))


def _page(request: HttpRequest, cluster: Cluster,
          failed: AcceptRiskForm | None = None) -> HttpResponse:
    now = timezone.now()
    policy = policy_for(cluster)
    page = checklist.build(cluster, now, checklist.Filters.from_query(request.GET), policy)
    max_days = policy.max_acceptance_days
    editable = can_change(request.user, cluster)
    forms_by_check: dict[str, AcceptRiskForm] = {}
    if editable:
        # The template writes each group's inputs with the group's ids and check id, so every
        # group but the one that failed shares one blank form (a form per group cost more to
        # build and render than the rest of the page).
        blank = AcceptRiskForm()
        for group in page.groups:
            if failed is not None and failed.data.get("check_id") == group.check_id:
                forms_by_check[group.check_id] = failed
            else:
                forms_by_check[group.check_id] = blank
    return render(request, "posture/checklist.html", {
        "cluster": cluster,
        "page": page,
        "entries": [(group, forms_by_check.get(group.check_id)) for group in page.groups],
        "platform_entries": [(group, None) for group in page.platform],
        "can_change": editable,
        "max_days": max_days,
        "today": timezone.localdate(now),
        "severities": Severity.ordered(),
        "categories": Category.ordered(),
        "scopes": Scope.CHOICES,
    }, status=400 if failed is not None else 200)


@login_required
def cluster_checklist(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_visible_cluster(request, pk)
    return _page(request, cluster)


@login_required
@require_POST
def accept_risk(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_changeable_cluster(request, pk)
    check_id = request.POST.get("check_id", "")
    slug = check_id.replace(".", "-")
    form = AcceptRiskForm(request.POST, auto_id=f"id_{slug}_%s")
    if form.is_valid():
        before = Snapshot.objects.latest_successful(cluster, detail=False)
        try:
            accept(cluster=cluster, check_id=form.cleaned_data["check_id"],
                   namespace=form.cleaned_data["namespace"],
                   name_pattern=form.cleaned_data["name_pattern"],
                   reason=form.cleaned_data["reason"], expires_at=form.expires_at(),
                   user=request.user)
        except AcceptanceError as exc:
            field = {"expires_at": "expires_on"}.get(exc.field or "", exc.field)
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            after = Snapshot.objects.latest_successful(cluster, detail=False)
            messages.success(request, _score_message("Risk accepted", check_id, before, after))
            return redirect(reverse("clusters:checklist", args=[cluster.pk]) + f"#check-{slug}")
    return _page(request, cluster, failed=form)


@login_required
@require_POST
def revoke_risk(request: HttpRequest, pk: int, acceptance_pk: int) -> HttpResponse:
    cluster = get_changeable_cluster(request, pk)
    acceptance = get_object_or_404(RiskAcceptance, pk=acceptance_pk, cluster=cluster,
                                   revoked_at__isnull=True)
    before = Snapshot.objects.latest_successful(cluster, detail=False)
    revoke(acceptance, request.user)
    after = Snapshot.objects.latest_successful(cluster, detail=False)
    messages.success(request, _score_message("Acceptance revoked", acceptance.check_id,
                                             before, after))
    return redirect(reverse("clusters:checklist", args=[cluster.pk]) + "#acceptances")


def _score_message(what: str, check_id: str, before: Any, after: Any) -> str:
    check = CATALOG.get(check_id)
    title = check.title if check else check_id
    if before is None or after is None or after.score is None:
        return f"{what}: {title}."
    return (f"{what}: {title}. The score is now {after.score:.1f} ({after.grade}), "
            f"was {before.score:.1f} ({before.grade}).")
