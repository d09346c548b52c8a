"""The frameworks page is generated from the framework files and must be committed up to date."""

from __future__ import annotations

from posture.checks.frameworks import frameworks
from posture.checks.frameworks.docs import DOC_PATH, main, render


def test_committed_frameworks_page_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/frameworks.md is stale: run `python -m posture.checks.frameworks.docs`"
    )
    assert main(["--check"]) == 0


def test_page_lists_every_control_every_unmapped_check_and_every_source() -> None:
    page = render()
    for fw in frameworks().values():
        assert f"## {fw.label}" in page
        for source in fw.sources:
            assert source.url in page
        for control in fw.controls:
            assert f"| {control.id} |" in page
        for check in fw.no_control:
            assert f"| `{check}` |" in page
