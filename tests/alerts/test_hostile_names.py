"""Hostile text from a cluster, polled for real, arrives inert on every channel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from clusters import collector, kube
from posture.domain import alerts
from posture.domain.alert_channels import (
    Message,
    Untrusted,
    slack_escape,
    slack_payload,
    teams_escape,
    teams_payload,
)
from posture.domain.alert_models import AlertChannel, AlertDelivery, AlertEvent, AlertKind
from posture.domain.polling import poll
from tests.emulated import register
from tests.posture.snapshot_factories import snapshot
from tests.posture.test_digest_sending import parts, smtp  # noqa: F401

pytestmark = pytest.mark.django_db
FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=5), deadline_seconds=30)
# A cluster name typed past the form's validation (the admin, an import): every trick at once.
NAME = "<!channel> @here <@U024BE7LH> *bold* [x](javascript:alert(1)) <b>b</b> \u202eevil&"


@pytest.mark.threat('Cluster text in an alert pings a whole channel or forges a link (@channel, here-mentions, markup)',
                     'Slack mrkdwn escaped (&, <, >), @ neutralised, values in code spans; Teams Markdown quoted; hidden characters shown as escapes')
def test_slack_escaping_leaves_no_mention_link_or_markup():
    text = slack_escape(NAME)
    for live in ("<!channel>", "<@U", "@here", "<b>", "\u202e"):
        assert live not in text
    assert "&lt;!channel&gt;" in text and "\\u202e" in text and "evil&amp;" in text
    assert text.startswith("`") and text.endswith("`") and text.count("`") == 2
    assert "`" not in slack_escape("a`b")[1:-1]


def test_teams_escaping_quotes_every_markup_character():
    text = teams_escape(NAME)
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in text
    assert "\\<b\\>" in text and "\\*bold\\*" in text and "\\u202e" not in NAME
    assert "\\\\u202e" in text  # the visible escape's backslash, itself quoted


def test_payloads_keep_posture_words_and_mark_up_only_their_own():
    message = Message((Untrusted(NAME), ": grade dropped from B to F"), (), "https://p.example/c/1/")
    slack = slack_payload(message)
    assert "<!channel>" not in str(slack) and "@here" not in str(slack)
    assert "<https://p.example/c/1/|Open in Posture>" in slack["blocks"][1]["text"]["text"]
    teams = str(teams_payload(message))
    assert "](javascript" not in teams and "<b>" not in teams


@pytest.fixture
def hostile_polled(emulate, alice):
    emulator = emulate("hostile")
    cluster = register(emulator, name="hostile")
    cluster.owners.add(alice)
    # A healthy poll before: this poll's criticals and its grade are news.
    snapshot(cluster, timezone.now() - timedelta(hours=1), score=95.0)
    return cluster


@pytest.mark.threat('Cluster text in an alert pings a whole channel or forges a link (@channel, here-mentions, markup)',
                     'Slack mrkdwn escaped (&, <, >), @ neutralised, values in code spans; Teams Markdown quoted; hidden characters shown as escapes')
def test_a_hostile_clusters_events_arrive_inert_on_every_channel(
        hostile_polled, receiver_factory, smtp, alice):  # noqa: F811
    slack, teams, generic = receiver_factory(), receiver_factory(), receiver_factory()
    for channel, hook in ((AlertChannel.SLACK, slack), (AlertChannel.TEAMS, teams),
                          (AlertChannel.WEBHOOK, generic)):
        for kind in (AlertKind.NEW_CRITICAL, AlertKind.GRADE_DROPPED):
            alerts.create_rule(alice, recipient=alice, name=f"{channel} {kind}", kind=kind,
                               threshold=0, channel=channel, url=hook.url)
    alerts.create_rule(alice, recipient=alice, name="mail", kind=AlertKind.NEW_CRITICAL,
                       threshold=0, channel=AlertChannel.EMAIL)
    outcome = poll(hostile_polled.pk, opts=FAST)
    assert outcome.snapshot.status in ("ok", "partial")
    criticals = AlertEvent.objects.filter(kind=AlertKind.NEW_CRITICAL)
    assert criticals.exists()
    assert AlertEvent.objects.filter(kind=AlertKind.GRADE_DROPPED).count() == 1
    # The poll's own transaction queued them; a worker (here, the test) sends them.
    while alerts.deliver_due(timezone.now()):
        pass
    assert not AlertDelivery.objects.exclude(state="sent").exists()
    hostile_workloads = [e.detail["workload"] for e in criticals
                         if any(c in e.detail["workload"] for c in "<\u202e\u200b\"")]
    assert hostile_workloads, "the hostile scenario has hostile workload names"
    for got in slack.received:
        raw = got.body.decode()
        assert "<script" not in raw and "<img" not in raw and "<!" not in raw
        assert "\u202e" not in got.json["text"]
    for got in teams.received:
        card = got.json["attachments"][0]["content"]
        for block in card["body"]:
            # Every markup character of the cluster's text is quoted with a backslash.
            assert not re.search(r"(?<!\\)[<>\[\]`]", block["text"]), block["text"]
            assert "\u202e" not in block["text"]
    # The generic webhook carries the exact data for programs, and a visible one-liner.
    exact = {r.json["data"].get("workload") for r in generic.received}
    assert set(hostile_workloads) <= exact
    assert all("\u202e" not in r.json["text"] for r in generic.received)
    for message in smtp.to("alice@example.test"):
        text, html = parts(message)
        assert "<script" not in html and "<img" not in html
        assert "\u202e" not in text + html + message["Subject"]
