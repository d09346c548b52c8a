"""Page timings at fleet scale: server time per page with a seeded year of history.

Seeds (once) ``FLEET`` clusters x 365 days x 4 polls into the bench database with
``seed_history``, then requests each page many times through Django's test client in this
process and reports the median and p95 of server time, the median CPU time of this process (the
page's own work, less sensitive than wall time to other load on a shared machine; the database's
share is not in it) and the number of SQL queries. Baseline: the login page, which touches no
fleet data — it shows what the framework alone costs on this machine at this moment. Before
timing, the process freezes its start-up objects out of the garbage collector's reach, as the web
process does (``posture.site.heap``).

Two sizes are measured on the same database: a cluster owner who owns ``CLUSTERS`` of the
synthetic clusters (the pages show those), and the security team, who sees the whole fleet
(``FLEET`` clusters and any other in the database, counted in ``_size``). For each page the
slowest queries are explained (``EXPLAIN``) and the plans written to ``bench/explain.txt``, with
the scans they use summed up in the results.

``python bench/pages.py --runs 3`` repeats the measurement and prints each run and the median of
each figure over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

# POSTURE_BENCH_FLEET sets a smaller fleet to try the benchmark itself out quickly.
CLUSTERS, DAYS, POLLS_PER_DAY = 50, int(os.environ.get("POSTURE_BENCH_DAYS", "365")), 4
FLEET = int(os.environ.get("POSTURE_BENCH_FLEET", "1000"))
# p95 targets in ms, by page and size (None: no target).
TARGETS: dict[str, tuple[float | None, float | None]] = {
    "fleet overview": (100, 120), "cluster scorecard": (100, 100), "trends": (100, 100),
    "checklist": (100, 100), "API cluster list": (50, 50),
}
EXPLAIN_FILE = ROOT / "bench" / "explain.txt"
# How many of a page's slowest queries are explained.
EXPLAINED = 3


def ensure_history(clusters: int = FLEET) -> float | None:
    """Seed synthetic clusters up to ``clusters``; return the seconds it took (None: no need)."""
    from django.core.management import call_command

    from clusters.models import Cluster

    have = Cluster.objects.filter(name__startswith="synthetic-").count()
    if have >= clusters:
        return None
    started = time.perf_counter()
    call_command("seed_history", "--clusters", str(clusters - have), "--days", str(DAYS),
                 "--polls-per-day", str(POLLS_PER_DAY))
    return time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def _users() -> dict[str, Any]:
    """Return the two viewers: an owner of ``CLUSTERS`` synthetic clusters, the security team."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from clusters.access import SECURITY_TEAM
    from clusters.models import Cluster

    team, _ = get_user_model().objects.get_or_create(username="bench-security")
    team.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    owned = Cluster.objects.filter(name__startswith="synthetic-").order_by("name")[:CLUSTERS]
    for cluster in owned:
        cluster.owners.add(owner)
    return {"owner": owner, "team": team}


def measure(rounds: int = 30) -> dict[str, dict[str, Any]]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from clusters.models import Cluster
    from posture.site.heap import freeze_startup_objects

    seeded = ensure_history()
    # Pages link to hashed static file names, read from the manifest collectstatic writes.
    call_command("collectstatic", "--noinput", "-v0")
    viewers = _users()
    # As the web process does at start-up (posture/site/wsgi.py): full garbage collections skip
    # the long-lived objects, so a page's p95 is not the collector's pause.
    freeze_startup_objects()
    cluster = Cluster.objects.filter(name__startswith="synthetic-").order_by("name").first()
    assert cluster is not None
    pages = {
        "fleet overview": reverse("home"),
        "cluster scorecard": reverse("clusters:detail", args=[cluster.pk]),
        "trends": reverse("clusters:trends", args=[cluster.pk]),
        "checklist": reverse("clusters:checklist", args=[cluster.pk]),
        "API cluster list": reverse("api:clusters") + "?limit=100",
    }
    anon = Client(HTTP_HOST="localhost")
    results: dict[str, dict[str, Any]] = {}
    plans: list[str] = []
    for size, who in ((CLUSTERS, "owner"), (Cluster.objects.count(), "team")):
        client = Client(HTTP_HOST="localhost")
        client.force_login(viewers[who])
        label = f"{size:,} clusters"
        results[f"login (baseline), {label}"] = _time(anon, reverse("login"), rounds, [])
        for name, url in pages.items():
            figures = _time(client, url, rounds, plans, title=f"{name}, {label}")
            figures["target_p95_ms"] = TARGETS[name][0 if who == "owner" else 1]
            results[f"{name}, {label}"] = figures
    EXPLAIN_FILE.write_text("\n".join(plans))
    results["_size"] = {"clusters": Cluster.objects.count(),
                        "snapshots": _count("posture_snapshot"),
                        "findings": _count("posture_finding"),
                        "rollup_days": _count("posture_clusterday"),
                        "database_mb": _database_mb(), **_snapshot_bytes(), **_storage(),
                        "seed_seconds": round(seeded, 1) if seeded else None}
    return results


