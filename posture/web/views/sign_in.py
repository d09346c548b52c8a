"""Sign-in with the provider: start, callback, logout. All answer 404 while it is off."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth.views import LogoutView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from posture.domain.audit import Action, record
from posture.domain.oidc import discovery
from posture.domain.oidc.backends import LibrarySettings, SignInRefused, library_settings
from posture.domain.oidc.provider import OidcSettings

log = logging.getLogger(__name__)

# What the person is told; the reason word itself goes to the audit log.
MESSAGES = {
    "state": "This sign-in was not started here, or was finished already. Start again.",
    "provider-error": "The provider did not sign you in.",
    "provider-unreachable": "The provider could not be reached. Try again in a moment.",
    "inactive": "Your Posture account is deactivated. Ask the security team.",
}
GENERIC = "The provider's answer could not be verified, so you were not signed in."


def _provider() -> OidcSettings:
    oidc: OidcSettings | None = settings.POSTURE_OIDC
    if oidc is None:
        raise Http404("Single sign-on is not configured")
    return oidc


def refuse(request: HttpRequest, reason: str, detail: str = "") -> HttpResponse:
    """Show why a sign-in failed, and write it to the audit trail."""
    oidc = _provider()
    log.warning("single sign-on refused: %s %s", reason, detail)
    record(Action.LOGIN_FAILED, request=request, target=oidc.provider_name,
           detail={"method": "oidc", "reason": reason, **({"detail": detail} if detail else {})})
    return render(request, "oidc/sign_in_failed.html", {
        "provider_name": oidc.provider_name,
        "message": MESSAGES.get(reason, GENERIC),
    }, status=403)


class StartView(LibrarySettings, OIDCAuthenticationRequestView):
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge."""

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoints here; they come from discovery, in get().
        self.oidc_settings = {}
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        oidc = _provider()
        try:
            meta = discovery.metadata(oidc)
        except discovery.ProviderUnavailable as exc:
            return refuse(request, "provider-unreachable", str(exc)[:200])
        self.oidc_settings = library_settings(oidc, meta)
        self.OIDC_OP_AUTH_ENDPOINT = meta.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = oidc.client_id
        return super().get(request)


class CallbackView(LibrarySettings, OIDCAuthenticationCallbackView):
    """Take the provider's answer: refuse it with a reason, or sign the person in."""

    oidc_settings: dict[str, Any] = {}

    def get(self, request: HttpRequest) -> HttpResponse:
        oidc = _provider()
        states = request.session.get("oidc_states")
        if not isinstance(states, dict):
            states = {}
        state = request.GET.get("state", "")
        known = state in states
        if request.GET.get("error"):
            if known:
                del states[state]
                request.session.modified = True
            return refuse(request, "provider-error", request.GET["error"][:100])
        if not known or "code" not in request.GET:
            return refuse(request, "state")
        # RFC 9207: an answer that says it comes from another issuer is a mix-up attack.
        if "iss" in request.GET and request.GET["iss"] != oidc.issuer:
            del states[state]
            request.session.modified = True
            return refuse(request, "issuer-mismatch")
        try:
            self.oidc_settings = library_settings(oidc, discovery.metadata(oidc))
            return super().get(request)
        except SignInRefused as exc:
            return refuse(request, exc.reason, exc.detail)
        except requests.HTTPError as exc:
            # The token or userinfo endpoint said no; its body is not repeated anywhere.
            status = exc.response.status_code if exc.response is not None else "?"
            return refuse(request, "provider-error", f"HTTP {status}")
        except (discovery.ProviderUnavailable, requests.RequestException) as exc:
            return refuse(request, "provider-unreachable", type(exc).__name__)
        except ValueError:
            return refuse(request, "provider-error", "an answer that is not JSON")

    def login_failure(self) -> HttpResponse:
        return refuse(self.request, "refused")


class SignOutView(LogoutView):
    """Log out of Posture, then of the provider when the session began there.

    The provider's end-session endpoint gets the ID token as ``id_token_hint`` and comes back
    to the login page (``post_logout_redirect_uri``, registered at the provider).
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        oidc: OidcSettings | None = settings.POSTURE_OIDC
        if not id_token or oidc is None:
            return response
        try:
            meta = discovery.metadata(oidc)
        except discovery.ProviderUnavailable as exc:
            log.warning("logout at the provider skipped: %s", exc)
            return response
        if not meta.end_session_endpoint:
            return response
        query = urlencode({
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
            "client_id": oidc.client_id,
        })
        separator = "&" if "?" in meta.end_session_endpoint else "?"
        return HttpResponseRedirect(f"{meta.end_session_endpoint}{separator}{query}")
