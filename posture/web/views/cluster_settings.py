"""Changing a registered cluster: its settings, its kubeconfig, or removing it.

The forms are the registry's (``clusters.forms``); the changes are domain actions
(``posture.domain.registry``), which leave the audit rows.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clusters.access import get_changeable_cluster, is_security_team
from clusters.forms import ClusterSettingsForm, ReplaceKubeconfigForm
from posture.domain import registry


@login_required
@require_http_methods(["GET", "POST"])
def cluster_settings(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_changeable_cluster(request, pk)
    can_assign = is_security_team(request.user)
    action = request.POST.get("action")
    settings_form = ClusterSettingsForm(
        request.POST if action == "settings" else None, instance=cluster, can_assign=can_assign)
    kubeconfig_form = ReplaceKubeconfigForm(
        request.POST if action == "kubeconfig" else None,
        request.FILES if action == "kubeconfig" else None)
    if action == "settings" and settings_form.is_valid():
        settings_form.save()
        messages.success(request, "Settings saved.")
        return redirect("clusters:settings", pk=cluster.pk)
    if action == "kubeconfig" and kubeconfig_form.is_valid() and kubeconfig_form.credentials:
        registry.replace_kubeconfig(cluster, kubeconfig_form.credentials, request.user)
        messages.success(request, "Kubeconfig replaced. It is used from the next poll.")
        return redirect("clusters:settings", pk=cluster.pk)
    return render(request, "clusters/cluster_settings.html", {
        "cluster": cluster, "settings_form": settings_form, "kubeconfig_form": kubeconfig_form,
    })


@login_required
@require_http_methods(["GET", "POST"])
def cluster_delete(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_changeable_cluster(request, pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() == cluster.name:
            name = cluster.name
            registry.delete_cluster(cluster, request.user)
            messages.success(request, f"Deleted {name} and its history.")
            return redirect("clusters:list")
        error = "Type the cluster's name exactly to confirm."
    return render(request, "clusters/cluster_delete.html", {"cluster": cluster, "error": error})
