"""Throughput of ``posture scan`` on generated Deployments, next to parsing them with libyaml.

Writes ``count`` Deployment manifests (one per file, each distinct) into a temporary
directory and measures, in the same run on the same files:

- the baseline: ``yaml.load(text, Loader=yaml.CSafeLoader)`` of every file, CPU time, in
  this process (reading the files included, as the scan must read them too);
- the scan in process: ``posture.checks.cli.main`` timed inside a fresh child process (CPU
  time of the scan and of writing its output; start-up and imports left out), text and SARIF;
- the command as CI runs it, ``python -m posture.checks scan DIR``: the child's whole CPU
  time, its wall time and its peak RSS;
- the command with ``--jobs 2`` (wall-clock time: the point of more processes is a shorter
  wait; the workers' CPU adds up to more than one process's).

Only the libyaml figures mean anything here: without libyaml the scan falls back to
PyYAML's pure-Python loader, about ten times slower.

Usage: ``python bench/scan_throughput.py [--sizes 1000,5000,20000] [--repeat 3] [--write]``
(``--write`` replaces this section of BENCHMARKS.md and bench/results.json; ``make bench``
runs it with the others).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def deployment(i: int) -> str:
    """Return a realistic Deployment manifest, different for every ``i``."""
    hardened = i % 2 == 0
    security = (
        "            allowPrivilegeEscalation: false\n"
        "            readOnlyRootFilesystem: true\n"
        "            runAsNonRoot: true\n"
        "            capabilities:\n"
        "              drop: [ALL]\n"
        "            seccompProfile:\n"
        "              type: RuntimeDefault\n"
        if hardened
        else f"            privileged: {'true' if i % 10 == 1 else 'false'}\n"
    )
    env = "".join(
        f"            - name: VAR_{k}\n              value: \"{i * k}\"\n" for k in range(6)
    )
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: service-{i}\n"
        f"  namespace: team-{i % 40}\n"
        "  labels:\n"
        f"    app: service-{i}\n"
        "    tier: backend\n"
        "spec:\n"
        "  replicas: 3\n"
        "  selector:\n"
        "    matchLabels:\n"
        f"      app: service-{i}\n"
        "  template:\n"
        "    metadata:\n"
        "      labels:\n"
        f"        app: service-{i}\n"
        "        tier: backend\n"
        "    spec:\n"
        "      serviceAccountName: default\n"
        "      containers:\n"
        "        - name: app\n"
        f"          image: registry.example.com/team-{i % 40}/service:{i}.0.{i % 7}\n"
        "          imagePullPolicy: IfNotPresent\n"
        "          ports:\n"
        "            - containerPort: 8080\n"
        "              protocol: TCP\n"
        "          env:\n"
        f"{env}"
        "          resources:\n"
        "            requests: {cpu: 100m, memory: 128Mi}\n"
        "            limits: {cpu: 500m, memory: 256Mi}\n"
        "          livenessProbe:\n"
        "            httpGet: {path: /healthz, port: 8080}\n"
        "          readinessProbe:\n"
        "            httpGet: {path: /ready, port: 8080}\n"
        "          securityContext:\n"
        f"{security}"
        "        - name: proxy\n"
        "          image: docker.io/envoyproxy/envoy:v1.31.0\n"
        "          args: [--config-path, /etc/envoy/envoy.yaml]\n"
        "          resources:\n"
        "            limits: {cpu: 200m, memory: 128Mi}\n"
    )


def write_deployments(directory: Path, count: int) -> None:
    """Write ``count`` Deployments into ``directory``, one per file."""
    for i in range(count):
        (directory / f"deployment-{i:05d}.yaml").write_text(deployment(i), encoding="utf-8")


def parse_cpu(directory: Path) -> float:
    """Return the CPU seconds libyaml's loader takes to read and parse every file."""
    paths = sorted(directory.iterdir())
    start = time.process_time()
    for path in paths:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return time.process_time() - start


