"""Celery tasks: thin wrappers adding retries and scheduling to ``posture.domain.polling``.

The registered names are the ones beat schedules and queued messages carry
(``clusters.tasks.*``): they stay when the module moves.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from posture.domain.models import Trigger

MAX_RETRIES = 3


def backoff(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: by default 30 s, 2 min, 8 min."""
    return float(settings.POSTURE_POLL_RETRY_SECONDS * 4**retries)


@shared_task(name="clusters.tasks.poll_cluster", bind=True, max_retries=MAX_RETRIES,
             acks_late=True)
def poll_cluster(self: Any, cluster_id: int, trigger: str = Trigger.SCHEDULE) -> str:
    from posture.domain.polling import DATABASE_ERRORS, poll

    try:
        outcome = poll(cluster_id, trigger, attempt=self.request.retries + 1)
    except DATABASE_ERRORS:
        # The database went away mid-poll (poll() kept nothing and released what it could).
        if self.request.retries < MAX_RETRIES:
            raise self.retry(countdown=backoff(self.request.retries)) from None
        raise
    if outcome.skipped:
        return "skipped: another poll holds the lease"
    if outcome.retryable and self.request.retries < MAX_RETRIES:
        # A 429's Retry-After is honoured when it asks for more patience than the backoff.
        raise self.retry(countdown=max(backoff(self.request.retries),
                                       outcome.retry_after or 0.0))
    assert outcome.snapshot is not None
    return str(outcome.snapshot.status)


@shared_task(name="clusters.tasks.poll_due_clusters")
def poll_due_clusters() -> int:
    from django.utils import timezone

    from posture.domain.polling import claim_due_clusters
    from posture.domain.schedule import POLL_TICK

    # The polls due before the next tick, each sent to start at its own slot: spread over the
    # tick rather than all at once. A message not yet run when a worker stops is not acked
    # (acks_late) and goes back to the queue.
    now = timezone.now()
    due = claim_due_clusters(now, ahead=POLL_TICK)
    for poll in due:
        if poll.at > now:
            poll_cluster.apply_async((poll.cluster_id,), eta=poll.at)
        else:
            poll_cluster.delay(poll.cluster_id)
    return len(due)
