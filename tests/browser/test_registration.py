"""Registering a cluster by pasting its kubeconfig, then polling it from its page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from emulator import load_scenario
from posture.domain.models import Snapshot, SnapshotStatus

POLL_TIMEOUT_MS = 60_000


def test_paste_verify_register_and_poll_now(signed_in, alice, emulate, worker):
    emulator = emulate("typical")
    version = load_scenario("typical").view(0).version
    nodes = len(emulator.objects("nodes"))
    page: Page = signed_in(alice)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()

    page.get_by_label("Name", exact=True).fill("web-prod")
    page.get_by_label("Kubeconfig", exact=True).fill(emulator.kubeconfig())
    page.get_by_role("button", name="Verify connection").click()
    expect(page.locator("#verify-result")).to_have_text(f"Connected: Kubernetes {version}.")
    # The kubeconfig is not shown back, but stays loaded for the next step.
    expect(page.get_by_label("Kubeconfig", exact=True)).to_have_value("")
    expect(page.locator("#kubeconfig-loaded")).to_be_visible()

    # Slow the cluster's first answer so that the first poll can be watched.
    emulator.set_fault("delay", seconds=2.5, path="/version", times=1)
    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("web-prod")
    expect(page.get_by_role("status").first).to_contain_text("Registered web-prod")
    # The page follows the queued first poll, then reloads into its scorecard.
    progress = page.locator("#poll-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_text("Polling… (running)")
    history = page.locator("#poll-history tbody tr")
    expect(history).to_have_count(1, timeout=POLL_TIMEOUT_MS)
    expect(history.first).to_contain_text("Schedule")
    expect(history.first).to_contain_text("OK")
    expect(page.locator("#scorecard-grade .score")).to_contain_text("/ 100")
    expect(progress).to_be_hidden()
    facts = page.get_by_role("region", name="Cluster")
    expect(facts.locator("dd").nth(1)).to_have_text(version)
    expect(facts.locator("dd").nth(2)).to_have_text(str(nodes))
    expect(page.locator("#node-table tbody tr")).to_have_count(nodes)

    # "Poll now" is followed the same way.
    emulator.set_fault("delay", seconds=2.5, path="/version", times=1)
    page.get_by_role("button", name="Poll now").click()
    expect(progress).to_be_visible()
    expect(progress).to_have_text("Polling… (running)")
    expect(history).to_have_count(2, timeout=POLL_TIMEOUT_MS)
    expect(history.first).to_contain_text("Poll now")
    expect(history.first).to_contain_text("OK")
    statuses = set(Snapshot.objects.filter(cluster__name="web-prod")
                   .values_list("status", flat=True))
    assert statuses == {SnapshotStatus.OK}


def test_without_javascript_the_page_refreshes_into_the_first_poll(browser, live_server, alice,
                                                                    emulate, worker):
    """The no-script fallback: a meta refresh while the first poll is queued or running."""
    from tests.browser.conftest import sign_in
    from tests.emulated import register

    emulator = emulate("typical")
    emulator.set_fault("delay", seconds=2.5, path="/version", times=1)
    cluster = register(emulator, "web-prod")
    cluster.owners.add(alice)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        sign_in(context, live_server.url, alice)
        page = context.new_page()
        page.goto(f"/clusters/{cluster.pk}/")
        expect(page.locator("#poll-progress")).to_contain_text("First poll queued")
        from posture.domain.polling_tasks import poll_cluster

        poll_cluster.delay(cluster.pk)
        expect(page.locator("#poll-history tbody tr")).to_have_count(1, timeout=POLL_TIMEOUT_MS)
        expect(page.locator("#scorecard-grade .score")).to_contain_text("/ 100")
    finally:
        context.close()
