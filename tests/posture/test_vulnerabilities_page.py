"""The vulnerabilities page, the scorecard's summary, the CSV export and the API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from posture.checks.trivy import scan
from posture.domain import vulnerabilities
from posture.domain.models import Snapshot
from tests.checks.test_trivy import report, vuln
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import snapshot
from tests.posture.test_api import validate

pytestmark = pytest.mark.django_db

READ = {"vulnerabilityreports": {"state": "read", "count": 2, "message": ""}}
ABSENT = {"vulnerabilityreports": {"state": "absent", "count": 0, "message":
                                   "Trivy Operator is not installed (no VulnerabilityReport API)"}}
FORMULA = '=HYPERLINK("http://x.example.invalid","y")'


def record(cluster, *reports, coverage=READ):
    snap = snapshot(cluster, timezone.now() - timedelta(hours=1), coverage=coverage)
    vulnerabilities.record(snap, scan(list(reports)))
    return snap


def shop(cluster):
    """An image run by two workloads with one CVE of each kind, and a second, milder image."""
    mixed = [vuln("CVE-HIGH-FIX", package="curl", severity="HIGH", fixed="8.5", score=7.5),
             vuln("CVE-CRIT-NOFIX", package="zlib1g", score=9.8),
             vuln("CVE-LOW", package="tar", severity="LOW"),
             vuln("CVE-CRIT-FIX", package="libssl3", installed="3.0.11", fixed="3.0.15",
                  score=9.1)]
    return record(cluster,
                  report("replicaset-web-1-app", "ReplicaSet", "web-1", "app", *mixed),
                  report("replicaset-api-2-app", "ReplicaSet", "api-2", "app", *mixed),
                  report("ds", "DaemonSet", "agent", "agent",
                         vuln("CVE-MED", package="busybox", severity="MEDIUM", fixed="1.37"),
                         repository="platform/agent", tag="2.0"))


def test_the_page_ranks_fixable_criticals_first_and_names_the_workloads(as_alice, cluster_a):
    shop(cluster_a)
    response = as_alice.get(reverse("clusters:vulnerabilities", args=[cluster_a.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    order = [html.index(cve) for cve in ("CVE-CRIT-FIX", "CVE-CRIT-NOFIX", "CVE-HIGH-FIX",
                                         "CVE-LOW", "CVE-MED")]
    assert order == sorted(order)
    assert "ghcr.io/shop/web:1.2.3" in html and "ghcr.io/platform/agent:2.0" in html
    assert "<bdi>ReplicaSet</bdi> <bdi>shop</bdi>/<bdi>web-1</bdi> (<bdi>app</bdi>)" in html
    assert "<bdi>ReplicaSet</bdi> <bdi>shop</bdi>/<bdi>api-2</bdi> (<bdi>app</bdi>)" in html
    assert "<bdi>3.0.11</bdi> → <bdi>3.0.15</bdi>" in html and "no fix yet" in html
    # Counted once per image although two workloads run it: 5 in all, 3 fixable.
    assert "5 known vulnerabilities in 2 images: 3 fixable, 2 without a fix yet" in html


def test_filters_narrow_to_fixable_and_to_a_severity(as_alice, cluster_a):
    shop(cluster_a)
    url = reverse("clusters:vulnerabilities", args=[cluster_a.pk])
    fixable = as_alice.get(url, {"fixable": "1"}).content.decode()
    assert "CVE-CRIT-FIX" in fixable and "CVE-CRIT-NOFIX" not in fixable
    high = as_alice.get(url, {"severity": "high"}).content.decode()
    assert "CVE-HIGH-FIX" in high and "CVE-CRIT-FIX" not in high
    assert "platform/agent" not in high  # no high there: the image is left out
    assert as_alice.get(url, {"severity": "bogus", "image": "x"}).status_code == 200


def test_an_image_page_lists_every_cve_it_stored(as_alice, cluster_a, monkeypatch):
    from posture.web.dashboard import vulnerabilities as page

    monkeypatch.setattr(page, "PER_IMAGE", 2)
    shop(cluster_a)
    url = reverse("clusters:vulnerabilities", args=[cluster_a.pk])
    html = as_alice.get(url).content.decode()
    assert "CVE-LOW" not in html and "2 more not listed here" in html
    image = cluster_a.images.get(repository="shop/web")
    assert "CVE-LOW" in as_alice.get(url, {"image": image.pk}).content.decode()


def test_without_trivy_the_page_and_the_scorecard_say_not_evaluated(as_alice, cluster_a):
    snapshot(cluster_a, timezone.now(), coverage=ABSENT)
    for name in ("clusters:vulnerabilities", "clusters:detail"):
        html = as_alice.get(reverse(name, args=[cluster_a.pk])).content.decode()
        assert ("Not evaluated: <bdi>Trivy Operator is not installed (no VulnerabilityReport "
                "API)</bdi>.") in html, name


def test_the_scorecard_shows_totals_and_the_images_to_fix_first(as_alice, cluster_a):
    shop(cluster_a)
    html = as_alice.get(reverse("clusters:detail", args=[cluster_a.pk])).content.decode()
    section = html[html.index('id="vulnerabilities"'):]
    section = section[:section.index("</section>")]
    assert section.index("ghcr.io/shop/web:1.2.3") < section.index("ghcr.io/platform/agent")
    assert ('<bdi>shop</bdi>/<bdi>api-2</bdi></span>, <span class="mono"><bdi>shop</bdi>/'
            '<bdi>web-1</bdi>') in section
    assert reverse("clusters:vulnerabilities", args=[cluster_a.pk]) in section


def test_page_and_scorecard_queries_do_not_grow_with_images(as_sam, django_assert_max_num_queries):
    cluster = ClusterFactory()
    reports = [report(f"r{i}", "Pod", f"p{i}", "c", vuln(f"CVE-{i}"), vuln("CVE-X", fixed="2"),
                      repository=f"team/app-{i}") for i in range(30)]
    record(cluster, *reports)
    with django_assert_max_num_queries(9):
        page = as_sam.get(reverse("clusters:vulnerabilities", args=[cluster.pk]))
    assert page.content.decode().count('class="card vulnerable-image"') == 30
    with django_assert_max_num_queries(9):
        as_sam.get(reverse("api:vulnerabilities", args=[cluster.pk]))
    with django_assert_max_num_queries(9):
        as_sam.get(reverse("clusters:vulnerabilities-csv", args=[cluster.pk])).getvalue()


def test_scorecard_summary_costs_a_fixed_number_of_queries(as_sam, django_assert_num_queries):
    from django.template import Context, Template

    cluster = ClusterFactory()
    record(cluster, *[report(f"r{i}", "Pod", f"p{i}", "c", vuln(f"CVE-{i}"),
                             repository=f"team/app-{i}") for i in range(30)])
    template = Template('{% include "posture/_vulnerabilities.html" %}')
    with django_assert_num_queries(3):  # coverage, images, the shown images' workloads
        html = template.render(Context({"cluster": cluster}))
    assert html.count("title=\"ghcr.io/team/app-") == 5
    assert "Images to fix first (5 of the 30 with known vulnerabilities)" in html
    # On the scorecard page the newest snapshot is at hand: not queried again.

    scorecard = type("Card", (), {"snapshot": Snapshot.objects.latest_successful(cluster)})()
    with django_assert_num_queries(2):
        assert template.render(Context({"cluster": cluster, "scorecard": scorecard})) == html


@pytest.mark.threat('Spreadsheet formula injection through exported cluster text',
                     'Cells starting with = + - @ tab or CR get a leading apostrophe')
def test_csv_has_one_row_per_cve_per_image_and_is_formula_safe(as_alice, cluster_a):
    shop(cluster_a)
    record(cluster_a, report("evil", "Pod", "evil", "c",
                             vuln("CVE-F", package=FORMULA, title="@SUM(1+1)*cmd|' /C calc'!A0",
                                  fixed="-1"),
                             repository="evil/image"))
    response = as_alice.get(reverse("clusters:vulnerabilities-csv", args=[cluster_a.pk]))
    assert response["Content-Disposition"] == (
        'attachment; filename="posture-cluster-a-vulnerabilities.csv"')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    evil = next(r for r in rows if r["vulnerability"] == "CVE-F")
    assert evil["package"] == "'" + FORMULA and evil["title"].startswith("'@")
    assert evil["fixed_version"] == "'-1"
    # The second record replaced the first poll's images: only the evil one is open now.
    assert {r["image"] for r in rows} == {"ghcr.io/evil/image:1.2.3"}
    record(cluster_a, report("a", "Pod", "a", "c", vuln("CVE-1"), vuln("CVE-2", fixed="2")))
    fixable = as_alice.get(reverse("clusters:vulnerabilities-csv", args=[cluster_a.pk]),
                           {"fixable": "1"})
    rows = list(csv.DictReader(io.StringIO(b"".join(fixable.streaming_content).decode())))
    assert [(r["vulnerability"], r["fixable"]) for r in rows] == [("CVE-2", "yes")]


def test_the_api_answers_per_image_as_its_description_says(as_alice, cluster_a):
    shop(cluster_a)
    url = reverse("api:vulnerabilities", args=[cluster_a.pk])
    body = as_alice.get(url).json()
    validate(body, "/api/v1/clusters/{pk}/vulnerabilities/")
    assert body["evaluated"] is True and body["reason"] is None
    web = body["images"][0]
    assert web["ref"] == "ghcr.io/shop/web:1.2.3"
    assert [w["name"] for w in web["workloads"]] == ["api-2", "web-1"]
    assert [v["vulnerability_id"] for v in web["vulnerabilities"]] == [
        "CVE-CRIT-FIX", "CVE-CRIT-NOFIX", "CVE-HIGH-FIX", "CVE-LOW"]
    assert web["counts"]["critical"] == {"total": 2, "fixable": 1}
    first = web["vulnerabilities"][0]
    assert (first["package"], first["installed_version"], first["fixed_version"],
            first["fixable"], first["link"]) == (
        "libssl3", "3.0.11", "3.0.15", True, "https://avd.aquasec.com/nvd/cve-crit-fix")
    only = as_alice.get(url, {"fixable": "true", "severity": "critical"}).json()
    validate(only, "/api/v1/clusters/{pk}/vulnerabilities/")
    assert [v["vulnerability_id"] for i in only["images"] for v in i["vulnerabilities"]] == [
        "CVE-CRIT-FIX"]


def test_the_api_says_why_vulnerabilities_are_not_evaluated(as_alice, as_bob, cluster_a):
    url = reverse("api:vulnerabilities", args=[cluster_a.pk])
    assert as_alice.get(url).json() == {"evaluated": False, "reason": "not polled yet",
                                        "images": []}
    snapshot(cluster_a, timezone.now(), coverage=ABSENT)
    body = as_alice.get(url).json()
    validate(body, "/api/v1/clusters/{pk}/vulnerabilities/")
    assert body["evaluated"] is False and "Trivy Operator is not installed" in body["reason"]
    assert as_bob.get(url).status_code == 404


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_hostile_report_text_is_inert_on_the_page_and_in_the_api(as_alice, cluster_a):
    record(cluster_a, report("r", "Pod", "p", "c",
                             vuln("<script>alert(1)</script>", package="<img src=x onerror=1>",
                                  title="<svg onload=alert(1)>",
                                  primaryLink="javascript:alert(1)"),
                             vuln("CVE-2", primaryLink='https://x.example/"><script>x</script>'),
                             repository="<b>evil</b>"))
    for name in ("clusters:vulnerabilities", "clusters:detail"):
        html = as_alice.get(reverse(name, args=[cluster_a.pk])).content.decode()
        assert "<script>alert(1)</script>" not in html and "<svg onload" not in html
        assert "<b>evil</b>" not in html and "&lt;b&gt;evil&lt;/b&gt;" in html
        assert "javascript:" not in html
    page = as_alice.get(reverse("clusters:vulnerabilities", args=[cluster_a.pk])).content.decode()
    assert 'href="https://x.example/&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page
    body = as_alice.get(reverse("api:vulnerabilities", args=[cluster_a.pk])).json()
    links = {v["vulnerability_id"]: v["link"] for v in body["images"][0]["vulnerabilities"]}
    assert links["<script>alert(1)</script>"] is None


def test_the_checklist_points_vulnerability_findings_at_the_fixable_cves(as_alice, cluster_a):
    from tests.posture.snapshot_factories import finding

    snap = shop(cluster_a)
    finding(cluster_a, snap, "vulnerability.critical", namespace="shop", name="web",
            container="app")
    html = as_alice.get(reverse("clusters:checklist", args=[cluster_a.pk])).content.decode()
    link = reverse("clusters:vulnerabilities", args=[cluster_a.pk]) + "?fixable=1"
    assert f'href="{link}" class="vulnerability-link"' in html


def test_the_summary_leaves_out_clean_images_and_cuts_digests(as_alice, cluster_a):
    digest = "sha256:" + "9e425625aa2a" + "0" * 52
    record(cluster_a, report("a", "Pod", "a", "c", vuln("CVE-1"), digest=digest),
           report("b", "Pod", "b", "c", repository="clean/image"))
    html = as_alice.get(reverse("clusters:detail", args=[cluster_a.pk])).content.decode()
    section = html[html.index('id="vulnerabilities"'):]
    section = section[:section.index("</section>")]
    assert "clean/image" not in section and "Images to fix first —" in section
    assert f'class="image-ref" title="ghcr.io/shop/web@{digest}"><bdi>ghcr.io/shop/web:1.2.3@sha256:9e425625aa2a…</bdi></a>' \
        in section
    page = as_alice.get(reverse("clusters:vulnerabilities", args=[cluster_a.pk])).content.decode()
    assert "clean/image" in page  # the page lists every scanned image


def test_a_cluster_whose_images_are_clean_says_so(as_alice, cluster_a):
    record(cluster_a, report("b", "Pod", "b", "c", repository="clean/image"))
    html = as_alice.get(reverse("clusters:detail", args=[cluster_a.pk])).content.decode()
    assert "No known vulnerability in the 1 scanned image." in html
