"""A real Celery worker killed mid-delivery: the delivery completes once after a restart."""

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

from posture.domain import alerts
from posture.domain.alert_models import AlertChannel, AlertDelivery, AlertKind, DeliveryState
from posture.domain.tasks import deliver_alerts
from tests.clusters.test_tasks import purge_queue, wait_for
from tests.posture.snapshot_factories import snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def start_worker(tmp_path) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "POSTURE_VAR_DIR": str(tmp_path), "POSTURE_ALERT_ALLOW_HTTP": "true",
           "POSTURE_ALERT_TIMEOUT_SECONDS": "30", "POSTURE_ALERT_LEASE_SECONDS": "90",
           "POSTURE_BASE_URL": "https://posture.example"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "posture.site", "worker", "--pool", "solo",
         "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_worker_killed_mid_delivery_delivers_once_after_restart(receiver_factory, alice,
                                                                 cluster_a, tmp_path):
    # The first request is held unanswered: the worker is inside the POST when it dies.
    hook = receiver_factory(["hang"])
    alerts.create_rule(alice, recipient=alice, name="drops", kind=AlertKind.GRADE_DROPPED,
                       threshold=0, channel=AlertChannel.SLACK, url=hook.url)
    first = snapshot(cluster_a, timezone.now() - timedelta(minutes=2), score=85.0)
    second = snapshot(cluster_a, timezone.now() - timedelta(minutes=1), score=40.0)
    alerts.snapshot_recorded(second, first)
    purge_queue()
    worker = start_worker(tmp_path)
    try:
        deliver_alerts.delay()
        assert wait_for(lambda: len(hook.received) == 1, timeout=90)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        stop(worker, signal.SIGKILL)
    held = AlertDelivery.objects.get()
    assert held.state == DeliveryState.SENDING and held.attempts == 1
    assert held.lease_until > timezone.now()
    # Nobody else may take it while the lease runs.
    assert alerts.deliver_due(timezone.now()) == 0
    # Time passes beyond the lease; a restarted worker takes it over.
    AlertDelivery.objects.filter(pk=held.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1))
    restarted = start_worker(tmp_path)
    try:
        deliver_alerts.delay()
        assert wait_for(lambda: AlertDelivery.objects.get().state == DeliveryState.SENT,
                        timeout=90)
    finally:
        stop(restarted)
    done = AlertDelivery.objects.get()
    assert done.attempts == 2 and done.sent_at is not None
    # One completed delivery; the endpoint saw the one delivery id twice (the first POST
    # arrived before the crash), which is what X-Posture-Delivery lets it drop.
    assert len(hook.successes()) == 1
    assert {r.headers["x-posture-delivery"] for r in hook.received} == {str(done.uid)}
    time.sleep(0.5)
    assert len(hook.received) == 2
