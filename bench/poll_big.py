"""Polling the ``big`` scenario (500 nodes, 10,000 pods): time and peak memory per way of reading.

Each measurement runs in a fresh process (so peak RSS is that process's own; for the polls it
is counted from just before the poll, after start-up and clean-up) against one emulator
running in another process, and is repeated; the median is reported. Modes:

- ``fetch``   baseline: every list page over HTTPS, parsed with orjson, nothing kept
- ``raw``     the collector as Posture runs it: raw JSON pages, pods folded into workloads
- ``models``  the same lists read through the client's pydantic model objects (the default way)
- ``poll``    a first poll — fetch, parse, evaluate, store every finding — into the database
- ``repoll``  the same cluster polled again, unchanged: rows written should be the snapshot only

``python bench/poll_big.py [--runs 3]`` prints a table; ``bench/run.py`` puts it in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = ("fetch", "raw", "models", "poll", "repoll")


def _reset_peak() -> None:
    """Start the peak-RSS count afresh (Linux: writing 5 to clear_refs resets VmHWM), so the
    figure is the poll's own and not the set-up's (e.g. deleting the previous run's rows)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, kubeconfig: str) -> dict[str, Any]:
    """Run one measurement in this process and return its figures."""
    sys.path.insert(0, str(ROOT))
    from clusters import collector, kube
    from clusters.kubeconfig import credentials

    creds = credentials(Path(kubeconfig).read_text())
    options = collector.Options(timeouts=kube.Timeouts(connect=10, read=120))
    result: dict[str, Any] = {}
    start = time.perf_counter()
    if mode == "fetch":
        import orjson
        from kubernetes import client as k8s

        with kube.api_client(creds) as api, collector._gc_paused():
            listers = collector._listers(api)
            items = 0
            for lister in listers.values():
                token = None
                while True:
                    kwargs: dict[str, Any] = {"limit": 500, "_preload_content": False}
                    if token:
                        kwargs["_continue"] = token
                    try:
                        body = orjson.loads(lister(**kwargs).data)
                    except k8s.exceptions.ApiException:
                        break  # absent resources (no Trivy) cost one request, as in a poll
                    items += len(body.get("items") or [])
                    token = (body.get("metadata") or {}).get("continue")
                    if not token:
                        break
            result["items"] = items
    elif mode in ("raw", "models"):
        inventory = collector.collect(creds, collector.Options(options.timeouts, parse=mode))
        result["workloads"] = len(inventory["workloads"])
        result["pods"] = sum(w["pods"] for w in inventory["workloads"])
    elif mode in ("poll", "repoll"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")
        import django

        django.setup()
        from clusters.models import Cluster
        from posture.domain.models import Finding, Snapshot
        from posture.domain.polling import poll

        if mode == "poll":
            Cluster.objects.filter(name="bench-big").delete()
        cluster, _ = Cluster.objects.get_or_create(name="bench-big")
        cluster.store_kubeconfig(creds)
        cluster.save()
        rows_before = Finding.objects.count() + Snapshot.objects.count()
        _reset_peak()
        start = time.perf_counter()
        snapshot = poll(cluster.pk, opts=options).snapshot
        result["seconds"] = time.perf_counter() - start
        assert snapshot is not None and snapshot.status == "ok", snapshot and snapshot.error
        # Finding rows are never updated in place, only inserted or resolved: count inserts
        # plus resolutions as rows written.
        resolved = Finding.objects.filter(resolved_in=snapshot).count()
        result["rows_written"] = (Finding.objects.count() + Snapshot.objects.count()
                                  - rows_before + resolved)
        result["findings"] = snapshot.open_findings
        result["pods"] = snapshot.pod_count
    result.setdefault("seconds", time.perf_counter() - start)
    result["peak_mb"] = _peak_mb()
    return result


def measure(runs: int = 3, modes: tuple[str, ...] = MODES,
            scenario: str = "big") -> dict[str, dict[str, Any]]:
    """Start the emulator, run every mode ``runs`` times (interleaved), return medians."""
    with tempfile.TemporaryDirectory(prefix="posture-bench-") as tmp:
        emulator = subprocess.Popen(
            [sys.executable, "-m", "emulator", scenario, "--port", "0",
             "--kubeconfig-dir", tmp], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            line = emulator.stdout.readline() if emulator.stdout else ""
            if not line:
                raise RuntimeError("the emulator did not start")
            kubeconfig = line.split()[-1]
            samples: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
            for _ in range(runs):
                for mode in modes:  # interleaved, so machine noise hits every mode alike
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", mode, kubeconfig],
                        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600)
                    samples[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)
    medians: dict[str, dict[str, Any]] = {}
    for mode, rows in samples.items():
        medians[mode] = {
            "seconds": statistics.median(r["seconds"] for r in rows),
            "peak_mb": statistics.median(r["peak_mb"] for r in rows),
            "runs": len(rows),
            **{k: v for k, v in rows[-1].items() if k not in ("seconds", "peak_mb")},
        }
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "KUBECONFIG"), help=argparse.SUPPRESS)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    medians = measure(args.runs, tuple(args.modes.split(",")))
    base = medians.get("fetch", {}).get("seconds")
    for mode, figures in medians.items():
        ratio = f"{figures['seconds'] / base:.2f}x" if base else "-"
        print(f"{mode:8} {figures['seconds']:7.2f} s  {figures['peak_mb']:6.0f} MB  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
