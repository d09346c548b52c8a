"""Run emulated clusters from the command line until interrupted.

``python -m emulator typical neglected --port 6443 --kubeconfig-dir var/kubeconfigs``
serves scenario i on 127.0.0.1:PORT+i and writes ``DIR/<scenario>.kubeconfig`` (mode 0600).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from emulator.scenario import ScenarioError, load_scenario, shipped
from emulator.server import Emulator, start_emulator


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser (shared with the management command)."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Serve emulated Kubernetes clusters over HTTPS on 127.0.0.1.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's arguments to ``parser``."""
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help=f"shipped scenario ({', '.join(shipped())}) or a YAML file")
    parser.add_argument("--port", type=int, default=6443,
                        help="port of the first scenario; scenario i listens on PORT+i")
    parser.add_argument("--kubeconfig-dir", type=Path, default=Path("."),
                        help="where to write <scenario>.kubeconfig files")
    parser.add_argument("--day", type=int, default=0,
                        help="day of the scenarios' timelines to serve (0 is today)")
    parser.add_argument("--keep-identity", action="store_true",
                        help="reuse <scenario>.identity.json in the kubeconfig directory so "
                             "kubeconfigs stay valid across restarts")


def start_all(scenarios: list[str], port: int, kubeconfig_dir: Path, *, day: int = 0,
              keep_identity: bool = False, out: TextIO = sys.stdout) -> list[Emulator]:
    """Start one emulator per scenario, write their kubeconfigs and print where they are."""
    kubeconfig_dir.mkdir(parents=True, exist_ok=True)
    loaded = [load_scenario(s) for s in scenarios]
    running: list[Emulator] = []
    try:
        for i, scenario in enumerate(loaded):
            identity = (kubeconfig_dir / f"{scenario.name}.identity.json") if keep_identity \
                else None
            emulator = start_emulator(scenario, port=port + i if port else 0, day=day,
                                      identity_file=identity)
            running.append(emulator)
            path = emulator.write_kubeconfig(kubeconfig_dir / f"{scenario.name}.kubeconfig")
            out.write(f"{scenario.name} {emulator.url} {path}\n")
            out.flush()
    except BaseException:
        for emulator in running:
            emulator.stop()
        raise
    return running


def serve(scenarios: list[str], port: int, kubeconfig_dir: Path, *, day: int = 0,
          keep_identity: bool = False, out: TextIO = sys.stdout) -> None:
    """Start the scenarios and serve until SIGINT or SIGTERM."""
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    running = start_all(scenarios, port, kubeconfig_dir, day=day, keep_identity=keep_identity,
                        out=out)
    try:
        done.wait()
    finally:
        for emulator in running:
            emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        serve(args.scenarios, args.port, args.kubeconfig_dir, day=args.day,
              keep_identity=args.keep_identity)
    except (ScenarioError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
