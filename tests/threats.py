"""docs/security.md, generated from the tests that prove each defence.

Security tests carry ``@pytest.mark.threat(threat, defence)``. ``python -m tests.threats``
collects them (without running anything) and writes the threat table; ``test_security_doc``
fails when the committed page differs, so the table always names tests that exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"

HEADER = """# Security

Posture holds credentials for every cluster it watches and shows text that those clusters
control, so it is built as a target. Each row below is a threat, the defence, and the tests that
prove the defence; this page is generated from the tests' own markers by `python -m tests.threats`
(a test fails when it is out of date).

Reporting a vulnerability: open a private security advisory on the repository.

| threat | defence | tests |
|---|---|---|
"""


def collect() -> list[dict[str, str]]:
    """Return every test marked ``threat``, by running pytest's collection only."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "threats.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
             f"--threat-report={out}", "tests"],
            cwd=ROOT, capture_output=True, text=True, env=os.environ.copy(), timeout=600)
        if not out.exists():
            raise RuntimeError(f"collection failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return list(json.loads(out.read_text()))


def render(entries: list[dict[str, str]]) -> str:
    rows: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in entries:
        rows[(entry["threat"], entry["defence"])].append(entry["test"])
    lines = [HEADER]
    for (threat, defence), tests in sorted(rows.items()):
        names = "<br>".join(f"`{t}`" for t in sorted(set(tests)))
        lines.append(f"| {threat} | {defence} | {names} |\n")
    return "".join(lines)


def main() -> int:
    DOC.write_text(render(collect()))
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
