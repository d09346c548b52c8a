"""Delivering the outbox to real local endpoints and a real SMTP server: once per event."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from posture.domain import alerts
from posture.domain.alert_channels import signature
from posture.domain.alert_models import AlertChannel, AlertDelivery, AlertKind, DeliveryState
from tests.alerts.receivers import Receiver
from tests.posture.snapshot_factories import snapshot
from tests.posture.test_digest_sending import smtp  # noqa: F401  (the real SMTP server fixture)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def queued(user, cluster, channel, url="", **kwargs):
    """A rule of ``user``'s and one grade-drop delivery queued for it; return the rule."""
    rule, key = alerts.create_rule(user, recipient=user, name="drops",
                                   kind=AlertKind.GRADE_DROPPED, threshold=0, channel=channel,
                                   url=url, **kwargs)
    first = snapshot(cluster, timezone.now() - timedelta(hours=1), score=85.0)
    second = snapshot(cluster, timezone.now(), score=55.0)
    alerts.snapshot_recorded(second, first)
    rule.key = key
    return rule


def run_until_settled(rounds: int = 10) -> None:
    for _ in range(rounds):
        alerts.deliver_due(timezone.now())
        if not AlertDelivery.objects.exclude(state__in=[DeliveryState.SENT,
                                                        DeliveryState.FAILED]).exists():
            return


@pytest.mark.django_db
def test_an_endpoint_failing_twice_gets_exactly_one_successful_delivery(
        receiver_factory, alice, cluster_a):
    hook = receiver_factory([500, 503, 200])
    queued(alice, cluster_a, AlertChannel.SLACK, hook.url)
    run_until_settled()
    delivery = AlertDelivery.objects.get()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 3
    assert len(hook.received) == 3 and len(hook.successes()) == 1
    # Every attempt names the same delivery, so a receiver can drop a repeat.
    assert {r.headers["x-posture-delivery"] for r in hook.received} == {str(delivery.uid)}
    run_until_settled()
    assert len(hook.received) == 3


@pytest.mark.django_db
@pytest.mark.threat('A webhook URL (a credential) leaks through a page, the audit log or an error',
                     'Sealed with the vault keys; shown as scheme and host only; errors name the host and status, never the URL')
def test_failures_wait_longer_each_time_and_say_why_without_the_url(
        receiver_factory, settings, alice, cluster_a):
    settings.POSTURE_ALERT_RETRY_SECONDS = 30
    hook = receiver_factory([500, 500])
    queued(alice, cluster_a, AlertChannel.TEAMS, hook.url)
    now = timezone.now()
    alerts.deliver_due(now)
    first = AlertDelivery.objects.get()
    assert first.state == DeliveryState.PENDING and first.attempts == 1
    assert 25 <= (first.next_attempt_at - now).total_seconds() <= 35
    assert first.last_error == "HTTP 500 from 127.0.0.1"
    alerts.deliver_due(first.next_attempt_at)
    second = AlertDelivery.objects.get()
    assert 55 <= (second.next_attempt_at - first.next_attempt_at).total_seconds() <= 65
    assert "s3cr3t" not in second.last_error


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "state", "attempts"), [
    (404, DeliveryState.FAILED, 1), (410, DeliveryState.FAILED, 1),
    (429, DeliveryState.SENT, 2), (302, DeliveryState.FAILED, 1)])
def test_a_client_error_other_than_429_is_final(receiver_factory, alice, cluster_a,
                                                status, state, attempts):
    hook = receiver_factory([status])
    queued(alice, cluster_a, AlertChannel.SLACK, hook.url)
    run_until_settled()
    delivery = AlertDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (state, attempts)


@pytest.mark.django_db
def test_a_refused_connection_is_retried_then_given_up(receiver_factory, settings, alice,
                                                       cluster_a):
    settings.POSTURE_ALERT_MAX_ATTEMPTS = 3
    hook = receiver_factory()
    url = hook.url
    hook.stop()  # nothing listens there any more
    queued(alice, cluster_a, AlertChannel.SLACK, url)
    run_until_settled()
    delivery = AlertDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3
    assert "127.0.0.1" in delivery.last_error and "hooks" not in delivery.last_error


@pytest.mark.django_db
def test_a_timeout_is_retried(receiver_factory, settings, alice, cluster_a):
    settings.POSTURE_ALERT_TIMEOUT_SECONDS = 1
    hook = receiver_factory(["hang", 200])
    queued(alice, cluster_a, AlertChannel.WEBHOOK, hook.url)
    run_until_settled()
    delivery = AlertDelivery.objects.get()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 2
    assert "Timeout" in AlertDelivery.objects.get().last_error or delivery.last_error == ""


