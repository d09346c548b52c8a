"""Load: emulated clusters polled by Celery workers, with the web pages measured meanwhile.

Everything real: beat claims due polls every tick, single-process workers poll the emulators over
HTTPS into PostgreSQL through the Redis broker, gunicorn serves the pages. The run is bounded
(``--seconds``). Reported: polls per cluster, the longest gap between two polls of one cluster
(target: within 2 poll intervals, i.e. no cluster starves), overlapping polls of one cluster
(target: none), poll slots missed, where a poll's time goes (the workers' log lines), and page
p95 while polling vs the same pages measured idle on the same data once the workers stopped.

The default (100 clusters every minute, 2 workers) runs one emulator per cluster over three
scenarios. ``--scenario NAME`` serves every cluster from one emulator process instead, each on
its own path (``/clusters/<name>``), which is what fits a fleet of a thousand on this machine::

    python bench/load.py --clusters 1000 --interval-minutes 5 --workers 4 --seconds 900 \
        --scenario well-kept
"""

from __future__ import annotations

import argparse
import multiprocessing
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
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

CLUSTERS = 100
INTERVAL_MINUTES = 1
WORKERS = 2
SECONDS = 240
SCENARIOS = ("well-kept", "typical", "neglected")
# A gap this many intervals long means the cluster missed a poll slot: a poll runs one interval
# after the previous one finished, plus the queue's wait (beat hands it out for its slot).
_MISSED_SLOT_INTERVALS = 1.5
IDLE_SECONDS = 30
# CPU priority (nice) of the worker and beat processes: batch work that yields to the web
# server sharing these 2 cores, as docs/operations.md advises for workers beside the web.
WORKER_NICE = 10
EMULATOR_NICE = 19
_POLLED = re.compile(r"polled cluster=(\d+) status=(\S+) duration_ms=(\d+|None)"
                     r"(?: fetch_ms=(\d+) evaluate_ms=(\d+) record_ms=(\d+))?")
_TASK_DONE = re.compile(r"Task clusters\.tasks\.poll_cluster\[[^\]]+\] succeeded in ([0-9.]+)s")


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


def _serve_mounted(scenario: str, names: list[str], conn: Connection, stop: Event) -> None:
    """In a process of its own: serve ``scenario`` once, every name mounted on it; send the
    kubeconfigs, then, when told to stop, the requests each mount received."""
    from emulator import start_emulator

    # The emulated clusters stand in for API servers on other machines: on this one they must
    # not take the CPU from what is measured.
    os.nice(EMULATOR_NICE)
    emulator = start_emulator(scenario)
    try:
        conn.send([emulator.kubeconfig(mount=name) for name in names])
        stop.wait()
        conn.send(emulator.requests_served_by_mount())
    finally:
        emulator.stop()


def _cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": statistics.fmean(values), "median": statistics.median(values),
            "p95": _percentile(values, 0.95)}


def _worker_logs(paths: list[Path]) -> dict[str, Any]:
    """Return the per-poll timings the workers logged (``posture.domain.polling``)."""
    phases: dict[str, list[float]] = {"duration_ms": [], "fetch_ms": [], "evaluate_ms": [],
                                      "record_ms": []}
    task_s: list[float] = []
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            if match := _POLLED.search(line):
                if match.group(3) != "None":
                    phases["duration_ms"].append(float(match.group(3)))
                if match.group(4):
                    for key, value in zip(("fetch_ms", "evaluate_ms", "record_ms"),
                                          match.groups()[3:], strict=True):
                        phases[key].append(float(value))
            elif match := _TASK_DONE.search(line):
                task_s.append(float(match.group(1)))
    return {"phases": {k: _summary(v) for k, v in phases.items()},
            "task_ms": _summary([t * 1000 for t in task_s]), "tasks": len(task_s),
            "task_seconds_total": sum(task_s)}


