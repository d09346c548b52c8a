"""Pod Security Admission per namespace: recorded with each poll, shown for every namespace."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.checks.inventory import Coverage, empty_inventory
from posture.checks.namespaces import pod_security
from posture.domain.models import ClusterDay, Snapshot
from posture.domain.polling import poll
from tests.emulated import register

pytestmark = pytest.mark.django_db

ROOT_POD = {"metadata": {}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}}
PRIVILEGED_POD = {"metadata": {}, "spec": {"containers": [
    {"name": "app", "image": "app:1", "securityContext": {"privileged": True}}]}}
RESTRICTED_POD = {"metadata": {}, "spec": {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "app", "image": "app:1", "securityContext": {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}


def _inventory(namespaces, workloads, pods_read=True):
    inventory = empty_inventory()
    inventory["namespaces"] = [{"metadata": {"name": n, "labels": labels}}
                               for n, labels in namespaces.items()]
    inventory["workloads"] = [
        {"kind": "Deployment", "namespace": ns, "name": name, "labels": {}, "template": t,
         "pods": 1} for ns, name, t in workloads]
    for resource in ("namespaces", "pods"):
        state = "read" if pods_read or resource == "namespaces" else "forbidden"
        inventory["coverage"][resource] = Coverage(state=state, message="", count=0)
    return inventory


def test_labels_and_the_level_met_are_recorded_per_namespace():
    found = pod_security(_inventory(
        {"web": {"pod-security.kubernetes.io/enforce": "baseline",
                 "pod-security.kubernetes.io/enforce-version": "v1.30",
                 "pod-security.kubernetes.io/warn": "restricted",
                 "app": "not kept"},
         "batch": {}, "empty": {}, "ops": {"pod-security.kubernetes.io/audit": "restricted",
                                           "pod-security.kubernetes.io/audit-version": "v1.29"}},
        [("web", "a", RESTRICTED_POD), ("web", "b", RESTRICTED_POD),
         ("batch", "c", RESTRICTED_POD), ("batch", "d", ROOT_POD),
         ("ops", "e", PRIVILEGED_POD)]))
    assert found["web"] == {"enforce": "baseline", "enforce-version": "v1.30",
                            "warn": "restricted", "meets": "restricted", "version": "v1.30",
                            "workloads": 2}
    assert found["batch"]["meets"] == "baseline" and "enforce" not in found["batch"]
    assert found["ops"]["meets"] == "privileged"
    assert found["ops"]["audit-version"] == "v1.29"
    # No workload: nothing would be refused at any level.
    assert found["empty"]["meets"] == "restricted" and found["empty"]["workloads"] == 0


def test_unread_pods_leave_the_level_met_unknown():
    found = pod_security(_inventory({"web": {}}, [("web", "a", ROOT_POD)], pods_read=False))
    assert found == {"web": {}}


def _table(page: str) -> dict[str, dict[str, str]]:
    table = page[page.index('id="pss-table"'):]
    table = table[:table.index("</table>")]
    rows = {}
    for row in re.finditer(r'<tr data-namespace="([^"]*)" data-enforced="([^"]*)" '
                           r'data-met="([^"]*)">(.*?)</tr>', table, re.S):
        shown = unescape(re.sub(r"<[^>]+>", "", row[4]))
        rows[unescape(row[1])] = {"enforced": row[2], "met": row[3], "html": shown}
    return rows


@pytest.mark.parametrize("scenario", ["well-kept", "typical"])
def test_every_namespace_of_a_polled_cluster_shows_its_recorded_levels(
        scenario, emulate, alice, as_alice):
    cluster = register(emulate(scenario), scenario)
    cluster.owners.add(alice)
    taken = poll(cluster.pk).snapshot
    assert isinstance(taken.pod_security, dict) and taken.pod_security, taken.pod_security
    page = as_alice.get(reverse("clusters:detail", args=[cluster.pk])).content.decode()
    assert "level not recorded" not in page
    rows = _table(page)
    assert set(rows) == set(taken.pod_security)
    for name, row in rows.items():
        assert row["enforced"] in ("privileged", "baseline", "restricted"), name
        assert row["met"] in ("privileged", "baseline", "restricted"), name
    if scenario == "well-kept":
        assert all(r["enforced"] == "restricted" and r["met"] == "restricted"
                   for r in rows.values())
        assert "kubectl label" not in page
    else:
        assert rows["backend"]["enforced"] == "restricted"
        assert rows["frontend"]["enforced"] == "baseline"
        assert "v1.34" in rows["frontend"]["html"] and "warn restricted" in rows["frontend"]["html"]
        assert rows["jobs"]["enforced"] == "privileged"
        for name, entry in taken.pod_security.items():
            assert rows[name]["enforced"] == entry.get("enforce", "privileged")
            assert rows[name]["met"] == entry["meets"]
        safe = [name for name, r in rows.items()
                if ("privileged", "baseline", "restricted").index(r["met"])
                > ("privileged", "baseline", "restricted").index(r["enforced"])]
        assert safe, "the typical cluster has a namespace that could enforce more"
        for name in safe:
            level = rows[name]["met"]
            assert (f"kubectl label --overwrite ns {name} "
                    f"pod-security.kubernetes.io/enforce={level}") in rows[name]["html"]


def test_an_unchanged_repoll_writes_only_its_snapshot_row(emulate, alice):
    cluster = register(emulate("typical"), "typical")
    poll(cluster.pk)
    with CaptureQueriesContext(connection) as queries:
        again = poll(cluster.pk).snapshot
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    tables = {re.search(r'(?:INTO|UPDATE|FROM)\s+"?(\w+)"?', sql)[1] for sql in writes}
    # The rollups follow the snapshot: the cluster's current row and today's row are written
    # over, and no row is added for an unchanged cluster polled again the same day.
    assert tables <= {"posture_snapshot", "clusters_cluster", "posture_clustercurrent",
                      "posture_clusterday"}, tables
    assert ClusterDay.objects.filter(cluster=cluster).count() == 1
    first = Snapshot.objects.filter(cluster=cluster).order_by("taken_at").first()
    assert again.pod_security == first.pod_security


def test_a_hostile_namespace_name_is_quoted_and_shown_visible(alice, as_alice):
    from tests.factories import ClusterFactory
    from tests.posture.snapshot_factories import snapshot

    cluster = ClusterFactory(name="hostile", owners=[alice])
    name = "x; rm -rf /\u202e"
    snapshot(cluster, timezone.now(), pod_security={name: {"meets": "restricted", "version": "v1.34",
                                           "workloads": 0}})
    page = as_alice.get(reverse("clusters:detail", args=[cluster.pk])).content.decode()
    assert "\u202e" not in page
    assert "kubectl label --overwrite ns &#x27;x; rm -rf /\\u202e&#x27;" in page


def test_trends_chart_namespaces_enforcing_each_level_per_day(alice, as_alice):
    from datetime import timedelta

    from tests.factories import ClusterFactory
    from tests.posture.snapshot_factories import snapshot

    cluster = ClusterFactory(name="trending", owners=[alice])
    now = timezone.now()
    snapshot(cluster, now - timedelta(days=3))  # recorded before the labels were kept
    snapshot(cluster, now - timedelta(days=2), pod_security={
        "a": {}, "b": {"enforce": "baseline"}, "c": {"enforce": "restricted"}})
    snapshot(cluster, now - timedelta(days=1), pod_security={
        "a": {"enforce": "restricted"}, "b": {"enforce": "baseline"},
        "c": {"enforce": "restricted"}, "d": {"enforce": "not-a-level"}})
    page = as_alice.get(reverse("clusters:trends", args=[cluster.pk])).content.decode()
    assert 'id="figure-pss-enforcement"' in page
    from posture.web.dashboard import trends

    chart = next(c for c in trends.charts(cluster, now, 30) if c.key == "pss-enforcement")
    assert [row[1:] for row in chart.table.rows] == [(1, 1, 1), (0, 1, 3)]
    assert chart.empty == ""
