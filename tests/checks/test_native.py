"""The compiled hot modules of the engine: built by setup, same findings as the sources, guarded.

``make setup`` compiles them (posture/checks/native.py); these tests run on that tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import posture.checks.pod
from posture.checks import native

ROOT = Path(__file__).resolve().parents[2]

# Evaluates the benchmark's inventory and prints the findings as JSON, then where pod.py ran from.
_PROGRAM = """
import json, sys
from datetime import date
sys.path.insert(0, "bench")
from engine_throughput import build_inventory, pod_template
from posture.checks import Policy, evaluate
import posture.checks.pod
templates = [pod_template(i, named=i % 3 == 0) for i in range(300)]
result = evaluate(build_inventory(templates), Policy(pss_level="restricted"), date(2026, 9, 1))
print(json.dumps([f.to_dict() for f in result.findings]))
print(posture.checks.pod.__file__)
"""


def _run(env: dict[str, str]) -> tuple[list[object], str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, check=True,
    )
    findings, origin = done.stdout.splitlines()
    return json.loads(findings), origin


def test_setup_compiled_the_hot_modules() -> None:
    assert native.compiled()
    assert posture.checks.pod.__file__ is not None
    assert posture.checks.pod.__file__.endswith(".so")
    assert not native.stale()


def test_sources_give_the_same_findings_as_the_compiled_modules() -> None:
    compiled, compiled_origin = _run({})
    source, source_origin = _run({native.PURE_PYTHON_ENV: "1"})
    assert compiled_origin.endswith(".so")
    assert source_origin.endswith("pod.py")
    assert len(compiled) > 500
    assert compiled == source


def test_a_stale_extension_gives_way_to_the_sources() -> None:
    extension = Path(posture.checks.pod.__file__ or "")
    before = extension.stat()
    os.utime(extension, (before.st_atime - 86400, before.st_mtime - 86400))
    try:
        assert native.stale() == ["posture.checks.pod"]
        _, origin = _run({})
        assert origin.endswith("pod.py")
    finally:
        os.utime(extension, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not native.stale()

