"""Run the benchmarks and write BENCHMARKS.md and bench/results.json (``make bench``).

Every figure is a median of several runs with its ratio to a baseline measured in the same run
on the same data, because this machine is shared and its absolute speed varies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.python_implementation()} {platform.python_version()}, {cpus} cores"


def engine_section(repeat: int) -> tuple[str, dict]:
    # One core: the engine is single-threaded; pinning keeps the other core's noise out. The
    # hot modules run from source, then compiled (make setup builds them), each in its own
    # process, with its own JSON baseline.
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    command = [*pin, sys.executable, str(ROOT / "bench" / "engine_throughput.py"),
               "--pods", "10000", "--repeat", str(repeat), "--json"]
    runs = {}
    for label, pure in (("pure Python", "1"), ("compiled", "0")):
        env = {**os.environ, "POSTURE_PURE_PYTHON": pure}
        out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout
        runs[label] = json.loads(out)
    pods = runs["compiled"]["pods"]
    lines = [
        "## Rules engine (one core)",
        "",
        f"{pods:,} distinct two-container pod specs; restricted PSS plus every workload "
        "and image check. Baseline: parsing the same specs from JSON with orjson, in the same "
        "process. The engine's hot modules as plain Python (`POSTURE_PURE_PYTHON=1`) and "
        "compiled with mypyc (`posture/checks/native.py`, built by `make setup`), best of "
        f"{repeat} runs each, pinned with `taskset -c 0`.",
        "",
        "| what | pod specs / s | vs parsing JSON |",
        "|---|---:|---:|",
    ]
    rows = (("engine_distinct", "every template distinct"),
            ("engine_shared", "200 templates shared"),
            ("engine_distinct_verdicts", "every verdict distinct too"))
    for label, rates in runs.items():
        if label == "compiled" and not rates["compiled"]:
            lines.append("| (the compiled modules are not built: run `make setup`) | | |")
            continue
        lines.append(f"| parse JSON (baseline, {label} run) | {rates['parse']:,.0f} | 1.00 |")
        for key, what in rows:
            lines.append(f"| engine {label}, {what} | {rates[key]:,.0f} | "
                         f"{rates[key] / rates['parse']:.2f} |")
    best = runs["compiled"] if runs["compiled"]["compiled"] else runs["pure Python"]
    rate, ratio = best["engine_distinct"], best["engine_distinct"] / best["parse"]
    lines += [
        "",
        f"Target: ≥ {ENGINE_TARGET:,} distinct pod specs/s on one core, twice the JSON-parse "
        f"baseline measured when it was set. Here: {rate:,.0f}/s, {ratio:.2f}× this run's "
        f"parse baseline — {'met' if rate >= ENGINE_TARGET and ratio >= 2 else 'not met'}.",
        "",
    ]
    return "\n".join(lines), runs


ENGINE_TARGET = 40_000


def scan_section(repeat: int) -> tuple[str, dict]:
    import scan_throughput

    figures = scan_throughput.measure([1000, 5000, 20000], repeat)
    return scan_throughput.section(figures, repeat), figures


def rbac_section(repeat: int) -> tuple[str, dict]:
    import rbac_analysis

    r = rbac_analysis.measure(1000, 2000, max(repeat, 3))
    base = r["parse_s"]
    lines = [
        "## RBAC analysis (one core)",
        "",
        f"{r['roles']:,} roles (Roles and ClusterRoles, some aggregated) and {r['bindings']:,} "
        f"bindings, {r['findings']:,} access findings. Median of {max(repeat, 3)} runs; "
        "baseline: parsing the same RBAC objects from JSON with orjson. Target: under 1 s.",
        "",
        "| what | ms | vs parsing JSON |",
        "|---|---:|---:|",
        f"| parse JSON (baseline) | {base * 1000:,.0f} | 1.00 |",
        f"| who-can index | {r['index_s'] * 1000:,.0f} | {r['index_s'] / base:.2f} |",
        f"| every access check | {r['checks_s'] * 1000:,.0f} | {r['checks_s'] / base:.2f} |",
        f"| every access check, with {r['workloads']:,} workloads analysed | "
        f"{r['checks_with_workloads_s'] * 1000:,.0f} | "
        f"{r['checks_with_workloads_s'] / base:.2f} |",
        "",
    ]
    return "\n".join(lines), r


def poll_section(runs: int) -> tuple[str, dict]:
    import poll_big

    medians = poll_big.measure(runs)
    base = medians["fetch"]
    labels = {
        "fetch": "fetch every page over HTTPS + parse JSON, nothing else (baseline)",
        "raw": "collector: raw JSON + orjson, pods folded into workloads",
        "models": "collector through the client's model objects (contrast)",
        "poll": "first poll end to end: fetch, parse, evaluate, store",
        "repoll": "re-poll of the unchanged cluster",
    }
    lines = [
        "## Polling `big` (500 nodes, 10,000 pods, 300 workloads)",
        "",
        f"Median of {runs} runs, each in a fresh process against one emulator process; peak "
        "memory is the polling process's maximum RSS.",
        "",
        "| what | seconds | vs baseline | peak MB | rows written |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, figures in medians.items():
        rows = figures.get("rows_written", "")
        lines.append(
            f"| {labels[mode]} | {figures['seconds']:.2f} | "
            f"{figures['seconds'] / base['seconds']:.2f} | {figures['peak_mb']:.0f} | {rows} |")
    lines.append("")
    return "\n".join(lines), medians


def _mb(value: int) -> str:
    return f"{value / 1024 / 1024:,.1f} MB"


def pages_section(rounds: int, runs: int) -> tuple[str, dict]:
    import pages

    results = pages.median_of([pages.measure(rounds) for _ in range(runs)])
    size = results.pop("_size")
    lines = [
        f"## Pages with a year of history ({pages.CLUSTERS} and {size['clusters']:,} clusters x "
        f"{pages.DAYS} days x {pages.POLLS_PER_DAY} polls)",
        "",
        f"{size['snapshots']:,} snapshots, {size['findings']:,} finding rows and "
        f"{size['rollup_days']:,} daily rollup rows"
        + (f", database {size['database_mb']:,} MB" if size.get("database_mb") else "")
        + f". Storage with indexes and TOAST: snapshots {_mb(size['snapshot_table_bytes'])}, "
        f"findings {_mb(size['finding_table_bytes'])}, daily rollups "
        f"{_mb(size['rollup_day_table_bytes'])}, current rows "
        f"{_mb(size['rollup_current_table_bytes'])}"
        + (f"; an unchanged poll stores one snapshot row of {size['snapshot_row_bytes']:,} bytes "
           f"({size['snapshot_total_bytes']:,} with indexes and TOAST) and no finding rows"
           if size.get("snapshot_row_bytes") else "")
        + (f". Seeding took {size['seed_seconds']:,.0f} s (`seed_history`, COPY)"
           if size.get("seed_seconds") else "")
        + f". Server time through Django's test client, {rounds} requests per page, the median "
        f"of {runs} runs (CPU: this process's, the page's own work without the database's); the "
        f"{pages.CLUSTERS}-cluster rows are a cluster owner's view of {pages.CLUSTERS} of them, "
        "the others the security team's view of the whole fleet. Each size has its own "
        "baseline, the login page (no fleet data), measured beside it.",
        "",
        "| page | median ms | p95 ms | p95 target ms | p95 vs baseline | CPU ms | queries | "
        "SQL ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = None
    for page, f in results.items():
        if page.startswith("login"):
            base = f
        target = f.get("target_p95_ms")
        met = "" if target is None else (" ✓" if f["p95_ms"] <= target else " ✗")
        assert base is not None
        lines.append(f"| {page} | {f['median_ms']:.1f} | {f['p95_ms']:.1f} | "
                     f"{'' if target is None else target}{met} | "
                     f"{f['p95_ms'] / base['p95_ms']:.1f} | {f['cpu_median_ms']:.1f} | "
                     f"{f['queries']} | "
                     f"{f['sql_ms']:.1f} |")
    lines += ["", "Scans in the plans of each page's slowest queries (`EXPLAIN ANALYZE`, "
              "written in full to bench/explain.txt):", ""]
    for page, f in results.items():
        if f.get("scans"):
            scans = ", ".join(f"{kind} ×{n}" for kind, n in sorted(f["scans"].items()))
            lines.append(f"- {page}: {scans}")
    lines.append("")
    return "\n".join(lines), {**results, "_size": size}


def _ms(figures: dict | None, key: str) -> str:
    return "" if not figures else f"{figures[key]:.0f}"


def load_section(seconds: int, clusters: int = 100, interval_minutes: int = 1,
                 workers: int = 2, scenario: str | None = None,
                 worker_nice: int | None = None) -> tuple[str, dict]:
    import load

    r = load.run(seconds, clusters, interval_minutes, workers, scenario,
                 load.WORKER_NICE if worker_nice is None else worker_nice)
    # A long run's figures are kept before anything formats them.
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "load-last.json").write_text(json.dumps(r, indent=2, default=str))
    return load_markdown(r), r


def _f(value: float | None, spec: str = ".0f") -> str:
    return "–" if value is None else format(value, spec)


def load_markdown(r: dict[str, Any]) -> str:
    """Return the BENCHMARKS.md section for the figures of ``load.run``."""
    interval = r["interval_s"]
    served = (f"one emulator process serving every cluster on a path of its own "
              f"(`{r['scenario']}` scenario)" if r["one_emulator_process"]
              else f"one emulator per cluster ({r['scenario']})")
    lines = [
        f"## Load: {r['clusters']:,} emulated clusters ({r['workers']} workers, every "
        f"{interval // 60} min, {r['seconds']} s)",
        "",
        f"Every cluster due every {interval} s; beat, {r['workers']} single-process Celery "
        f"workers, gunicorn (2 workers) and {served}, all on this 2-core machine. The clusters "
        f"were registered in {r['register_s']:.1f} s (`bulk_create`) and left unscheduled, so "
        "beat spread their first polls over one interval; each tick hands out the polls due "
        "before the next one, each to start at its own slot. "
        + (f"Workers and beat ran at nice {r['worker_nice']} (docs/operations.md: batch work "
           "yields the cores to the web beside it) and the emulator, which stands in for API "
           "servers on other machines, at nice 19."
           if r.get("worker_nice") else "Workers and beat ran at the web's CPU priority."),
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| polls | {r['polls']:,} ({r['polls_min']}–{r['polls_max']} per cluster) | |",
        f"| clusters never polled | {r['never_polled']} | 0 |",
        f"| longest gap between polls of one cluster | {_f(r['max_gap_s'])} s | "
        f"≤ {2 * interval} s (2 intervals) |",
        f"| overlapping polls of one cluster | {r['overlaps']} | 0 |",
        f"| poll slots missed (gaps over 1.5 intervals) | {r['missed_slots']} | 0 |",
        f"| polls waiting in the queue at the end | {r['backlog_at_end']} | "
        f"≤ one beat tick's hand-out (~{r['demand_per_min'] / 4:.0f}) |",
        f"| failed polls | {r['failed']} | 0 |",
        "| poll duration (the snapshot's: fetch + engine) median / p95 | "
        f"{_f(r['poll_ms_median'])} / {_f(r['poll_ms_p95'])} ms | |",
        f"| polls / min / worker, achieved (demand {r['demand_per_min']:.0f} / min in all) | "
        f"{r['polls_per_min_per_worker']:.1f} | |",
        f"| polls / min / worker, ceiling (60 s / mean poll task) | "
        f"{_f(r['capacity_per_min_per_worker'])} | |",
        f"| share of the workers' time spent in poll tasks | {r['worker_busy_share']:.0%} | |",
        "| CPU seconds: workers / beat / emulator | "
        + " / ".join(f"{r['cpu_s'].get(k, 0):.0f}" for k in ("workers", "beat", "emulator"))
        + " | |",
        "",
        "Where a poll's time goes, wall clock (the workers' `polled cluster=…` log lines; the "
        "task is the whole Celery task: lease, snapshot row and acknowledgement included). "
        f"CPU per poll: {1000 * r['cpu_s'].get('workers', 0) / max(r['polls'], 1):.0f} ms in "
        f"the worker, {1000 * r['cpu_s'].get('emulator', 0) / max(r['polls'], 1):.0f} ms in the "
        "emulator; the rest of the wall time is waiting for a core, PostgreSQL or the emulator.",
        "",
        "| part | mean ms | median ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    phases = r["timings"]["phases"]
    for label, f in (("fetch: unseal the kubeconfig, list every resource over HTTPS",
                      phases["fetch_ms"]),
                     ("engine: evaluate every check", phases["evaluate_ms"]),
                     ("DB write: store the snapshot, findings, rollups", phases["record_ms"]),
                     ("snapshot's duration (fetch + engine)", phases["duration_ms"]),
                     ("poll task", r["timings"]["task_ms"])):
        lines.append(f"| {label} | {_ms(f, 'mean')} | {_ms(f, 'median')} | {_ms(f, 'p95')} |")
    lines += [
        "",
        "Pages, measured idle once the workers had stopped (the same data as at the end of the "
        "run; idle before the run, with no snapshots yet, in brackets)"
        + (f"; the machine's 1-minute load average was {r['load_average'][0]:.1f} when polling "
           f"started and {r['load_average'][-1]:.1f} when it ended"
           if r.get("load_average") else "") + ":",
        "",
        "| page | p95 idle ms | p95 while polling ms | ratio (target ≤ 1.5) | "
        "median while polling ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for page, f in r["pages"].items():
        lines.append(f"| {page} | {f['idle_p95']:.0f} ({f['idle_before_p95']:.0f}) | "
                     f"{f['busy_p95']:.0f} | {f['busy_p95'] / f['idle_p95']:.1f} | "
                     f"{f['busy_median']:.0f} |")
    lines.append("")
    return "\n".join(lines)


def growth_section() -> tuple[str, dict]:
    import growth

    pods = growth.pods_growth()
    clusters = growth.clusters_growth()
    lines = ["## Growth", "",
             "Cost as the cluster and the fleet grow. Ratio columns divide by the smallest size; "
             "linear growth would match the size ratio in the first column.", "",
             "| pods asked / served | size ratio | fetch s | first poll s (ratio) | re-poll s | "
             "peak MB (poll) | findings |", "|---:|---:|---:|---:|---:|---:|---:|"]
    small = min(pods)
    served = {n: m["poll"].get("pods") or n for n, m in pods.items()}
    for n, m in pods.items():
        lines.append(
            f"| {n:,} / {served[n]:,} | {served[n] / served[small]:.1f}x | "
            f"{m['fetch']['seconds']:.2f} | "
            f"{m['poll']['seconds']:.2f} "
            f"({m['poll']['seconds'] / pods[small]['poll']['seconds']:.1f}x)"
            f" | {m['repoll']['seconds']:.2f} | {m['poll']['peak_mb']:.0f} | "
            f"{m['poll'].get('findings', '')} |")
    lines += ["", "| clusters seen | size ratio | overview median ms (ratio) | "
              "API list median ms (ratio) |", "|---:|---:|---:|---:|"]
    first = min(clusters)
    for n, f in clusters.items():
        o, a = f["overview"]["median_ms"], f["API list"]["median_ms"]
        lines.append(f"| {n} | {n / first:.0f}x | {o:.1f} "
                     f"({o / clusters[first]['overview']['median_ms']:.1f}x) | {a:.1f} "
                     f"({a / clusters[first]['API list']['median_ms']:.1f}x) |")
    lines.append("")
    return "\n".join(lines), {"pods": pods, "clusters": clusters}


def _heading(section: str) -> str:
    """Return a section's heading up to its first parenthesis (sizes change between runs)."""
    return section.splitlines()[0].split("(")[0].strip()


