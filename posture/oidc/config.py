"""The single sign-on settings, read from the environment by ``posture.settings``.

Nothing here imports Django's models, so the settings module can call it. Each value goes
through ``posture.env`` and a bad one stops start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from posture import env

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


def from_environment(environ: Mapping[str, str] | None = None) -> OidcSettings | None:
    """Return the provider's settings, or None when ``POSTURE_OIDC_ISSUER`` is unset."""
    issuer = env.string("POSTURE_OIDC_ISSUER", "", environ).strip()
    if not issuer:
        return None
    check_provider_url("POSTURE_OIDC_ISSUER", issuer)
    client_id = env.string("POSTURE_OIDC_CLIENT_ID", "", environ).strip()
    client_secret = env.string("POSTURE_OIDC_CLIENT_SECRET", "", environ).strip()
    if not client_id:
        raise ImproperlyConfigured("POSTURE_OIDC_CLIENT_ID must be set with POSTURE_OIDC_ISSUER")
    if not client_secret:
        raise ImproperlyConfigured(
            "POSTURE_OIDC_CLIENT_SECRET (or POSTURE_OIDC_CLIENT_SECRET_FILE) must be set with "
            "POSTURE_OIDC_ISSUER: Posture signs in as a confidential client")
    scopes = " ".join(env.string("POSTURE_OIDC_SCOPES", "openid email profile", environ).split())
    if "openid" not in scopes.split():
        raise ImproperlyConfigured("POSTURE_OIDC_SCOPES must include openid")
    algorithms = tuple(env.csv("POSTURE_OIDC_SIGNING_ALGORITHMS", ["RS256"], environ))
    unsupported = sorted(set(algorithms) - ASYMMETRIC_ALGORITHMS)
    if unsupported:
        raise ImproperlyConfigured(
            f"POSTURE_OIDC_SIGNING_ALGORITHMS: {', '.join(unsupported)} not accepted; use one or "
            f"more of {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}")
    groups_claim = env.string("POSTURE_OIDC_GROUPS_CLAIM", "groups", environ).strip()
    username_claim = env.string(
        "POSTURE_OIDC_USERNAME_CLAIM", "preferred_username", environ).strip()
    if not groups_claim or not username_claim:
        raise ImproperlyConfigured(
            "POSTURE_OIDC_GROUPS_CLAIM and POSTURE_OIDC_USERNAME_CLAIM may not be empty")
    return OidcSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        provider_name=env.string("POSTURE_OIDC_PROVIDER_NAME", "single sign-on", environ).strip()
        or "single sign-on",
        scopes=scopes,
        groups_claim=groups_claim,
        username_claim=username_claim,
        security_team_groups=frozenset(env.csv("POSTURE_OIDC_GROUP_SECURITY_TEAM", [], environ)),
        auditor_groups=frozenset(env.csv("POSTURE_OIDC_GROUP_AUDITORS", [], environ)),
        team_group_prefix=env.string("POSTURE_OIDC_TEAM_GROUP_PREFIX", "", environ),
        signing_algorithms=algorithms,
    )


def local_login(oidc: OidcSettings | None, environ: Mapping[str, str] | None = None) -> LocalLogin:
    """Read ``POSTURE_LOCAL_LOGIN``: ``on`` by default, ``superusers`` once single sign-on is on."""
    default = LocalLogin.ON if oidc is None else LocalLogin.SUPERUSERS
    value = env.string("POSTURE_LOCAL_LOGIN", default.value, environ).strip().lower()
    try:
        mode = LocalLogin(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"POSTURE_LOCAL_LOGIN={value!r} is not one of on, superusers, off") from None
    if mode is LocalLogin.OFF and oidc is None:
        raise ImproperlyConfigured(
            "POSTURE_LOCAL_LOGIN=off needs POSTURE_OIDC_ISSUER: nobody could log in")
    return mode
