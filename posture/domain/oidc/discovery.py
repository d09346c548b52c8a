"""The provider's endpoints, from its discovery document (OpenID Connect Discovery 1.0).

Operators give the issuer only; the endpoints are read from
``{issuer}/.well-known/openid-configuration`` at the first sign-in and kept for an hour per
process. The document must name the configured issuer exactly (the spec's rule against a
document that speaks for another provider), and every endpoint must be https like the issuer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured

from posture.domain.oidc.provider import OidcSettings, check_provider_url

CACHE_SECONDS = 3600
TIMEOUT_SECONDS = 10
_cache: dict[str, tuple[float, Metadata]] = {}
_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or is not acceptable."""


@dataclass(frozen=True)
class Metadata:
    """The endpoints Posture uses; ``end_session_endpoint`` and ``userinfo`` may be absent."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str
    client_secret_basic: bool


def _endpoint(document: dict[str, Any], name: str, *, required: bool) -> str:
    value = document.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value:
        raise ProviderUnavailable(f"the discovery document has no {name}")
    try:
        return check_provider_url(name, value)
    except ImproperlyConfigured as exc:
        raise ProviderUnavailable(str(exc)) from None


def parse(oidc: OidcSettings, document: dict[str, Any]) -> Metadata:
    """Check a discovery document against the configured issuer and keep what is used."""
    if document.get("issuer") != oidc.issuer:
        raise ProviderUnavailable("the discovery document names another issuer")
    methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    return Metadata(
        issuer=oidc.issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint", required=True),
        token_endpoint=_endpoint(document, "token_endpoint", required=True),
        jwks_uri=_endpoint(document, "jwks_uri", required=True),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        # The spec's default when the provider does not say; client_secret_post otherwise.
        client_secret_basic="client_secret_basic" in methods
        or "client_secret_post" not in methods,
    )


def metadata(oidc: OidcSettings) -> Metadata:
    """Return the provider's metadata, fetched at most once an hour per process."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(oidc.issuer)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    url = oidc.issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"the discovery document could not be read: {exc}") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable("the discovery document is not a JSON object")
    found = parse(oidc, document)
    with _lock:
        _cache[oidc.issuer] = (now, found)
    return found


def forget() -> None:
    """Drop the cached documents (a provider moved its endpoints, or tests start a new one)."""
    with _lock:
        _cache.clear()
