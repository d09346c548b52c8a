"""The audit trail: one function records every sensitive action, with who, when and from where.

Callers pass what happened, never secrets: the detail of a kubeconfig replacement is the new
server and context, not the kubeconfig.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.utils import timezone

from posture.domain.models import AuditEvent

Action = AuditEvent.Action

# The request being served, for events reached through signals (which carry no request): set by
# ``posture.site.middleware.CurrentRequestMiddleware``.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; ``X-Forwarded-For`` is trusted only behind a configured proxy."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def record(action: str, *, request: HttpRequest | None = None,
           actor: User | AnonymousUser | None = None, cluster: Any = None,
           target: str = "", detail: dict[str, Any] | None = None) -> AuditEvent:
    """Write one audit event (the request being served is used when none is given)."""
    if request is None:
        request = current_request.get()
    if actor is None and request is not None:
        actor = request.user
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=user,
        actor_name=(user.get_username() if user else (detail or {}).get("username", ""))[:150],
        action=action,
        cluster=cluster,
        target=str(target)[:300],
        detail=detail or {},
        ip=client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None
                    else ""),
    )