def scan_run(directory: Path, *extra: str) -> dict[str, float]:
    """Run ``posture scan`` on ``directory`` in a fresh child process; return its costs.

    The child times ``posture.checks.cli.main`` itself (the scan, in process: CPU and wall),
    so interpreter start-up and imports are left out of ``scan_cpu_s``; ``process_cpu_s`` is
    the whole child's CPU time as the shell sees it, and ``peak_mb`` its maximum RSS.
    """
    code = (
        "import io, json, sys, time\n"
        "from posture.checks.cli import main\n"
        "out = io.StringIO()\n"
        "sys.stdout = out\n"
        "wall, cpu = time.perf_counter(), time.process_time()\n"
        "status = main(sys.argv[1:])\n"
        "cpu, wall = time.process_time() - cpu, time.perf_counter() - wall\n"
        "sys.stdout = sys.__stdout__\n"
        "print(json.dumps({'status': status, 'cpu': cpu, 'wall': wall, "
        "'bytes': len(out.getvalue())}))\n"
    )
    args = ["scan", str(directory), "--fail-on", "critical", *extra]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"posture scan failed: {stderr}")
    report = json.loads(stdout)
    if report["status"] not in (0, 1):
        raise RuntimeError(f"posture scan exited {report['status']}: {stderr}")
    return {"scan_cpu_s": report["cpu"], "scan_wall_s": report["wall"]}


def process_run(directory: Path, *extra: str) -> dict[str, float]:
    """Run the ``posture scan`` command as CI does; return its CPU, wall time and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "posture.checks", "scan", str(directory), "--fail-on",
         "critical", *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"posture scan exited {proc.returncode}")
    return {"process_cpu_s": usage.ru_utime + usage.ru_stime, "process_wall_s": wall,
            "peak_mb": usage.ru_maxrss / 1024}


def checkov_run(checkov: str, directory: Path) -> dict[str, float]:
    """Run checkov's Kubernetes checks on ``directory`` once; return its CPU and wall time.

    checkov is not a dependency: give the path of one installed elsewhere (its own venv).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        [checkov, "-d", str(directory), "--framework", "kubernetes", "--skip-download",
         "--quiet", "--compact", "-o", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(proc.pid, 0)
    # wait4's usage counts the child's own waited-for children too: its workers are included.
    wall = time.perf_counter() - start
    return {"checkov_cpu_s": usage.ru_utime + usage.ru_stime, "checkov_wall_s": wall}


def measure(
    sizes: list[int], repeat: int, checkov: str | None = None
) -> dict[str, dict[str, float]]:
    """Return the medians of ``repeat`` runs for every size (checkov once, at 5,000)."""
    results: dict[str, dict[str, float]] = {}
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="posture-scan-bench-") as tmp:
            directory = Path(tmp)
            write_deployments(directory, count)
            parse = statistics.median(parse_cpu(directory) for _ in range(repeat))
            figures: dict[str, float] = {"files": count, "parse_cpu_s": parse,
                                         "load_average": os.getloadavg()[0]}
            for fmt in ("text", "sarif"):
                runs = [scan_run(directory, "--format", fmt) for _ in range(repeat)]
                cpu = statistics.median(r["scan_cpu_s"] for r in runs)
                figures[f"{fmt}_cpu_s"] = cpu
                figures[f"{fmt}_ratio"] = cpu / parse
                figures[f"{fmt}_files_per_s"] = count / statistics.median(
                    r["scan_wall_s"] for r in runs)
            whole = [process_run(directory) for _ in range(repeat)]
            jobs2 = [process_run(directory, "--jobs", "2") for _ in range(repeat)]
            figures["process_cpu_s"] = statistics.median(r["process_cpu_s"] for r in whole)
            figures["process_ratio"] = figures["process_cpu_s"] / parse
            figures["process_wall_s"] = statistics.median(r["process_wall_s"] for r in whole)
            figures["peak_mb"] = max(r["peak_mb"] for r in whole)
            figures["jobs2_wall_s"] = statistics.median(r["process_wall_s"] for r in jobs2)
            figures["jobs2_speedup"] = figures["process_wall_s"] / figures["jobs2_wall_s"]
            figures["jobs2_peak_mb"] = max(r["peak_mb"] for r in jobs2)
            if checkov and count == 5000:
                figures.update(checkov_run(checkov, directory))
                figures["checkov_wall_ratio"] = figures["checkov_wall_s"] / figures[
                    "process_wall_s"]
            results[str(count)] = figures
    return results


