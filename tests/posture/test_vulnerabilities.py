"""Storing vulnerabilities per image: from a real poll, diffed by identity, bounded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clusters import collector, kube
from posture.checks.trivy import scan
from posture.domain import vulnerabilities
from posture.domain.models import Image, ImageVulnerability, ImageWorkload, SnapshotStatus
from posture.domain.polling import poll
from tests.checks.test_trivy import report, vuln
from tests.emulated import register
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import snapshot

pytestmark = pytest.mark.django_db

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=5), deadline_seconds=30)
_TABLES = ("posture_image", "posture_imageworkload", "posture_imagevulnerability")
BILLING = "index.docker.io/jsmith42/billing-svc:latest"


def writes(queries) -> list[str]:
    """Return the statements that wrote to the vulnerability tables."""
    return [q["sql"] for q in queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and any(f'"{t}"' in q["sql"] for t in _TABLES)]


def test_a_poll_stores_each_image_once_with_every_workload_that_runs_it(emulate):
    cluster = register(emulate("neglected"), "neglected")
    snap = poll(cluster.pk, opts=FAST).snapshot
    assert snap.status == SnapshotStatus.OK, snap.error
    images = list(Image.objects.filter(cluster=cluster).order_by("rank"))
    assert [i.ref for i in images] == [BILLING, "index.docker.io/library/wordpress:latest",
                                       "index.docker.io/library/mysql:5.7"]
    billing = images[0]
    assert [(w.kind, w.namespace, w.name, w.container) for w in billing.workloads.all()] == [
        ("Deployment", "legacy-app", "billing", "billing"),
        ("Deployment", "legacy-app", "billing-worker", "worker")]
    # 12 CVEs in the image, stored once although two workloads run it.
    assert billing.vulnerabilities.count() == 12 == billing.stored
    assert billing.count("critical") == {"total": 6, "fixable": 4}
    assert billing.count("high") == {"total": 3, "fixable": 2}
    log4j = billing.vulnerabilities.get(vulnerability_id="CVE-2021-44228")
    assert (log4j.package, log4j.installed_version, log4j.fixed_version, log4j.severity,
            log4j.score, log4j.link) == (
        "org.apache.logging.log4j:log4j-core", "2.14.1", "2.15.0", "critical", 10.0,
        "https://avd.aquasec.com/nvd/cve-2021-44228")
    assert log4j.first_seen == snap and log4j.resolved_at is None


@pytest.mark.threat('Polling the same cluster again and again fills the database',
                     'Vulnerabilities are diffed by identity per image: an unchanged re-poll writes no vulnerability row')
def test_an_unchanged_repoll_writes_no_vulnerability_rows(emulate):
    cluster = register(emulate("neglected"), "neglected")
    poll(cluster.pk, opts=FAST)
    before = (Image.objects.count(), ImageWorkload.objects.count(),
              ImageVulnerability.objects.count())
    with CaptureQueriesContext(connection) as queries:
        again = poll(cluster.pk, opts=FAST).snapshot
    assert again.status == SnapshotStatus.OK
    assert writes(queries.captured_queries) == []
    assert (Image.objects.count(), ImageWorkload.objects.count(),
            ImageVulnerability.objects.count()) == before == (3, 4, 30)


def test_an_upgrade_resolves_the_old_image_and_its_cves(emulate):
    emulator = emulate("well-kept")
    cluster = register(emulator, "well-kept")
    emulator.set_day(-20)
    poll(cluster.pk, opts=FAST, taken_at=timezone.now() - timedelta(days=20))
    old = Image.objects.get(cluster=cluster, tag="2.14.3")
    assert old.vulnerabilities.filter(resolved_at__isnull=True).count() == 3
    emulator.set_day(0)
    later = poll(cluster.pk, opts=FAST).snapshot
    old.refresh_from_db()
    assert old.resolved_in == later and not old.workloads.exists()
    assert not old.vulnerabilities.filter(resolved_at__isnull=True).exists()
    new = Image.objects.get(cluster=cluster, tag="2.15.0", resolved_at__isnull=True)
    assert new.ref.endswith("@sha256:8df4094072f1c4392f713b467c5890a6552041ceb0656b186417fd7cbf4f6feb")
    assert list(new.vulnerabilities.values_list("vulnerability_id", flat=True)) == [
        "CVE-2023-42363"]


def _record(cluster, *reports, day=0):
    snap = snapshot(cluster, timezone.now() - timedelta(days=10 - day))
    vulnerabilities.record(snap, scan(list(reports)))
    return snap


def test_a_published_fix_updates_the_row_and_a_vanished_cve_is_resolved():
    cluster = ClusterFactory()
    first = _record(cluster, report("r", "Pod", "p", "c", vuln("CVE-1"), vuln("CVE-2")))
    row = ImageVulnerability.objects.get(vulnerability_id="CVE-1")
    with CaptureQueriesContext(connection) as queries:
        second = _record(cluster, report("r", "Pod", "p", "c", vuln("CVE-1", fixed="1.1.1w")),
                         day=1)
    row.refresh_from_db()
    assert (row.pk, row.fixed_version, row.first_seen) == (row.pk, "1.1.1w", first)
    gone = ImageVulnerability.objects.get(vulnerability_id="CVE-2")
    assert gone.resolved_in == second
    image = Image.objects.get()
    assert image.count("critical") == {"total": 1, "fixable": 1}
    # One UPDATE of the image's counts, one resolving CVE-2, one bulk update of CVE-1.
    assert len(writes(queries.captured_queries)) == 3
    # A CVE that comes back after being resolved is a new row, as a reopened finding is.
    _record(cluster, report("r", "Pod", "p", "c", vuln("CVE-1", fixed="1.1.1w"), vuln("CVE-2")),
            day=2)
    assert ImageVulnerability.objects.filter(vulnerability_id="CVE-2").count() == 2


def test_workload_links_follow_the_workloads():
    cluster = ClusterFactory()
    shared = vuln("CVE-1")
    _record(cluster, report("a", "Pod", "a", "c", shared), report("b", "Pod", "b", "c", shared))
    assert ImageWorkload.objects.count() == 2
    _record(cluster, report("a", "Pod", "a", "c", shared), report("z", "Pod", "z", "c", shared),
            day=1)
    assert sorted(ImageWorkload.objects.values_list("name", flat=True)) == ["a", "z"]
    assert ImageVulnerability.objects.count() == 1


def test_reports_not_read_leave_what_is_stored():
    cluster = ClusterFactory()
    _record(cluster, report("a", "Pod", "a", "c", vuln("CVE-1")))
    vulnerabilities.record(snapshot(cluster, timezone.now()), None)
    assert Image.objects.get().resolved_at is None
    assert ImageVulnerability.objects.get().resolved_at is None


def test_storage_is_bounded_per_image_and_per_cluster(monkeypatch):
    monkeypatch.setattr(vulnerabilities, "STORED_PER_IMAGE", 5)
    monkeypatch.setattr(vulnerabilities, "STORED_PER_CLUSTER", 8)
    monkeypatch.setattr(vulnerabilities, "IMAGES_PER_CLUSTER", 2)
    cluster = ClusterFactory()
    many = [vuln(f"CVE-{i:03}", severity="LOW") for i in range(50)]
    _record(cluster, report("a", "Pod", "a", "c", vuln("CVE-X", fixed="2"), *many,
                            repository="worst"),
            report("b", "Pod", "b", "c", *many, repository="second"),
            report("c", "Pod", "c", "c", vuln("CVE-Y", severity="LOW"), repository="third"))
    worst, second = Image.objects.order_by("rank")
    assert (worst.repository, worst.stored, second.repository, second.stored) == (
        "worst", 5, "second", 3)
    assert worst.count("low") == {"total": 50, "fixable": 0}  # counts cover everything read
    assert worst.vulnerabilities.order_by("pk").first().vulnerability_id == "CVE-X"
    assert ImageVulnerability.objects.count() == 8
