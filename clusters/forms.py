"""The registry's forms: registering a cluster, replacing its kubeconfig, its settings.

The kubeconfig is never rendered back into the page: once read, it travels between steps (pick
a context, verify, register) as a short-lived sealed token. Forms that validate registry input
(cluster fields, kubeconfigs) live here; a page's other forms live beside its view.
"""

from __future__ import annotations

import io
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from clusters import vault
from clusters.access import ROLE_GROUPS
from clusters.kubeconfig import (
    MAX_BYTES,
    ClusterCredentials,
    KubeconfigError,
    context_names,
    load,
    too_large,
)
from clusters.models import Cluster
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

    @classmethod
    def refused_as_too_large(cls) -> RegistrationForm:
        """Return an empty form that says the request was too large to be read at all.

        Django refuses to parse a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, so nothing of it
        (the name either) can be shown back; the paste would not be anyway.
        """
        form = cls()
        form.cleaned_data = {}
        form._errors = forms.utils.ErrorDict()  # type: ignore[attr-defined]  # what full_clean() starts with
        form.add_error("kubeconfig", too_large())
        return form

    def clean_name(self) -> str:
        try:
            return check_name(self.cleaned_data["name"])
        except RegistrationError as exc:
            raise forms.ValidationError(str(exc)) from None

    def _kubeconfig_text(self) -> str | bytes | None:
        upload = self.cleaned_data.get("kubeconfig_file")
        if upload:
            if upload.size > MAX_BYTES:
                raise KubeconfigError(too_large(upload.size))
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
        cleaned = super().clean() or {}
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
        data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict when bound
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


class KubeconfigUploadHandler(FileUploadHandler):
    """Keep an uploaded kubeconfig in memory, never in a temporary file, and only its first
    ``MAX_BYTES + 1`` bytes: enough to tell that it is too large, counted in ``size``.

    Django's default handlers write uploads over ``FILE_UPLOAD_MAX_MEMORY_SIZE`` to disk, and a
    kubeconfig is a secret.
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        room = MAX_BYTES + 1 - self.buffer.tell()
        if room > 0:
            self.buffer.write(raw_data[:room])

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer, self.field_name, self.file_name, self.content_type, self.size,
            self.charset, self.content_type_extra)


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

    def __init__(self, *args: Any, can_assign: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["labels_text"].initial = ", ".join(
            f"{k}={v}" for k, v in sorted((self.instance.labels or {}).items()))
        teams, owners = self.fields["owner_teams"], self.fields["owners"]
        assert isinstance(teams, forms.ModelMultipleChoiceField)
        assert isinstance(owners, forms.ModelMultipleChoiceField)
        teams.queryset = Group.objects.exclude(name__in=ROLE_GROUPS)
        owners.queryset = get_user_model().objects.filter(is_active=True)
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"]
        del self.fields["poll_interval_minutes"]
