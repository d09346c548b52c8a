"""The embedded demo's SQLite (no DATABASE_URL): migrations, beat's claim and the rollups.

The suite runs on PostgreSQL, where beat claims due clusters and the rollups are rebuilt with
PostgreSQL-only SQL; ``make demo`` on a fresh machine runs on SQLite. This runs the same
domain functions there, in a subprocess with the embedded settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
from datetime import timedelta
from django.conf import settings
from django.db import connection
from django.test import Client
from django.contrib.auth.models import User
from django.utils import timezone
from clusters.models import Cluster
from posture.domain import polling, rollups
from posture.domain.rollup_models import ClusterCurrent, ClusterDay
from tests.posture.snapshot_factories import snapshot

now = timezone.now()
due = Cluster.objects.create(name="due", poll_interval_minutes=15,
                             next_poll_at=now - timedelta(minutes=1))
new = Cluster.objects.create(name="new", poll_interval_minutes=15, next_poll_at=None)
later = Cluster.objects.create(name="later", poll_interval_minutes=15,
                               next_poll_at=now + timedelta(minutes=5))
first = [p.cluster_id for p in polling.claim_due_clusters(now)]
second = [p.cluster_id for p in polling.claim_due_clusters(now)]
new.refresh_from_db()
slot = (new.next_poll_at - now).total_seconds()
ahead = [(p.cluster_id, p.at == later.next_poll_at)
         for p in polling.claim_due_clusters(now, ahead=timedelta(minutes=6))]
for back in range(3):
    snapshot(due, now - timedelta(days=back), score=60.0 + back)
written = sorted(ClusterDay.objects.values_list("cluster__name", "score"))
with connection.cursor() as cursor:
    rollups.rebuild(cursor, settings.TIME_ZONE)
rebuilt = sorted(ClusterDay.objects.values_list("cluster__name", "score"))
User.objects.create_superuser("sam", password="embedded-test-0")
client = Client(raise_request_exception=False)
client.force_login(User.objects.get(username="sam"))
page = client.get("/")
listed = client.get("/api/v1/clusters/").json()["clusters"]
counts = {c["name"]: c["open_findings_by_severity"] for c in listed}
print(json.dumps({"vendor": connection.vendor, "first": first, "second": second,
                  "ahead": ahead, "later": later.pk, "due": due.pk, "slot": slot, "written": written, "rebuilt": rebuilt,
                  "current": ClusterCurrent.objects.get(cluster=due).score,
                  "overview": page.status_code, "counts": counts}))
"""


def test_the_embedded_database_migrates_claims_due_polls_once_and_keeps_rollups(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DATABASE_TEST_NAME")}
    env.update(POSTURE_VAR_DIR=str(tmp_path / "var"), STATIC_ROOT=str(settings.STATIC_ROOT),
               ALLOWED_HOSTS="testserver")
    manage = [sys.executable, "manage.py"]
    migrated = subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    done = subprocess.run([*manage, "shell", "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["vendor"] == "sqlite"
    # The due cluster once; the never-scheduled one gets a slot within its interval instead.
    assert (got["first"], got["second"]) == ([got["due"]], [])
    # Polls due before the next tick are handed out with their own slot as start time.
    # (the never-scheduled one too, if its slot falls within them).
    assert dict(got["ahead"])[got["later"]] is True
    assert got["due"] not in dict(got["ahead"])
    assert 0 < got["slot"] <= 15 * 60
    assert got["written"] == got["rebuilt"] == [["due", 60.0], ["due", 61.0], ["due", 62.0]]
    assert got["current"] == 60.0
    assert got["overview"] == 200
    # The API list's counts are objects, as on PostgreSQL, not JSON text inside a string.
    assert isinstance(got["counts"]["due"], dict)
