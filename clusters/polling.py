"""Poll a cluster: claim it, read it, evaluate it, record it, release it.

The same ``poll`` runs from the Celery task, ``manage.py poll_cluster`` and the tests. Every run
leaves a Snapshot row: it is created as ``running`` when the poll starts (so the page can show
progress) and completed in one transaction at the end. A worker killed in between leaves a
``running`` row whose lease runs out; the next poll marks it failed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clusters import collector, kube
from clusters.kubeconfig import KubeconfigError
from clusters.models import Cluster
from clusters.vault import VaultError
from posture import snapshots
from posture.checks import Policy, evaluate
from posture.models import OrgPolicy, Snapshot, SnapshotStatus, Trigger

log = logging.getLogger(__name__)

# Failures worth retrying: the cluster may answer in a minute. Everything else (401, TLS, a
# broken kubeconfig) needs a person.
TRANSIENT = frozenset({"timeout", "refused", "network", "http", "protocol"})


@dataclass(frozen=True)
class Outcome:
    """What one call of ``poll`` did; ``snapshot`` is None when another poll held the lease."""

    snapshot: Snapshot | None
    retryable: bool = False

    @property
    def skipped(self) -> bool:
        return self.snapshot is None


def lease() -> timedelta:
    return timedelta(seconds=settings.POSTURE_POLL_LEASE_SECONDS)


def options() -> collector.Options:
    return collector.Options(timeouts=kube.Timeouts(
        connect=settings.POSTURE_POLL_CONNECT_TIMEOUT, read=settings.POSTURE_POLL_READ_TIMEOUT))


def policy_for(cluster: Cluster) -> Policy:
    """The organisation's policy as it applies to ``cluster`` (its labels pick the PSS level)."""
    return OrgPolicy.load().policy().for_cluster(cluster.labels or {})


def _abandon_stale_runs(cluster: Cluster) -> None:
    """Mark ``running`` rows left by a dead worker as failed (we hold the lease now)."""
    Snapshot.objects.filter(cluster=cluster, status=SnapshotStatus.RUNNING).update(
        status=SnapshotStatus.FAILED, error_kind="worker-lost",
        error="The worker running this poll stopped before it finished.",
        finished_at=timezone.now())


def poll(
    cluster_id: int,
    trigger: str = Trigger.SCHEDULE,
    *,
    attempt: int = 1,
    taken_at: datetime | None = None,
    opts: collector.Options | None = None,
) -> Outcome:
    """Poll one cluster now, unless another poll of it is running. Never raises for a
    cluster's failure: that becomes a failed snapshot."""
    cluster = Cluster.objects.get(pk=cluster_id)
    lease_id = cluster.claim_poll(lease())
    if lease_id is None:
        return Outcome(snapshot=None)
    retryable = False
    try:
        _abandon_stale_runs(cluster)
        started = time.monotonic()
        snapshot = Snapshot.objects.create(
            cluster=cluster, taken_at=taken_at or timezone.now(), trigger=trigger,
            attempt=attempt, status=SnapshotStatus.RUNNING)
        try:
            creds = cluster.credentials()
            inventory = collector.collect(creds, opts or options())
        except collector.ClusterUnavailable as exc:
            retryable = exc.failure.kind in TRANSIENT and (
                exc.failure.status is None or exc.failure.status >= 500
                or exc.failure.status == 429)
            snapshots.record_failure(snapshot, exc.failure.kind, exc.failure.message,
                                     _finished(snapshot, started))
        except (KubeconfigError, VaultError) as exc:
            snapshots.record_failure(snapshot, "kubeconfig", str(exc),
                                     _finished(snapshot, started))
        else:
            evaluation = evaluate(inventory, policy_for(cluster), snapshot.taken_at.date())
            snapshots.record(snapshot, inventory, evaluation, _finished(snapshot, started))
        log.info("polled cluster=%s status=%s duration_ms=%s", cluster.pk, snapshot.status,
                 snapshot.duration_ms)
        return Outcome(snapshot=snapshot, retryable=retryable)
    finally:
        cluster.release_poll(lease_id, timezone.now() + cluster.poll_interval)


def _finished(snapshot: Snapshot, started: float) -> datetime:
    # Replayed history has a taken_at in the past: finish it by its own duration, not "now".
    return snapshot.taken_at + timedelta(seconds=time.monotonic() - started)


def claim_due_clusters(now: datetime | None = None) -> list[int]:
    """Return the clusters due for a poll, moving each one's next poll forward so that a
    cluster is handed out once even if beat fires again before the poll runs."""
    now = now or timezone.now()
    due: list[int] = []
    candidates = Cluster.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
    for cluster in candidates.only("pk", "poll_interval_minutes", "next_poll_at"):
        with transaction.atomic():
            moved = Cluster.objects.filter(pk=cluster.pk, next_poll_at=cluster.next_poll_at
                                           ).update(next_poll_at=now + cluster.poll_interval)
        if moved == 1:
            due.append(cluster.pk)
    return due
