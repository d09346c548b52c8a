"""Run axe-core (from npm, pinned in tests/browser/package.json) on a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[dict[str, Any]]:
    """Return axe's serious and critical violations on the page as it is now.

    The page's context must bypass CSP: the script goes in as an inline script tag.
    """
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make setup` "
                    "(npm ci --prefix tests/browser).", pytrace=False)
    page.add_script_tag(path=AXE)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def describe(page_name: str, violations: list[dict[str, Any]]) -> list[str]:
    """Return one line per violating element: page, rule, impact, what is wrong, where."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"{page_name}: {v['id']} ({v['impact']}) {v['help']} — {target}: "
                         f"{node['html'][:160]}")
    return lines
