"""Poll a cluster: claim it, read it, evaluate it, record it, release it.

The same ``poll`` runs from the Celery task, ``manage.py poll_cluster`` and the tests. Every run
leaves a Snapshot row: it is created as ``running`` when the poll starts (so the page can show
progress) and completed in one transaction at the end. A worker killed in between leaves a
``running`` row whose lease runs out; the next poll marks it failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from clusters import collector, kube
from clusters.kubeconfig import KubeconfigError
from clusters.models import Cluster
from clusters.vault import VaultError
from posture.checks import Policy, evaluate
from posture.domain import rollups, snapshots
from posture.domain.models import OrgPolicy, Snapshot, SnapshotStatus, Trigger

log = logging.getLogger(__name__)

# A poll must end before its lease runs out, or another worker may take the cluster over while
# it still runs: reading the cluster gets at most this share of the lease.
_LEASE_SHARE_FOR_READING = 0.8


class PollError(StrEnum):
    """Why a poll failed when the cluster is not to blame (see ``kube.FailureKind`` for the
    cluster's failures); stored as a snapshot's ``error_kind``."""

    KUBECONFIG = "kubeconfig"    # the stored kubeconfig cannot be unsealed or is refused
    WORKER_LOST = "worker-lost"  # the worker died mid-poll; found by the next poll
    INTERNAL = "internal"        # Posture failed processing what it read (see the log)
    DATABASE = "database"        # the database went away mid-poll; the task polls again


# Errors of the connection to the database, not of a query: the database is restarting or
# unreachable. A poll that meets one writes nothing more and is retried by its task.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# How long a poll that lost the database keeps trying to release its lease, so that the retry
# can claim the cluster at once rather than after the lease runs out.
_CLEANUP_ATTEMPTS = 5
_CLEANUP_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What one call of ``poll`` did; ``snapshot`` is None when another poll held the lease.

    ``retry_after`` is the wait the cluster asked for (429), for the retry's countdown.
    """

    snapshot: Snapshot | None
    retryable: bool = False
    retry_after: float | None = None

    @property
    def skipped(self) -> bool:
        return self.snapshot is None


def lease() -> timedelta:
    return timedelta(seconds=settings.POSTURE_POLL_LEASE_SECONDS)


def options() -> collector.Options:
    """Return the collector's options from settings."""
    return collector.Options(
        timeouts=kube.Timeouts(connect=settings.POSTURE_POLL_CONNECT_TIMEOUT,
                               read=settings.POSTURE_POLL_READ_TIMEOUT),
        limits=kube.Limits.from_settings(),
        deadline_seconds=min(float(settings.POSTURE_POLL_DEADLINE_SECONDS),
                             settings.POSTURE_POLL_LEASE_SECONDS * _LEASE_SHARE_FOR_READING),
        read_token_secrets=settings.POSTURE_READ_TOKEN_SECRETS,
    )


def policy_for(cluster: Cluster) -> Policy:
    """The organisation's policy as it applies to ``cluster`` (its labels pick the PSS level)."""
    return OrgPolicy.load().policy().for_cluster(cluster.labels or {})


def _abandon_stale_runs(cluster: Cluster) -> None:
    """Mark ``running`` rows left by a dead worker as failed (we hold the lease now)."""
    Snapshot.objects.filter(cluster=cluster, status=SnapshotStatus.RUNNING).update(
        status=SnapshotStatus.FAILED, error_kind=PollError.WORKER_LOST,
        error="The worker running this poll stopped before it finished.",
        finished_at=timezone.now())
    rollups.refresh_last_poll(cluster.pk)


def poll(
    cluster_id: int,
    trigger: str = Trigger.SCHEDULE,
    *,
    attempt: int = 1,
    taken_at: datetime | None = None,
    opts: collector.Options | None = None,
) -> Outcome:
    """Poll one cluster now, unless another poll of it is running. Never raises for a
    cluster's failure, nor for Posture's own failure to process what it read: either becomes a
    failed snapshot, so no poll leaves a ``running`` row behind. Raises ``DATABASE_ERRORS``
    when the database goes away mid-poll, after marking the run failed and releasing the lease
    if it came back within a few seconds (else the lease runs out)."""
    cluster = Cluster.objects.get(pk=cluster_id)
    lease_id = cluster.claim_poll(lease())
    if lease_id is None:
        return Outcome(snapshot=None)
    failure: kube.Failure | None = None
    snapshot: Snapshot | None = None
    released = False
    try:
        _abandon_stale_runs(cluster)
        started = time.monotonic()
        snapshot = Snapshot.objects.create(
            cluster=cluster, taken_at=taken_at or timezone.now(), trigger=trigger,
            attempt=attempt, status=SnapshotStatus.RUNNING)
        # Where a poll's time goes, for the log line below: reading the cluster, the engine,
        # storing the result (sizing a fleet's workers starts from these).
        phases: dict[str, int] = {}
        try:
            mark = time.monotonic()
            inventory = collector.collect(cluster.credentials(), opts or options())
            phases["fetch_ms"], mark = _ms_since(mark), time.monotonic()
            policy = policy_for(cluster)
            evaluation = evaluate(inventory, policy, snapshot.taken_at.date())
            phases["evaluate_ms"], mark = _ms_since(mark), time.monotonic()
            snapshots.record(snapshot, inventory, evaluation, _finished(snapshot, started),
                             policy)
            phases["record_ms"] = _ms_since(mark)
        except collector.ClusterUnavailable as exc:
            failure = exc.failure
            snapshots.record_failure(snapshot, failure.kind, failure.message,
                                     _finished(snapshot, started))
        except (KubeconfigError, VaultError) as exc:
            snapshots.record_failure(snapshot, PollError.KUBECONFIG, str(exc),
                                     _finished(snapshot, started))
        except DATABASE_ERRORS:
            raise  # not the cluster's data: handled below, once the database answers again
        except Exception as exc:  # noqa: BLE001 — logged in full; the row says where to look
            log.exception("poll of cluster=%s failed while processing its data", cluster.pk)
            # record() may have filled in aggregates before it failed: start from the row as
            # stored, so a failed snapshot never carries half of a successful one.
            snapshot = Snapshot.objects.get(pk=snapshot.pk)
            snapshots.record_failure(
                snapshot, PollError.INTERNAL,
                f"Posture could not process what the cluster sent ({type(exc).__name__}); "
                "the worker's log has the details.", _finished(snapshot, started))
        log.info("polled cluster=%s status=%s duration_ms=%s%s", cluster.pk, snapshot.status,
                 snapshot.duration_ms, "".join(f" {k}={v}" for k, v in phases.items()))
        return Outcome(snapshot=snapshot, retryable=bool(failure and failure.retryable),
                       retry_after=failure.retry_after if failure else None)
    except DATABASE_ERRORS as exc:
        # record() runs in one transaction, so nothing of this poll's results was kept. Mark
        # the run failed and give the lease back once the database answers (a restart takes
        # seconds); the task retries the poll. If it stays away, the lease runs out and the
        # next poll marks the run worker-lost.
        log.warning("poll of cluster=%s interrupted: the database is unavailable (%s)",
                    cluster.pk, type(exc).__name__)
        running = snapshot.pk if snapshot is not None else None
        released = True
        _when_database_answers(lambda: _give_up(cluster, lease_id, running))
        raise
    finally:
        if not released:
            cluster.release_poll(lease_id, timezone.now() + cluster.poll_interval)


def _give_up(cluster: Cluster, lease_id: str, snapshot_pk: int | None) -> None:
    """Mark the interrupted run failed and release the lease (the task's retry claims it
    again; beat's schedule moves on as after any poll)."""
    if snapshot_pk is not None:
        Snapshot.objects.filter(pk=snapshot_pk, status=SnapshotStatus.RUNNING).update(
            status=SnapshotStatus.FAILED, error_kind=PollError.DATABASE,
            error="The database became unavailable during the poll; nothing from it was kept "
                  "and the poll is retried.", finished_at=timezone.now())
        rollups.refresh_last_poll(cluster.pk)
    cluster.release_poll(lease_id, timezone.now() + cluster.poll_interval)


def _when_database_answers(step: Callable[[], None]) -> bool:
    """Run ``step`` on a fresh connection, trying a few times; False if it never could."""
    for attempt in range(_CLEANUP_ATTEMPTS):
        # The broken connection is dropped; the next query opens a new one.
        connection.close()
        try:
            step()
        except DATABASE_ERRORS:
            if attempt + 1 < _CLEANUP_ATTEMPTS:
                time.sleep(_CLEANUP_WAIT_SECONDS)
        else:
            return True
    log.warning("could not release a poll's lease: the database is still unavailable")
    return False


def _ms_since(mark: float) -> int:
    return round((time.monotonic() - mark) * 1000)


def _finished(snapshot: Snapshot, started: float) -> datetime:
    # Replayed history has a taken_at in the past: finish it by its own duration, not "now".
    return snapshot.taken_at + timedelta(seconds=time.monotonic() - started)


# One statement hands out every cluster due before the next tick (``ahead``): each due row is
# locked (rows another beat or a finishing poll holds are skipped, they are being moved already)
# and its next poll moved an interval on, so a cluster is handed out once however often beat
# fires. Each poll is handed out with its own start time (its slot, or now if overdue), so the
# polls of a tick start spread over it instead of all at its beginning: a burst of a tick's
# worth of polls would take every core for seconds and slow the pages meanwhile. A cluster whose
# first poll was never scheduled (``next_poll_at`` null: registered without polling at once) is
# given a slot in the coming interval, the same slot each time for a cluster (its id's
# golden-ratio hash), so a thousand clusters registered together are polled spread over the
# interval rather than all on the next tick; it is handed out on the tick before its slot.
_CLAIM_DUE = """
WITH due AS (
    SELECT id, COALESCE(next_poll_at, %(now)s + make_interval(
        secs => poll_interval_minutes * 60.0
                * (mod(id * 2654435761, 4294967296) + 1) / 4294967297.0)) AS slot
    FROM clusters_cluster
    WHERE next_poll_at IS NULL OR next_poll_at <= %(horizon)s
    FOR UPDATE SKIP LOCKED
)
UPDATE clusters_cluster AS c
SET next_poll_at = CASE
    WHEN due.slot <= %(horizon)s
    THEN GREATEST(due.slot, %(now)s) + make_interval(mins => c.poll_interval_minutes::int)
    ELSE due.slot END
FROM due WHERE c.id = due.id
RETURNING c.id, due.slot <= %(horizon)s, GREATEST(due.slot, %(now)s)
"""


@dataclass(frozen=True, order=True)
class DuePoll:
    """A poll handed out by ``claim_due_clusters``: ``at`` is when it should start (the
    cluster's slot, or the claim's time when the slot has passed)."""

    cluster_id: int
    at: datetime


def claim_due_clusters(now: datetime | None = None,
                       ahead: timedelta = timedelta(0)) -> list[DuePoll]:
    """Return the polls due by ``now + ahead``, in cluster order, moving each cluster's next
    poll an interval on so that it is handed out once even if beat fires again before the poll
    runs; a first poll never scheduled gets its slot in the coming interval, and is handed out
    now if the slot comes before ``now + ahead`` (``_CLAIM_DUE``)."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return _claim_due_one_by_one(now, ahead)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_DUE, {"now": now, "horizon": now + ahead})
        claimed = cursor.fetchall()
    return sorted(DuePoll(pk, at) for pk, handed_out, at in claimed if handed_out)


def first_slot(cluster_id: int, interval_minutes: int) -> timedelta:
    """Return how far into its first interval a never-scheduled cluster is polled.

    The same golden-ratio hash of the id as ``_CLAIM_DUE``, so both paths give the same slot.
    """
    share = ((cluster_id * 2654435761) % 4294967296 + 1) / 4294967297.0
    return timedelta(seconds=interval_minutes * 60.0 * share)


def _claim_due_one_by_one(now: datetime, ahead: timedelta) -> list[DuePoll]:
    """``claim_due_clusters`` for the embedded demo's SQLite, which has no ``SKIP LOCKED``.

    A conditional UPDATE per due cluster: SQLite runs one writer at a time, so each cluster is
    still handed out once. Fine for a demo's handful of clusters; PostgreSQL takes one statement.
    """
    horizon = now + ahead
    due = (Cluster.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=horizon))
           .values_list("pk", "next_poll_at", "poll_interval_minutes"))
    claimed = []
    with transaction.atomic():
        for pk, next_poll_at, minutes in due:
            slot = now + first_slot(pk, minutes) if next_poll_at is None else next_poll_at
            handed_out = slot <= horizon
            at = max(slot, now)
            moved = at + timedelta(minutes=minutes) if handed_out else slot
            if (Cluster.objects.filter(pk=pk, next_poll_at=next_poll_at)
                    .update(next_poll_at=moved) == 1 and handed_out):
                claimed.append(DuePoll(pk, at))
    return sorted(claimed)


def claim_first_poll(cluster: Cluster, now: datetime | None = None) -> bool:
    """Take a newly registered cluster's due poll to run it at once; False if beat took it.

    The same conditional UPDATE as ``claim_due_clusters``: the poll is handed out once.
    """
    now = now or timezone.now()
    return Cluster.objects.filter(pk=cluster.pk, next_poll_at=cluster.next_poll_at).update(
        next_poll_at=now + cluster.poll_interval) == 1
