"""The "who can" page, reached from the scorecard: permissions, holders, paths, workloads."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from posture.web.dashboard.who_can import CHECK_IDS


def test_from_the_scorecard_to_who_can_read_secrets_and_on_to_the_finding(signed_in, alice,
                                                                          fleet):
    cluster = fleet(alice, scenarios=("typical",))["typical"]
    page: Page = signed_in(alice)
    page.goto(cluster.get_absolute_url())
    page.get_by_role("link", name="Who can").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who can in typical")
    expect(page.locator("section.who-can")).to_have_count(len(CHECK_IDS))

    # The ingress controller's token reads every Secret: one row, its path, its workload.
    secrets = page.locator('section[data-check="access.secrets-read"]')
    row = secrets.locator("tr.holder", has_text="ServiceAccount ingress-nginx/ingress-nginx")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("cluster-wide")
    expect(row).to_contain_text("ClusterRoleBinding ingress-nginx → ClusterRole ingress-nginx")
    expect(row).to_contain_text("list, watch secrets")
    expect(row).to_contain_text("ingress-nginx/ingress-nginx")

    # Prometheus may reach the kubelet API; the index links to that section.
    page.get_by_role("link", name="Subject can reach the kubelet API (nodes/proxy)").click()
    proxy = page.locator('section[data-check="access.nodes-proxy"]')
    expect(proxy.locator("tr.holder")).to_contain_text("ServiceAccount monitoring/prometheus")

    row.get_by_role("link", name="ServiceAccount ingress-nginx/ingress-nginx").click()
    expect(page.locator("body")).to_contain_text("can read Secrets cluster-wide")
