"""Page timings at fleet scale: server time per page with a seeded year of history.

Seeds (once) 50 clusters x 365 days x 4 polls into the bench database with ``seed_history``,
then requests each page many times through Django's test client in this process and reports the
median and p95 of server time, the median CPU time of this process (the page's own work, less
sensitive than wall time to other load on a shared machine; the database's share is not in it)
and the number of SQL queries. Baseline: the login page, which touches no fleet data — it shows
what the framework alone costs on this machine at this moment. Other clusters in the database
(say, a load benchmark's) are visible too and counted in ``_size``.

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

CLUSTERS, DAYS, POLLS_PER_DAY = 50, 365, 4


def ensure_history() -> None:
    from django.core.management import call_command

    from clusters.models import Cluster

    have = Cluster.objects.filter(name__startswith="synthetic-").count()
    if have < CLUSTERS:
        call_command("seed_history", "--clusters", str(CLUSTERS - have), "--days", str(DAYS),
                     "--polls-per-day", str(POLLS_PER_DAY))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(rounds: int = 30) -> dict[str, dict[str, Any]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from clusters.access import SECURITY_TEAM
    from clusters.models import Cluster
    from posture.domain.models import Finding

    ensure_history()
    # Pages link to hashed static file names, read from the manifest collectstatic writes.
    call_command("collectstatic", "--noinput", "-v0")
    user, _ = get_user_model().objects.get_or_create(username="bench-security")
    user.groups.add(Group.objects.get_or_create(name=SECURITY_TEAM)[0])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    cluster = Cluster.objects.filter(name__startswith="synthetic-").order_by("name").first()
    assert cluster is not None
    # The fleet findings' drill-down is timed on the check with the most open findings.
    widest = (Finding.objects.filter(resolved_at__isnull=True).values("check_id")
              .annotate(n=Count("pk")).order_by("-n", "check_id").first())
    assert widest is not None
    pages = {
        "login (baseline)": ("anon", reverse("login")),
        "fleet overview": ("user", reverse("home")),
        "cluster scorecard": ("user", reverse("clusters:detail", args=[cluster.pk])),
        "trends": ("user", reverse("clusters:trends", args=[cluster.pk])),
        "checklist": ("user", reverse("clusters:checklist", args=[cluster.pk])),
        "API cluster list": ("user", reverse("api:clusters")),
        "fleet findings": ("user", reverse("fleet-findings")),
        "fleet findings, one check": ("user", reverse("fleet-check",
                                                      args=[widest["check_id"]])),
        "API fleet findings (1000)": ("user", reverse("api:fleet-findings") + "?limit=1000"),
    }
    anon = Client(HTTP_HOST="localhost")
    results: dict[str, dict[str, Any]] = {}
    for name, (who, url) in pages.items():
        browser = client if who == "user" else anon
        response = browser.get(url)  # warm caches and templates
        assert response.status_code == 200, (name, response.status_code)
        timings, cpu = [], []
        queries: list[str] = []

        def count(run: Any, sql: str, *args: Any, seen: list[str] = queries) -> Any:
            seen.append(sql)
            return run(sql, *args)

        # Counted with an execute wrapper: the request_started signal clears Django's own
        # query log mid-capture.
        with connection.execute_wrapper(count):
            browser.get(url)
        for _ in range(rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            browser.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        results[name] = {"median_ms": statistics.median(timings),
                         "p95_ms": percentile(timings, 0.95),
                         "cpu_median_ms": statistics.median(cpu), "queries": len(queries),
                         "rounds": rounds}
    results["_size"] = {"clusters": Cluster.objects.count(),
                        "snapshots": _count("posture_snapshot"),
                        "findings": _count("posture_finding"),
                        "database_mb": _database_mb(), **_snapshot_bytes()}
    return results


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
        for page in runs[0]:
            if not page.startswith("_"):
                print(page, {key: round(statistics.median(run[page][key] for run in runs), 1)
                             for key in ("median_ms", "p95_ms", "cpu_median_ms")})


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}


if __name__ == "__main__":
    main()