def section(results: dict[str, dict[str, float]], repeat: int) -> str:
    """Return the BENCHMARKS.md section for ``results``."""
    smallest = results[min(results, key=int)]
    lines = [
        "## `posture scan` on generated Deployments",
        "",
        "One distinct two-container Deployment per file, default policy. Baseline: "
        "`yaml.load(..., Loader=yaml.CSafeLoader)` of every file (libyaml's C parser, CPU "
        "time, reading the files included), in the same run on the same files. "
        "\"scan\" is `posture.checks.cli.main` timed in a fresh process (CPU time of the "
        "scan and its output, imports left out); \"command\" is the whole "
        "`python -m posture.checks scan DIR` process as CI runs it (start-up and imports "
        f"included, about 0.2 s). Medians of {repeat} runs; peak RSS is the command's "
        "maximum. Targets: scan ≤ 1.3× the baseline; RSS flat in the number of files. Wall "
        "times (files/s, `--jobs 2`) depend on what else runs on the machine: \"load\" is its "
        "1-minute load average when each size started.",
        "",
        "| files | parse (baseline) s | scan text s (×) | scan SARIF s (×) | text files/s | "
        "command s (×) | peak MB (× smallest) | `--jobs 2` wall s (speed-up) | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count, f in results.items():
        lines.append(
            f"| {int(count):,} | {f['parse_cpu_s']:.2f} | {f['text_cpu_s']:.2f} "
            f"({f['text_ratio']:.2f}) | {f['sarif_cpu_s']:.2f} ({f['sarif_ratio']:.2f}) | "
            f"{f['text_files_per_s']:,.0f} | {f['process_cpu_s']:.2f} "
            f"({f['process_ratio']:.2f}) | {f['peak_mb']:.0f} "
            f"({f['peak_mb'] / smallest['peak_mb']:.1f}) | {f['jobs2_wall_s']:.2f} "
            f"({f['jobs2_speedup']:.2f}×) | {f['load_average']:.1f} |")
    lines.append("")
    for count, f in results.items():
        if "checkov_wall_s" in f:
            lines += [
                f"checkov {f.get('checkov_version', '')} on the same {int(count):,} files "
                "(`checkov -d DIR --framework kubernetes --skip-download -o json`, installed "
                f"in its own venv, one run): {f['checkov_wall_s']:.1f} s wall, "
                f"{f['checkov_cpu_s']:.1f} s CPU "
                f"(its worker processes included); the `posture scan` command: "
                f"{f['process_wall_s']:.2f} s wall, {f['checkov_wall_ratio']:.0f}× faster.",
                "",
            ]
    return "\n".join(lines)


def write(text: str, figures: dict[str, dict[str, float]]) -> None:
    """Put this section into BENCHMARKS.md and bench/results.json, replacing an earlier one."""
    bench = ROOT / "BENCHMARKS.md"
    heading = text.splitlines()[0]
    parts = bench.read_text(encoding="utf-8").split("\n## ")
    kept = [p for p in parts[1:] if not ("## " + p).startswith(heading)]
    bench.write_text("\n## ".join([parts[0], *kept]).rstrip("\n") + "\n\n" + text,
                     encoding="utf-8")
    store = ROOT / "bench" / "results.json"
    results = json.loads(store.read_text(encoding="utf-8"))
    results["scan"] = figures
    store.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def main() -> None:
    """Print the figures (and with ``--write``, record them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkov", metavar="PATH",
                        help="also time this checkov executable on the 5,000 files")
    parser.add_argument("--write", action="store_true",
                        help="replace this section of BENCHMARKS.md and bench/results.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    figures = measure(sizes, args.repeat, args.checkov)
    if args.checkov:
        version = subprocess.run([args.checkov, "--version"], capture_output=True, text=True)
        for f in figures.values():
            if "checkov_wall_s" in f:
                f["checkov_version"] = version.stdout.strip()  # type: ignore[assignment]
    text = section(figures, args.repeat)
    print(json.dumps(figures, indent=2))
    print(text)
    if args.write:
        write(text, figures)


if __name__ == "__main__":
    main()
