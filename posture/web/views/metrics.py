"""``/metrics`` for Prometheus, guarded by ``POSTURE_METRICS_TOKEN`` (a bearer token).

It exposes the whole fleet (a scraper is a service, not a user), so it is off until a token is
configured, and compared in constant time.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from posture.domain.metrics import FleetCollector


def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.POSTURE_METRICS_TOKEN
    if not expected:
        return HttpResponse("Metrics are off: set POSTURE_METRICS_TOKEN.\n", status=404,
                            content_type="text/plain")
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        response = HttpResponse("Bearer token required.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="posture-metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(timezone.now().date()))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
