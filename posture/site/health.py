"""Health probes: ``/healthz`` (the process answers) and ``/readyz`` (its services answer).

Both are unauthenticated, read no session and render no template, so a probe costs one short
request. ``/readyz`` names what failed and never why in detail: the answer is public, and an
error message can carry a host name or a password from a URL. The details go to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

log = logging.getLogger(__name__)

# A probe that waits longer than this for a service reports it as failed; the orchestrator's
# own probe timeout (5 s in deploy/ and docker-compose.yml) must stay above the two together.
CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    """Run ``SELECT 1`` on the default database (connect timeout: ``DATABASES`` OPTIONS)."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    """Open a fresh connection to the Celery broker, and ping it when it is Redis."""
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    options.update(socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                   socket_timeout=CHECK_TIMEOUT_SECONDS)
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_SECONDS,
                    transport_options=options) as broker:
        broker.ensure_connection(max_retries=0)
        client = getattr(broker.default_channel, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process can serve a request; touches no other service."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the broker answer, else 503 naming the failed ones."""
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 — any failure means "not ready"; logged in full
            # One line, no traceback: the probe repeats every few seconds during an outage.
            log.warning("readiness check %s failed after %.1f s: %s: %s", name,
                        time.monotonic() - started, type(exc).__name__,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else "")
            checks[name] = "failed"
        else:
            checks[name] = "ok"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body: dict[str, object] = {"status": "unavailable" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


PROBES: dict[str, Callable[[HttpRequest], JsonResponse]] = {"/healthz": healthz,
                                                           "/readyz": readyz}


class ProbeMiddleware:
    """Answer the probes before any other middleware runs.

    Probes come from the kubelet or Docker with whatever Host they please (a pod address), over
    plain HTTP: they must not meet ALLOWED_HOSTS, the HTTPS redirect, the session, CSRF or the
    login page. First in MIDDLEWARE; its answers build no URL, so the Host is never used.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
