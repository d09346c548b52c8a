"""Polling through a real Celery worker on the Redis broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from clusters.models import Cluster
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import poll
from posture.domain.polling_tasks import poll_cluster, poll_due_clusters
from posture.site.celery import app
from tests.emulated import register

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(settings):
    """A Celery worker thread consuming from the real Redis broker."""
    from celery.contrib.testing.worker import start_worker

    assert app.conf.broker_url.startswith("redis://"), "the suite must run on Redis"
    purge_queue()
    settings.POSTURE_POLL_RETRY_SECONDS = 0
    settings.POSTURE_POLL_CONNECT_TIMEOUT = 2
    settings.POSTURE_POLL_READ_TIMEOUT = 5
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def purge_queue():
    """Drop messages left in this run's queue (other runs sharing Redis use other queues)."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def finished(cluster, count=1):
    return Snapshot.objects.filter(cluster=cluster).exclude(
        status=SnapshotStatus.RUNNING).count() >= count


@pytest.mark.parametrize("scenario", ["well-kept", "typical", "neglected"])
def test_worker_polls_each_scenario(worker, emulate, scenario):
    cluster = register(emulate(scenario), scenario)
    poll_cluster.delay(cluster.pk)
    assert wait_for(lambda: finished(cluster))
    snapshot = Snapshot.objects.get(cluster=cluster)
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    assert snapshot.node_count > 0


def test_tasks_keep_the_names_beat_and_queued_messages_carry():
    from posture.domain.schedule import JOBS

    names = {"clusters.tasks.poll_cluster", "clusters.tasks.poll_due_clusters",
             "posture.tasks.prune_detail", "posture.tasks.send_weekly_digests",
             "posture.tasks.deliver_alerts", "posture.tasks.detect_alerts"}
    assert names <= set(app.tasks)
    assert {job.task for job in JOBS} <= names
    assert poll_cluster.name == "clusters.tasks.poll_cluster"


def test_a_message_sent_by_the_old_task_name_is_run_by_the_worker(worker, emulate):
    """A message queued before the task moved (its name is all it carries) still polls."""
    cluster = register(emulate("well-kept"))
    app.send_task("clusters.tasks.poll_cluster", args=[cluster.pk])
    assert wait_for(lambda: finished(cluster))
    assert Snapshot.objects.get(cluster=cluster).status == SnapshotStatus.OK
    due = register(emulate("typical"), "due", next_poll_at=timezone.now() - timedelta(seconds=1))
    app.send_task("clusters.tasks.poll_due_clusters")
    assert wait_for(lambda: finished(due))


def test_beat_job_enqueues_due_clusters_once(worker, emulate):
    cluster = register(emulate("well-kept"), next_poll_at=timezone.now() - timedelta(seconds=1))
    poll_due_clusters.delay()
    poll_due_clusters.delay()
    assert wait_for(lambda: finished(cluster))
    time.sleep(1.5)
    assert Snapshot.objects.filter(cluster=cluster).count() == 1


def test_beat_job_sends_a_poll_due_within_the_tick_to_start_at_its_slot(worker, emulate):
    slot = timezone.now() + timedelta(seconds=4)
    cluster = register(emulate("well-kept"), next_poll_at=slot)
    assert poll_due_clusters.delay() is not None
    assert wait_for(lambda: finished(cluster), timeout=30)
    # Not at the tick: at the slot it was due (the worker held the message until then).
    assert Snapshot.objects.get(cluster=cluster).taken_at >= slot


def test_transient_failure_retries_with_a_row_per_attempt(worker, emulate):
    emulator = emulate("well-kept")
    cluster = register(emulator)
    emulator.stop()
    poll_cluster.delay(cluster.pk)
    assert wait_for(lambda: finished(cluster, 4))
    attempts = list(Snapshot.objects.filter(cluster=cluster).order_by("attempt")
                    .values_list("attempt", "status", "error_kind"))
    assert attempts == [(n, "failed", "refused") for n in (1, 2, 3, 4)]


def test_unauthorized_is_not_retried(worker, emulate):
    from clusters.kubeconfig import ClusterCredentials

    emulator = emulate("well-kept")
    cluster = register(emulator)
    creds = cluster.credentials()
    cluster.store_kubeconfig(ClusterCredentials(context="x", server=creds.server,
                                                ca_pem=creds.ca_pem, token="revoked"))
    cluster.save()
    poll_cluster.delay(cluster.pk)
    assert wait_for(lambda: finished(cluster))
    time.sleep(1.5)
    assert list(Snapshot.objects.values_list("attempt", "error_kind")) == [(1, "unauthorized")]


def test_worker_killed_mid_poll_leaves_nothing_half_written(emulate, tmp_path):
    """SIGKILL a real worker process while it polls: no completed-looking snapshot, no
    findings, a lease that runs out — and the next poll succeeds."""
    emulator = emulate("neglected")
    cluster = register(emulator)
    emulator.set_fault("delay", seconds=0.5)
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "POSTURE_POLL_LEASE_SECONDS": "120", "POSTURE_VAR_DIR": str(tmp_path)}
    purge_queue()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "posture.site", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        poll_cluster.delay(cluster.pk)
        assert wait_for(lambda: Snapshot.objects.filter(
            cluster=cluster, status=SnapshotStatus.RUNNING).exists(), timeout=60)
        time.sleep(1.0)  # well inside the slowed-down read of the cluster
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    snapshot = Snapshot.objects.get(cluster=cluster)
    assert snapshot.status == SnapshotStatus.RUNNING
    assert snapshot.finished_at is None and snapshot.node_count is None
    assert not Finding.objects.exists()
    held = Cluster.objects.get(pk=cluster.pk)
    assert held.poll_lease_until <= timezone.now() + timedelta(seconds=120)
    # Time passes beyond the lease; the next poll takes over.
    Cluster.objects.filter(pk=cluster.pk).update(
        poll_lease_until=timezone.now() - timedelta(seconds=1))
    emulator.clear_faults()
    outcome = poll(cluster.pk)
    assert outcome.snapshot.status == SnapshotStatus.OK
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.FAILED and snapshot.error_kind == "worker-lost"
    assert Finding.objects.filter(cluster=cluster).count() == outcome.snapshot.open_findings
