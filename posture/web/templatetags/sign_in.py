"""What the login page offers: the provider's button, the password form, or both."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

from posture.domain.oidc.provider import LocalLogin

register = template.Library()


@register.simple_tag
def sign_in_options(next_url: str = "") -> dict[str, Any]:
    """Return ``{"provider": name or "", "url": start URL, "local": "on"/"superusers"/"off"}``."""
    oidc = settings.POSTURE_OIDC
    url = ""
    if oidc is not None:
        url = reverse("oidc:login") + (f"?{urlencode({'next': next_url})}" if next_url else "")
    return {
        "provider": oidc.provider_name if oidc is not None else "",
        "url": url,
        "local": LocalLogin(settings.POSTURE_LOCAL_LOGIN).value,
    }
