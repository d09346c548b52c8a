"""The weekly digest's content, built for a frozen moment: what each recipient is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from posture.checks import CATALOG
from posture.checks.vocabulary import Severity
from posture.domain import digest
from posture.domain.models import (
    DigestPreference,
    Finding,
    RiskAcceptance,
    Snapshot,
    SnapshotStatus,
)
from posture.domain.scoring import Grade
from posture.lifecycle import SupportStatus
from tests.factories import ClusterFactory, UserFactory

pytestmark = pytest.mark.django_db

# A Monday morning; the digest covers the seven days before it.
NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)
XSS_CLUSTER = "<script>alert(1)</script>"
XSS_WORKLOAD = '"><img src=x onerror=alert(1)>'


def node(os_image: str = "Ubuntu 24.04.1 LTS", kubelet: str = "v1.37.1",
         name: str = "node-1") -> dict[str, str]:
    return {"name": name, "os_image": os_image, "kubelet": kubelet,
            "kernel": "6.8.0-45-generic", "runtime": "containerd://2.1.4", "created": ""}


def snapshot(cluster: Any, at: datetime, *, score: float | None = None, grade: str = "",
             status: str = SnapshotStatus.OK, version: str = "v1.37.1", provider: str = "",
             nodes: list[dict[str, str]] | None = None, error: str = "") -> Snapshot:
    return Snapshot.objects.create(
        cluster=cluster, taken_at=at, finished_at=at, status=status, score=score, grade=grade,
        kubernetes_version=version, provider=provider,
        nodes=[node()] if nodes is None else nodes,
        error=error, error_kind="unreachable" if error else "")


def finding(first_seen: Snapshot, check_id: str, *, name: str = "web", namespace: str = "shop",
            kind: str = "Deployment", container: str = "", severity: str | None = None,
            first_seen_at: datetime | None = None,
            resolved_at: datetime | None = None) -> Finding:
    check = CATALOG[check_id]
    return Finding.objects.create(
        cluster=first_seen.cluster, check_id=check_id, kind=kind, namespace=namespace, name=name,
        container=container, severity=severity or str(check.severity),
        category=str(check.category), message=f"{check.title} in {name}", first_seen=first_seen,
        first_seen_at=first_seen_at or first_seen.taken_at, resolved_at=resolved_at)


def accept(cluster: Any, check_id: str, expires_at: datetime, *, namespace: str = "shop",
           revoked_at: datetime | None = None) -> RiskAcceptance:
    return RiskAcceptance.objects.create(
        cluster=cluster, check_id=check_id, namespace=namespace, reason="migration planned",
        expires_at=expires_at, revoked_at=revoked_at)


def a_week_of(cluster: Any, *, before: float = 72.0, now: float = 81.4) -> Snapshot:
    """Give ``cluster`` a scored snapshot before the week and one inside it; return the latter."""
    snapshot(cluster, SINCE - timedelta(hours=1), score=before, grade=str(Grade.for_score(before)))
    return snapshot(cluster, NOW - timedelta(days=1), score=now,
                    grade=str(Grade.for_score(round(now))))


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.POSTURE_BASE_URL = "http://testserver.example/"
    # The personas' passwords are hashed on creation; the production hasher takes a second.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def busy_week(cluster_a: Any, cluster_b: Any) -> Snapshot:
    """Give alice's cluster A a busy week and bob's B a secret of its own; return A's snapshot."""
    old = snapshot(cluster_a, NOW - timedelta(days=30), score=60.0, grade="D")
    a_week_of(cluster_a)
    inside = snapshot(cluster_a, NOW - timedelta(days=3))
    finding(inside, "workload.privileged", name="payments", first_seen_at=NOW - timedelta(days=2))
    finding(inside, "workload.host-path-volumes", name="logger",
            first_seen_at=NOW - timedelta(days=3))
    # Resolved only after the frozen moment: still open as the digest sees it.
    finding(inside, "access.wildcard-role", kind="ClusterRole", namespace="", name="ops",
            first_seen_at=NOW - timedelta(days=4), resolved_at=NOW + timedelta(hours=1))
    finding(inside, "workload.host-process", name="came-and-went",
            first_seen_at=NOW - timedelta(days=5), resolved_at=NOW - timedelta(days=1))
    finding(inside, "workload.runs-as-root", name="medium-only")
    finding(old, "access.cluster-admin-binding", kind="ClusterRoleBinding", namespace="",
            name="old-critical")
    finding(old, "image.latest-tag", name="fixed-this-week",
            resolved_at=NOW - timedelta(days=2))
    finding(old, "image.latest-tag", name="fixed-last-week",
            resolved_at=SINCE - timedelta(days=1))
    # After the frozen moment: invisible to it.
    snapshot(cluster_a, NOW + timedelta(hours=1), score=5.0, grade="F")
    finding(inside, "workload.privileged", name="from-the-future",
            first_seen_at=NOW + timedelta(minutes=5))

    a_week_of(cluster_b, before=50.0, now=45.0)
    secret = snapshot(cluster_b, NOW - timedelta(days=2))
    finding(secret, "workload.privileged", name="bob-secret-app",
            first_seen_at=NOW - timedelta(days=2))
    return inside


