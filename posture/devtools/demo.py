"""``make demo``: a complete Posture on this machine, with emulated clusters and 90 days of history.

Runs embedded (SQLite and a filesystem broker under ``var/``) unless DATABASE_URL is set. This
process hosts the cluster emulators and supervises the web server, a Celery worker and beat; Ctrl-C
stops everything.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("well-kept", "typical", "neglected")
# A fourth emulated cluster, left unregistered: its kubeconfig is written for rehearsing
# registration. It holds the emulator's own test token, nothing real.
REHEARSAL_SCENARIO, REHEARSAL_NAME = "typical", "rehearsal"
REHEARSAL_KUBECONFIG = "rehearsal.kubeconfig"
HISTORY_DAYS = 90
EMULATOR_BASE_PORT = int(os.environ.get("POSTURE_DEMO_EMULATOR_PORT", "16443"))
WEB_PORT = int(os.environ.get("POSTURE_DEMO_PORT", "8000"))
USERNAME, PASSWORD = "demo", "posture-demo"


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def prepare() -> None:
    manage("migrate", "--noinput", "-v0")
    manage("collectstatic", "--noinput", "-v0")
    manage("ensure_demo_user", "--username", USERNAME, "--password", PASSWORD)


def start_clusters() -> list[Any]:
    """Start the emulators in this process and (re-)register each as a cluster."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from clusters.kubeconfig import credentials
    from clusters.models import Cluster
    from emulator import start_emulator
    from posture.domain.models import Trigger
    from posture.domain.polling import poll

    owner = get_user_model().objects.get(username=USERNAME)
    emulators = []
    for offset, name in enumerate(SCENARIOS):
        emulator = start_emulator(name, port=EMULATOR_BASE_PORT + offset)
        emulators.append(emulator)
        creds = credentials(emulator.kubeconfig())
        cluster = Cluster.objects.filter(name=name).first() or Cluster(name=name, created_by=owner)
        # The emulator makes a new CA on every start: refresh the stored kubeconfig.
        cluster.store_kubeconfig(creds)
        cluster.poll_interval_minutes = 15
        cluster.save()
        cluster.owners.add(owner)
        if cluster.snapshots.exists():
            continue
        print(f"  replaying {HISTORY_DAYS} days of history for {name}…", flush=True)
        now = timezone.now()
        for day in range(-HISTORY_DAYS, 1):
            emulator.set_day(day)
            poll(cluster.pk, Trigger.REPLAY, taken_at=now + timedelta(days=day))
        emulator.set_day(0)
    return emulators


def start_rehearsal_cluster(var_dir: Path, port: int) -> tuple[Any, Path]:
    """Start the unregistered cluster and write its kubeconfig under ``var_dir`` (mode 0600).

    The emulator makes a new CA and token on every start, so the file is rewritten each time.
    """
    from emulator import start_emulator
    from emulator.scenario import load_scenario

    scenario = dataclasses.replace(load_scenario(REHEARSAL_SCENARIO), name=REHEARSAL_NAME)
    emulator = start_emulator(scenario, port=port)
    var_dir.mkdir(parents=True, exist_ok=True)
    return emulator, emulator.write_kubeconfig(var_dir / REHEARSAL_KUBECONFIG)


def banner(web_port: int, clusters: list[tuple[str, str]], rehearsal: Path, mail_dir: str) -> str:
    """Return what the demo prints once everything runs."""
    listed = ", ".join(f"{url} ({name})" for name, url in clusters)
    return f"""
Posture is running: http://127.0.0.1:{web_port}/
Log in as {USERNAME} / {PASSWORD}
Emulated clusters: {listed}
Rehearse registration: paste {rehearsal}
  into Register (it is a fourth emulated cluster, not registered yet; the file holds the
  emulator's test token only, and is rewritten on every start)
Mail (the weekly digest) is written to files in {mail_dir}/;
  preview it now with: .venv/bin/python manage.py send_digest --dry-run --user {USERNAME}
Press Ctrl-C to stop.
"""


def main() -> int:
    os.chdir(ROOT)
    # The demo prints what matters itself; the services log warnings and errors only.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    print("Preparing the database, static files and the demo login…", flush=True)
    prepare()
    print("Starting emulated clusters…", flush=True)
    emulators = start_clusters()
    from django.conf import settings

    rehearsal, rehearsal_kubeconfig = start_rehearsal_cluster(
        Path(settings.VAR_DIR), EMULATOR_BASE_PORT + len(SCENARIOS))
    processes = {
        "web": subprocess.Popen([sys.executable, "-m", "gunicorn", "posture.site.wsgi",
                                 "--bind", f"127.0.0.1:{WEB_PORT}", "--workers", "2"],
                                cwd=ROOT),
        "worker": subprocess.Popen([sys.executable, "-m", "celery", "-A", "posture.site", "worker",
                                    "--loglevel", "WARNING", "--concurrency", "2"], cwd=ROOT),
        "beat": subprocess.Popen([sys.executable, "-m", "celery", "-A", "posture.site", "beat",
                                  "--loglevel", "WARNING"], cwd=ROOT),
    }
    mail_dir = getattr(settings, "EMAIL_FILE_PATH", "var/mail")
    clusters = [(n, e.url) for n, e in zip(SCENARIOS, emulators, strict=True)]
    print(banner(WEB_PORT, clusters + [(f"{REHEARSAL_NAME}, not registered", rehearsal.url)],
                 rehearsal_kubeconfig, mail_dir), flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the demo.")
                    stopping = True
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for emulator in [*emulators, rehearsal]:
            emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
