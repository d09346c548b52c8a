"""Making an alert rule in the browser, and seeing its delivery in the outbox."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from posture.domain import alerts
from tests.alerts.receivers import Receiver
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import snapshot


def test_a_rule_made_in_the_browser_shows_its_delivery_in_the_outbox(signed_in, alice,
                                                                      settings):
    settings.POSTURE_ALERT_ALLOW_HTTP = True
    hook = Receiver()
    try:
        cluster = ClusterFactory(name="shop-prod", owners=[alice])
        page = signed_in(alice)
        page.goto("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
        expect(page.get_by_role("heading", name="Alert rules")).to_be_visible()
        page.get_by_label("Name").fill("shop grade")
        page.get_by_label("Alert when").select_option(label="Grade dropped")
        page.get_by_label("Channel").select_option(label="Slack")
        page.get_by_label("Webhook URL").fill(hook.url)
        page.get_by_label("shop-prod").check()
        page.get_by_role("button", name="Create rule").click()
        expect(page.get_by_role("status")).to_contain_text("Rule created.")
        rules = page.locator("#alert-rules")
        expect(rules).to_contain_text("shop grade")
        expect(rules).to_contain_text("http://127.0.0.1/…")
        expect(rules).not_to_contain_text("s3cr3t-path")

        # The cluster's grade drops between two polls; a worker delivers.
        first = snapshot(cluster, timezone.now() - timedelta(hours=2), score=88.0)
        second = snapshot(cluster, timezone.now() - timedelta(hours=1), score=52.0)
        alerts.snapshot_recorded(second, first)
        assert alerts.deliver_due() == 1

        page.get_by_role("link", name="Outbox").click()
        outbox = page.locator("#alert-outbox")
        expect(outbox).to_contain_text("shop-prod")
        expect(outbox).to_contain_text("Grade dropped")
        expect(outbox.locator(".delivery-state")).to_have_text("Sent")
        assert len(hook.successes()) == 1
    finally:
        hook.stop()
