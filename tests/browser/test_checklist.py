"""The remediation checklist: filter by severity, accept a risk, revoke it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from posture.checks import CATALOG
from posture.domain.models import Finding

REASON = "Break-glass binding for the on-call rota until SSO groups land"


def score(page: Page) -> float:
    return float(page.locator("#checklist-score strong").inner_text())


def test_filter_by_severity(signed_in, alice, fleet):
    cluster = fleet(alice, scenarios=("typical",))["typical"]
    open_checks = set(Finding.objects.filter(cluster=cluster, resolved_at__isnull=True)
                      .values_list("check_id", flat=True))
    critical = {c for c in open_checks if CATALOG[c].severity == "critical"}
    assert critical and critical != open_checks, "the scenario must mix severities"
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    groups = page.locator("#checklist .check-group")
    expect(groups).to_have_count(len(open_checks))

    page.get_by_label("Severity").select_option(label="Critical")
    page.get_by_role("button", name="Filter").click()
    expect(groups).to_have_count(len(critical))
    assert {g.get_attribute("data-check") for g in groups.all()} == critical
    for heading in groups.get_by_role("heading", level=2).all():
        expect(heading).to_contain_text("Critical")


def test_accept_a_risk_then_revoke_it(signed_in, alice, fleet):
    cluster = fleet(alice, scenarios=("typical",))["typical"]
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    before = score(page)
    group = page.locator("#checklist .check-group").first
    check_id = group.get_attribute("data-check")
    points = group.locator(".gain").get_attribute("data-points")
    assert check_id and points and float(points) > 0

    group.locator("summary", has_text="Accept this risk").click()
    expect(group.get_by_label("The whole cluster")).to_be_checked()
    group.get_by_label("Reason").fill(REASON)
    until = timezone.localdate() + timedelta(days=30)
    group.get_by_label("Expires on").fill(until.isoformat())
    group.get_by_role("button", name="Accept risk").click()

    expect(page.get_by_role("status").first).to_contain_text("Risk accepted")
    expect(page.locator("#checklist-score strong")).not_to_have_text(f"{before:.1f}")
    assert score(page) > before
    accepted_group = page.locator(f'#checklist .check-group[data-check="{check_id}"]')
    for status in accepted_group.locator("tbody tr td:last-child").all():
        expect(status).to_contain_text("accepted risk")
        expect(status).to_contain_text(until.isoformat())
    acceptances = page.locator("#active-acceptances tbody tr")
    expect(acceptances).to_have_count(1)
    expect(acceptances.first).to_contain_text(check_id)
    expect(acceptances.first).to_contain_text(REASON)

    acceptances.first.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status").first).to_contain_text("Acceptance revoked")
    expect(page.locator("#checklist-score strong")).to_have_text(f"{before:.1f}")
    expect(page.locator("#active-acceptances")).to_have_count(0)
    for status in accepted_group.locator("tbody tr td:last-child").all():
        expect(status).to_have_text("open")


def test_copy_button_copies_the_snippet_from_the_keyboard(signed_in, alice, fleet, context,
                                                          live_server):
    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page: Page = signed_in(alice)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    group = page.locator("#check-version-kubernetes-eol")
    snippet = group.locator("pre.snippet")
    expect(snippet).to_contain_text("--kubernetes-version 1.28")
    button = group.get_by_role("button", name="Copy the fix for Kubernetes version past end of life")
    button.focus()
    page.keyboard.press("Enter")
    expect(group.locator(".snippet-tools").get_by_role("status")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == snippet.text_content()
    assert "aws eks update-cluster-version --name CLUSTER --kubernetes-version 1.28" in copied


def test_long_snippets_scroll_inside_their_box_on_a_phone(signed_in, alice, fleet, context):
    from tests.browser.conftest import PHONE

    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    page: Page = signed_in(alice)
    page.set_viewport_size(PHONE)
    page.goto(f"/clusters/{cluster.pk}/checklist/")
    expect(page.locator("pre.snippet").first).to_be_visible()
    widths = page.evaluate("""() => ({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        snippets: [...document.querySelectorAll('pre.snippet')].map(
            pre => [pre.scrollWidth, pre.clientWidth]),
    })""")
    assert widths["page"] <= widths["viewport"], widths
    assert any(scroll > client for scroll, client in widths["snippets"]), \
        "a long snippet must overflow its box, and scroll there"
    # The scrolling box can be reached and scrolled from the keyboard.
    wide = page.locator("#check-version-kubernetes-eol pre.snippet")
    wide.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(wide).to_be_focused()
    # Arrow keys scroll smoothly: the box moves over a few frames, later on a loaded machine.
    page.wait_for_function(
        "() => document.querySelector('#check-version-kubernetes-eol pre.snippet')"
        ".scrollLeft > 0", timeout=5000)


def test_without_scripts_the_snippet_shows_and_no_copy_button(browser, live_server, alice, fleet):
    from tests.browser.conftest import DESKTOP, sign_in

    cluster = fleet(alice, scenarios=("neglected",))["neglected"]
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP,
                                  java_script_enabled=False)
    try:
        sign_in(context, live_server.url, alice)
        page = context.new_page()
        page.goto(f"/clusters/{cluster.pk}/checklist/")
        snippet = page.locator("#check-version-kubernetes-eol pre.snippet")
        expect(snippet).to_contain_text("--kubernetes-version 1.28")
        expect(page.get_by_role("button", name="Copy", exact=False)).to_have_count(0)
    finally:
        context.close()
