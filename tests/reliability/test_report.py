"""docs/reliability.md is exactly what this run's reliability tests observed."""

from __future__ import annotations

import difflib

from tests.reliability.report import OUTPUT, render
from tests.reliability.results import ENV, load


def test_the_page_is_rendered_from_this_runs_results(results):
    rendered = render(load(results.path))
    committed = OUTPUT.read_text()
    diff = "\n".join(difflib.unified_diff(committed.splitlines(), rendered.splitlines(),
                                          "docs/reliability.md", "this run", lineterm="", n=1))
    assert committed == rendered, (
        f"docs/reliability.md differs from what this run's results render:\n{diff[:4000]}\n"
        f"Run the whole tests/reliability folder with {ENV}=$PWD/var/reliability-results.json, "
        "then `python -m tests.reliability.report`.")


def test_the_page_leaves_out_what_changes_between_runs():
    rows = [{"section": "fault", "key": "k", "order": 0, "fault": "f", "target": "t",
             "status": "failed", "error_kind": "timeout", "retried": "yes", "bound_s": 6,
             "duration_ms": 1234, "says": "Timed out talking to https://127.0.0.1:41907 | x"}]
    page = render(rows)
    assert "41907" not in page and "1234" not in page
    assert "https://127.0.0.1:PORT" in page and "\\| x" in page