def _time(client: Any, url: str, rounds: int, plans: list[str], title: str = "") -> dict[str, Any]:
    """Time ``rounds`` requests of ``url``; explain the slowest queries of one (into ``plans``)."""
    from django.db import connection

    response = client.get(url)  # warm caches and templates
    assert response.status_code == 200, (url, response.status_code)
    queries: list[tuple[float, str, Any]] = []

    def count(run: Any, sql: str, params: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return run(sql, params, *args)
        finally:
            queries.append((time.perf_counter() - started, sql, params))

    # Counted with an execute wrapper: the request_started signal clears Django's own query log
    # mid-capture.
    with connection.execute_wrapper(count):
        client.get(url)
    timings, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    scans = _explain(title, queries, plans) if title else {}
    return {"median_ms": statistics.median(timings), "p95_ms": percentile(timings, 0.95),
            "cpu_median_ms": statistics.median(cpu), "queries": len(queries),
            "sql_ms": round(sum(q[0] for q in queries) * 1000, 1), "rounds": rounds,
            "scans": scans}


def _explain(title: str, queries: list[tuple[float, str, Any]],
             plans: list[str]) -> dict[str, int]:
    """EXPLAIN ANALYZE a page's slowest queries; return how many of each scan (on which table)
    their plans use."""
    import re

    from django.db import connection

    found: dict[str, int] = {}
    slowest = sorted((q for q in queries if q[1].lstrip().upper().startswith("SELECT")),
                     key=lambda q: -q[0])[:EXPLAINED]
    for seconds, sql, params in slowest:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql,
                           params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        plans.append(f"== {title}: {seconds * 1000:.1f} ms\n{sql}\n{plan}\n")
        for kind, table in re.findall(
                r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan))"
                r"(?: using \S+)? on (\w+)", plan):
            key = f"{kind} on {table}"
            found[key] = found.get(key, 0) + 1
    return found


def _storage() -> dict[str, int]:
    """Return the bytes (with indexes and TOAST) of the snapshot, finding and rollup tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('posture_snapshot'), "
                       "pg_total_relation_size('posture_finding'), "
                       "pg_total_relation_size('posture_clusterday'), "
                       "pg_total_relation_size('posture_clustercurrent')")
        snapshots, findings, days, current = cursor.fetchone()
    return {"snapshot_table_bytes": int(snapshots), "finding_table_bytes": int(findings),
            "rollup_day_table_bytes": int(days), "rollup_current_table_bytes": int(current)}


def _count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed table names)
        return int(cursor.fetchone()[0])


def _snapshot_bytes() -> dict[str, int]:
    """Bytes one unchanged poll adds: its snapshot row (no finding rows), and the table's total
    (indexes, TOAST) per row."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT avg(pg_column_size(t.*))::int, "
                       "(pg_total_relation_size('posture_snapshot') / greatest(count(*), 1))::int "
                       "FROM posture_snapshot t")
        row_bytes, total_bytes = cursor.fetchone()
    return {"snapshot_row_bytes": int(row_bytes or 0), "snapshot_total_bytes": int(total_bytes)}


def _database_mb() -> float | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return round(int(cursor.fetchone()[0]) / 1024 / 1024, 1)


# The figures of a run that vary from one run to the next on a shared machine.
TIMINGS = ("median_ms", "p95_ms", "cpu_median_ms", "sql_ms")


def median_of(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Return the last of ``runs`` with each of its ``TIMINGS`` the median over the runs."""
    out = {page: dict(figures) for page, figures in runs[-1].items()}
    for page, figures in out.items():
        if not page.startswith("_"):
            for key in TIMINGS:
                figures[key] = statistics.median(run[page][key] for run in runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="measurements to take (default 1)")
    parser.add_argument("--rounds", type=int, default=30, help="requests per page and run")
    args = parser.parse_args()
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(measure(args.rounds))
        if args.runs > 1:
            print(f"run {number}")
        for page, figures in runs[-1].items():
            print(page, _rounded(figures))
    if args.runs > 1:
        print(f"median of {args.runs} runs")
        for page, figures in median_of(runs).items():
            if not page.startswith("_"):
                print(page, {key: round(figures[key], 1) for key in TIMINGS})


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()
            if k != "scans"}


if __name__ == "__main__":
    main()