@pytest.fixture
def week(cluster_a, cluster_b) -> Snapshot:
    return busy_week(cluster_a, cluster_b)


def test_scores_now_and_a_week_ago_from_successful_snapshots(alice, week):
    built = digest.build(alice, NOW)
    assert built is not None
    [line] = built.clusters
    assert (line.name, line.score_before, line.grade_before) == ("cluster-a", 72, Grade.C)
    assert (line.score_now, line.grade_now) == (81, Grade.B)
    assert line.change == 9
    assert line.change_text == "+9 since last week"


def test_new_critical_and_high_findings_of_the_week_still_open(alice, week):
    built = digest.build(alice, NOW)
    assert built is not None
    assert (built.new_critical, built.new_high) == (1, 2)
    # Most severe first, then the most recent.
    assert [(f.severity, f.workload) for f in built.new_findings] == [
        (Severity.CRITICAL, "Deployment shop/payments"),
        (Severity.HIGH, "Deployment shop/logger"),
        (Severity.HIGH, "ClusterRole ops"),
    ]
    first = built.new_findings[0]
    assert first.title == CATALOG["workload.privileged"].title
    assert first.cluster == "cluster-a"
    assert first.cluster_url == f"http://testserver.example/clusters/{week.cluster_id}/"


def test_only_the_first_findings_are_listed_but_all_are_counted(alice, cluster_a):
    inside = a_week_of(cluster_a)
    for i in range(digest.NEW_FINDINGS_SHOWN + 3):
        finding(inside, "workload.privileged", name=f"app-{i:02d}")
    built = digest.build(alice, NOW)
    assert built is not None
    assert built.new_critical == digest.NEW_FINDINGS_SHOWN + 3
    assert len(built.new_findings) == digest.NEW_FINDINGS_SHOWN
    text = built.render().text
    assert f"{digest.NEW_FINDINGS_SHOWN + 3} in all" in text


def test_platform_managed_findings_are_not_among_the_new_criticals(alice, cluster_a):
    from posture.domain.models import OrgPolicy

    inside = a_week_of(cluster_a, now=50.0)  # a poll before: news, not a baseline
    finding(inside, "workload.privileged", kind="DaemonSet", namespace="kube-system",
            name="kube-proxy", container="kube-proxy")
    finding(inside, "workload.host-namespaces", kind="DaemonSet", namespace="gmp-system",
            name="collector")
    finding(inside, "workload.privileged", name="payments")
    built = digest.build(alice, NOW)
    assert built is not None
    assert (built.new_critical, built.new_high, built.new_platform) == (1, 0, 2)
    assert [f.workload for f in built.new_findings] == ["Deployment shop/payments"]
    rendered = built.render()
    assert "kube-proxy" not in rendered.text and "kube-proxy" not in rendered.html
    assert "Not counted: 2 new on platform-managed components" in rendered.text
    # A policy that scores them counts them here too.
    OrgPolicy.objects.update_or_create(pk=1, defaults={"document": {
        "score_platform_findings": True}})
    built = digest.build(alice, NOW)
    assert built is not None
    assert (built.new_critical, built.new_high, built.new_platform) == (2, 1, 0)


