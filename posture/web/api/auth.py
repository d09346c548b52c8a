"""API authentication: the browser session, or ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from posture.domain.models import ApiToken

TOKEN_PREFIX = "pst_"  # noqa: S105  (a marker that makes leaked tokens easy to scan for)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; return the row and the token itself, which is shown once and not kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name, digest=digest(token),
                                  prefix=token[:10])
    return row, token


def user_for_token(header: str) -> User | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        return None
    row = (ApiToken.objects.select_related("user")
           .filter(digest=digest(token.strip()), revoked_at__isnull=True, user__is_active=True)
           .first())
    if row is None:
        return None
    # At most one write a minute per token: the API is polled by dashboards.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def api_view(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
    """Authenticate by session or token; answer 401 JSON otherwise. GET only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"error": "read-only API: use GET"}, status=405)
        if not request.user.is_authenticated:
            user = user_for_token(request.META.get("HTTP_AUTHORIZATION", ""))
            if user is None:
                response = JsonResponse({"error": "authentication required: log in or send "
                                                  "Authorization: Bearer <token>"}, status=401)
                response["WWW-Authenticate"] = 'Bearer realm="posture"'
                return response
            request.user = user
        return view(request, *args, **kwargs)

    return wrapper