@pytest.mark.django_db
def test_the_generic_webhook_is_signed_over_timestamp_and_raw_body(receiver, alice, cluster_a):
    rule = queued(alice, cluster_a, AlertChannel.WEBHOOK, receiver.url)
    run_until_settled()
    [got] = receiver.received
    timestamp = got.headers["x-posture-timestamp"]
    # What docs/alerts.md tells a receiver to do:
    expected = "sha256=" + hmac.new(rule.key.encode(), timestamp.encode() + b"." + got.body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-posture-signature"], expected)
    assert abs(int(timestamp) - time.time()) < 60
    assert signature(rule.key, timestamp, got.body) == expected
    body = got.json
    assert body["delivery"] == got.headers["x-posture-delivery"]
    assert body["kind"] == "grade-dropped" and body["data"]["to"] == "F"
    assert body["data"]["cluster"]["name"] == "cluster-a"


@pytest.mark.django_db
def test_slack_and_teams_payloads_are_their_formats(receiver_factory, alice, cluster_a):
    slack, teams = receiver_factory(), receiver_factory()
    queued(alice, cluster_a, AlertChannel.SLACK, slack.url)
    alerts.create_rule(alice, recipient=alice, name="teams", kind=AlertKind.GRADE_DROPPED,
                       threshold=0, channel=AlertChannel.TEAMS, url=teams.url)
    first = snapshot(cluster_a, timezone.now() - timedelta(seconds=2), score=85.0)
    second = snapshot(cluster_a, timezone.now() - timedelta(seconds=1), score=40.0)
    alerts.snapshot_recorded(second, first)
    run_until_settled()
    posted = slack.received[0].json
    assert posted["blocks"][0]["type"] == "section"
    assert posted["blocks"][0]["text"]["type"] == "mrkdwn"
    assert "grade dropped from B to F" in posted["text"]
    assert "<https://posture.example/clusters/" in posted["blocks"][1]["text"]["text"]
    card = teams.received[0].json["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["actions"][0]["url"].startswith("https://posture.example/clusters/")


@pytest.mark.django_db
def test_email_goes_through_the_real_smtp_server_once(smtp, alice, cluster_a):  # noqa: F811
    queued(alice, cluster_a, AlertChannel.EMAIL)
    run_until_settled()
    run_until_settled()
    [message] = smtp.to("alice@example.test")
    delivery = AlertDelivery.objects.get()
    assert message["Subject"] == "Posture alert: cluster-a: grade dropped from B to F"
    assert message["X-Posture-Delivery"] == str(delivery.uid)
    assert message["Message-ID"] == f"<alert.{delivery.uid}@posture.example>"
    assert delivery.state == DeliveryState.SENT


@pytest.mark.django_db
def test_a_refused_recipient_address_is_retried(smtp, settings, alice, cluster_a):  # noqa: F811
    settings.POSTURE_ALERT_RETRY_SECONDS = 0
    smtp.refuse.add("alice@example.test")
    queued(alice, cluster_a, AlertChannel.EMAIL)
    alerts.deliver_due(timezone.now())
    delivery = AlertDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.last_error
    smtp.refuse.clear()
    run_until_settled()
    assert len(smtp.to("alice@example.test")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_delivery_once(receiver_factory, alice, sam, cluster_a):
    hook = receiver_factory()
    for user in (alice, sam):
        for index in range(5):
            alerts.create_rule(user, recipient=user, name=f"r{index}",
                               kind=AlertKind.GRADE_DROPPED, threshold=0,
                               channel=AlertChannel.SLACK, url=hook.url)
    first = snapshot(cluster_a, timezone.now() - timedelta(seconds=2), score=85.0)
    second = snapshot(cluster_a, timezone.now() - timedelta(seconds=1), score=40.0)
    alerts.snapshot_recorded(second, first)
    assert AlertDelivery.objects.count() == 10
    start = threading.Barrier(4)
    sent: list[int] = []

    def worker() -> None:
        start.wait()
        try:
            sent.append(alerts.deliver_due(timezone.now()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(sent) == 10
    uids = [r.headers["x-posture-delivery"] for r in hook.received]
    assert len(uids) == 10 and len(set(uids)) == 10
    assert set(AlertDelivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


@pytest.mark.django_db
def test_a_claim_is_taken_once_and_again_only_after_its_lease(alice, cluster_a, settings):
    settings.POSTURE_ALERT_LEASE_SECONDS = 60
    queued(alice, cluster_a, AlertChannel.SLACK, "https://hooks.example/x")
    pk = AlertDelivery.objects.get().pk
    now = timezone.now()
    assert alerts.claim(pk, now) is not None
    assert alerts.claim(pk, now + timedelta(seconds=59)) is None
    assert alerts.claim(pk, now + timedelta(seconds=61)) is not None
    assert AlertDelivery.objects.get().attempts == 2


def test_receiver_answers_in_order():
    hook = Receiver([500])
    try:
        import urllib3

        assert urllib3.request("POST", hook.url, body=b"{}", retries=False).status == 500
        assert urllib3.request("POST", hook.url, body=b"{}", retries=False).status == 200
    finally:
        hook.stop()
