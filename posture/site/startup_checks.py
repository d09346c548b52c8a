"""Django system check: warn when the shipped lifecycle data has grown stale."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.checks import CheckMessage, Warning, register
from django.utils import timezone

from posture.lifecycle import DATA_AS_OF, data_age_days

# Kubernetes ships a minor about every four months and providers move dates within weeks, so
# past three months the EOL verdicts start to miss releases.
STALE_AFTER_DAYS = 90


@register()
def lifecycle_data_is_fresh(
    app_configs: Any, today: date | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn (posture.W010) when the lifecycle data is over 90 days old; ``today`` for tests."""
    age = data_age_days(today or timezone.localdate())
    if age <= STALE_AFTER_DAYS:
        return []
    return [
        Warning(
            f"The lifecycle (end-of-life) data is {age} days old: it is as of {DATA_AS_OF}.",
            hint="Run `python manage.py refresh_lifecycle` and review the changes it prints.",
            id="posture.W010",
        )
    ]
