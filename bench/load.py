"""Load: 100 emulated clusters polled by 2 Celery workers, with the web pages measured meanwhile.

Everything real: beat enqueues due polls every minute, two single-process workers poll the
emulators over HTTPS into PostgreSQL through the Redis broker, gunicorn serves the pages. The run
is bounded (``--seconds``). Reported: polls per cluster, the longest gap between two polls of one
cluster (target: within 2 poll intervals, i.e. no cluster starves), overlapping polls of one
cluster (target: none), and page p95 while polling vs the same pages measured idle just before.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

CLUSTERS = 100
INTERVAL_MINUTES = 1
SCENARIOS = ("well-kept", "typical", "neglected")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _login(base: str, username: str, password: str) -> Any:
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login page"
    done = session.post(f"{base}/login/", data={
        "username": username, "password": password,
        "csrfmiddlewaretoken": token.group(1)}, headers={"Referer": f"{base}/login/"},
        allow_redirects=False, timeout=10)
    assert done.status_code == 302, f"login failed: {done.status_code}"
    return session


def _sample(session: Any, urls: list[str], seconds: float) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {u: [] for u in urls}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for url in urls:
            start = time.perf_counter()
            response = session.get(url, timeout=30)
            timings[url].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        time.sleep(0.5)
    return timings


def run(seconds: int = 240) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from clusters.access import SECURITY_TEAM
    from clusters.kubeconfig import credentials
    from clusters.models import Cluster
    from emulator import start_emulator
    from posture.domain.models import Snapshot

    Cluster.objects.filter(name__startswith="load-").delete()
    user, _ = get_user_model().objects.get_or_create(username="load-bench")
    user.set_password("load-bench-password-7")
    user.save()
    user.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
    emulators = [start_emulator(SCENARIOS[i % len(SCENARIOS)]) for i in range(CLUSTERS)]
    now = timezone.now()
    ids = []
    for i, emulator in enumerate(emulators):
        cluster = Cluster(name=f"load-{i:03d}", poll_interval_minutes=INTERVAL_MINUTES,
                          next_poll_at=now + timedelta(days=1))  # not due until the run starts
        cluster.store_kubeconfig(credentials(emulator.kubeconfig()))
        cluster.save()
        ids.append(cluster.pk)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    queue = f"load-{os.getpid()}"
    # Plain HTTP on loopback: the session cookie must not be marked Secure.
    env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": queue, "LOG_LEVEL": "WARNING",
           "POSTURE_INSECURE_COOKIES": "true"}
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="posture-load-") as tmp:
        try:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "posture.site.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            session = _login(base, "load-bench", "load-bench-password-7")
            some = ids[0]
            urls = [f"{base}/", f"{base}/clusters/{some}/", f"{base}/api/v1/clusters/"]
            idle = _sample(session, urls, 20)
            for name in ("w1", "w2"):
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "posture.site", "worker",
                     "--pool", "solo", "-n", f"{name}@%h", "--loglevel", "WARNING",
                     "--without-gossip", "--without-mingle"],
                    cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "posture.site", "beat",
                 "--loglevel", "WARNING", "--schedule", str(Path(tmp) / "beat")],
                cwd=ROOT, env=env, stderr=subprocess.DEVNULL))
            started = timezone.now()
            Cluster.objects.filter(pk__in=ids).update(next_poll_at=started)
            busy = _sample(session, urls, seconds)
            ended = timezone.now()
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
            for emulator in emulators:
                emulator.stop()
    polls: dict[int, list[Snapshot]] = {pk: [] for pk in ids}
    for snap in Snapshot.objects.filter(cluster_id__in=ids).order_by("taken_at"):
        polls[snap.cluster_id].append(snap)
    overlaps = 0
    gaps: list[float] = []
    durations: list[float] = []
    for rows in polls.values():
        for before, after in zip(rows, rows[1:], strict=False):
            if before.finished_at and after.taken_at < before.finished_at:
                overlaps += 1
            gaps.append((after.taken_at - before.taken_at).total_seconds())
        if rows:
            gaps.append((rows[0].taken_at - started).total_seconds())
            gaps.append((ended - rows[-1].taken_at).total_seconds())
        durations.extend(r.duration_ms or 0 for r in rows if r.duration_ms is not None)
    counts = [len(rows) for rows in polls.values()]
    failed = sum(1 for rows in polls.values() for r in rows if r.status == "failed")
    pages = {}
    for url in urls:
        label = url.replace(base, "") or "/"
        pages[label] = {"idle_p95": _percentile(idle[url], 0.95),
                        "busy_p95": _percentile(busy[url], 0.95),
                        "busy_median": statistics.median(busy[url]),
                        "samples": len(busy[url])}
    Cluster.objects.filter(pk__in=ids).delete()
    return {"seconds": seconds, "clusters": CLUSTERS, "interval_s": INTERVAL_MINUTES * 60,
            "polls": sum(counts), "polls_min": min(counts), "polls_max": max(counts),
            "never_polled": sum(1 for c in counts if c == 0), "failed": failed,
            "overlaps": overlaps, "max_gap_s": max(gaps) if gaps else None,
            "poll_ms_median": statistics.median(durations) if durations else None,
            "poll_ms_p95": _percentile(durations, 0.95) if durations else None, "pages": pages}


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 240), indent=2))