def run(seconds: int = SECONDS, clusters: int = CLUSTERS,
        interval_minutes: int = INTERVAL_MINUTES, workers: int = WORKERS,
        scenario: str | None = None, worker_nice: int = WORKER_NICE) -> dict[str, Any]:
    """Run the load and return its figures; ``scenario`` serves every cluster from one
    emulator process (see the module's docstring); workers and beat run at ``worker_nice``."""
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
    width = max(3, len(str(clusters - 1)))
    names = [f"{i:0{width}d}" for i in range(clusters)]
    emulators = []
    mounted: Any = None  # the emulator process, its pipe and its stop event
    ours: Any = None
    stop: Any = None
    if scenario is None:
        emulators = [start_emulator(SCENARIOS[i % len(SCENARIOS)]) for i in range(clusters)]
        kubeconfigs = [emulator.kubeconfig() for emulator in emulators]
    else:
        # Spawned, not forked: this process already holds database connections and threads.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        stop = context.Event()
        mounted = context.Process(target=_serve_mounted, args=(scenario, names, theirs, stop),
                                  daemon=True)
        mounted.start()
        kubeconfigs = ours.recv()
    registering = time.perf_counter()
    now = timezone.now()
    registered = []
    for name, kubeconfig in zip(names, kubeconfigs, strict=True):
        cluster = Cluster(name=f"load-{name}", poll_interval_minutes=interval_minutes,
                          next_poll_at=now + timedelta(days=1))  # not due until the run starts
        cluster.store_kubeconfig(credentials(kubeconfig))
        registered.append(cluster)
    Cluster.objects.bulk_create(registered, batch_size=500)
    ids = list(Cluster.objects.filter(name__startswith="load-").order_by("name")
               .values_list("pk", flat=True))
    register_s = time.perf_counter() - registering
    assert len(ids) == clusters, (len(ids), clusters)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    queue = f"load-{os.getpid()}"
    # Plain HTTP on loopback: the session cookie must not be marked Secure.
    env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": queue, "LOG_LEVEL": "WARNING",
           "POSTURE_INSECURE_COOKIES": "true"}
    processes: list[subprocess.Popen[bytes]] = []
    worker_processes: list[subprocess.Popen[bytes]] = []
    served: dict[str, int] = {}
    cpu: dict[str, float] = {}
    backlog = None
    load_average: list[float] = []
    with tempfile.TemporaryDirectory(prefix="posture-load-") as tmp:
        logs = [Path(tmp) / f"w{n}.log" for n in range(1, workers + 1)]
        try:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "posture.site.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            session = _login(base, "load-bench", "load-bench-password-7")
            some = ids[0]
            urls = [f"{base}/", f"{base}/clusters/{some}/", f"{base}/api/v1/clusters/"]
            idle_before = _sample(session, urls, IDLE_SECONDS)
            # The workers log each poll at INFO (its timings); everything else stays quiet.
            worker_env = {**env, "LOG_LEVEL": "INFO"}
            for n, log_path in enumerate(logs, start=1):
                with log_path.open("wb") as log_file:
                    worker_processes.append(subprocess.Popen(
                        [sys.executable, "-m", "celery", "-A", "posture.site", "worker",
                         "--pool", "solo", "-n", f"w{n}@%h", "--loglevel", "INFO",
                         "--without-gossip", "--without-mingle"],
                        cwd=ROOT, env=worker_env, stdout=log_file, stderr=subprocess.STDOUT,
                        preexec_fn=lambda: os.nice(worker_nice)))
            processes.extend(worker_processes)
            beat = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "posture.site", "beat",
                 "--loglevel", "WARNING", "--schedule", str(Path(tmp) / "beat")],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=lambda: os.nice(worker_nice))
            processes.append(beat)
            started = timezone.now()
            # Unscheduled, as when a fleet is registered at once: beat spreads the first polls
            # over one interval (``claim_due_clusters``) rather than all on its next tick.
            Cluster.objects.filter(pk__in=ids).update(next_poll_at=None)
            cpu_start = {p.pid: _cpu_seconds(p.pid) for p in worker_processes + [beat]}
            if mounted is not None:
                cpu_start[mounted.pid] = _cpu_seconds(mounted.pid)
            # The machine is shared: its load says how much of the page figures is ours.
            load_average = [os.getloadavg()[0]]
            busy = _sample(session, urls, seconds)
            ended = timezone.now()
            load_average.append(os.getloadavg()[0])
            cpu["workers"] = sum(_cpu_seconds(p.pid) - cpu_start[p.pid]
                                 for p in worker_processes)
            cpu["beat"] = _cpu_seconds(beat.pid) - cpu_start[beat.pid]
            if mounted is not None:
                cpu["emulator"] = _cpu_seconds(mounted.pid) - cpu_start[mounted.pid]
            backlog = _queue_length(queue)
            for process in worker_processes + [beat]:
                process.send_signal(signal.SIGTERM)
            for process in worker_processes + [beat]:
                process.wait(timeout=120)
            # Idle again, now with the run's data: the fair baseline for the busy figures.
            idle = _sample(session, urls, IDLE_SECONDS)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
            for emulator in emulators:
                emulator.stop()
            if mounted is not None:
                stop.set()
                if ours.poll(30):
                    served = ours.recv()
                mounted.join(timeout=30)
        timings = _worker_logs(logs)
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
        else:
            gaps.append((ended - started).total_seconds())  # starved for the whole run
        durations.extend(r.duration_ms or 0 for r in rows if r.duration_ms is not None)
    counts = [len(rows) for rows in polls.values()]
    failed = sum(1 for rows in polls.values() for r in rows if r.status == "failed")
    interval_s = interval_minutes * 60
    missed = sum(1 for gap in gaps if gap > _MISSED_SLOT_INTERVALS * interval_s)
    pages = {}
    for url in urls:
        label = "/clusters/N/" if url.endswith(f"/clusters/{some}/") else (
            url.replace(base, "") or "/")
        pages[label] = {"idle_p95": _percentile(idle[url], 0.95),
                        "idle_before_p95": _percentile(idle_before[url], 0.95),
                        "busy_p95": _percentile(busy[url], 0.95),
                        "busy_median": statistics.median(busy[url]),
                        "samples": len(busy[url])}
    Cluster.objects.filter(pk__in=ids).delete()
    polls_total = sum(counts)
    minutes = seconds / 60
    return {"seconds": seconds, "clusters": clusters, "interval_s": interval_s,
            "workers": workers, "worker_nice": worker_nice,
            "scenario": scenario or "+".join(SCENARIOS),
            "one_emulator_process": scenario is not None, "register_s": register_s,
            "polls": polls_total, "polls_min": min(counts), "polls_max": max(counts),
            "never_polled": sum(1 for c in counts if c == 0), "failed": failed,
            "overlaps": overlaps, "max_gap_s": max(gaps) if gaps else None,
            "missed_slots": missed, "backlog_at_end": backlog,
            "mounts_served": len(served) if scenario is not None else None,
            "poll_ms_median": statistics.median(durations) if durations else None,
            "poll_ms_p95": _percentile(durations, 0.95) if durations else None,
            "polls_per_min_per_worker": polls_total / minutes / workers,
            "demand_per_min": clusters / interval_minutes,
            "cpu_s": cpu, "timings": timings, "load_average": load_average,
            # A worker process runs one poll at a time: its ceiling is a minute over the mean
            # time a poll task takes, queue and broker included.
            "capacity_per_min_per_worker": (60_000 / timings["task_ms"]["mean"]
                                            if timings["task_ms"] else None),
            "worker_busy_share": timings["task_seconds_total"] / (seconds * workers),
            "pages": pages}


def _queue_length(queue: str) -> int | None:
    """Return how many tasks wait in the broker's queue (Redis list), or None if unknown."""
    import redis
    from django.conf import settings

    try:
        return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue))
    except redis.RedisError:
        return None


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Add the run's sizes to ``parser`` (``prefix`` namespaces them, e.g. ``load-``)."""
    parser.add_argument(f"--{prefix}clusters", type=int, default=CLUSTERS)
    parser.add_argument(f"--{prefix}interval-minutes", type=int, default=INTERVAL_MINUTES)
    parser.add_argument(f"--{prefix}workers", type=int, default=WORKERS)
    parser.add_argument(f"--{prefix}scenario", default=None,
                        help="serve every cluster from one emulator process of this scenario")
    parser.add_argument(f"--{prefix}worker-nice", type=int, default=WORKER_NICE,
                        help="CPU priority of workers and beat (0: the same as the web)")


def main(argv: list[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=SECONDS)
    add_arguments(parser)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.seconds, args.clusters, args.interval_minutes, args.workers,
                         args.scenario, args.worker_nice), indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
