"""Polling emulated clusters through the real client over HTTPS, in this process."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from clusters import collector, kube
from clusters.models import Cluster
from posture.domain import polling
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import claim_due_clusters, poll
from tests.emulated import register

pytestmark = pytest.mark.django_db

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=3))


@pytest.mark.parametrize("scenario", ["well-kept", "typical", "neglected"])
def test_each_scenario_polls_into_a_complete_snapshot(emulate, scenario):
    emulator = emulate(scenario)
    cluster = register(emulator, scenario)
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    served = emulator.scenario.view(0)
    assert snapshot.kubernetes_version == served.version
    assert snapshot.node_count == len(emulator.objects("nodes"))
    assert snapshot.workload_count > 0 and snapshot.pod_count >= snapshot.workload_count
    assert all(c["state"] in ("read", "absent") for c in snapshot.coverage.values())
    assert snapshot.finished_at >= snapshot.taken_at
    assert snapshot.checkset_version
    assert snapshot.open_findings == Finding.objects.filter(cluster=cluster).count()
    assert len(snapshot.nodes) == snapshot.node_count


def test_neglected_has_more_findings_than_well_kept(emulate):
    good = register(emulate("well-kept"), "good")
    bad = register(emulate("neglected"), "bad")
    good_snapshot = poll(good.pk, opts=FAST).snapshot
    bad_snapshot = poll(bad.pk, opts=FAST).snapshot
    assert bad_snapshot.open_findings > good_snapshot.open_findings
    assert bad_snapshot.finding_counts["severity"].get("critical", 0) > 0


def test_pages_of_two_read_the_same_as_one_page(emulate):
    emulator = emulate("typical")
    cluster = register(emulator)
    whole = poll(cluster.pk, opts=FAST).snapshot
    before = emulator.requests_served
    paged = poll(cluster.pk, opts=collector.Options(timeouts=FAST.timeouts, page_size=2)).snapshot
    assert (paged.node_count, paged.workload_count, paged.pod_count) == (
        whole.node_count, whole.workload_count, whole.pod_count)
    # Pages of two need many more requests than pages of 500.
    assert emulator.requests_served - before > whole.pod_count // 2


def test_unchanged_repoll_writes_no_findings(emulate):
    cluster = register(emulate("neglected"))
    first = poll(cluster.pk, opts=FAST).snapshot
    ids = set(Finding.objects.values_list("pk", flat=True))
    second = poll(cluster.pk, opts=FAST).snapshot
    assert second.open_findings == first.open_findings
    assert set(Finding.objects.values_list("pk", flat=True)) == ids
    assert not Finding.objects.filter(resolved_at__isnull=False).exists()


def test_an_open_finding_says_what_the_newest_poll_saw_and_keeps_its_lifetime(emulate):
    """A finding's message (a count of CVEs, a node's age) follows the cluster; its identity,
    severity and first sighting do not, and an unchanged re-poll still writes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from posture.domain.models import Trigger

    emulator = emulate("neglected")
    cluster = register(emulator)
    now = timezone.now()
    emulator.set_day(-10)
    poll(cluster.pk, Trigger.REPLAY, taken_at=now - timedelta(days=10), opts=FAST)
    aged = {f.pk: f.message for f in Finding.objects.filter(check_id="node.not-rotated")}
    emulator.set_day(0)
    poll(cluster.pk, opts=FAST)
    rows = list(Finding.objects.filter(check_id="node.not-rotated"))
    assert {f.pk for f in rows} == set(aged)
    for row in rows:
        assert row.message != aged[row.pk] and row.first_seen_at < now - timedelta(days=9)
        assert f"is {row.evidence['age_days']} days old" in row.message
    with CaptureQueriesContext(connection) as again:
        poll(cluster.pk, opts=FAST)
    assert not [q for q in again.captured_queries
                if q["sql"].startswith(('UPDATE "posture_finding"', 'INSERT INTO "posture_finding"'))]


def test_forbidden_resource_gives_a_partial_snapshot_with_coverage(emulate):
    emulator = emulate("denied")
    cluster = register(emulator)
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.PARTIAL
    assert snapshot.coverage["pods"]["state"] == "forbidden"
    assert "cannot list resource" in snapshot.coverage["pods"]["message"]
    assert snapshot.coverage["nodes"]["state"] == "read"
    assert "pods: forbidden" in snapshot.error


def test_wrong_ca_is_recorded_as_a_tls_failure(emulate):
    from clusters.kubeconfig import ClusterCredentials
    from emulator.tls import make_ca

    emulator = emulate("well-kept")
    cluster = register(emulator)
    creds = cluster.credentials()
    cluster.store_kubeconfig(ClusterCredentials(
        context=creds.context, server=creds.server, token=creds.token,
        ca_pem=make_ca("impostor").cert_pem.decode()))
    cluster.save()
    outcome = poll(cluster.pk, opts=FAST)
    assert outcome.snapshot.status == SnapshotStatus.FAILED
    assert outcome.snapshot.error_kind == "tls"
    assert not outcome.retryable