def test_resolved_findings_of_the_week_are_counted_most_severe_first(alice, week):
    built = digest.build(alice, NOW)
    assert built is not None
    assert built.resolved_count == 2
    assert [f.workload for f in built.resolved] == ["Deployment shop/came-and-went",
                                                    "Deployment shop/fixed-this-week"]


def test_acceptances_that_ended_this_week_or_end_within_fourteen_days(alice, cluster_a):
    a_week_of(cluster_a)
    accept(cluster_a, "workload.runs-as-root", NOW - timedelta(days=2))
    accept(cluster_a, "image.latest-tag", NOW + timedelta(days=10))
    accept(cluster_a, "image.not-pinned-by-digest", NOW + timedelta(days=20))
    accept(cluster_a, "workload.no-resource-limits", NOW + timedelta(days=5),
           revoked_at=NOW - timedelta(days=1))
    accept(cluster_a, "network.service-exposed", NOW - timedelta(days=10))
    # Renewed: the old one ended this week, a new one with the same scope runs for months.
    accept(cluster_a, "workload.privilege-escalation", NOW - timedelta(days=1))
    accept(cluster_a, "workload.privilege-escalation", NOW + timedelta(days=60))

    built = digest.build(alice, NOW)
    assert built is not None
    assert [(a.check_id, a.expired) for a in built.acceptances] == [
        ("workload.runs-as-root", True),
        ("image.latest-tag", False),
    ]
    assert built.acceptances[0].scope == "shop"


def test_end_of_life_within_the_window_or_past(alice, cluster_a):
    snapshot(cluster_a, NOW - timedelta(days=1), score=70.0, grade="C", version="v1.35.2",
             nodes=[
                 node("Container-Optimized OS from Google", kubelet="v1.33.5-gke.1080000"),
                 node("CentOS Linux 7 (Core)", name="old-1"),
                 node("CentOS Linux 7 (Core)", name="old-2"),
                 node("Ubuntu 20.04.6 LTS"),
                 node("Ubuntu 24.04.1 LTS"),
             ])
    built = digest.build(alice, NOW)
    assert built is not None
    found = {(line.subject, line.status, line.days_left) for line in built.eol}
    assert ("Kubernetes 1.35", SupportStatus.SUPPORTED, 83) in found
    assert ("CentOS Linux 7 (2 nodes)", SupportStatus.EOL, -890) in found
    assert ("Ubuntu 20.04 (1 node)", SupportStatus.EXTENDED, 1212) in found
    # COS is judged by the node's kubelet (GKE 1.33's image): 84 days left.
    assert any(s.endswith("cos-121 (1 node)") and d == 84 for s, _, d in found)
    assert not any("24.04" in s for s, _, _ in found)
    # One cluster, counted once, by the worst of its lines.
    assert built.eol_soon_clusters == 0 and built.past_eol_clusters == 1


def test_end_of_life_window_follows_the_policy(alice, cluster_a):
    from posture.domain.models import OrgPolicy

    row = OrgPolicy.load()
    row.document = {"eol_warning_days": 30}
    row.save()
    snapshot(cluster_a, NOW - timedelta(days=1), score=70.0, grade="C", version="v1.35.2")
    built = digest.build(alice, NOW)
    assert built is not None
    assert built.eol == ()


def test_a_cluster_past_end_of_life_says_since_when(alice, cluster_a):
    snapshot(cluster_a, NOW - timedelta(days=1), score=50.0, grade="D", version="v1.31.4")
    built = digest.build(alice, NOW)
    assert built is not None
    [line] = built.eol
    assert line.summary == "is past end of life since 2025-11-11"


