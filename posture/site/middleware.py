"""Request-scoped context for code reached through signals (which carry no request)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from posture.domain.audit import current_request


class CurrentRequestMiddleware:
    """Make the request being served available to the audit trail (e.g. role changes in the
    admin are recorded with the admin who made them and their address)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


# Scripts only from our own static files (no inline script anywhere); plotly.js sets inline
# styles on the charts it draws, so styles allow 'unsafe-inline' — styles cannot run code.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def _policy() -> str:
    from django.conf import settings

    # Logging out ends with a redirect to the OpenID provider, which browsers check against
    # the logging-out page's form-action.
    oidc = getattr(settings, "POSTURE_OIDC", None)
    if oidc is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'",
                                           f"form-action 'self' {oidc.origin}")


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: CSP and Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", _policy())
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
