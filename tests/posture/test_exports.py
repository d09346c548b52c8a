"""CSV export: visibility, statuses, and no spreadsheet formula can run."""

import csv
import io

import pytest
from django.urls import reverse

from posture.checks.hidden import visible
from posture.web.exports import safe_cell
from tests.posture.test_api import finding, snapshot

pytestmark = pytest.mark.django_db


def rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.threat('Spreadsheet formula injection through exported cluster text',
                     'Cells starting with = + - @ tab or CR get a leading apostrophe')
@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)",
                                     "\t=1", "\r=1"])
def test_formula_cells_are_neutralised(payload):
    assert safe_cell(payload) == "'" + visible(payload)


def test_plain_cells_are_untouched():
    assert safe_cell("web-7d4b") == "web-7d4b" and safe_cell(None) == ""


@pytest.mark.threat('Spreadsheet formula injection through exported cluster text',
                     'Cells starting with = + - @ tab or CR get a leading apostrophe')
def test_cluster_export_neutralises_hostile_names(as_alice, cluster_a):
    snap = snapshot(cluster_a)
    finding(cluster_a, snap, name='=HYPERLINK("http://evil.example","click")',
            message="@cmd|' /C calc'!A0")
    [row] = rows(as_alice.get(reverse("clusters:findings-csv", args=[cluster_a.pk])))
    assert row["name"].startswith("'=")
    assert row["message"].startswith("'@")
    assert row["cluster"] == "cluster-a" and row["status"] == "open"


def test_fleet_export_holds_only_visible_clusters(as_alice, cluster_a, cluster_b):
    finding(cluster_a, snapshot(cluster_a))
    finding(cluster_b, snapshot(cluster_b))
    assert {r["cluster"] for r in rows(as_alice.get(reverse("findings-csv")))} == {"cluster-a"}


def test_other_owners_cluster_export_is_404(as_bob, cluster_a):
    assert as_bob.get(reverse("clusters:findings-csv", args=[cluster_a.pk])).status_code == 404


def test_resolved_rows_only_on_request(as_alice, cluster_a):
    snap = snapshot(cluster_a)
    finding(cluster_a, snap, resolved_at=snap.taken_at, resolved_in=snap)
    url = reverse("clusters:findings-csv", args=[cluster_a.pk])
    assert rows(as_alice.get(url)) == []
    assert [r["status"] for r in rows(as_alice.get(url, {"status": "all"}))] == ["resolved"]
