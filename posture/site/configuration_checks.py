"""Django system checks for deployment mistakes that settings alone cannot refuse."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register


@register(deploy=True)
def embedded_services_in_production(app_configs: Any, **kwargs: Any) -> list[Any]:
    """Warn when a deployment still runs on the embedded SQLite database or filesystem broker."""
    problems: list[Any] = []
    if settings.EMBEDDED:
        problems.append(Warning(
            "Posture runs on the embedded SQLite database.",
            hint="Set DATABASE_URL to a PostgreSQL database for a shared deployment.",
            id="posture.W001",
        ))
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        problems.append(Warning(
            "Celery uses the embedded filesystem broker.",
            hint="Set CELERY_BROKER_URL to a Redis URL when workers run on several machines.",
            id="posture.W002",
        ))
    return problems


@register()
def kubeconfig_keys_present(app_configs: Any, **kwargs: Any) -> list[Any]:
    if not settings.POSTURE_KUBECONFIG_KEYS:
        return [Error("No kubeconfig encryption key.", hint="Set POSTURE_KUBECONFIG_KEYS.",
                      id="posture.E001")]
    return []
