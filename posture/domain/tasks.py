"""Celery tasks of the posture domain: thin wrappers around plain functions.

Found by the Celery app's autodiscovery, this module also registers the poll tasks. Every task
keeps the name it was registered under (``posture.tasks.*``, ``clusters.tasks.*``): beat
schedules and queued messages carry it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

# Registered with the app through this module.
from posture.domain.polling_tasks import poll_cluster, poll_due_clusters  # noqa: F401

# A digest that failed (mail server down) is tried again the same day, by a later run: the
# week's delivery rows say who still waits for one, and everyone else is skipped.
DIGEST_RETRY_SECONDS = 30 * 60
DIGEST_RETRIES = 6


@shared_task(name="posture.tasks.send_weekly_digests", bind=True, max_retries=DIGEST_RETRIES)
def send_weekly_digests(self: Any) -> int:
    from django.utils import timezone

    from posture.domain.digest import failed_count, send_weekly

    now = timezone.now()
    sent = send_weekly(now)
    if failed_count(now):
        raise self.retry(countdown=DIGEST_RETRY_SECONDS)
    return sent


@shared_task(name="posture.tasks.prune_detail")
def prune_detail() -> dict[str, int]:
    from posture.domain.retention import prune

    done = prune()
    return {"node_details": done.node_details, "failed_polls": done.failed_polls}


@shared_task(name="posture.tasks.deliver_alerts")
def deliver_alerts() -> int:
    from posture.domain.alerts import deliver_due

    return deliver_due()


@shared_task(name="posture.tasks.detect_alerts")
def detect_alerts() -> int:
    from posture.domain.alerts import detect

    return detect()
