"""The frameworks pages, their CSV and API: one cluster's controls, and the visible fleet's."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clusters.models import Cluster
from posture.checks import CATALOG
from posture.checks.frameworks.data import framework
from posture.domain.models import CheckSet, RiskAcceptance
from posture.domain.polling import poll
from posture.web.api.auth import create_token
from posture.web.exports import FRAMEWORK_COLUMNS
from tests.emulated import register
from tests.posture.snapshot_factories import finding, snapshot
from tests.posture.test_api import validate

pytestmark = pytest.mark.django_db

CIS = framework("cis")
NSA = framework("nsa")
PRIVILEGED = "workload.privileged"  # CIS 5.2.2; NSA pod-security.enforcement
ADMIN = "access.cluster-admin-binding"  # CIS 5.1.1


def _polled(cluster: Cluster, *, hours_ago: int = 1, **fields):
    return snapshot(cluster, timezone.now() - timedelta(hours=hours_ago), **fields)


def _row(html: str, control_id: str) -> str:
    start = html.index(f'data-control="{control_id}"')
    return html[start:html.index("</tr>", start)]


def _cluster_page(client: Client, cluster: Cluster, fw: str = "cis") -> str:
    response = client.get(reverse("clusters:framework", args=[cluster.pk, fw]))
    assert response.status_code == 200
    return response.content.decode()


def _csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


# --- One cluster ------------------------------------------------------------------------------


def test_a_finding_fails_its_control_and_the_page_links_to_it(cluster_a, as_alice):
    snap = _polled(cluster_a)
    row = finding(cluster_a, snap, PRIVILEGED, name="web")
    html = _cluster_page(as_alice, cluster_a)
    failed = _row(html, "5.2.2")
    assert 'data-status="failed"' in failed
    assert f'href="/findings/{row.pk}/"' in failed
    assert f'#check-{PRIVILEGED.replace(".", "-")}' in failed  # the checklist's group
    assert 'data-status="passed"' in _row(html, "5.1.1")
    assert 'data-status="not_checkable"' in _row(html, "1.2")
    assert "The API does not report its own flags" in _row(html, "1.2")
    assert snap.checkset_version in html and snap.taken_at.strftime("%Y-%m-%d %H:%M") in html


def test_counts_cover_every_control_once(cluster_a, as_alice):
    snap = _polled(cluster_a)
    finding(cluster_a, snap, PRIVILEGED)
    finding(cluster_a, snap, ADMIN, kind="ClusterRoleBinding", namespace="", name="ops")
    html = _cluster_page(as_alice, cluster_a)
    counts = dict(re.findall(r'<li data-status="(\w+)">.*?<strong class="count">(\d+)</strong>',
                             html))
    assert sum(map(int, counts.values())) == len(CIS.controls)
    assert counts["failed"] == "2"
    assert counts["not_checkable"] == str(sum(1 for c in CIS.controls if c.not_checkable))


def test_a_check_that_could_not_run_leaves_its_controls_not_evaluated_with_why(cluster_a,
                                                                               as_alice):
    snap = _polled(cluster_a, finding_counts={"not_evaluated": {
        ADMIN: "forbidden: cannot list clusterrolebindings <b>"}})
    # Still open from an earlier poll: this poll could not confirm it, so it fails nothing.
    finding(cluster_a, snap, ADMIN, kind="ClusterRoleBinding", namespace="", name="ops")
    row = _row(_cluster_page(as_alice, cluster_a), "5.1.1")
    assert 'data-status="not_evaluated"' in row
    assert "cannot list clusterrolebindings &lt;b&gt;" in row


def test_a_check_missing_from_the_polls_check_set_did_not_run(cluster_a, as_alice):
    CheckSet.objects.create(version="older", checks=[c for c in CATALOG if c != ADMIN])
    _polled(cluster_a, checkset_version="older",
            finding_counts={"not_evaluated": {}, "disabled": []})
    row = _row(_cluster_page(as_alice, cluster_a), "5.1.1")
    assert 'data-status="not_evaluated"' in row and "did not run" in row


def test_a_poll_whose_check_set_was_never_stored_counts_as_todays_catalog(cluster_a, as_alice):
    _polled(cluster_a, checkset_version="before-check-sets-were-kept",
            finding_counts={"not_evaluated": {}, "disabled": []})
    assert 'data-status="passed"' in _row(_cluster_page(as_alice, cluster_a), "5.1.1")


def test_a_check_the_policy_switched_off_says_so(cluster_a, as_alice):
    _polled(cluster_a, finding_counts={"not_evaluated": {}, "disabled": [ADMIN]})
    assert "switched off by the policy" in _row(_cluster_page(as_alice, cluster_a), "5.1.1")


def test_accepted_risks_and_platform_findings_are_set_apart_and_fail_nothing(cluster_a,
                                                                           as_alice, alice):
    snap = _polled(cluster_a)
    finding(cluster_a, snap, PRIVILEGED, name="legacy")
    finding(cluster_a, snap, PRIVILEGED, kind="DaemonSet", namespace="kube-system",
            name="kube-proxy")
    RiskAcceptance.objects.create(cluster=cluster_a, check_id=PRIVILEGED, namespace="default",
                                  name_pattern="legacy", reason="migrating", created_by=alice,
                                  expires_at=timezone.now() + timedelta(days=5))
    row = _row(_cluster_page(as_alice, cluster_a), "5.2.2")
    assert 'data-status="passed"' in row
    assert "2 set apart" in row
    assert '<span class="tag">accepted risk</span>' in row
    assert '<span class="tag">platform-managed</span>' in row


def test_resolved_findings_fail_nothing(cluster_a, as_alice):
    first = _polled(cluster_a, hours_ago=3)
    later = _polled(cluster_a)
    finding(cluster_a, first, PRIVILEGED, resolved=later)
    assert 'data-status="passed"' in _row(_cluster_page(as_alice, cluster_a), "5.2.2")


def test_a_cluster_never_polled_says_so(cluster_a, as_alice):
    for url in (reverse("clusters:frameworks", args=[cluster_a.pk]),
                reverse("clusters:framework", args=[cluster_a.pk, "nsa"])):
        assert 'id="frameworks-not-polled"' in as_alice.get(url).content.decode()


def test_the_index_lists_both_frameworks_with_failed_controls(cluster_a, as_alice):
    snap = _polled(cluster_a)
    finding(cluster_a, snap, PRIVILEGED)
    html = as_alice.get(reverse("clusters:frameworks", args=[cluster_a.pk])).content.decode()
    assert 'id="framework-cis"' in html and 'id="framework-nsa"' in html
    assert "#control-5-2-2" in html and "#control-pod-security-enforcement" in html


def test_cluster_pages_link_here(cluster_a, as_alice):
    html = as_alice.get(reverse("clusters:detail", args=[cluster_a.pk])).content.decode()
    assert f'href="{reverse("clusters:frameworks", args=[cluster_a.pk])}" id="open-frameworks"' \
        in html
    assert f'href="{reverse("frameworks")}" id="nav-frameworks"' in html
    html = _cluster_page(as_alice, cluster_a)
    assert 'id="nav-clusters" aria-current="page"' in html
    assert 'id="nav-frameworks" aria-current' not in html


@pytest.mark.parametrize("name", ["frameworks", "framework", "framework-csv"])
def test_access_to_a_clusters_pages(name, cluster_a, as_alice, as_bob, as_sam, anon):
    _polled(cluster_a)
    args = [cluster_a.pk] if name == "frameworks" else [cluster_a.pk, "cis"]
    url = reverse(f"clusters:{name}", args=args)
    assert as_alice.get(url).status_code == 200
    assert as_sam.get(url).status_code == 200
    assert as_bob.get(url).status_code == 404
    response = anon.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_unknown_framework_or_control_is_404(cluster_a, as_alice):
    assert as_alice.get(reverse("clusters:framework", args=[cluster_a.pk, "pci"])
                        ).status_code == 404
    assert as_alice.get(reverse("framework", args=["pci"])).status_code == 404
    assert as_alice.get(reverse("framework-control", args=["cis", "9.9.9"])).status_code == 404
    assert as_alice.get(reverse("api:framework", args=["pci"])).status_code == 404


# --- CSV --------------------------------------------------------------------------------------


def test_cluster_csv_has_a_row_per_control_and_defuses_formulas(alice, as_alice):
    cluster = Cluster.objects.create(name="=HYPERLINK(\"http://x\")")
    cluster.owners.add(alice)
    snap = _polled(cluster, finding_counts={"not_evaluated": {ADMIN: "=cmd|' /C calc'!A0"}})
    finding(cluster, snap, PRIVILEGED)
    finding(cluster, snap, PRIVILEGED, name="api")
    response = as_alice.get(reverse("clusters:framework-csv", args=[cluster.pk, "cis"]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="posture-_HYPERLINK__http___x__-cis.csv"' in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert list(rows[0]) == list(FRAMEWORK_COLUMNS)
    assert [r["control"] for r in rows] == [c.id for c in CIS.controls]
    by_id = {r["control"]: r for r in rows}
    assert by_id["5.2.2"]["status"] == "failed" and by_id["5.2.2"]["findings"] == "2"
    assert by_id["5.2.2"]["checks"] == PRIVILEGED
    assert all(r["cluster"].startswith("'=") for r in rows)
    assert by_id["5.1.1"]["reason"].startswith(f"{ADMIN}: =cmd")  # not at the cell's start
    assert by_id["5.1.1"]["as_of"] == snap.taken_at.isoformat()


def test_fleet_csv_has_a_row_per_control_and_visible_cluster(cluster_a, cluster_b, as_alice,
                                                             as_sam):
    _polled(cluster_a)
    _polled(cluster_b)
    rows = _csv_rows(as_sam.get(reverse("framework-csv", args=["nsa"])))
    assert len(rows) == 2 * len(NSA.controls)
    rows = _csv_rows(as_alice.get(reverse("framework-csv", args=["nsa"])))
    assert {r["cluster"] for r in rows} == {cluster_a.name}


# --- The fleet --------------------------------------------------------------------------------


def test_fleet_counts_clusters_per_control_and_drills_down_to_the_failing(cluster_a, cluster_b,
                                                                           as_sam):
    finding(cluster_a, _polled(cluster_a), PRIVILEGED)
    _polled(cluster_b)
    never = Cluster.objects.create(name="fresh")
    html = as_sam.get(reverse("framework", args=["cis"])).content.decode()
    row = _row(html, "5.2.2")
    assert re.search(r'<td class="failed"><a [^>]+><strong>1</strong>', row)
    assert '<td class="passed">1</td>' in row
    assert '<td class="passed">2</td>' in _row(html, "5.1.1")
    assert "The API does not report its own flags" in _row(html, "1.2")
    assert "fresh" in html and "2 clusters assessed" in html
    drill = as_sam.get(reverse("framework-control", args=["cis", "5.2.2"])).content.decode()
    failing = drill[drill.index('id="failing-clusters"'):]
    assert cluster_a.name in failing and cluster_b.name not in failing and never.name not in \
        failing
    assert f'{reverse("clusters:framework", args=[cluster_a.pk, "cis"])}#control-5-2-2' \
        in failing


def test_fleet_control_lists_clusters_where_it_could_not_be_evaluated(cluster_a, as_sam):
    _polled(cluster_a, finding_counts={"not_evaluated": {ADMIN: "forbidden"}})
    html = as_sam.get(reverse("framework-control", args=["cis", "5.1.1"])).content.decode()
    assert 'id="unevaluated-clusters"' in html and "forbidden" in html


def test_owners_see_only_their_clusters_on_the_fleet_pages(cluster_a, cluster_b, as_bob,
                                                           anon):
    finding(cluster_a, _polled(cluster_a), PRIVILEGED)
    _polled(cluster_b)
    for url in (reverse("frameworks"), reverse("framework", args=["cis"]),
                reverse("framework-control", args=["cis", "5.2.2"])):
        html = as_bob.get(url).content.decode()
        assert f"<bdi>{cluster_a.name}</bdi>" not in html, url
        assert anon.get(url).status_code == 302
    html = as_bob.get(reverse("framework", args=["cis"])).content.decode()
    assert '<td class="failed">0</td>' in _row(html, "5.2.2")
    assert 'id="no-failing-clusters"' in as_bob.get(
        reverse("framework-control", args=["cis", "5.2.2"])).content.decode()


def test_fleet_nav_marks_the_page(as_sam):
    html = as_sam.get(reverse("frameworks")).content.decode()
    assert 'id="nav-frameworks" aria-current="page"' in html


def _fleet_of(count: int, prefix: str) -> None:
    for i in range(count):
        cluster = Cluster.objects.create(name=f"{prefix}-{i}")
        snap = _polled(cluster)
        finding(cluster, snap, PRIVILEGED, name=f"w{i}")
        finding(cluster, snap, ADMIN, kind="ClusterRoleBinding", namespace="", name=f"b{i}")


@pytest.mark.parametrize("url", [
    reverse("frameworks"),
    reverse("framework", args=["cis"]),
    reverse("framework-control", args=["nsa", "pod-security.enforcement"]),
    reverse("framework-csv", args=["cis"]),
    reverse("api:framework", args=["nsa"]),
])
def test_fleet_query_count_does_not_grow_with_the_fleet(url, as_sam,
                                                        django_assert_max_num_queries):
    _fleet_of(2, "few")
    with CaptureQueriesContext(connection) as small:
        response = as_sam.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    _fleet_of(20, "many")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = as_sam.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    # Session, user and groups, then clusters, findings, acceptances and the policy (per
    # framework on the index).
    assert len(small.captured_queries) <= 12


def test_cluster_page_query_count_does_not_grow_with_findings(cluster_a, as_alice,
                                                             django_assert_max_num_queries):
    snap = _polled(cluster_a)
    finding(cluster_a, snap, PRIVILEGED)
    url = reverse("clusters:framework", args=[cluster_a.pk, "cis"])
    with CaptureQueriesContext(connection) as small:
        as_alice.get(url)
    for i in range(30):
        finding(cluster_a, snap, PRIVILEGED, name=f"w{i}")
        finding(cluster_a, snap, ADMIN, kind="ClusterRoleBinding", namespace="", name=f"b{i}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        as_alice.get(url)


# --- API --------------------------------------------------------------------------------------


def test_cluster_api_answers_the_pages_figures_and_validates(cluster_a, as_alice):
    snap = _polled(cluster_a)
    for i in range(30):
        finding(cluster_a, snap, PRIVILEGED, name=f"w{i:02}")
    body = as_alice.get(reverse("api:cluster-framework", args=[cluster_a.pk, "cis"])).json()
    validate(body, "/api/v1/clusters/{pk}/frameworks/{framework}/")
    assert body["snapshot"] == {"id": snap.pk, "taken_at": snap.taken_at.isoformat(),
                                "checkset_version": snap.checkset_version}
    html = _cluster_page(as_alice, cluster_a)
    shown = dict(re.findall(r'<li data-status="(\w+)">.*?<strong class="count">(\d+)</strong>',
                            html))
    assert {k: str(v) for k, v in body["counts"].items()} == shown
    control = next(c for c in body["controls"] if c["id"] == "5.2.2")
    assert control["status"] == "failed" and control["findings_count"] == 30
    assert len(control["findings"]) == 25 and control["findings_truncated"] is True
    assert control["findings"][0]["name"] == "w00"


def test_cluster_api_of_a_cluster_never_polled_is_empty(cluster_a, as_alice):
    body = as_alice.get(reverse("api:cluster-framework", args=[cluster_a.pk, "nsa"])).json()
    validate(body, "/api/v1/clusters/{pk}/frameworks/{framework}/")
    assert body["snapshot"] is None and body["controls"] == []


def test_api_access_follows_the_pages(cluster_a, cluster_b, alice, as_bob, anon):
    finding(cluster_a, _polled(cluster_a), PRIVILEGED)
    url = reverse("api:cluster-framework", args=[cluster_a.pk, "cis"])
    assert as_bob.get(url).status_code == 404
    assert anon.get(url).status_code == 401
    _, token = create_token(alice, "ci")
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    fleet = Client().get(reverse("api:framework", args=["cis"]),
                         HTTP_AUTHORIZATION=f"Bearer {token}").json()
    validate(fleet, "/api/v1/frameworks/{framework}/")
    control = next(c for c in fleet["controls"] if c["id"] == "5.2.2")
    assert control["clusters"]["failed"] == 1
    assert control["failed_clusters"] == [{"id": cluster_a.pk, "name": cluster_a.name,
                                           "findings": 1}]
    body = as_bob.get(reverse("api:framework", args=["cis"])).json()
    assert body["clusters_assessed"] == 0 and body["clusters_not_polled"] == [
        {"id": cluster_b.pk, "name": cluster_b.name}]


# --- The report -------------------------------------------------------------------------------


def test_reports_show_each_frameworks_counts_and_failed_controls(cluster_a, as_alice):
    finding(cluster_a, _polled(cluster_a), PRIVILEGED)
    for url in (reverse("clusters:report", args=[cluster_a.pk]), reverse("fleet-report")):
        html = as_alice.get(url).content.decode()
        section = html[html.index('class="report-frameworks"'):]
        cis = section[section.index('data-framework="cis"'):]
        assert "Failed: <strong>1</strong>" in cis
        assert '<span class="mono">5.2.2</span>' in cis
        assert '<span class="mono">pod-security.enforcement</span>' in section


def test_a_report_of_a_cluster_never_polled_has_no_frameworks_section(cluster_a, as_alice):
    html = as_alice.get(reverse("clusters:report", args=[cluster_a.pk])).content.decode()
    assert "report-frameworks" not in html


# --- A real poll ------------------------------------------------------------------------------


def test_a_polled_cluster_records_its_checks_and_the_pages_agree(emulate, alice, as_alice):
    cluster = register(emulate("neglected"), "neglected")
    cluster.owners.add(alice)
    poll(cluster.pk)
    latest = cluster.snapshots.get()
    # The catalog is stored once per check-set version, not on each snapshot.
    assert CheckSet.objects.get(version=latest.checkset_version).checks == sorted(CATALOG)
    assert "evaluated" not in latest.finding_counts
    body = as_alice.get(reverse("api:cluster-framework", args=[cluster.pk, "cis"])).json()
    validate(body, "/api/v1/clusters/{pk}/frameworks/{framework}/")
    assert sum(body["counts"].values()) == len(CIS.controls)
    assert body["counts"]["failed"] > 0
    html = _cluster_page(as_alice, cluster)
    for c in body["controls"]:
        assert f'data-status="{c["status"]}"' in _row(html, c["id"]), c["id"]
