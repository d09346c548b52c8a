"""Single sign-on test helpers: start the provider, and configure Posture for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from posture.domain.oidc import discovery
from posture.domain.oidc.provider import LocalLogin, OidcSettings
from tests.oidc.provider import CLIENT_ID, OpenIdProvider

PROVIDER_NAME = "Test provider"
SECURITY_TEAM_GROUP = "posture-security"
AUDITORS_GROUP = "posture-auditors"
TEAM_PREFIX = "posture-team-"
PROVIDER_PASSWORD = "provider-password-42"


def start_provider(workdir: Any, base_url: str) -> OpenIdProvider:
    provider = OpenIdProvider(workdir=workdir,
                              redirect_uri=f"{base_url}/oidc/callback/",
                              post_logout_redirect_uri=f"{base_url}/login/")
    provider.start()
    return provider


def posture_settings(provider: OpenIdProvider) -> OidcSettings:
    """Posture's settings for the test provider, as an operator would write them."""
    return OidcSettings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=provider.client_secret,
        provider_name=PROVIDER_NAME,
        scopes="openid email profile groups",
        security_team_groups=frozenset({SECURITY_TEAM_GROUP}),
        auditor_groups=frozenset({AUDITORS_GROUP}),
        team_group_prefix=TEAM_PREFIX,
    )


@contextmanager
def signing_in_with(settings: Any, provider: OpenIdProvider) -> Iterator[OpenIdProvider]:
    """Posture signs in with ``provider`` (no users yet); local login for superusers only."""
    discovery.forget()
    settings.POSTURE_OIDC = posture_settings(provider)
    settings.POSTURE_LOCAL_LOGIN = LocalLogin.SUPERUSERS
    provider.users.clear()
    provider.save_users()
    try:
        yield provider
    finally:
        discovery.forget()
