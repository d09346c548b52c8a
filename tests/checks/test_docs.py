"""The checks page is generated from the catalog and must be committed up to date."""

from __future__ import annotations

from posture.checks import CATALOG, CHECKSET_VERSION
from posture.checks.docs import DOC_PATH, main, render


def test_committed_checks_page_is_current() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/checks.md is stale: run `python -m posture.checks.docs`"
    )
    assert main(["--check"]) == 0


def test_page_documents_every_check_and_the_checkset_version() -> None:
    page = render()
    assert CHECKSET_VERSION in page
    for check_id, check in CATALOG.items():
        assert f"### `{check_id}`" in page
        assert check.title in page


def test_catalog_entries_are_complete() -> None:
    for check in CATALOG.values():
        assert check.id.count(".") == 1 and check.id == check.id.lower()
        assert check.title and check.why and check.fix and check.snippet
        assert check.references and all(u.startswith("https://") for u in check.references)
