"""The embedded demo (SQLite, no DATABASE_URL) on a filesystem that fills up.

The var dir sits on a tmpfs of a few megabytes mounted for the test, filled to the last byte
after the migrations: SQLite then meets a real ENOSPC, as on a full laptop disk. Mounting needs
root (or CAP_SYS_ADMIN); the test runs as root here, like the rest of the suite's services.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os
from pathlib import Path
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("olga", password="full-disk-test-0")
anon = Client(raise_request_exception=False)
with open(Path(settings.VAR_DIR) / "filler", "wb", buffering=0) as filler:
    for size in (1 << 20, 4096, 1):
        try:
            while True:
                filler.write(b"\\0" * size)
        except OSError:
            pass
login = anon.post("/login/", {"username": "olga", "password": "full-disk-test-0"})
page = anon.get("/login/")
print(json.dumps({"login": [login.status_code, login.content.decode()],
                  "read": [page.status_code, ""]}))
"""


@pytest.fixture
def tiny_filesystem():
    mountpoint = Path(tempfile.mkdtemp(prefix="posture-test-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mountpoint)],
                   check=True, capture_output=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)
        mountpoint.rmdir()


def test_embedded_demo_on_a_full_disk_says_the_disk_is_full(tiny_filesystem, results):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DATABASE_TEST_NAME")}
    env.update(POSTURE_VAR_DIR=str(tiny_filesystem / "var"),
               STATIC_ROOT=str(settings.STATIC_ROOT), ALLOWED_HOSTS="testserver")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    done = subprocess.run([*manage, "shell", "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    status, body = answers["login"]
    assert status == 503, body[:2000]
    assert "disk is full" in body and str(tiny_filesystem / "var") in body
    assert "Traceback" not in body
    assert answers["read"][0] == 200
    results.add("service", "sqlite-full", 4, what="the embedded demo's disk full (SQLite, no "
                "DATABASE_URL)", during="a log-in (it writes the session), on a 24 MB tmpfs "
                "filled to the last byte",
                outcome="503 with a page saying the disk holding the database is full, naming "
                        "the var dir and what can be deleted there; no traceback",
                after="pages that only read still answer 200")
