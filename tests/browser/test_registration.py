"""Registering a cluster by pasting its kubeconfig, then polling it from its page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from clusters.emulator import load_scenario
from posture.models import Snapshot, SnapshotStatus

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

    page.get_by_role("button", name="Register", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("web-prod")
    expect(page.get_by_role("status").first).to_contain_text("Registered web-prod")
    expect(page.get_by_text("No polls yet.")).to_be_visible()

    # Slow the cluster's first answer so that the running poll can be watched.
    emulator.set_fault("delay", seconds=2.5, path="/version", times=1)
    page.get_by_role("button", name="Poll now").click()
    progress = page.locator("#poll-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_text("Polling… (running)")
    # poll.js reloads the page once the worker has finished the poll.
    history = page.locator("#poll-history tbody tr")
    expect(history).to_have_count(1, timeout=POLL_TIMEOUT_MS)
    expect(history.first).to_contain_text("Poll now")
    expect(history.first).to_contain_text("OK")
    expect(history.first).to_contain_text(version)
    facts = page.get_by_role("region", name="Cluster")
    expect(facts.locator("dd").nth(1)).to_have_text(version)
    expect(facts.locator("dd").nth(2)).to_have_text(str(nodes))
    expect(page.locator("#node-table tbody tr")).to_have_count(nodes)
    assert Snapshot.objects.get(cluster__name="web-prod").status == SnapshotStatus.OK
