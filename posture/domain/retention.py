"""Retention: detail is pruned after a window, aggregates stay forever.

Past ``POSTURE_RETENTION_DAYS``: successful snapshots lose their per-node detail (``nodes``) but
keep every aggregate the trends read; failed polls, which are only a log of what went wrong, are
deleted (unless a finding refers to them). Findings are never pruned: they are the history of
problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from posture.domain.models import Finding, Snapshot, SnapshotStatus


@dataclass(frozen=True)
class Pruned:
    node_details: int
    failed_polls: int


def prune(now: datetime | None = None, keep_days: int | None = None) -> Pruned:
    now = now or timezone.now()
    cutoff = now - timedelta(days=keep_days if keep_days is not None
                             else settings.POSTURE_RETENTION_DAYS)
    old = Snapshot.objects.filter(taken_at__lt=cutoff)
    details = old.filter(nodes__isnull=False).update(nodes=None)
    referenced = Finding.objects.filter(
        Q(first_seen=OuterRef("pk")) | Q(resolved_in=OuterRef("pk")))
    failed, _ = (old.filter(status=SnapshotStatus.FAILED)
                 .exclude(Exists(referenced)).delete())
    return Pruned(node_details=details, failed_polls=failed)
