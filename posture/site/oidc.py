"""The single sign-on settings, read from the environment for ``posture.site.settings``.

Each value goes through ``posture.site.env``; a bad one stops start-up with a message naming
the variable (and never its value, the client secret among them).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

from posture.domain.oidc.provider import (
    ASYMMETRIC_ALGORITHMS,
    LocalLogin,
    OidcSettings,
    check_provider_url,
)
from posture.site import env


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
