"""The registration form. The kubeconfig is never rendered back into the page: once read, it
travels between steps (pick a context, verify, register) as a short-lived sealed token."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from clusters import vault
from clusters.kubeconfig import MAX_BYTES, ClusterCredentials, KubeconfigError, context_names, load
from clusters.registration import RegistrationError, check_name, read_credentials

DRAFT_SECONDS = 3600


class RegistrationForm(forms.Form):
    name = forms.CharField(
        max_length=63,
        help_text="Lower-case letters, digits and dashes, e.g. prod-eu-1.",
    )
    kubeconfig = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Paste a kubeconfig with inline credentials (a service-account token).",
    )
    kubeconfig_file = forms.FileField(required=False, label="…or upload a kubeconfig file")
    draft = forms.CharField(required=False, widget=forms.HiddenInput)
    # A plain field with a select widget: the choices are only known once the kubeconfig is read.
    context = forms.CharField(required=False, max_length=253,
                              widget=forms.Select(choices=[("", "(current context)")]))
    poll_interval_minutes = forms.IntegerField(
        min_value=1, max_value=24 * 60, initial=settings.POSTURE_POLL_INTERVAL_DEFAULT,
        label="Poll every (minutes)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.credentials: ClusterCredentials | None = None
        self.loaded_summary = ""

    def clean_name(self) -> str:
        try:
            return check_name(self.cleaned_data["name"])
        except RegistrationError as exc:
            raise forms.ValidationError(str(exc)) from None

    def _kubeconfig_text(self) -> str | bytes | None:
        upload = self.cleaned_data.get("kubeconfig_file")
        if upload:
            if upload.size > MAX_BYTES:
                raise KubeconfigError(
                    f"The kubeconfig is {upload.size:,} bytes; the limit is {MAX_BYTES:,} "
                    "bytes (1 MiB)."
                )
            return upload.read()
        pasted = self.cleaned_data.get("kubeconfig") or ""
        if pasted.strip():
            return pasted
        draft = self.cleaned_data.get("draft")
        if draft:
            try:
                return vault.unseal(draft.encode(), ttl=DRAFT_SECONDS)
            except vault.VaultError:
                raise KubeconfigError(
                    "The kubeconfig loaded earlier has expired; paste it again."
                ) from None
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        text: str | bytes | None = None
        try:
            text = self._kubeconfig_text()
            if text is None:
                self.add_error("kubeconfig", "Paste a kubeconfig or upload one.")
                return cleaned
            names = context_names(load(text))
            self.fields["context"].widget.choices = [("", "(current context)")] + [
                (n, n) for n in names
            ]
            self.credentials = read_credentials(text, self.cleaned_data.get("context") or None)
        except (KubeconfigError, RegistrationError) as exc:
            field = getattr(exc, "field", "kubeconfig")
            self.add_error(field if field in self.fields else "kubeconfig", str(exc))
            self._keep_draft(text)
            return cleaned
        self._keep_draft(text)
        self.cleaned_data["context"] = self.credentials.context
        self.loaded_summary = (
            f"Context {self.credentials.context!r} on {self.credentials.server}"
        )
        return cleaned

    def _keep_draft(self, text: str | bytes | None) -> None:
        """Carry a readable kubeconfig to the next step sealed, and never echo it back."""
        data = self.data.copy()
        data["kubeconfig"] = ""
        self.data = data
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                return
        if text is None:
            return
        try:
            load(text)
        except KubeconfigError:
            data["draft"] = ""
            return
        data["draft"] = vault.seal(text).decode()
