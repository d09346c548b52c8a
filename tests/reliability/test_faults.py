"""Polls under injected faults: each ends in time, says exactly what happened, leaves nothing
half-written, and does not disturb a healthy cluster polled at the same time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from clusters import collector, kube
from emulator import Emulator
from emulator.scenario import load_scenario
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.polling import Outcome, poll
from tests.emulated import register
from tests.reliability.conftest import listen

pytestmark = pytest.mark.django_db(transaction=True)

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=2), deadline_seconds=20)
OK, PARTIAL, FAILED = SnapshotStatus.OK, SnapshotStatus.PARTIAL, SnapshotStatus.FAILED


@dataclass(frozen=True)
class Case:
    """A fault, how to inject it, and the outcome it must have."""

    key: str
    fault: str
    target: str
    inject: Callable[[Emulator], object]
    status: str
    error_kind: str = ""
    says: str = ""  # part of the snapshot's error, or of the unread resource's coverage
    unread: str = ""  # the resource a partial snapshot could not read
    retryable: bool = False
    retry_after: float | None = None
    bound: float = 10.0
    scenario: str = "typical"
    emulator: dict[str, Any] = field(default_factory=dict)
    options: collector.Options = FAST


def _fault(kind: str, **params: Any) -> Callable[[Emulator], object]:
    return lambda emulator: emulator.set_fault(kind, **params)


def _nothing(emulator: Emulator) -> None:
    """The fault is in the scenario or the emulator's settings."""


CASES = [
    Case("delay-within", "slow answers (1 s, under the 2 s read timeout)", "pods list",
         _fault("delay", resource="pods", seconds=1), OK),
    Case("delay-beyond", "slow answer (5 s, over the 2 s read timeout)", "pods list",
         _fault("delay", resource="pods", seconds=5), FAILED, "timeout",
         "Timed out talking to", retryable=True, bound=6),
    Case("slow-everywhere", "every answer slow (0.4 s) against a 1.5 s poll deadline",
         "every request", _fault("delay", seconds=0.4), FAILED, "deadline",
         "did not finish within its deadline of 1.5 s", retryable=True, bound=4,
         options=replace(FAST, deadline_seconds=1.5)),
    Case("stall", "read stalls mid-body (headers and half the body, then silence)",
         "pods list", _fault("stall", resource="pods", seconds=30), FAILED, "timeout",
         "while listing pods", retryable=True, bound=6),
    Case("stall-past-deadline", "read stalls mid-body with a 10 s read timeout and a 2 s "
         "deadline", "pods list", _fault("stall", resource="pods", seconds=30), FAILED,
         "deadline", "deadline of 2 s", retryable=True, bound=5,
         options=replace(FAST, timeouts=kube.Timeouts(connect=2, read=10), deadline_seconds=2)),
    Case("reset", "connection reset (TCP RST, no answer)", "pods list",
         _fault("reset", resource="pods"), FAILED, "network", "reset while listing pods",
         retryable=True),
    Case("other-ca", "TLS certificate from another CA", "new connections",
         _fault("wrong_certificate", certificate="other-ca"), FAILED, "tls",
         "the server's certificate is not signed by the CA in the kubeconfig"),
    Case("other-name", "TLS certificate for another host name", "new connections",
         _fault("wrong_certificate", certificate="other-name"), FAILED, "tls",
         "the server's certificate is not valid for 127.0.0.1 (host name mismatch)"),
    Case("expired-certificate", "TLS certificate expired", "new connections",
         _fault("wrong_certificate", certificate="expired"), FAILED, "tls",
         "the server's certificate has expired"),
    Case("self-signed", "self-signed TLS certificate", "new connections",
         _fault("wrong_certificate", certificate="self-signed"), FAILED, "tls",
         "the server presents a self-signed certificate, not one signed by the CA in the "
         "kubeconfig"),
    Case("token-expires", "token expires mid-poll (401 after 5 requests)", "every request",
         _fault("unauthorized", after=5), FAILED, "unauthorized", "401 Unauthorized"),
    Case("forbidden", "403 Forbidden on some resources", "pods and clusterrolebindings lists",
         _nothing, PARTIAL, says="cannot list resource \"pods\"", unread="pods",
         scenario="denied"),
    Case("rate-limited", "429 Too Many Requests with Retry-After: 3", "pods list",
         _fault("rate_limit", resource="pods", seconds=3), FAILED, "rate-limited",
         "asked to wait 3 s", retryable=True, retry_after=3.0),
    Case("server-error-500", "500 Internal Server Error", "pods list",
         _fault("server_error", resource="pods", status=500), FAILED, "server-error",
         "HTTP 500 Internal Server Error while listing pods", retryable=True),
    Case("server-error-503", "503 Service Unavailable", "every request",
         _fault("server_error", status=503), FAILED, "server-error",
         "HTTP 503 Service Unavailable while reading /version", retryable=True),
    Case("malformed-json", "malformed JSON (body cut mid-document, length correct)",
         "pods list", _fault("malformed_json", resource="pods"), PARTIAL,
         says="not valid JSON", unread="pods"),
    Case("malformed-version", "malformed JSON", "/version",
         _fault("malformed_json", path="/version"), FAILED, "protocol", "not valid JSON",
         retryable=True),
    Case("truncated", "truncated page (Content-Length promises more, connection closes)",
         "pods list", _fault("truncated", resource="pods"), FAILED, "protocol",
         "cut short while listing pods", retryable=True),
    Case("enormous", "enormous page (8 MiB against a 1 MiB limit)", "pods list",
         _fault("enormous", resource="pods", size=8 * 1024 * 1024), PARTIAL,
         says="larger than the 1 MiB limit", unread="pods",
         options=replace(FAST, limits=kube.Limits(max_body_bytes=1024 * 1024))),
    Case("continue-expires-once", "continue token expires between two pages (410 Gone)",
         "pods list, pages of 2", _fault("delay", resource="pods", after=1, times=1,
                                         seconds=1.3), OK,
         emulator={"continue_ttl": 1},
         options=replace(FAST, page_size=2, timeouts=kube.Timeouts(connect=2, read=3))),
    Case("continue-expires-always", "continue token always expired (410 Gone)",
         "every list, pages of 2", _nothing, PARTIAL, says="continue token expired twice",
         unread="pods", emulator={"continue_ttl": 0}, options=replace(FAST, page_size=2)),
]


