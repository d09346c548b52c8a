"""Real Celery processes against a broker that goes away, and a worker told to stop mid-poll.

Workers and beat are ``celery`` processes of their own, as deployed; they share the test's
PostgreSQL database. The Redis outage uses a Redis of the test's own (``tests.services``), never
the suite's shared one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from clusters.models import Cluster
from posture.domain.models import Snapshot, SnapshotStatus
from posture.domain.polling_tasks import poll_cluster
from posture.site.celery import app
from tests.emulated import register
from tests.services import OwnRedis, free_port

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# The outage of the test; `make soak` sets 60 s (docs/reliability.md).
OUTAGE_SECONDS = float(os.environ.get("POSTURE_SOAK_OUTAGE_SECONDS", "10"))
TICK_SECONDS = 15  # poll-due-clusters, posture.domain.schedule


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def process_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "var").mkdir(exist_ok=True)  # a mounted volume, in a deployment
    db = connection.settings_dict
    return {**os.environ, "POSTURE_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **extra}


def celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "posture.site", *args],
                            env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


def snapshots_of(cluster: Cluster) -> list[Snapshot]:
    return list(Snapshot.objects.filter(cluster=cluster).order_by("taken_at"))


def test_worker_given_sigterm_mid_poll_finishes_it_and_exits(emulate, tmp_path, results):
    emulator = emulate("typical")
    cluster = register(emulator, "slow")
    # Every request 0.25 s late: the poll lasts a few seconds, long enough to be interrupted.
    emulator.set_fault("delay", seconds=0.25)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    worker = celery(["worker", "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
                     "--without-mingle"], process_env(tmp_path), tmp_path / "worker.log")
    try:
        poll_cluster.delay(cluster.pk)
        assert wait_for(lambda: Snapshot.objects.filter(
            cluster=cluster, status=SnapshotStatus.RUNNING).exists(), 90), \
            (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(0.5)
        assert Snapshot.objects.get(cluster=cluster).status == SnapshotStatus.RUNNING
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        returncode = worker.wait(timeout=60)
        took = time.monotonic() - signalled
    finally:
        stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert returncode == 0, log[-3000:]
    snapshot = Snapshot.objects.get(cluster=cluster)
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    cluster.refresh_from_db()
    assert cluster.poll_lease_id == "" and cluster.poll_lease_until is None
    # The message was acknowledged once the poll finished: nothing is left to poll it again.
    with app.connection_for_write() as conn:
        assert conn.default_channel.client.llen(app.conf.task_default_queue) == 0
    assert took > 0.5, "the worker stopped before the poll could have finished"
    results.add("service", "sigterm", 3, what="a worker given SIGTERM mid-poll",
                during="a poll of a slow cluster (every answer 0.25 s late), in a prefork "
                       "worker",
                outcome="warm shutdown: the worker took no new task, finished the poll (`ok`, "
                        "every resource read), released the lease and acknowledged the "
                        "message, then exited with status 0",
                after="nothing left in the queue; the next poll is at the cluster's interval. "
                      "A poll cut short by SIGKILL instead is redelivered (late "
                      "acknowledgement) and its lease runs out (Crash safety, above)")


def test_redis_outage_loses_no_due_poll_and_duplicates_none(emulate, tmp_path, results):
    redis = OwnRedis(free_port())
    redis.start()
    emulator = emulate("typical")
    # Due now: a cluster never scheduled would get a slot somewhere in its first interval.
    clusters = [register(emulator, f"outage-{i}", poll_interval_minutes=1,
                         next_poll_at=timezone.now()) for i in range(3)]
    env = process_env(tmp_path, CELERY_BROKER_URL=redis.url, CELERY_TASK_DEFAULT_QUEUE="posture")
    worker = celery(["worker", "--concurrency", "2", "--loglevel", "INFO"], env,
                    tmp_path / "worker.log")
    beat = celery(["beat", "--loglevel", "INFO"], env, tmp_path / "beat.log")
    heartbeat = tmp_path / "var" / "beat-heartbeat"

    def polled(count: int) -> bool:
        return all(Snapshot.objects.filter(cluster=c, status=SnapshotStatus.OK).count() == count
                   for c in clusters)

    def logs() -> str:
        return "\n".join((tmp_path / name).read_text()[-2000:]
                         for name in ("worker.log", "beat.log"))

    try:
        # Due: polled at beat's first tick.
        assert wait_for(lambda: polled(1), 3 * TICK_SECONDS + 30, 0.5), logs()

        redis.stop()
        down_at = timezone.now()
        # The clusters fall due while the broker is away.
        Cluster.objects.filter(pk__in=[c.pk for c in clusters]).update(next_poll_at=down_at)
        time.sleep(OUTAGE_SECONDS)
        redis.start()
        up_at = time.monotonic()
        up_at_wall = time.time()

        assert wait_for(lambda: polled(2), 2 * TICK_SECONDS + 45, 0.5), logs()
        recovered = time.monotonic() - up_at
        print(f"Redis down {OUTAGE_SECONDS:g} s; every due cluster polled {recovered:.1f} s "
              "after it came back")
        # Nothing more within the next tick and a half: each due poll ran exactly once.
        time.sleep(TICK_SECONDS * 1.5)
        assert polled(2), [len(snapshots_of(c)) for c in clusters]
        assert worker.poll() is None and beat.poll() is None, logs()
        # The same beat process's loop still runs: it touched its heartbeat since.
        assert heartbeat.stat().st_mtime > up_at_wall
    finally:
        stop(beat)
        stop(worker)
        redis.stop()
    for cluster in clusters:
        first, second = snapshots_of(cluster)
        assert second.taken_at > down_at
        assert second.taken_at - first.taken_at >= timedelta(seconds=OUTAGE_SECONDS)
    assert not Snapshot.objects.exclude(status=SnapshotStatus.OK).exists()
    bound = 2 * TICK_SECONDS + 45
    assert recovered < bound
    results.add("service", f"redis-{OUTAGE_SECONDS:g}", 1,
                what=f"Redis stopped for {OUTAGE_SECONDS:g} s (no persistence: its queue is "
                     "lost)",
                during="beat and two worker processes running; three clusters fell due while "
                       "it was down",
                outcome="beat kept running (a tick that fell in the outage logged its failed "
                        "send, and its heartbeat file kept being touched); the workers "
                        "reconnected with backoff; no process was restarted",
                after=f"each due cluster was polled exactly once within {bound} s of Redis "
                      "coming back, and not again before its interval")


def test_worker_given_sigterm_while_holding_a_poll_for_its_slot_gives_it_back(emulate, tmp_path):
    """Beat hands a tick's polls out ahead of their slots; a worker stopped before a slot comes
    must not take that poll with it: the message goes back to the queue, and another worker
    polls the cluster at its slot."""
    from posture.domain.polling_tasks import poll_due_clusters

    cluster = register(emulate("well-kept"), "later", next_poll_at=timezone.now() + timedelta(days=1))
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    args = ["worker", "--pool", "solo", "--loglevel", "INFO", "--without-gossip",
            "--without-mingle"]
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = celery([*args, "-n", "first@%h"], process_env(tmp_path), first_log)
    second = None
    try:
        assert wait_for(lambda: "ready." in first_log.read_text(), 90), first_log.read_text()
        slot = timezone.now() + timedelta(seconds=12)
        Cluster.objects.filter(pk=cluster.pk).update(next_poll_at=slot)
        assert poll_due_clusters() == 1
        assert wait_for(lambda: "received" in first_log.read_text().lower(), 30), \
            first_log.read_text()[-3000:]
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0, first_log.read_text()[-3000:]
        assert timezone.now() < slot, "the worker did not stop before the slot"
        assert not Snapshot.objects.filter(cluster=cluster).exists()
        # Not acknowledged, so back in the queue for the next worker.
        with app.connection_for_write() as conn:
            assert conn.default_channel.client.llen(app.conf.task_default_queue) == 1
        second = celery([*args, "-n", "second@%h"], process_env(tmp_path), second_log)
        assert wait_for(lambda: Snapshot.objects.filter(
            cluster=cluster, status=SnapshotStatus.OK).exists(), 90), second_log.read_text()[-3000:]
    finally:
        stop(first)
        if second is not None:
            stop(second)
    (snapshot,) = snapshots_of(cluster)
    assert snapshot.taken_at >= slot
