"""PostgreSQL goes away under a running web server, and comes back.

The server is a real gunicorn on a PostgreSQL of the test's own (``tests.services``): the
suite's shared database is never stopped. While the database is down, pages answer a short
503 page, the API a JSON 503, ``/readyz`` names the database and ``/healthz`` stays 200; once it
is back, the same requests answer 200 without restarting anything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from posture.domain.polling_tasks import poll_cluster
from tests.services import OwnPostgres, free_port, wait_for_port


def wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
from django.contrib.auth.models import User
from django.test import Client
from posture.web.api.auth import create_token
user = User.objects.create_user("olga", password="not-used-here-0")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
print(create_token(user, "outage test")[1])
"""


def fetch(url: str, headers: dict[str, str]) -> tuple[int, str, str]:
    """GET ``url``; return the status, the content type and the body, whatever the status."""
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (checked just above)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def postgres():
    server = OwnPostgres(free_port())
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        server.remove()


def test_web_answers_503_while_postgresql_is_down_and_200_once_it_is_back(postgres, tmp_path,
                                                                          results):
    env = {**os.environ, "DATABASE_URL": postgres.url(), "POSTURE_VAR_DIR": str(tmp_path / "var"),
           "STATIC_ROOT": str(settings.STATIC_ROOT), "POSTURE_DATABASE_CONNECT_TIMEOUT": "2"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    made = subprocess.run([*manage, "shell", "-c", SETUP], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=120).stdout.split()
    session, token = made[-2], made[-1]
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "posture.site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    page = (f"{base}/clusters/", {"Cookie": f"sessionid={session}"})
    api = (f"{base}/api/v1/clusters/", {"Authorization": f"Bearer {token}"})
    ready = (f"{base}/readyz", {})
    alive = (f"{base}/healthz", {})
    try:
        wait_for_port(port, up=True, timeout=60)
        for url, headers in (page, api, ready, alive):
            assert fetch(url, headers)[0] == 200, url

        postgres.stop("fast")
        started = time.monotonic()
        status, kind, body = fetch(*page)
        assert (status, kind) == (503, "text/html; charset=utf-8"), body[:500]
        assert "temporarily unavailable" in body and "Traceback" not in body
        status, kind, body = fetch(*api)
        assert (status, kind) == (503, "application/json"), body[:500]
        assert "database" in json.loads(body)["error"]
        status, _, body = fetch(*ready)
        assert status == 503 and json.loads(body)["failed"] == ["database"]
        assert str(postgres.port) not in body and "Traceback" not in body
        assert fetch(*alive)[0] == 200
        # A refused connection fails at once; the 2 s connect timeout bounds a silent one.
        assert time.monotonic() - started < 10

        postgres.start()
        for url, headers in (page, api, ready, alive):
            assert fetch(url, headers)[0] == 200, url
        assert web.poll() is None, "gunicorn exited"
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
    results.add("service", "postgres-web", 0, what="PostgreSQL stopped",
                during="pages, the API and the probes served by gunicorn",
                outcome="pages: 503 with a short page saying to retry (no traceback, "
                        "Retry-After: 30); API: 503 JSON; /readyz: 503 naming `database`; "
                        "/healthz: 200",
                after="the four requests answered within 10 s in all; once "
                      "PostgreSQL was started again the same requests answered 200, with no "
                      "restart of the web server")


REGISTER = """
import os
from tests.emulated import credentials
from clusters.models import Cluster
cluster = Cluster(name="restarted-database")
cluster.store_kubeconfig(credentials(os.environ.pop("POSTURE_TEST_KUBECONFIG")))
cluster.save()
print(cluster.pk)
"""


def rows(postgres: OwnPostgres, sql: str, *params: object) -> list[tuple]:
    """Read the test's own PostgreSQL directly, as another process would."""
    try:
        with psycopg.connect(postgres.url(), connect_timeout=2) as conn:
            return conn.execute(sql, params).fetchall()
    except psycopg.OperationalError:
        return []


def test_postgresql_restarted_mid_poll_keeps_nothing_of_it_and_the_poll_is_retried(
        postgres, emulate, tmp_path, results):
    emulator = emulate("typical")
    env = {**os.environ, "DATABASE_URL": postgres.url(), "POSTURE_VAR_DIR": str(tmp_path / "var"),
           "POSTURE_DATABASE_CONNECT_TIMEOUT": "2", "POSTURE_POLL_RETRY_SECONDS": "1",
           "CELERY_TASK_DEFAULT_QUEUE": f"{settings.CELERY_TASK_DEFAULT_QUEUE}-pg-restart"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    # The kubeconfig goes through the environment of one process, never a file.
    pk = int(subprocess.run([*manage, "shell", "-c", REGISTER],
                            env={**env, "POSTURE_TEST_KUBECONFIG": emulator.kubeconfig()},
                            cwd=ROOT, check=True, capture_output=True, text=True,
                            timeout=120).stdout.split()[-1])
    # Every answer 0.2 s late: the poll reads for a few seconds, and the restart lands there.
    emulator.set_fault("delay", seconds=0.2)
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "posture.site", "worker", "--pool", "solo",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        poll_cluster.apply_async((pk,), queue=env["CELERY_TASK_DEFAULT_QUEUE"])
        assert wait_for(lambda: rows(postgres, "SELECT 1 FROM posture_snapshot WHERE status = "
                                               "'running'"), 90), log.read_text()[-3000:]
        time.sleep(0.5)
        postgres.stop("fast")
        time.sleep(1)
        postgres.start()

        def settled() -> list[tuple]:
            found = rows(postgres, "SELECT status, error_kind, attempt, node_count, score, "
                                   "finished_at IS NOT NULL FROM posture_snapshot ORDER BY id")
            return found if found and found[-1][0] == "ok" else []

        assert wait_for(settled, 90), log.read_text()[-3000:]
        snapshots = settled()
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)
    failed, done = snapshots
    # The interrupted run: failed, finished, with no aggregate of a completed poll.
    assert failed[:2] == ("failed", "database") and failed[3:] == (None, None, True), failed
    assert done[0] == "ok" and done[2] == 2 and done[3] is not None, done
    # No finding came from the interrupted run; the lease is free.
    assert rows(postgres, "SELECT count(*) FROM posture_finding WHERE first_seen_id = "
                          "(SELECT min(id) FROM posture_snapshot)") == [(0,)]
    assert rows(postgres, "SELECT poll_lease_id, poll_lease_until FROM clusters_cluster "
                          "WHERE id = %s", pk) == [("", None)]
    results.add("service", "postgres-poll", 2, what="PostgreSQL restarted (fast shutdown, 1 s "
                "down)", during="a poll, by a real worker, while it read a slow cluster",
                outcome="the poll wrote nothing of its results (one transaction); once the "
                        "database answered it marked its run `failed` (`database`) and "
                        "released the lease",
                after="the task retried the poll after its backoff: attempt 2 `ok`, with the "
                      "cluster's findings; no half-written snapshot, no running row left")