def test_failed_polls_counted_and_last_failure_shown(alice, cluster_a):
    a_week_of(cluster_a)
    snapshot(cluster_a, SINCE - timedelta(hours=2), status=SnapshotStatus.FAILED, error="old")
    snapshot(cluster_a, NOW - timedelta(days=2), status=SnapshotStatus.FAILED, error="refused")
    snapshot(cluster_a, NOW - timedelta(hours=3), status=SnapshotStatus.FAILED,
             error="connection\x1b[31m refused\nby 10.0.0.1")
    snapshot(cluster_a, NOW - timedelta(minutes=1), status=SnapshotStatus.RUNNING)
    built = digest.build(alice, NOW)
    assert built is not None
    [line] = built.poll_trouble
    assert (line.failed_polls, line.last_poll_failed) == (2, True)
    assert line.last_error == "connection\x1b[31m refused\nby 10.0.0.1"
    # Shown with its hidden characters as escapes, on one line, in both parts.
    shown = "connection\\u001b[31m refused\\u000aby 10.0.0.1"
    assert shown in built.render().text and shown in built.render().html
    # The score is the last successful poll's.
    assert line.score_now == 81


def test_a_recovered_cluster_still_reports_the_week_failures(alice, cluster_a):
    snapshot(cluster_a, NOW - timedelta(days=2), status=SnapshotStatus.FAILED, error="refused")
    a_week_of(cluster_a)
    built = digest.build(alice, NOW)
    assert built is not None
    [line] = built.poll_trouble
    assert (line.failed_polls, line.last_poll_failed, line.last_error) == (1, False, "")


def test_a_new_cluster_without_a_score_yet(alice, cluster_a):
    snapshot(cluster_a, NOW - timedelta(days=1), status=SnapshotStatus.FAILED, error="401")
    built = digest.build(alice, NOW)
    assert built is not None
    [line] = built.clusters
    assert (line.score_now, line.change, line.change_text) == (None, None, "no score yet")
    assert "not scored" in built.render().text


def test_each_recipient_sees_only_their_clusters(alice, bob, sam, week):
    alices, bobs, sams = (digest.build(u, NOW) for u in (alice, bob, sam))
    assert alices is not None and bobs is not None and sams is not None
    assert [c.name for c in alices.clusters] == ["cluster-a"]
    assert [c.name for c in bobs.clusters] == ["cluster-b"]
    assert [c.name for c in sams.clusters] == ["cluster-a", "cluster-b"]
    assert "bob-secret-app" not in alices.render().text + alices.render().html
    assert "bob-secret-app" in bobs.render().text
    assert [f.workload for f in bobs.new_findings] == ["Deployment shop/bob-secret-app"]


def test_chosen_clusters_narrow_the_digest(sam, week, cluster_b):
    DigestPreference.objects.create(user=sam).clusters.set([cluster_b])
    built = digest.build(sam, NOW)
    assert built is not None
    assert [c.name for c in built.clusters] == ["cluster-b"]
    assert {f.cluster for f in built.new_findings} == {"cluster-b"}


def test_a_chosen_cluster_no_longer_visible_is_left_out(alice, cluster_a, cluster_b):
    DigestPreference.objects.create(user=alice).clusters.set([cluster_b])
    assert digest.build(alice, NOW) is None


def test_nobody_to_report_on_builds_nothing(db):
    assert digest.build(UserFactory(username="carol"), NOW) is None


def test_subject_counts_clusters_new_findings_and_end_of_life(alice, week, cluster_a):
    old = ClusterFactory(name="cluster-old", owners=[alice])
    snapshot(old, NOW - timedelta(hours=5), score=40.0, grade="F", version="v1.35.2")
    built = digest.build(alice, NOW)
    assert built is not None
    assert built.render().subject == ("Posture weekly: 2 clusters, 1 new critical, 2 new high, "
                                      "1 cluster EOL soon")


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_html_part_escapes_cluster_text_and_links_back(alice, settings):
    cluster = ClusterFactory(name=XSS_CLUSTER, owners=[alice])
    inside = a_week_of(cluster)
    finding(inside, "workload.privileged", name=XSS_WORKLOAD, namespace="<b>ns</b>",
            first_seen_at=NOW - timedelta(days=1))
    built = digest.build(alice, NOW)
    assert built is not None
    html = built.render().html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<b>ns" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<style" not in html.lower()
    assert f'href="http://testserver.example/clusters/{cluster.pk}/"' in html
    assert 'href="http://testserver.example/"' in html
    assert Severity.CRITICAL.colour in html
    assert Grade.B.colour in html


