"""A real Celery worker killed again and again while it polls leaves a consistent database."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clusters import collector, kube
from clusters.models import Cluster
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import PollError, poll
from posture.domain.polling_tasks import poll_cluster
from posture.site.celery import app
from tests.emulated import register

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240611
KILLS = 20
LEASE_SECONDS = 2
CLUSTERS = 8
FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=5), deadline_seconds=20)


def identities(cluster: Cluster) -> set[tuple[str, str, str, str, str]]:
    return set(Finding.objects.filter(cluster=cluster, resolved_at__isnull=True).values_list(
        "check_id", "kind", "namespace", "name", "container"))


class Workers:
    """Solo Celery workers forked one at a time from ``tests.reliability.zygote``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.zygote = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.zygote"], env=env, cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True)
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.stdin, self.stdout = self.zygote.stdin, self.zygote.stdout
        assert self.stdout.readline().strip() == "ready"

    def start(self) -> int:
        """Fork a worker and return its pid."""
        self.stdin.write("\n")
        self.stdin.flush()
        return int(self.stdout.readline())

    def close(self) -> None:
        """Kill the zygote and any worker it forked (they share its process group)."""
        with suppress(ProcessLookupError):
            os.killpg(self.zygote.pid, signal.SIGKILL)
        self.zygote.wait(timeout=10)


def consistent(lease: timedelta) -> tuple[int, int]:
    """Check the database as another process sees it, in one consistent read.

    Return how many snapshots are running and how many were completed.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        running = list(Snapshot.objects.filter(status=SnapshotStatus.RUNNING))
        for snap in running:
            assert snap.finished_at is None and snap.node_count is None, snap.pk
            assert snap.score is None and snap.checkset_version == "", snap.pk
        assert not Finding.objects.filter(Q(first_seen__in=running) | Q(resolved_in__in=running)
                                          ).exists()
        done = list(Snapshot.objects.exclude(status=SnapshotStatus.RUNNING))
        for snap in done:
            assert snap.finished_at is not None, snap.pk
            if snap.status == SnapshotStatus.FAILED:
                assert snap.error_kind and snap.error and snap.node_count is None, snap.pk
            else:
                assert snap.duration_ms is not None and snap.node_count is not None, snap.pk
                assert snap.checkset_version and snap.score is not None and snap.grade, snap.pk
                assert snap.finding_counts and snap.node_summary, snap.pk
        leases = list(Cluster.objects.exclude(poll_lease_until=None).values_list(
            "poll_lease_until", flat=True))
        # After the read: every lease seen was taken before now, so none may end later than
        # now plus its timeout.
        now = timezone.now()
        assert all(until <= now + lease for until in leases), leases
    return len(running), len(done)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.threat('A crashed worker leaves half-written data or a stuck lock',
                     'One transaction per poll record; leases expire; SIGKILLed workers tested 20 times')
def test_worker_killed_repeatedly_leaves_a_consistent_database(emulate, tmp_path, results):
    started = time.monotonic()
    emulators = [emulate("neglected"), emulate("typical")]
    references = [register(e, f"clean-{e.name}") for e in emulators]
    for reference in references:
        assert poll(reference.pk, opts=FAST).snapshot.status == SnapshotStatus.OK
    expected = [identities(r) for r in references]
    clusters = [register(emulators[i % 2], f"crash-{i}") for i in range(CLUSTERS)]
    for emulator in emulators:
        # Slow every request a little, so that a poll lasts long enough to be hit mid-way.
        emulator.set_fault("delay", seconds=0.03)
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "POSTURE_POLL_LEASE_SECONDS": str(LEASE_SECONDS), "POSTURE_VAR_DIR": str(tmp_path)}
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    lease = timedelta(seconds=LEASE_SECONDS)
    rng = random.Random(SEED)
    workers = Workers(env)
    mid_poll = 0
    try:
        idle = workers.start()
        for kill in range(KILLS):
            cluster = clusters[kill % CLUSTERS]
            # Its lease, if a killed poll held it, has run out by now (rounds take longer).
            assert wait_for(lambda c=cluster: not Cluster.objects.filter(
                pk=c.pk, poll_lease_until__gt=timezone.now()).exists(), LEASE_SECONDS + 1)
            before = Snapshot.objects.filter(cluster=cluster).count()
            poll_cluster.delay(cluster.pk)
            # The only worker alive takes the task.
            assert wait_for(lambda c=cluster, n=before: Snapshot.objects.filter(
                cluster=c).count() > n, 30), "the worker never started the poll"
            polling, idle = idle, workers.start()  # the next round's worker warms up meanwhile
            time.sleep(rng.uniform(0, 0.9))
            os.kill(polling, signal.SIGKILL)
            running, _ = consistent(lease)
            mid_poll += running > 0
    finally:
        workers.close()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)
    killing = time.monotonic() - started

    # Nothing holds a cluster longer than the lease once the workers are gone.
    time.sleep(LEASE_SECONDS + 0.2)
    assert not Cluster.objects.filter(poll_lease_until__gt=timezone.now()).exists()
    consistent(lease)
    for emulator in emulators:
        emulator.clear_faults()
    for i, cluster in enumerate(clusters):
        outcome = poll(cluster.pk, opts=FAST)
        assert outcome.snapshot.status == SnapshotStatus.OK, outcome.snapshot.error
        assert identities(cluster) == expected[i % 2]
        assert outcome.snapshot.open_findings == len(expected[i % 2])
    assert not Snapshot.objects.filter(status=SnapshotStatus.RUNNING).exists()
    lost = Snapshot.objects.filter(error_kind=PollError.WORKER_LOST).count()
    assert mid_poll > 0 and lost > 0, "no kill landed in the middle of a poll"
    assert killing < 60

    results.add("crash", "kills", 0, what="a solo Celery worker process killed with SIGKILL "
                "while it polls",
                checked=f"{KILLS} kills at seeded random moments 0–0.9 s after the poll "
                "started (while reading the cluster, evaluating, writing, or after)",
                result="after every kill: no completed snapshot without its aggregates; no "
                       "running snapshot with any; no finding from a running snapshot; no "
                       f"lease beyond {LEASE_SECONDS} s")
    results.add("crash", "after", 1, what="after the last kill",
                checked=f"the leases of killed polls, then a poll of each of {CLUSTERS} clusters",
                result="every lease ran out within its timeout; the next poll marked the "
                       f"killed runs `{PollError.WORKER_LOST}` and succeeded, with exactly the "
                       "findings of a clean poll of the same cluster")
