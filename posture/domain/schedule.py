"""The beat schedule, as data.

A plain table rather than django-celery-beat: the only per-object schedule (each cluster's poll
interval) lives on the Cluster row and is honoured by ``poll_due_clusters``, which beat runs every
tick (``POLL_TICK``); what remains is a handful of fleet-wide jobs whose cadence an operator sets
through the environment. Keeping it in code keeps it reviewable and identical on every replica.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery.schedules import crontab

# The tick is the scheduling resolution of cluster polls: each tick hands out the polls due
# before the next one, each to start at its own slot (``polling.claim_due_clusters``), so the
# tick is well under the shortest interval (1 minute).
POLL_TICK = timedelta(seconds=15)


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every: timedelta | None = None
    cron: dict[str, str] | None = None
    env_override: str | None = None  # a crontab "m h dom mon dow" that replaces the default


JOBS: tuple[Job, ...] = (
    Job("poll-due-clusters", "clusters.tasks.poll_due_clusters", every=POLL_TICK),
    Job("prune-detail", "posture.tasks.prune_detail",
        cron={"minute": "17", "hour": "3"}, env_override="POSTURE_PRUNE_CRON"),
    # Monday 07:00 in TIME_ZONE; POSTURE_DIGEST_CRON="m h dom mon dow" changes it.
    Job("weekly-digest", "posture.tasks.send_weekly_digests",
        cron={"minute": "0", "hour": "7", "day_of_week": "mon"},
        env_override="POSTURE_DIGEST_CRON"),
    # Due alert deliveries (retries, and anything a poll queued while the broker was away).
    Job("deliver-alerts", "posture.tasks.deliver_alerts", every=timedelta(seconds=30)),
    # End of life within a rule's days, polls failing for a rule's hours.
    Job("detect-alerts", "posture.tasks.detect_alerts", every=timedelta(minutes=5)),
)


def _cron(spec: str, variable: str) -> crontab:
    fields = spec.split()
    if len(fields) != 5:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{variable}={spec!r} is not a crontab (five fields: minute hour day month weekday)"
        )
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)


def beat_schedule(read: Callable[[str], str | None]) -> dict[str, dict[str, Any]]:
    """Return ``CELERY_BEAT_SCHEDULE``: each job expires just before its next run.

    ``read`` reads an environment variable (the settings pass ``posture.site.env.raw``).
    """
    schedule: dict[str, dict[str, Any]] = {}
    for job in JOBS:
        override = read(job.env_override) if job.env_override else None
        if override is not None:
            cadence: Any = _cron(override, job.env_override or "")
            expires = None
        elif job.cron is not None:
            cadence = crontab(**job.cron)
            expires = None
        else:
            assert job.every is not None
            cadence = job.every
            expires = job.every.total_seconds() * 0.9
        entry: dict[str, Any] = {"task": job.task, "schedule": cadence}
        if expires:
            entry["options"] = {"expires": expires}
        schedule[job.name] = entry
    return schedule
