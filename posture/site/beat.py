"""Celery beat's scheduler, with a heartbeat file for the liveness probe.

Beat answers no request, so a probe cannot ask it anything; instead every tick of its loop
touches ``POSTURE_BEAT_HEARTBEAT_FILE``. Ticks come at least every 15 s (the poll-due-clusters
job, ``posture.domain.schedule``), also while the broker is down, so a file older than a couple
of minutes means the loop is stuck or gone.
"""

from __future__ import annotations

import os
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings


class HeartbeatScheduler(PersistentScheduler):
    """The default file-backed scheduler that touches the heartbeat file on every tick."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        wait = float(super().tick(*args, **kwargs))
        touch(settings.POSTURE_BEAT_HEARTBEAT_FILE)
        return wait


def touch(path: str) -> None:
    """Set ``path``'s modification time to now, creating it if needed."""
    with open(path, "a"):
        pass
    os.utime(path)