@pytest.fixture(scope="module")
def healthy():
    from emulator import start_emulator

    emulator = start_emulator("well-kept", port=0)
    yield emulator
    emulator.stop()


def _findings(cluster) -> list[tuple[Any, ...]]:
    return list(Finding.objects.filter(cluster=cluster).order_by("pk").values_list(
        "pk", "check_id", "kind", "namespace", "name", "container", "resolved_at"))


@dataclass
class Observed:
    outcome: Outcome
    seconds: float
    healthy: Outcome


def poll_beside_healthy(cluster_id: int, healthy_id: int,
                        opts: collector.Options) -> Observed:
    """Poll ``cluster_id`` in a thread (as a worker would) while polling the healthy one."""
    box: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            box["outcome"] = poll(cluster_id, opts=opts)
        except BaseException as exc:  # noqa: BLE001 — the test reports it
            box["error"] = exc
        finally:
            box["seconds"] = time.monotonic() - started
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    calm = poll(healthy_id, opts=FAST)
    thread.join(120)
    assert not thread.is_alive(), "the poll never returned"
    assert "error" not in box, f"the poll raised {box.get('error')!r}"
    return Observed(box["outcome"], box["seconds"], calm)


def check_nothing_half_written(cluster, before: list[tuple[Any, ...]]) -> None:
    assert not Snapshot.objects.filter(status=SnapshotStatus.RUNNING).exists()
    cluster.refresh_from_db()
    assert cluster.poll_lease_id == "" and cluster.poll_lease_until is None
    assert _findings(cluster) == before


def retried(outcome: Outcome) -> str:
    if not outcome.retryable:
        return "no"
    if outcome.retry_after:
        return f"yes, not before {outcome.retry_after:g} s"
    return "yes"


