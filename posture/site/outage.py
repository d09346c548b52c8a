"""Answer 503 while the database is unreachable, instead of a server error with a traceback.

A page request gets a short HTML page that needs neither the database nor a template that
reads the user; an API request gets JSON. Both say to retry and carry ``Retry-After``. The
embedded SQLite database on a full disk gets its own message: waiting will not help there.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def disk_full(exception: BaseException | None) -> bool:
    """Whether ``exception`` is SQLite's (the embedded database's) "database or disk is full"."""
    return isinstance(exception, OperationalError) and "disk is full" in str(exception)


def unavailable(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    """The 503 answer: JSON under ``/api/``, the HTML page elsewhere."""
    full = disk_full(exception)
    if request.path.startswith("/api/"):
        error = ("service unavailable: the disk holding the database is full" if full else
                 "service unavailable: the database cannot be reached; retry later")
        response: HttpResponse = JsonResponse({"error": error}, status=503)
    else:
        response = HttpResponse(render_to_string("site/unavailable.html", {
            "disk_full": full, "var_dir": settings.VAR_DIR if full else ""}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """Turn a database connection failure raised by a view into the 503 answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        log.error("database unavailable while serving %s: %s: %s", request.path,
                  type(exception).__name__, exception)
        return unavailable(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the 503 answer when the failure was the database (raised outside a view,
    e.g. by the session middleware), else a plain 500 page without details."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_ERRORS):
        return unavailable(request, exception)
    return HttpResponse(render_to_string("site/server_error.html"), status=500)