def _merged(old: str, sections: list[str]) -> str:
    """Return ``old`` BENCHMARKS.md with the sections of the same heading replaced by
    ``sections`` (new ones appended)."""
    head, *parts = old.split("\n## ")
    existing = ["## " + part for part in parts]
    for section in sections:
        same = [i for i, part in enumerate(existing) if _heading(part) == _heading(section)]
        if same:
            existing[same[0]] = section
        else:
            existing.append(section)
    return head.rstrip("\n") + "\n\n" + "\n".join(part.rstrip("\n") + "\n"
                                                 for part in existing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load-seconds", type=int, default=180)
    import load

    load.add_arguments(parser, prefix="load-")
    jobs: dict[str, Any] = {
        "poll_big": lambda a: poll_section(a.runs),
        "engine": lambda a: engine_section(a.runs),
        "rbac": lambda a: rbac_section(a.runs),
        "scan": lambda a: scan_section(a.runs),
        "pages": lambda a: pages_section(30, a.runs),
        "growth": lambda a: growth_section(),
        "load": lambda a: load_section(a.load_seconds, a.load_clusters,
                                       a.load_interval_minutes, a.load_workers,
                                       a.load_scenario, a.load_worker_nice),
    }
    parser.add_argument("--only", action="append", choices=sorted(jobs),
                        help="run only this benchmark (repeatable) and replace its section of "
                             "BENCHMARKS.md and its figures in results.json")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    sections, results = [], {}
    for name, run in jobs.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name}…", flush=True)
        text, figures = run(args)
        sections.append(text)
        results[name] = figures
        print(text, flush=True)
    header = (f"# Benchmarks\n\nWritten by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"commit {commit}, {machine()}. Regenerate with `make bench`; nothing here is a "
              "test assertion.\n")
    markdown, figures_file = ROOT / "BENCHMARKS.md", ROOT / "bench" / "results.json"
    if args.only:
        old = markdown.read_text()
        note = (f"\n_{', '.join(args.only)} last run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
                f"commit {commit} (`bench/run.py --only`)._\n")
        markdown.write_text(_merged(old, [s + note for s in sections]))
        results = {**json.loads(figures_file.read_text()), **results}
    else:
        markdown.write_text(header + "\n" + "\n".join(sections))
    figures_file.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
