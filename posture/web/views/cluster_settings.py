"""Changing a registered cluster: its settings, its kubeconfig, or removing it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clusters.access import ROLE_GROUPS, get_changeable_cluster, is_security_team
from clusters.forms import RegistrationForm
from clusters.models import Cluster
from posture.domain.audit import Action, record


def parse_labels(text: str) -> dict[str, str]:
    """Read ``env=prod, region=eu`` into a dict; refuse malformed pairs."""
    labels: dict[str, str] = {}
    for part in (p.strip() for p in text.replace("\n", ",").split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError(f"{part!r} is not key=value")
        labels[key.strip()[:63]] = value.strip()[:63]
    return labels


class ClusterSettingsForm(forms.ModelForm):
    labels_text = forms.CharField(required=False, label="Labels",
                                  help_text="key=value pairs, comma-separated: env=prod, "
                                            "team=payments")

    class Meta:
        model = Cluster
        fields = ["poll_interval_minutes", "owners", "owner_teams"]
        widgets = {"owners": forms.CheckboxSelectMultiple,
                   "owner_teams": forms.CheckboxSelectMultiple}

    def __init__(self, *args, can_assign: bool, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["labels_text"].initial = ", ".join(
            f"{k}={v}" for k, v in sorted((self.instance.labels or {}).items()))
        self.fields["owner_teams"].queryset = Group.objects.exclude(name__in=ROLE_GROUPS)
        self.fields["owners"].queryset = get_user_model().objects.filter(is_active=True)
        if not can_assign:
            # Only the security team hands clusters to other people.
            del self.fields["owners"]
            del self.fields["owner_teams"]

    def clean_labels_text(self) -> dict[str, str]:
        return parse_labels(self.cleaned_data.get("labels_text") or "")

    def save(self, commit: bool = True) -> Cluster:
        self.instance.labels = self.cleaned_data["labels_text"]
        return super().save(commit)


class ReplaceKubeconfigForm(RegistrationForm):
    """The registration form's kubeconfig handling, without the name."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        del self.fields["name"]
        del self.fields["poll_interval_minutes"]


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
        old = {"server": cluster.server, "context": cluster.context}
        cluster.store_kubeconfig(kubeconfig_form.credentials)
        cluster.save(update_fields=["kubeconfig_sealed", "server", "context"])
        record(Action.KUBECONFIG_REPLACE, request=request, cluster=cluster, target=cluster.name,
               detail={"before": old, "after": {"server": cluster.server,
                                                 "context": cluster.context}})
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
            with transaction.atomic():
                record(Action.DELETE, request=request, cluster=None, target=name,
                       detail={"server": cluster.server, "id": cluster.pk})
                cluster.delete()
            messages.success(request, f"Deleted {name} and its history.")
            return redirect("clusters:list")
        error = "Type the cluster's name exactly to confirm."
    return render(request, "clusters/cluster_delete.html", {"cluster": cluster, "error": error})
