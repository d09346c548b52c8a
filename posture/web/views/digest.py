"""The weekly digest's pages: a user's preferences, and the signed one-click unsubscribe."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from clusters.access import visible_clusters
from clusters.models import Cluster
from posture.domain import digest
from posture.domain.models import DigestDelivery

RECENT_DELIVERIES = 5


class PreferencesForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Send me the weekly digest")
    clusters = forms.ModelMultipleChoiceField(
        queryset=Cluster.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Clusters",
        help_text="None ticked: every cluster you may see, including ones registered later.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only clusters the user may see are offered, and only those are accepted.
        clusters = self.fields["clusters"]
        assert isinstance(clusters, forms.ModelMultipleChoiceField)
        clusters.queryset = visible_clusters(user).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    if request.method == "POST":
        form = PreferencesForm(request.POST, user=user)
        if form.is_valid():
            digest.save_preference(user, enabled=form.cleaned_data["enabled"],
                                   clusters=form.cleaned_data["clusters"])
            messages.success(request, "Digest preferences saved.")
            return redirect("digest:preferences")
    else:
        current = digest.preference_of(user)
        chosen = list(current.clusters.values_list("pk", flat=True)) if current.pk else []
        form = PreferencesForm(user=user, initial={"enabled": current.enabled,
                                                   "clusters": chosen})
    return render(request, "posture/digest_preferences.html", {
        "form": form,
        "deliveries": DigestDelivery.objects.filter(user=user).order_by("-week")[
            :RECENT_DELIVERIES],
    })


# Mail clients send the one-click unsubscribe (RFC 8058) as a POST from their own servers: no
# session cookie and no CSRF token can come with it. The signed token in the URL is what
# authorises the request, and all it can do is turn its own user's digest off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    user = digest.user_for_token(token)
    if user is None:
        return render(request, "posture/digest_unsubscribed.html", {"state": "invalid"},
                      status=400)
    if request.method == "POST":
        digest.unsubscribe(user)
        return render(request, "posture/digest_unsubscribed.html", {"state": "done"})
    # A GET only asks: link scanners and previews follow links, and must not unsubscribe anyone.
    return render(request, "posture/digest_unsubscribed.html", {"state": "confirm"})
