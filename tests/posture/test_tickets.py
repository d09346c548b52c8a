"""Fixes as tickets: a checklist entry as a Markdown issue, and the open fixes as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt

from posture.domain.models import RiskAcceptance
from posture.domain.scorecard import rescore_latest
from posture.web.tickets import escape
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db

HOSTILE_NAMES = [
    "[click](https://evil.example/x)",
    "![img](https://evil.example/p.png)",
    "<script>alert(1)</script>",
    "**bold** _it_ `code` ~~gone~~",
    "| a | b |",
    "# heading",
    "www.evil.example and https://evil.example",
    "line\nbreak\r\n# injected",
    "nimda\u202e\u200b",
    "back\\slash \\u202e",
]


def _render(markdown: str) -> str:
    return MarkdownIt("gfm-like", {"linkify": False}).render(markdown)


@pytest.mark.threat("A cluster's names inject links or formatting into an issue copied from Posture",
                     "Cluster text is written visible, every ASCII punctuation mark escaped")
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_escaped_text_renders_as_itself_and_nothing_else(name):
    html = _render(f"Workload {escape(name)} here")
    assert "<a " not in html and "<img" not in html and "<script" not in html
    for tag in ("<strong>", "<em>", "<code>", "<s>", "<h1>", "<table>", "<del>"):
        assert tag not in html
    assert "://" not in escape(name) and "www." not in escape(name)
    assert "\n" not in escape(name) and "\u202e" not in escape(name)


@pytest.fixture
def hostile(alice):
    """Alice's cluster with a hostile name and workloads whose names are hostile."""
    cluster = ClusterFactory(name="prod](https://evil.example) **x**", owners=[alice])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=2))
    for index, name in enumerate(HOSTILE_NAMES):
        finding(cluster, seen, "workload.privileged", namespace=f"ns-{index}", name=name,
                message=name)
    finding(cluster, seen, "workload.runs-as-root", namespace="shop", name="cart",
            container="app|x")
    finding(cluster, seen, "workload.runs-as-root", namespace="shop", name="cart",
            container="sidecar")
    finding(cluster, seen, "workload.runs-as-root", namespace="ok", name="accepted-one")
    RiskAcceptance.objects.create(cluster=cluster, check_id="workload.runs-as-root",
                                  namespace="ok", reason="batch job, rebuilt next sprint",
                                  created_by=alice,
                                  expires_at=timezone.now() + timedelta(days=10))
    rescore_latest(cluster)
    return cluster


def _issue(client, cluster, check_id):
    return client.get(reverse("clusters:issue-markdown", args=[cluster.pk, check_id]))


@override_settings(POSTURE_BASE_URL="https://posture.example.org/")
def test_issue_markdown_has_the_fix_the_workloads_and_a_link_back(hostile, as_alice):
    response = _issue(as_alice, hostile, "workload.privileged")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert response["Content-Disposition"] == (
        'attachment; filename="posture-prod__https___evil.example____x__-workload-privileged.md"')
    text = response.content.decode()
    assert text.startswith("# Privileged")
    assert "**Severity:** Critical" in text
    assert "## Why it matters" in text and "## How to fix it" in text
    assert "## Affected workloads (10)" in text
    assert (f"(https://posture.example.org/clusters/{hostile.pk}/checklist/"
            "#check-workload-privileged)") in text
    html = _render(text)
    # The only link is the one back to the checklist; no name makes another or any formatting.
    assert html.count("<a ") == 1 and "evil.example/x" not in html.replace("evil.example/x)", "")
    assert "<img" not in html and "<script" not in html and "<h1>" in html
    assert html.count("<h1>") == 1 and html.count("<table>") == 1
    body = html[html.index("<tbody>"):]
    assert "<strong>" not in body and "<em>" not in body and "<code>" not in body
    assert body.count("<tr>") == len(HOSTILE_NAMES)
    assert "\\u202e" in html and "\u202e" not in text


def test_issue_lists_containers_and_marks_accepted_risks(hostile, as_alice):
    text = _issue(as_alice, hostile, "workload.runs-as-root").content.decode()
    assert "| app\\|x |" in text and "| sidecar |" in text
    assert "accepted risk until" in text
    assert "## Affected workloads (3)" in text


def test_the_checklist_offers_each_entry_as_an_issue(hostile, as_alice):
    page = as_alice.get(reverse("clusters:checklist", args=[hostile.pk])).content.decode()
    assert 'id="issue-workload-privileged"' in page
    assert reverse("clusters:issue-markdown", args=[hostile.pk, "workload.privileged"]) in page
    assert "/static/js/issues." in page


def test_another_teams_cluster_answers_404(hostile, as_bob):
    assert _issue(as_bob, hostile, "workload.privileged").status_code == 404


def test_an_entry_not_on_the_checklist_answers_404(hostile, as_alice):
    assert _issue(as_alice, hostile, "image.latest-tag").status_code == 404


@pytest.fixture
def bobs(bob):
    cluster = ClusterFactory(name="bobs-secret-cluster", owners=[bob])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=1))
    finding(cluster, seen, "workload.privileged", namespace="bobs-ns", name="bobs-app")
    return cluster


def _csv(client):
    response = client.get(reverse("fixes-csv"))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_open_fixes_are_one_row_per_check_and_workload_of_my_clusters_only(
        hostile, bobs, as_alice):
    rows = _csv(as_alice)
    clusters = {r["cluster"] for r in rows}
    assert clusters == {hostile.name}
    assert all("bobs" not in v for r in rows for v in r.values())
    cart = [r for r in rows if r["name"] == "cart"]
    assert len(cart) == 1 and cart[0]["containers"] == "app|x sidecar"
    assert cart[0]["findings"] == "2"
    # The accepted risk is not a fix to make.
    assert not [r for r in rows if r["name"] == "accepted-one"]
    assert len(rows) == len(HOSTILE_NAMES) + 1
    # Formula-safe and hidden characters visible.
    assert all(not v.startswith(("=", "+", "@")) for r in rows for v in r.values())
    assert any("\\u202e" in r["name"] for r in rows)
    body = json.loads(as_alice.get(reverse("fixes-json")).content)
    assert body["accepted_risks"] == "excluded"
    assert {f["cluster"] for f in body["fixes"]} == {hostile.name}
    assert len(body["fixes"]) == len(rows)
    # JSON is data: exact text.
    assert any(f["name"] == "nimda\u202e\u200b" for f in body["fixes"])


@pytest.mark.threat("A user reads or changes another owner's cluster (IDOR)",
                     "One access helper per object type; 404 for what the user may not see, "
                     "403 for read-only roles; every URL checked for every persona")
def test_bob_sees_only_his_fixes_and_the_security_team_all(hostile, bobs, as_bob, as_sam):
    assert {r["cluster"] for r in _csv(as_bob)} == {"bobs-secret-cluster"}
    assert {r["cluster"] for r in _csv(as_sam)} == {hostile.name, "bobs-secret-cluster"}


def test_fix_exports_need_a_login(client):
    assert client.get(reverse("fixes-csv")).status_code == 302
    assert client.get(reverse("fixes-json")).status_code == 302