def test_text_part_keeps_cluster_text_on_its_own_line(alice):
    cluster = ClusterFactory(name="cluster-t", owners=[alice])
    inside = a_week_of(cluster)
    finding(inside, "workload.privileged", name="web\nINJECTED: reset your password at evil",
            first_seen_at=NOW - timedelta(days=1))
    finding(inside, "workload.privileged", name="term\x1b]0;pwned\x07-app\u202e",
            first_seen_at=NOW - timedelta(days=1))
    built = digest.build(alice, NOW)
    assert built is not None
    text = built.render().text
    assert not any(line.startswith("INJECTED") for line in text.splitlines())
    assert "web\\u000aINJECTED: reset your password at evil" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    # Nothing is dropped: each hidden character is written as an escape.
    assert "term\\u001b]0;pwned\\u0007-app\\u202e" in text
    assert f"http://testserver.example/clusters/{cluster.pk}/" in text


def test_every_link_is_absolute(alice, week):
    built = digest.build(alice, NOW)
    assert built is not None
    for url in (built.overview_url, built.preferences_url, built.unsubscribe_url,
                *(c.url for c in built.clusters)):
        assert url.startswith("http://testserver.example/"), url
    assert "//" not in built.overview_url.removeprefix("http://")


def test_the_week_is_the_monday_in_the_configured_time_zone(settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    # Sunday 20:00 UTC is already Monday morning in Auckland.
    assert digest.week_of(datetime(2026, 12, 6, 20, 0, tzinfo=UTC)) == date(2026, 12, 7)
    settings.TIME_ZONE = "UTC"
    assert digest.week_of(datetime(2026, 12, 6, 20, 0, tzinfo=UTC)) == date(2026, 11, 30)
    assert digest.week_of(NOW) == date(2026, 12, 7)


def test_recipients_have_an_address_and_the_digest_on(alice, bob, db):
    UserFactory(username="no-address", email="")
    UserFactory(username="gone", is_active=False)
    off = UserFactory(username="off")
    DigestPreference.objects.create(user=off, enabled=False)
    DigestPreference.objects.create(user=bob, enabled=True)
    assert [u.username for u in digest.recipients()] == ["alice", "bob"]


@pytest.mark.threat('Someone unsubscribes another user from the digest',
                     'Unsubscribe links are signed per user; a tampered link is refused')
def test_unsubscribe_tokens_name_their_user_and_refuse_tampering(alice, bob):
    token = digest.unsubscribe_token(alice)
    assert digest.user_for_token(token) == alice
    # Bob's payload under alice's signature.
    signature = token.partition(":")[2]
    forged = digest.unsubscribe_token(bob).partition(":")[0] + ":" + signature
    assert digest.user_for_token(forged) is None
    assert digest.user_for_token("not-a-token") is None
    # A token signed for another purpose is refused, even with the same key.
    from django.core import signing

    assert digest.user_for_token(signing.dumps(bob.pk)) is None


def test_message_id_is_stable_per_recipient_and_week(alice, bob):
    week = date(2026, 12, 7)
    assert digest.message_id(alice.pk, week) == digest.message_id(alice.pk, week)
    assert digest.message_id(alice.pk, week) != digest.message_id(bob.pk, week)
    assert digest.message_id(alice.pk, week) != digest.message_id(alice.pk, date(2026, 12, 14))


def test_building_costs_the_same_queries_for_one_cluster_or_many(sam):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert digest.build(sam, NOW) is not None
        return len(captured)

    first = ClusterFactory(name="first")
    inside = a_week_of(first)
    finding(inside, "workload.privileged", first_seen_at=NOW - timedelta(days=1))
    accept(first, "image.latest-tag", NOW + timedelta(days=3))
    queries()  # the first also keeps the user's groups and the policy row
    one = queries()
    for i in range(6):
        cluster = ClusterFactory(name=f"more-{i}")
        inside = a_week_of(cluster)
        finding(inside, "workload.privileged", first_seen_at=NOW - timedelta(days=1))
        accept(cluster, "image.latest-tag", NOW + timedelta(days=3))
    assert queries() == one
    assert one <= 10
