"""The command line shared by the generated documentation pages.

Each generator (``python -m posture.checks.docs``, ``python -m posture.checks.frameworks.docs``)
renders one Markdown page from data; this writes it, or with ``--check`` reports whether the
committed page is current, so a test and CI can refuse a stale page.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def main(module: str, path: Path, render: Callable[[], str], argv: Sequence[str] | None) -> int:
    """Write ``render()`` to ``path``; with ``--check`` return 1 when ``path`` differs."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    content = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != content:
            sys.stderr.write(f"{path} is stale: run python -m {module}\n")
            return 1
        return 0
    path.write_text(content, encoding="utf-8")
    return 0
