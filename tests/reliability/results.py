"""What the reliability tests observed, kept as JSON under the test run's var dir.

Each test adds one row per case it checked; ``tests.reliability.report`` renders the rows into
docs/reliability.md. Rows hold what happened (status, error kind, message, duration, retry);
the report leaves out what changes from run to run (ports, exact times).

``make test`` removes its run's var dir when it ends; to keep the results for the report, name
a file in ``POSTURE_RELIABILITY_RESULTS``::

    POSTURE_RELIABILITY_RESULTS=$PWD/var/reliability-results.json \
        make test PYTEST_ARGS=tests/reliability
    .venv/bin/python -m tests.reliability.report
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FILE_NAME = "reliability-results.json"
# Sections of the report, in page order.
SECTIONS = ("fault", "crash", "service", "endpoint", "kubeconfig", "data")


ENV = "POSTURE_RELIABILITY_RESULTS"


def results_path(var_dir: Path) -> Path:
    """Return where a test run writes its results: POSTURE_RELIABILITY_RESULTS, else its var
    dir."""
    named = os.environ.get(ENV)
    return Path(named) if named else var_dir / FILE_NAME


def default_path() -> Path:
    """Return the results the report reads: POSTURE_RELIABILITY_RESULTS, else var/."""
    return results_path(ROOT / "var")


class Results:
    """Rows recorded during one test session, written through to ``path`` after each add."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}

    def reset(self) -> Results:
        """Forget earlier runs' rows: the page must come from this run alone."""
        self.rows.clear()
        self._write()
        return self

    def add(self, section: str, key: str, order: int, **fields: Any) -> None:
        """Record one case of ``section`` (``order`` places it on the page)."""
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}")
        self.rows[f"{section}/{key}"] = {"section": section, "key": key, "order": order,
                                         **fields}
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = sorted(self.rows.values(), key=lambda r: (SECTIONS.index(r["section"]),
                                                          r["order"], r["key"]))
        self.path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")


def load(path: Path) -> list[dict[str, Any]]:
    """Return the rows written to ``path``."""
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    return rows