def test_wrong_token_fails_without_retry(emulate):
    from clusters.kubeconfig import ClusterCredentials

    emulator = emulate("well-kept")
    cluster = register(emulator)
    creds = cluster.credentials()
    cluster.store_kubeconfig(ClusterCredentials(context=creds.context, server=creds.server,
                                                ca_pem=creds.ca_pem, token="revoked"))
    cluster.save()
    outcome = poll(cluster.pk, opts=FAST)
    assert outcome.snapshot.error_kind == "unauthorized"
    assert outcome.snapshot.error.startswith("401 Unauthorized")
    assert not outcome.retryable


def test_unreachable_port_fails_and_may_retry(emulate):
    emulator = emulate("well-kept")
    cluster = register(emulator)
    emulator.stop()
    outcome = poll(cluster.pk, opts=FAST)
    assert outcome.snapshot.status == SnapshotStatus.FAILED
    assert outcome.snapshot.error_kind == "refused"
    assert outcome.retryable


def test_a_held_lease_skips_the_second_poll(emulate):
    cluster = register(emulate("well-kept"))
    lease_id = cluster.claim_poll(timedelta(minutes=5))
    assert lease_id
    assert poll(cluster.pk, opts=FAST).skipped
    assert not Snapshot.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_polls_of_one_cluster_run_once(emulate):
    emulator = emulate("typical")
    cluster = register(emulator)
    emulator.set_fault("delay", seconds=0.3)
    outcomes = []

    def run():
        from django.db import connection

        try:
            outcomes.append(poll(cluster.pk, opts=FAST))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.skipped for o in outcomes) == [False, True]
    assert Snapshot.objects.count() == 1


def test_an_expired_lease_is_taken_over_and_its_run_marked_lost(emulate):
    cluster = register(emulate("well-kept"))
    stale = Snapshot.objects.create(cluster=cluster, taken_at=timezone.now(),
                                    status=SnapshotStatus.RUNNING)
    Cluster.objects.filter(pk=cluster.pk).update(
        poll_lease_id="dead-worker", poll_lease_until=timezone.now() - timedelta(seconds=1))
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.OK
    stale.refresh_from_db()
    assert stale.status == SnapshotStatus.FAILED
    assert stale.error_kind == "worker-lost"


def test_expired_continue_token_restarts_the_list(emulate):
    """The second page of pods arrives after the token's lifetime: 410, then a fresh list."""
    emulator = emulate("typical", continue_ttl=3)
    cluster = register(emulator)
    whole = poll(cluster.pk, opts=FAST).snapshot
    emulator.set_fault("delay", resource="pods", after=1, times=1, seconds=3.2)
    patient = collector.Options(timeouts=kube.Timeouts(connect=2, read=6), page_size=2)
    snapshot = poll(cluster.pk, opts=patient).snapshot
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    assert snapshot.pod_count == whole.pod_count


def test_continue_token_expiring_every_time_is_a_partial_read(emulate):
    emulator = emulate("typical", continue_ttl=0)
    cluster = register(emulator)
    snapshot = poll(cluster.pk, opts=collector.Options(timeouts=FAST.timeouts, page_size=2)
                    ).snapshot
    assert snapshot.status == SnapshotStatus.PARTIAL
    assert snapshot.coverage["pods"] == {
        "state": "error", "count": snapshot.coverage["pods"]["count"],
        "message": "the list's continue token expired twice (410 Gone)"}


def test_timeline_days_change_what_is_recorded(emulate):
    emulator = emulate("typical")
    cluster = register(emulator)
    emulator.set_day(emulator.scenario.first_day)
    then = poll(cluster.pk, opts=FAST, taken_at=timezone.now() - timedelta(days=90)).snapshot
    emulator.set_day(0)
    now = poll(cluster.pk, opts=FAST).snapshot
    assert (then.kubernetes_version, then.open_findings) != (now.kubernetes_version,
                                                             now.open_findings)


def test_claim_due_clusters_hands_each_out_once(emulate):
    cluster = register(emulate("well-kept"), next_poll_at=timezone.now() - timedelta(minutes=1))
    assert ids(claim_due_clusters()) == [cluster.pk]
    assert ids(claim_due_clusters()) == []
    cluster.refresh_from_db()
    assert cluster.next_poll_at > timezone.now()


def test_poll_cluster_command_prints_one_summary_line(emulate, capsys):
    emulator = emulate("neglected")
    register(emulator, "neglected")
    call_command("poll_cluster", "neglected")
    out = capsys.readouterr().out.strip()
    assert "\n" not in out
    served = emulator.scenario.view(0)
    nodes = len(emulator.objects("nodes"))
    assert out.startswith(f"neglected: ok version={served.version} nodes={nodes} ")


def test_poll_cluster_command_fails_on_a_failed_poll(emulate):
    emulator = emulate("well-kept")
    register(emulator, "gone")
    emulator.stop()
    with pytest.raises(CommandError, match="gone: failed .* error=Connection refused"):
        call_command("poll_cluster", "gone")


