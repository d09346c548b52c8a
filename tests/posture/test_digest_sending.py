"""Sending the weekly digest through a real SMTP server: once per recipient and week."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import Client

from posture.domain import digest
from posture.domain.models import DigestDelivery, DigestPreference, Snapshot
from posture.domain.tasks import DIGEST_RETRIES, send_weekly_digests
from tests.posture.test_digest import NOW, SINCE, a_week_of, busy_week

pytestmark = pytest.mark.django_db
BASE_URL = "https://posture.example"
Sent = DigestDelivery.Status


class Inbox:
    """An SMTP handler that keeps what it receives; refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.port = 0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend aimed at it."""
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = inbox.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Posture <posture@posture.example>"
    settings.POSTURE_BASE_URL = BASE_URL
    # The personas' passwords are hashed on creation; the production hasher takes a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield inbox
    controller.stop()


@pytest.fixture
def week(cluster_a, cluster_b):
    return busy_week(cluster_a, cluster_b)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_each_recipient_receives_exactly_their_clusters(smtp, alice, bob, week):
    assert digest.send_weekly(NOW) == 2
    assert len(smtp.messages) == 2
    [to_alice] = smtp.to("alice@example.test")
    [to_bob] = smtp.to("bob@example.test")

    assert to_alice.get_content_type() == "multipart/alternative"
    assert to_alice["Subject"] == "Posture weekly: 1 cluster, 1 new critical, 2 new high"
    assert to_alice["From"] == "Posture <posture@posture.example>"
    text, html = parts(to_alice)
    assert "cluster-a" in text and "cluster-a" in html
    assert "Deployment shop/payments" in text and "Deployment shop/payments" in html
    for leak in ("cluster-b", "bob-secret-app"):
        assert leak not in text and leak not in html

    bob_text, bob_html = parts(to_bob)
    assert "bob-secret-app" in bob_text and "bob-secret-app" in bob_html
    assert "cluster-a" not in bob_text + bob_html

    for message in (to_alice, to_bob):
        text, html = parts(message)
        assert "<script" not in html.lower()
        links = re.findall(r'href="([^"]*)"', html)
        assert links and all(link.startswith(f"{BASE_URL}/") for link in links), links
        assert f"{BASE_URL}/digest/" in text


def test_headers_offer_one_click_unsubscribe_and_a_stable_message_id(smtp, alice, week):
    digest.send_weekly(NOW)
    [message] = smtp.to("alice@example.test")
    # A long header is folded onto a continuation line; readers unfold it. The token is signed
    # with the time it was made, so it is compared by whom it names, not character by character.
    link = "".join(message["List-Unsubscribe"].split())
    prefix = f"<{BASE_URL}/digest/unsubscribe/"
    assert link.startswith(prefix) and link.endswith("/>")
    assert digest.user_for_token(link[len(prefix):-2]) == alice
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == digest.message_id(alice.pk, digest.week_of(NOW))
    assert message["Message-ID"].endswith("@posture.example>")


def test_deliveries_are_recorded_as_sent(smtp, alice, bob, week):
    digest.send_weekly(NOW)
    rows = DigestDelivery.objects.order_by("user__username")
    assert [(r.user.username, r.week, r.status, r.sent_at, r.error) for r in rows] == [
        ("alice", digest.week_of(NOW), Sent.SENT, NOW, ""),
        ("bob", digest.week_of(NOW), Sent.SENT, NOW, ""),
    ]


def test_running_again_in_the_same_week_sends_nothing(smtp, alice, bob, week):
    assert digest.send_weekly(NOW) == 2
    assert digest.send_weekly(NOW) == 0
    assert digest.send_weekly(NOW + timedelta(days=2)) == 0
    assert len(smtp.messages) == 2
    # The next week is another digest.
    assert digest.send_weekly(NOW + timedelta(days=7)) == 2
    assert len(smtp.messages) == 4


def test_users_without_an_address_or_clusters_get_nothing(smtp, alice, week, db):
    from tests.factories import UserFactory

    UserFactory(username="carol")  # sees no cluster
    alice.email = ""
    alice.save()
    assert digest.send_weekly(NOW) == 1  # bob only
    assert [m["To"] for m in smtp.messages] == ["bob@example.test"]
    assert list(DigestDelivery.objects.values_list("user__username", flat=True)) == ["bob"]


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_once_per_recipient(smtp, alice, bob, cluster_a, cluster_b,
                                                   monkeypatch):
    a_week_of(cluster_a)
    a_week_of(cluster_b)
    # Both runs build every digest before either claims it, so they race for each claim.
    barrier = threading.Barrier(2, timeout=10)
    real_build = digest.build

    def build_then_wait(user: Any, now: Any) -> Any:
        built = real_build(user, now)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return built

    monkeypatch.setattr(digest, "build", build_then_wait)
    results: list[int] = []

    def run() -> None:
        try:
            results.append(digest.send_weekly(NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 2 and len(results) == 2
    assert sorted(m["To"] for m in smtp.messages) == ["alice@example.test", "bob@example.test"]
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {Sent.SENT}


def test_an_interrupted_send_is_not_sent_again(smtp, alice, bob, week):
    """GIVEN a worker died after claiming alice's digest (it may or may not have gone out),
    WHEN the next run comes, THEN alice is not sent a second one and the row says why."""
    DigestDelivery.objects.create(user=alice, week=digest.week_of(NOW), status=Sent.SENDING,
                                  claimed_at=NOW - digest.STALE_CLAIM - timedelta(minutes=1))
    assert digest.send_weekly(NOW) == 1
    assert [m["To"] for m in smtp.messages] == ["bob@example.test"]
    row = DigestDelivery.objects.get(user=alice)
    assert (row.status, row.error) == (Sent.SENDING, digest.INTERRUPTED)
    # Documented recovery: mark it failed, and the next run sends it.
    DigestDelivery.objects.filter(pk=row.pk).update(status=Sent.FAILED)
    assert digest.send_weekly(NOW + timedelta(hours=1)) == 1
    assert len(smtp.to("alice@example.test")) == 1


def test_a_send_in_progress_is_left_to_its_worker(smtp, alice, bob, week):
    claimed = NOW - timedelta(minutes=2)
    DigestDelivery.objects.create(user=alice, week=digest.week_of(NOW), status=Sent.SENDING,
                                  claimed_at=claimed)
    assert digest.send_weekly(NOW) == 1
    row = DigestDelivery.objects.get(user=alice)
    assert (row.status, row.claimed_at, row.error) == (Sent.SENDING, claimed, "")
    assert smtp.to("alice@example.test") == []


def test_mail_server_down_marks_failed_and_the_next_run_retries(smtp, alice, bob, week,
                                                                 settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    assert digest.send_weekly(NOW) == 0
    rows = list(DigestDelivery.objects.all())
    assert len(rows) == 2
    assert all(r.status == Sent.FAILED and "ConnectionRefusedError" in r.error for r in rows)
    assert digest.failed_count(NOW) == 2

    settings.EMAIL_PORT = smtp.port
    assert digest.send_weekly(NOW + timedelta(minutes=30)) == 2
    assert len(smtp.messages) == 2
    assert set(DigestDelivery.objects.values_list("status", flat=True)) == {Sent.SENT}
    assert digest.failed_count(NOW) == 0


def test_a_refused_recipient_fails_alone(smtp, alice, bob, week):
    smtp.refuse.add("alice@example.test")
    assert digest.send_weekly(NOW) == 1
    assert [m["To"] for m in smtp.messages] == ["bob@example.test"]
    row = DigestDelivery.objects.get(user=alice)
    assert row.status == Sent.FAILED and "SMTPRecipientsRefused" in row.error


def test_the_unsubscribe_link_in_the_mail_works_with_one_click(smtp, alice, bob, week):
    digest.send_weekly(NOW)
    [message] = smtp.to("alice@example.test")
    url = message["List-Unsubscribe"].strip().strip("<>")
    # What a mail client does (RFC 8058): a bare POST, no cookies, no CSRF token.
    client = Client(enforce_csrf_checks=True)
    response = client.post(url.removeprefix(BASE_URL), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert DigestPreference.objects.get(user=alice).enabled is False
    assert digest.send_weekly(NOW + timedelta(days=7)) == 1
    assert [m["To"] for m in smtp.messages[2:]] == ["bob@example.test"]


def test_the_task_sends_through_the_same_path(smtp, alice, cluster_a):
    a_week_of(cluster_a)
    assert send_weekly_digests.apply().get() == 1
    assert send_weekly_digests.apply().get() == 0
    assert len(smtp.messages) == 1


def test_the_task_tries_again_while_sends_fail(smtp, alice, cluster_a, settings, monkeypatch):
    a_week_of(cluster_a)
    settings.EMAIL_PORT = free_port()
    calls = []
    real = digest.send_weekly

    def counted(*args: Any, **kwargs: Any) -> int:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(digest, "send_weekly", counted)
    result = send_weekly_digests.apply()
    assert result.failed()
    assert len(calls) == 1 + DIGEST_RETRIES
    assert DigestDelivery.objects.get(user=alice).status == Sent.FAILED


def test_subject_and_body_count_the_same_clusters_at_end_of_life(smtp, alice, cluster_a):
    """GIVEN two clusters with several things past end of life each and one with something
    near it, THEN the subject and the body both count clusters, and agree."""
    from tests.factories import ClusterFactory
    from tests.posture.test_digest import node, snapshot

    old_nodes = [node("CentOS Linux 7 (Core)", name="old-1"), node("Ubuntu 20.04.6 LTS")]
    snapshot(cluster_a, NOW - timedelta(days=1), score=40.0, grade="F", version="v1.31.4",
             nodes=old_nodes)
    legacy = ClusterFactory(name="legacy", owners=[alice])
    snapshot(legacy, NOW - timedelta(days=1), score=30.0, grade="F", version="v1.30.2",
             nodes=old_nodes)
    soon = ClusterFactory(name="soon", owners=[alice])
    snapshot(soon, NOW - timedelta(days=1), score=90.0, grade="A", version="v1.35.2")

    digest.send_weekly(NOW)
    [message] = smtp.to("alice@example.test")
    assert message["Subject"] == ("Posture weekly: 3 clusters, 2 clusters past EOL, "
                                  "1 cluster EOL soon")
    text, html = parts(message)
    section = text.split("END OF LIFE: ", 1)[1].split("\n\n", 1)[0]
    heading, *entries = section.splitlines()
    assert heading == ("2 clusters past end of life; 1 more cluster within 90 days of it, "
                       "or on extended support only")
    listed = [e for e in entries if e.startswith("* ")]
    assert listed == ["* cluster-a (past end of life)", "* legacy (past end of life)", "* soon"]
    # Each cluster's lines are under it: seven lines in all, for three clusters.
    assert len([e for e in entries if e.startswith("  - ")]) == 7
    assert "2 clusters past end of life; 1 more cluster" in html


def test_a_first_poll_and_new_checks_are_a_baseline_not_news(smtp, alice, cluster_a):
    """GIVEN a cluster registered this week, and one whose checks changed this week,
    THEN what their first polls found is not "new this week": the digest says it was a
    baseline, and only what appeared after it counts as new."""
    from tests.factories import ClusterFactory
    from tests.posture.test_digest import finding, snapshot

    # An old cluster with one genuinely new critical finding.
    inside = a_week_of(cluster_a)
    finding(inside, "workload.privileged", name="payments")
    # Registered this week: its first poll finds a backlog of three.
    fresh = ClusterFactory(name="fresh", owners=[alice])
    first = snapshot(fresh, NOW - timedelta(days=2), score=40.0, grade="F")
    finding(first, "workload.privileged", name="old-app")
    finding(first, "workload.host-path-volumes", name="old-logger")
    finding(first, "image.latest-tag", name="old-web")
    # Polled before the week under one check set, then under a new one.
    upgraded = ClusterFactory(name="upgraded", owners=[alice])
    before = snapshot(upgraded, SINCE - timedelta(hours=1), score=80.0, grade="B")
    rules = snapshot(upgraded, NOW - timedelta(days=3), score=70.0, grade="C")
    later = snapshot(upgraded, NOW - timedelta(days=1), score=60.0, grade="D")
    Snapshot.objects.filter(pk=before.pk).update(checkset_version="1.0.0+aaaaaaaa")
    Snapshot.objects.filter(pk__in=[rules.pk, later.pk]).update(checkset_version="1.0.0+bbbbbbbb")
    finding(rules, "workload.host-process", name="seen-by-a-new-rule")
    finding(later, "workload.privileged", name="really-new")

    digest.send_weekly(NOW)
    [message] = smtp.to("alice@example.test")
    assert message["Subject"] == "Posture weekly: 3 clusters, 2 new critical"
    text, html = parts(message)
    baseline = ("1 cluster was added this week (baseline: 3 findings); what a first poll finds "
                "is not counted as new. The checks changed this week (baseline: 1 finding from "
                "the first poll under the new checks, not counted as new).")
    assert baseline in text and baseline in html
    assert "NEW CRITICAL AND HIGH FINDINGS, STILL OPEN (2)" in text
    for name in ("payments", "really-new"):
        assert f"Deployment shop/{name}" in text
    for name in ("old-app", "old-logger", "seen-by-a-new-rule"):
        assert name not in text and name not in html
