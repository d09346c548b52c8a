"""What single sign-on is configured with: one provider, and who may use local passwords.

The site's settings read these from the environment (``posture.site.oidc``); nothing here
imports Django's models, so the settings module can load it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Asymmetric algorithms only: an ID token signed with the client secret (HS256) could be made
# by anyone who holds that secret, which is every Posture replica and its configuration.
ASYMMETRIC_ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})


class LocalLogin(StrEnum):
    """Who may log in with a Posture password (``POSTURE_LOCAL_LOGIN``)."""

    ON = "on"                  # every local account
    SUPERUSERS = "superusers"  # break-glass administrators only
    OFF = "off"                # nobody: single sign-on only


@dataclass(frozen=True)
class OidcSettings:
    """One OpenID provider and how its groups become Posture roles."""

    issuer: str
    client_id: str
    client_secret: str
    provider_name: str = "single sign-on"
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    username_claim: str = "preferred_username"
    security_team_groups: frozenset[str] = frozenset()
    auditor_groups: frozenset[str] = frozenset()
    team_group_prefix: str = ""
    signing_algorithms: tuple[str, ...] = ("RS256",)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_provider_url(name: str, value: str) -> str:
    """Return ``value`` if it is an https URL (http only on this machine's loopback)."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return value
    if parts.scheme == "http" and is_loopback_host(host):
        return value
    raise ImproperlyConfigured(
        f"{name} must be an https:// URL (http:// only on a loopback address such as 127.0.0.1)"
    )
