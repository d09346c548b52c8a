"""Copy a checklist entry as an issue; print a cluster's report to PDF."""

from __future__ import annotations

import io

from playwright.sync_api import Page, expect
from pypdf import PdfReader


def test_copy_as_issue_puts_the_markdown_on_the_clipboard(signed_in, alice, fleet, context,
                                                          live_server):
    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    group = page.locator("#check-version-kubernetes-eol")
    button = group.get_by_role("button", name="Copy as issue for version.kubernetes-eol")
    button.focus()
    page.keyboard.press("Enter")
    expect(group.locator(".issue-tools [role=status]")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    downloaded = page.evaluate(
        "url => fetch(url).then(r => r.text())",
        f"{live_server.url}/clusters/{cluster.pk}/checklist/version.kubernetes-eol/issue.md")
    assert copied == downloaded
    assert copied.startswith("# Kubernetes version past end of life on neglected")
    assert "## Affected workloads" in copied
    assert f"/clusters/{cluster.pk}/checklist/#check-version-kubernetes-eol" in copied


def test_the_report_prints_to_a_pdf_with_the_cluster_in_it(signed_in, alice, fleet):
    clusters = fleet(alice, scenarios=("typical", "neglected"))
    cluster = clusters["typical"]
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/report/")
    expect(page.locator("h1")).to_contain_text("Security posture report: typical")
    expect(page.locator(".report-deductions")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("#main-nav")).to_be_hidden()
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert len(pdf.pages) > 0
    assert "typical" in text and "Deductions" in text and "Accepted risks in force" in text
    assert "Overview" not in text  # no navigation on paper

    page.goto("/report/")
    page.emulate_media(media="print")
    fleet_pdf = PdfReader(io.BytesIO(page.pdf(format="A4")))
    fleet_text = [p.extract_text() for p in fleet_pdf.pages]
    # A summary, then each cluster from a page of its own.
    assert len(fleet_pdf.pages) >= 3
    starts = [i for i, t in enumerate(fleet_text) if "As of the poll of" in t]
    assert len(starts) == 2 and "neglected" in fleet_text[starts[0]]
    assert "typical" in fleet_text[starts[1]]