def record(results, order: int, case_key: str, fault: str, target: str, snapshot: Snapshot,
           says: str, outcome: Outcome, seconds: float, bound: float) -> None:
    results.add("fault", case_key, order, fault=fault, target=target,
                status=str(snapshot.status), error_kind=snapshot.error_kind, says=says,
                retried=retried(outcome), bound_s=bound, duration_ms=round(seconds * 1000))


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_fault(case: Case, emulate, healthy, results):
    emulator = emulate(case.scenario, **case.emulator)
    cluster = register(emulator, "faulty")
    calm = register(healthy, "healthy")
    assert poll(cluster.pk, opts=FAST).snapshot.status in (OK, PARTIAL)
    before = _findings(cluster)
    case.inject(emulator)

    seen = poll_beside_healthy(cluster.pk, calm.pk, case.options)

    snapshot = seen.outcome.snapshot
    assert seen.healthy.snapshot.status == OK, seen.healthy.snapshot.error
    assert snapshot.status == case.status, snapshot.error
    assert snapshot.error_kind == case.error_kind
    assert seen.seconds < case.bound
    assert seen.outcome.retryable == case.retryable
    assert seen.outcome.retry_after == case.retry_after
    if case.status == FAILED:
        assert case.says in snapshot.error
        assert snapshot.finished_at is not None and snapshot.node_count is None
        says = snapshot.error
    elif case.status == PARTIAL:
        coverage = snapshot.coverage[case.unread]
        assert coverage["state"] in ("error", "forbidden") and case.says in coverage["message"]
        assert f"{case.unread}: {coverage['state']}" in snapshot.error
        says = f"{case.unread}: {coverage['message']}"
    else:
        assert all(c["state"] in ("read", "absent") for c in snapshot.coverage.values())
        says = "every resource read"
    check_nothing_half_written(cluster, before)
    record(results, CASES.index(case), case.key, case.fault, case.target, snapshot, says,
           seen.outcome, seen.seconds, case.bound)


