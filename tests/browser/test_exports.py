"""CSV downloads: they arrive as files and parse as CSV with a header."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Download, Error, Page

from posture.domain.models import Finding
from posture.web.exports import COLUMNS
from tests.browser.conftest import log_in


def download(page: Page, url: str) -> Download:
    """Open ``url`` in the browser and return the file it downloads."""
    with page.expect_download() as arriving:
        try:
            page.goto(url)
        except Error as exc:
            # Chromium aborts a navigation that turns into a download; the download goes on.
            if "Download is starting" not in exc.message:
                raise
    return arriving.value


def read_csv(file: Download) -> list[dict[str, str]]:
    text = file.path().read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    assert reader.fieldnames is not None
    return [{"__header__": ",".join(reader.fieldnames)}, *rows]


def test_findings_csv_downloads_for_a_cluster_and_the_fleet(signed_in, alice, fleet):
    clusters = fleet(alice, scenarios=("typical", "neglected"))
    typical = clusters["typical"]
    page: Page = signed_in(alice)
    page.goto(typical.get_absolute_url())

    file = download(page, f"/clusters/{typical.pk}/findings.csv")
    assert file.suggested_filename == "posture-typical-findings.csv"
    header, *rows = read_csv(file)
    assert header["__header__"] == ",".join(COLUMNS)
    open_findings = Finding.objects.filter(cluster=typical, resolved_at__isnull=True)
    assert len(rows) == open_findings.count() > 0
    assert {r["cluster"] for r in rows} == {"typical"}
    assert {r["check"] for r in rows} == set(open_findings.values_list("check_id", flat=True))

    header, *rows = read_csv(download(page, "/findings.csv"))
    assert {r["cluster"] for r in rows} == {"typical", "neglected"}


def test_audit_log_export_link_downloads_csv(page: Page, sam):
    log_in(page, "sam")
    page.goto("/audit/")
    with page.expect_download() as arriving:
        page.get_by_role("link", name="Export CSV").click()
    header, *rows = read_csv(arriving.value)
    assert header["__header__"].startswith("at,actor,action")
    assert any(r["actor"] == "sam" for r in rows), rows
