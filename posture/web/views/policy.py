"""The organisation policy page: everyone reads it, the security team edits it."""

from __future__ import annotations

import yaml
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clusters.access import is_security_team, require_security_team
from posture.checks import CATALOG, Policy
from posture.checks.policy import PolicyError, policy_keys
from posture.domain.models import OrgPolicy
from posture.domain.policy import change_policy


class PolicyForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
        label="Policy (YAML)",
        help_text="The same format `posture scan --policy FILE` reads. Unknown keys are refused.",
    )

    def clean_document(self) -> Policy:
        text = self.cleaned_data["document"]
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise forms.ValidationError(f"Not valid YAML{where}.") from None
        try:
            return Policy.from_dict(data)
        except PolicyError as exc:
            raise forms.ValidationError(str(exc)) from None


def _as_yaml(policy: Policy) -> str:
    return yaml.safe_dump(policy.to_dict(), sort_keys=False, default_flow_style=False)


@login_required
def policy_view(request: HttpRequest) -> HttpResponse:
    row = OrgPolicy.load()
    editable = is_security_team(request.user)
    if request.method == "POST":
        require_security_team(request, "Only the security team edits the policy")
        form = PolicyForm(request.POST)
        if form.is_valid():
            rescored = change_policy(form.cleaned_data["document"], request.user)
            messages.success(request, f"Policy saved. The newest scores of {rescored} "
                             f"cluster{'s' if rescored != 1 else ''} were recomputed with it; "
                             "the checks apply it from each cluster's next poll.")
            return redirect("policy")
    else:
        form = PolicyForm(initial={"document": _as_yaml(row.policy())})
    return render(request, "posture/policy.html", {
        "form": form, "row": row, "editable": editable,
        "keys": policy_keys(),
        "check_ids": sorted(CATALOG),
    })
