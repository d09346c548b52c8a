"""Celery tasks of the posture domain: thin wrappers around plain functions."""

from __future__ import annotations

from typing import Any

from posture.celery import app

# A digest that failed (mail server down) is tried again the same day, by a later run: the
# week's delivery rows say who still waits for one, and everyone else is skipped.
DIGEST_RETRY_SECONDS = 30 * 60
DIGEST_RETRIES = 6


@app.task(bind=True, max_retries=DIGEST_RETRIES)
def send_weekly_digests(self: Any) -> int:
    from django.utils import timezone

    from posture.digest import failed_count, send_weekly

    now = timezone.now()
    sent = send_weekly(now)
    if failed_count(now):
        raise self.retry(countdown=DIGEST_RETRY_SECONDS)
    return sent


@app.task
def prune_detail() -> dict[str, int]:
    from posture.retention import prune

    done = prune()
    return {"node_details": done.node_details, "failed_polls": done.failed_polls}
