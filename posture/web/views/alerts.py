"""Alert pages: the rules (create, edit, switch off) and the outbox of deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clusters.access import can_register, require_can_register, visible_clusters
from clusters.models import Cluster
from posture.domain import alerts
from posture.domain.alert_channels import check_url
from posture.domain.alert_models import (
    DELIVERY_STATE_COLOURS,
    THRESHOLD_UNITS,
    WEBHOOK_CHANNELS,
    AlertChannel,
    AlertKind,
    AlertRule,
)

OUTBOX_ROWS = 200


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=AlertKind.choices, label="Alert when")
    threshold = forms.IntegerField(
        min_value=0, max_value=3650, initial=0, required=False, label="N",
        help_text="Days for end of life, hours for failing polls; ignored otherwise.")
    channel = forms.ChoiceField(choices=AlertChannel.choices)
    email = forms.EmailField(required=False, help_text="Email only; blank: your own address.")
    url = forms.CharField(
        required=False, max_length=2000, label="Webhook URL", widget=forms.PasswordInput,
        help_text="Slack, Teams and signed webhooks. Kept encrypted and never shown again; "
                  "leave blank when editing to keep the current one.")
    clusters = forms.ModelMultipleChoiceField(
        queryset=Cluster.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every cluster you may see, including ones registered later.")
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, user: User, rule: AlertRule | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        clusters = self.fields["clusters"]
        assert isinstance(clusters, forms.ModelMultipleChoiceField)
        owner = rule.recipient if rule is not None else user
        # Only clusters the rule's recipient may see are offered, and only those are accepted.
        clusters.queryset = visible_clusters(owner).order_by("name")
        if rule is not None:
            # What a rule watches and where it sends stay: a new kind is a new rule.
            self.fields["kind"].disabled = True
            self.fields["channel"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("channel")
        url = (data.get("url") or "").strip()
        data["url"] = url
        data["threshold"] = data.get("threshold") or 0
        if channel in WEBHOOK_CHANNELS:
            if not url and self.rule is None:
                self.add_error("url", "A webhook needs its URL.")
            elif url:
                problem = check_url(url)
                if problem:
                    self.add_error("url", problem)
        if data.get("kind") in THRESHOLD_UNITS and not data["threshold"]:
            self.add_error("threshold", f"Give N in {THRESHOLD_UNITS[data['kind']]}.")
        return data


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def rules_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = None
    if request.method == "POST":
        require_can_register(request)
        form = RuleForm(request.POST, user=user)
        if form.is_valid():
            d = form.cleaned_data
            rule, key = alerts.create_rule(
                user, recipient=user, name=d["name"], kind=d["kind"], threshold=d["threshold"],
                channel=d["channel"], email=d["email"], url=d["url"], clusters=d["clusters"])
            if key:
                messages.success(request, f"Rule created. Its signing key, shown only now: {key}")
            else:
                messages.success(request, "Rule created.")
            return redirect("alert-rules")
    elif can_register(user):
        form = RuleForm(user=user)
    rules = alerts.visible_rules(user).prefetch_related("clusters")
    return render(request, "posture/alert_rules.html", {
        "form": form, "rules": [(r, alerts.can_change_rule(user, r)) for r in rules],
        "units": THRESHOLD_UNITS,
    })


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    rule = alerts.visible_rules(user).filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule")
    if not alerts.can_change_rule(user, rule):
        raise PermissionDenied("Read-only access")
    initial = {"name": rule.name, "kind": rule.kind, "threshold": rule.threshold,
               "channel": rule.channel, "email": rule.email, "enabled": rule.enabled,
               "clusters": list(rule.clusters.values_list("pk", flat=True))}
    if request.method == "POST":
        form = RuleForm(request.POST, user=user, rule=rule, initial=initial)
        if form.is_valid():
            d = form.cleaned_data
            alerts.change_rule(user, rule, name=d["name"], threshold=d["threshold"],
                               enabled=d["enabled"], email=d["email"], url=d["url"],
                               clusters=d["clusters"])
            messages.success(request, "Rule saved.")
            return redirect("alert-rules")
    else:
        form = RuleForm(user=user, rule=rule, initial=initial)
    return render(request, "posture/alert_rule_edit.html", {"form": form, "rule": rule})


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    rows = list(alerts.visible_deliveries(_user(request))[:OUTBOX_ROWS])
    return render(request, "posture/alert_outbox.html", {
        "rows": rows, "colours": DELIVERY_STATE_COLOURS, "limit": OUTBOX_ROWS})