def ids(polls) -> list[int]:
    return [poll.cluster_id for poll in polls]


def _due(count: int, now) -> list[int]:
    from tests.factories import ClusterFactory

    return [ClusterFactory(next_poll_at=now - timedelta(minutes=1)).pk for _ in range(count)]


def test_claim_due_clusters_is_one_query_for_10_or_200_due_clusters():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    few = _due(10, now)
    with CaptureQueriesContext(connection) as small:
        assert ids(claim_due_clusters(now)) == sorted(few)
    many = _due(200, now)
    with CaptureQueriesContext(connection) as large:
        assert ids(claim_due_clusters(now)) == sorted(many)
    assert len(large.captured_queries) == len(small.captured_queries)
    # Beyond the savepoint around it, the claim is one statement.
    statements = [q["sql"] for q in large.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1
    assert ids(claim_due_clusters(now)) == []


def test_a_tick_hands_out_the_polls_due_before_the_next_one_each_at_its_slot():
    from tests.factories import ClusterFactory

    now = timezone.now()
    overdue = ClusterFactory(next_poll_at=now - timedelta(minutes=3), poll_interval_minutes=5)
    soon = ClusterFactory(next_poll_at=now + timedelta(seconds=10), poll_interval_minutes=5)
    later = ClusterFactory(next_poll_at=now + timedelta(seconds=20), poll_interval_minutes=5)
    polls = claim_due_clusters(now, ahead=timedelta(seconds=15))
    # The overdue poll starts now, the other at its own slot; the one after the tick waits.
    assert [(p.cluster_id, p.at) for p in polls] == [(overdue.pk, now),
                                                     (soon.pk, soon.next_poll_at)]
    overdue.refresh_from_db()
    soon.refresh_from_db()
    later.refresh_from_db()
    # Each handed-out cluster's next poll moves an interval past the slot it was handed out
    # for (until its poll ends and sets it from then), so it is not handed out twice.
    assert overdue.next_poll_at == now + timedelta(minutes=5)
    assert soon.next_poll_at == now + timedelta(seconds=10, minutes=5)
    assert later.next_poll_at == now + timedelta(seconds=20)
    assert claim_due_clusters(now, ahead=timedelta(seconds=15)) == []


def test_first_polls_never_scheduled_are_spread_over_the_interval():
    from tests.factories import ClusterFactory

    now = timezone.now()
    interval = timedelta(minutes=60)
    fresh = [ClusterFactory(poll_interval_minutes=60).pk for _ in range(200)]
    assert Cluster.objects.filter(pk__in=fresh, next_poll_at__isnull=True).count() == 200
    # Not all on this tick: each gets a slot in the coming interval, the same one every time.
    assert ids(claim_due_clusters(now)) == []
    slots = dict(Cluster.objects.filter(pk__in=fresh).values_list("pk", "next_poll_at"))
    assert all(now < slot < now + interval for slot in slots.values())
    tenths = {int((slot - now) / (interval / 10)) for slot in slots.values()}
    assert tenths == set(range(10))
    assert ids(claim_due_clusters(now + interval / 2)) == sorted(
        pk for pk, slot in slots.items() if slot <= now + interval / 2)
    assert ids(claim_due_clusters(now + interval)) == sorted(
        pk for pk, slot in slots.items() if slot > now + interval / 2)


def test_a_first_poll_whose_slot_comes_before_the_next_tick_is_handed_out_at_once():
    from tests.factories import ClusterFactory

    now = timezone.now()
    fresh = [ClusterFactory(poll_interval_minutes=60).pk for _ in range(40)]
    polls = claim_due_clusters(now, ahead=timedelta(minutes=30))
    slots = {pk: now + polling.first_slot(pk, 60) for pk in fresh}
    assert [(p.cluster_id, p.at) for p in polls] == sorted(
        (pk, slot) for pk, slot in slots.items() if slot <= now + timedelta(minutes=30))
    assert 0 < len(polls) < 40
    stored = dict(Cluster.objects.filter(pk__in=fresh).values_list("pk", "next_poll_at"))
    for pk, slot in slots.items():
        handed_out = slot <= now + timedelta(minutes=30)
        assert stored[pk] == (slot + timedelta(minutes=60) if handed_out else slot)


def test_a_cluster_registered_without_polling_at_once_gets_a_slot_from_beat():
    from clusters.kubeconfig import credentials
    from clusters.registration import register as register_cluster
    from tests import kubeconfigs

    now = timezone.now()
    creds = credentials(kubeconfigs.text(kubeconfigs.kubeconfig()))
    cluster = register_cluster(name="bulk-1", creds=creds, owner=None,
                               poll_interval_minutes=30).cluster
    assert cluster.next_poll_at is None
    assert ids(claim_due_clusters(now)) == []
    cluster.refresh_from_db()
    assert now < cluster.next_poll_at < now + timedelta(minutes=30)
    assert ids(claim_due_clusters(cluster.next_poll_at)) == [cluster.pk]