def test_restarted_list_counts_every_pod_once(emulate):
    """The continue token expires mid-list; the list starts over and counts no pod twice."""
    emulator = emulate("typical", continue_ttl=1)
    cluster = register(emulator)
    whole = poll(cluster.pk, opts=FAST).snapshot
    emulator.set_fault("delay", resource="pods", after=1, times=1, seconds=1.3)
    before = emulator.requests_served
    paged = poll(cluster.pk, opts=replace(FAST, page_size=2, timeouts=kube.Timeouts(2, 3)))
    assert paged.snapshot.status == OK
    assert paged.snapshot.pod_count == whole.pod_count
    pod_pages = -(-len(emulator.objects("pods")) // 2)
    # The first page, the expired second page, then the whole list again.
    assert emulator.requests_served - before >= pod_pages + 2


@pytest.mark.threat('A redirect carries the bearer token to another host',
                     'Redirects are never followed')
@pytest.mark.parametrize("target", ["/version", "pods"])
def test_redirect_is_refused_and_the_token_never_leaves(emulate, healthy, results, target):
    emulator = emulate("typical")
    cluster = register(emulator, "faulty")
    calm = register(healthy, "healthy")
    poll(cluster.pk, opts=FAST)
    before = _findings(cluster)
    with listen(emulator.identity.ca) as elsewhere:
        aim = {"path": "/version"} if target == "/version" else {"resource": "pods"}
        emulator.set_fault("redirect", location=f"{elsewhere.url}/steal", **aim)
        seen = poll_beside_healthy(cluster.pk, calm.pk, FAST)
    snapshot = seen.outcome.snapshot
    assert seen.healthy.snapshot.status == OK
    assert snapshot.status == FAILED and snapshot.error_kind == "redirect"
    assert "302 redirect refused" in snapshot.error
    assert not seen.outcome.retryable
    assert elsewhere.connections == 0 and elsewhere.requests == []
    assert seen.seconds < 10
    check_nothing_half_written(cluster, before)
    record(results, len(CASES) + (0 if target == "/version" else 1), f"redirect-{target}",
           "302 redirect to another host (a listener there records any request)",
           f"{target} {'request' if target == '/version' else 'list'}", snapshot,
           snapshot.error + " The other host received no connection.", seen.outcome,
           seen.seconds, 10)


def test_the_listener_would_have_caught_a_followed_redirect(emulate):
    """The redirect test can fail: a client that follows the redirect reaches the listener
    and hands it the token."""
    import urllib3

    emulator = emulate("typical")
    with listen(emulator.identity.ca) as elsewhere:
        emulator.set_fault("redirect", location=f"{elsewhere.url}/steal", path="/version")
        pool = urllib3.PoolManager(ca_cert_data=emulator.ca_pem, cert_reqs="CERT_REQUIRED")
        pool.request("GET", f"{emulator.url}/version", redirect=True,
                     headers={"Authorization": f"Bearer {emulator.token}"},
                     retries=urllib3.Retry(redirect=1, remove_headers_on_redirect=[]))
        pool.clear()
    assert elsewhere.connections == 1
    assert f"Bearer {emulator.token}".encode() in elsewhere.requests[0]


@pytest.mark.parametrize(("key", "years"), [("clock-ahead", 80), ("clock-behind", -50)])
def test_a_clock_far_off_gives_sane_ages_and_the_same_eol(emulate, results, key, years):
    """The cluster's clock is decades off: node ages stay non-negative, EOL follows Posture's
    own date, and nothing crashes."""
    normal = register(emulate("neglected"), "normal")
    now = datetime.now(UTC) + timedelta(days=365 * years)
    skewed_emulator = Emulator(load_scenario("neglected"), now=now)
    try:
        skewed = register(skewed_emulator, "skewed")
        started = time.monotonic()
        outcome = poll(skewed.pk, opts=FAST)
        seconds = time.monotonic() - started
    finally:
        skewed_emulator.stop()
    reference = poll(normal.pk, opts=FAST).snapshot
    snapshot = outcome.snapshot
    assert snapshot.status == OK, snapshot.error

    def findings(cluster, prefix: str) -> set[tuple[str, str]]:
        return set(Finding.objects.filter(cluster=cluster, check_id__startswith=prefix)
                   .values_list("check_id", "name"))

    eol = ("version.", "node.os-eol", "node.runtime-eol", "node.kernel-old")
    for prefix in eol:
        assert findings(skewed, prefix) == findings(normal, prefix), prefix
    ages = [f.evidence["age_days"] for f in Finding.objects.filter(
        cluster=skewed, check_id="node.not-rotated")]
    assert all(age > 0 for age in ages)
    if years > 0:
        assert ages == []  # nodes "created" in the future are not old
    else:
        assert len(ages) == snapshot.node_count and min(ages) > 365 * 40
    assert snapshot.node_summary["oldest_node_created"][:4] == str(
        (now - timedelta(days=1020)).year)
    assert snapshot.score is not None and reference.score is not None
    direction = "ahead" if years > 0 else "behind"
    says = ("every resource read; end-of-life findings as with a right clock; "
            + ("no node counted old (ages would be negative)" if years > 0 else
               f"all {snapshot.node_count} nodes over the age limit"))
    record(results, len(CASES) + 2 + (0 if years > 0 else 1), key,
           f"cluster clock {abs(years)} years {direction} (all timestamps)", "every object",
           snapshot, says, outcome, seconds, 10)


@pytest.fixture
def celery_worker_thread(settings):
    """A Celery worker thread on this run's Redis queue, with quick retries and timeouts."""
    from celery.contrib.testing.worker import start_worker

    from posture.site.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    settings.POSTURE_POLL_RETRY_SECONDS = 0
    settings.POSTURE_POLL_CONNECT_TIMEOUT = 2
    settings.POSTURE_POLL_READ_TIMEOUT = 1
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


def test_a_worker_goes_on_after_each_fault(celery_worker_thread, emulate, healthy, results):
    from posture.domain.polling_tasks import MAX_RETRIES, poll_cluster

    faults = {"truncated": {}, "stall": {"seconds": 30}, "reset": {},
              "redirect": {"location": "https://127.0.0.2:9/elsewhere"}}
    faulty = {}
    for kind, params in faults.items():
        emulator = emulate("typical")
        emulator.set_fault(kind, resource="pods", **params)
        faulty[kind] = register(emulator, f"faulty-{kind}")
    calm = register(healthy, "healthy")
    started = time.monotonic()
    for cluster in faulty.values():
        poll_cluster.delay(cluster.pk)
    poll_cluster.delay(calm.pk)

    def settled() -> bool:
        done = Snapshot.objects.exclude(status=SnapshotStatus.RUNNING)
        retried = done.filter(cluster__in=[faulty[k] for k in ("truncated", "stall", "reset")])
        return (retried.count() == 3 * (MAX_RETRIES + 1) and done.filter(
            cluster=faulty["redirect"]).exists() and done.filter(cluster=calm).exists())

    deadline = time.monotonic() + 60
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert settled()
    assert Snapshot.objects.get(cluster=calm).status == OK
    kinds = {k: set(Snapshot.objects.filter(cluster=c).values_list("error_kind", flat=True))
             for k, c in faulty.items()}
    assert kinds == {"truncated": {"protocol"}, "stall": {"timeout"}, "reset": {"network"},
                     "redirect": {"redirect"}}
    assert not Snapshot.objects.filter(status=SnapshotStatus.RUNNING).exists()
    results.add("fault", "worker-goes-on", len(CASES) + 4,
                fault="a truncated page, a stall, a reset and a redirect, then a healthy "
                      "cluster, through a real Celery worker", target="pods lists",
                status="failed, then ok", error_kind="",
                says=f"each fault's poll failed with its own kind; the transient ones were "
                     f"retried {MAX_RETRIES} times, the redirect not at all; the worker then "
                     "polled the healthy cluster: ok", retried="as the row says",
                bound_s=60, duration_ms=round((time.monotonic() - started) * 1000))
