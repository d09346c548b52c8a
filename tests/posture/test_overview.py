"""The fleet overview: rows, sorting, filtering, changes, EOL timeline, charts, visibility."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.checks.vocabulary import Category
from posture.domain.models import RiskAcceptance
from posture.domain.scorecard import rescore_latest
from posture.lifecycle import SupportStatus, kubernetes_support, os_support
from posture.web.charts import FleetPoint
from posture.web.dashboard import overview, trends
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import finding, snapshot

pytestmark = pytest.mark.django_db
URL = reverse("home")
HOSTILE = "<img src=x onerror=alert(1)>"


def figures(html: str) -> dict[str, dict]:
    """Return the page's chart figures by element id, parsed from their json_script blocks."""
    return {m[1]: json.loads(m[2]) for m in re.finditer(
        r'<script id="(figure-[^"]+)" type="application/json">(.*?)</script>', html, re.S)}


def test_owner_sees_only_own_clusters_in_rows_charts_and_timeline(as_bob, as_sam, cluster_a,
                                                                    cluster_b):
    now = timezone.now()
    for cluster in (cluster_a, cluster_b):
        # v1.25 is long past end of life, so both clusters are on the EOL timeline.
        snapshot(cluster, now - timedelta(days=2), score=70, kubernetes_version="v1.25.3")
        snapshot(cluster, now - timedelta(hours=1), score=75, kubernetes_version="v1.25.3",
                 category_scores={"workloads": {"score": 60, "weight": .25, "deductions": []}})
    bob_page = as_bob.get(URL).content.decode()
    assert "cluster-b" in bob_page
    assert "cluster-a" not in bob_page
    bob_figures = figures(bob_page)
    assert [t["name"] for t in bob_figures["figure-fleet-scores"]["data"]] == ["cluster-b"]
    assert bob_figures["figure-category-heatmap"]["data"][0]["y"] == ["cluster-b"]
    sam_page = as_sam.get(URL).content.decode()
    timeline = sam_page[sam_page.index('id="eol-timeline"'):]
    assert "cluster-a" in timeline and "cluster-b" in timeline


def test_anonymous_visitors_are_sent_to_log_in(anon):
    response = anon.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_empty_fleet_says_how_to_register(as_alice):
    page = as_alice.get(URL).content.decode()
    assert 'id="overview-empty"' in page
    assert reverse("clusters:register") in page


def _fleet(owner, scores: dict[str, float], now: datetime, **fields) -> None:
    for name, score in scores.items():
        cluster = ClusterFactory(name=name, owners=[owner], labels=fields.pop(name, {}))
        snapshot(cluster, now - timedelta(hours=1), score=score)


def _names(html: str) -> list[str]:
    table = html[html.index('id="fleet-table"'):html.index("</table>", html.index("fleet-table"))]
    return re.findall(r'<th scope="row"><a href="[^"]+"><bdi>([^<]+)</bdi></a>', table)


def test_rows_sort_by_the_chosen_column_with_aria_sort(as_alice, alice):
    _fleet(alice, {"mid": 75.0, "low": 40.0, "top": 95.0}, timezone.now())
    ClusterFactory(name="never-polled", owners=[alice])
    ascending = as_alice.get(URL, {"sort": "score"}).content.decode()
    assert _names(ascending) == ["low", "mid", "top", "never-polled"]
    assert re.search(r'aria-sort="ascending"[^>]*>\s*<a href="\?sort=-score"', ascending)
    descending = as_alice.get(URL, {"sort": "-score"}).content.decode()
    # Clusters without a score stay last whichever way the column is sorted.
    assert _names(descending) == ["top", "mid", "low", "never-polled"]
    assert 'aria-sort="descending"' in descending
    by_name = as_alice.get(URL, {"sort": "-name"}).content.decode()
    assert _names(by_name) == ["top", "never-polled", "mid", "low"]


def test_unknown_sort_falls_back_to_score(as_alice, alice):
    _fleet(alice, {"b": 90.0, "a": 50.0}, timezone.now())
    assert _names(as_alice.get(URL, {"sort": "password"}).content.decode()) == ["a", "b"]


def test_filters_by_grade_provider_and_label(as_alice, alice):
    now = timezone.now()
    prod = ClusterFactory(name="prod-eks", owners=[alice], labels={"env": "prod"})
    snapshot(prod, now, score=95.0, provider="eks", kubernetes_version="v1.33.2-eks-1a2b3c4")
    dev = ClusterFactory(name="dev-kind", owners=[alice], labels={"env": "dev"})
    snapshot(dev, now, score=55.0)
    assert _names(as_alice.get(URL, {"grade": "A"}).content.decode()) == ["prod-eks"]
    assert _names(as_alice.get(URL, {"grade": "F"}).content.decode()) == ["dev-kind"]
    assert _names(as_alice.get(URL, {"provider": "eks"}).content.decode()) == ["prod-eks"]
    assert _names(as_alice.get(URL, {"provider": "upstream"}).content.decode()) == ["dev-kind"]
    assert _names(as_alice.get(URL, {"label": "env=dev"}).content.decode()) == ["dev-kind"]
    none = as_alice.get(URL, {"label": "env=staging"}).content.decode()
    assert 'id="overview-no-match"' in none
    # Sort links keep the filters.
    filtered = as_alice.get(URL, {"label": "env=prod", "grade": "A"}).content.decode()
    assert 'href="?sort=-score&amp;grade=A&amp;label=env%3Dprod"' in filtered


def test_changes_compare_with_the_newest_score_at_least_7_and_30_days_old(alice):
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, now - timedelta(days=40), score=50.0)
    snapshot(cluster, now - timedelta(days=30, hours=1), score=60.0)
    snapshot(cluster, now - timedelta(days=8), score=70.0)
    snapshot(cluster, now - timedelta(days=7, minutes=1), score=72.0)
    snapshot(cluster, now - timedelta(days=3), score=10.0, status="failed")
    snapshot(cluster, now - timedelta(hours=1), score=80.5)
    row = overview.build(cluster.__class__.objects.all(), now).rows[0]
    assert row.change_7d == pytest.approx(80.5 - 72.0)
    assert row.change_30d == pytest.approx(80.5 - 60.0)


def test_change_is_unknown_without_old_enough_history(alice):
    now = timezone.now()
    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, now - timedelta(days=2), score=50.0)
    row = overview.build(cluster.__class__.objects.all(), now).rows[0]
    assert row.change_7d is None and row.change_30d is None


def test_counts_of_open_critical_and_high_keep_accepted_risks_apart(as_alice, alice):
    now = timezone.now()
    cluster = ClusterFactory(name="counted", owners=[alice])
    seen = snapshot(cluster, now - timedelta(hours=1),
                    finding_counts={"severity": {"critical": 3, "high": 2}})
    finding(cluster, seen, "workload.privileged", name="a")
    finding(cluster, seen, "workload.privileged", name="b", namespace="legacy")
    finding(cluster, seen, "workload.privileged", name="c")
    finding(cluster, seen, "workload.host-path-volumes", name="a")
    finding(cluster, seen, "workload.host-path-volumes", name="b")
    RiskAcceptance.objects.create(cluster=cluster, check_id="workload.privileged",
                                  namespace="legacy", reason="vendor appliance",
                                  expires_at=now + timedelta(days=10), created_by=alice)
    row = overview.build(cluster.__class__.objects.all(), now).rows[0]
    assert row.open_counts == {"critical": 2, "high": 2}
    assert row.accepted_counts == {"critical": 1, "high": 0}
    assert "+1 accepted" in as_alice.get(URL).content.decode()


def test_eol_timeline_lists_control_planes_and_node_os_due_within_the_horizon(alice):
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    day = now.date()
    versions = {"soon": "v1.34.2", "later": "v1.36.1", "past": "v1.25.3"}
    for name, version in versions.items():
        cluster = ClusterFactory(name=name, owners=[alice])
        snapshot(cluster, now - timedelta(hours=1), kubernetes_version=version,
                 node_summary={"os_images": {"CentOS Linux 7 (Core)": 2,
                                             "Ubuntu 24.04.1 LTS": 1}})
    entries = overview.build(cluster.__class__.objects.all(), now).eol
    expected = []
    for name, version in versions.items():
        support = kubernetes_support(version, day)
        if support.status == SupportStatus.EOL or support.days_left <= 180:
            expected.append((name, "control plane"))
    old_os = os_support("CentOS Linux 7 (Core)", day)
    new_os = os_support("Ubuntu 24.04.1 LTS", day)
    assert old_os.status == SupportStatus.EOL or old_os.days_left <= 180
    assert new_os.days_left > 180
    expected += [(name, "node OS") for name in versions]
    assert sorted((e.cluster.name, e.kind) for e in entries) == sorted(expected)
    assert ("later", "control plane") not in {(e.cluster.name, e.kind) for e in entries}
    # What is past end of life comes first, longest past first; then the rest by date.
    past = [e for e in entries if e.past_end_of_life]
    assert entries[:len(past)] == past
    for group in (past, entries[len(past):]):
        dates = [e.ends or datetime.min.date() for e in group]
        assert dates == sorted(dates)


# A day on which EKS 1.35 and Ubuntu 22.04 are months from the end of their standard support,
# and years from the end of the extended support that follows.
STANDARD_ENDING = datetime(2026, 12, 2, 12, tzinfo=UTC)


def _timeline_fleet(owner) -> None:
    now = STANDARD_ENDING
    fleet = {
        "eks-new": ("v1.35.9-eks-4d2c7a1", "eks", {"Ubuntu 22.04.3 LTS": 2}),
        "eks-latest": ("v1.36.4-eks-3a1b2c9", "eks", {"Ubuntu 24.04.2 LTS": 3}),
        "old-upstream": ("v1.25.3", "", {"CentOS Linux 7 (Core)": 1}),
        "legacy-eks": ("v1.27.16-eks-2f46c53", "eks", {"Ubuntu 18.04.6 LTS": 4}),
    }
    for name, (version, provider, images) in fleet.items():
        cluster = ClusterFactory(name=name, owners=[owner])
        snapshot(cluster, now - timedelta(hours=1), kubernetes_version=version,
                 provider=provider, node_summary={"os_images": images})


def test_eol_timeline_lists_standard_support_ending_within_the_horizon(alice):
    _timeline_fleet(alice)
    day = STANDARD_ENDING.date()
    eks = kubernetes_support("v1.35.9-eks-4d2c7a1", day, "eks")
    jammy = os_support("Ubuntu 22.04.3 LTS", day)
    for support in (eks, jammy):
        assert support.status == SupportStatus.SUPPORTED
        assert (support.standard_end - day).days <= 180 < support.days_left
    entries = overview.build(ClusterFactory._meta.model.objects.all(), STANDARD_ENDING).eol
    by_key = {(e.cluster.name, e.kind): e for e in entries}
    control_plane = by_key[("eks-new", "control plane")]
    assert (control_plane.milestone, control_plane.ends, control_plane.days_left,
            control_plane.extended_until) == (overview.Milestone.STANDARD_END, eks.standard_end,
                                              (eks.standard_end - day).days, eks.eol)
    node_os = by_key[("eks-new", "node OS")]
    assert (node_os.milestone, node_os.ends, node_os.nodes) == (
        overview.Milestone.STANDARD_END, jammy.standard_end, 2)
    assert not control_plane.past and not node_os.past
    # Far from any end: not listed. Past end of life: listed as such.
    assert ("eks-latest", "control plane") not in by_key
    assert ("eks-latest", "node OS") not in by_key
    assert by_key[("old-upstream", "control plane")].past_end_of_life
    # On extended support already: past its standard support, still listed.
    bionic = by_key[("legacy-eks", "node OS")]
    assert (bionic.milestone, bionic.past) == (overview.Milestone.STANDARD_END, True)


def test_eol_timeline_says_which_end_and_when(alice):
    _timeline_fleet(alice)
    day = STANDARD_ENDING.date()
    page = overview.build(ClusterFactory._meta.model.objects.all(), STANDARD_ENDING)
    html = render_to_string("posture/_eol_timeline.html",
                            {"overview": page, "horizon": overview.EOL_HORIZON_DAYS})
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<tr class=.*?</tr>", html, re.S)]
    eks = kubernetes_support("v1.35.9-eks-4d2c7a1", day, "eks")
    old = kubernetes_support("v1.25.3", day)
    assert (f"{old.eol} old-upstream Kubernetes 1.25 (upstream) control plane "
            f"Past end of life since {old.eol}") in rows
    days = (eks.standard_end - day).days
    expected_soon = (f"{eks.standard_end} eks-new Kubernetes 1.35 (Amazon EKS) control plane "
                     f"Standard support ends in {days} days extended support until {eks.eol}")
    assert expected_soon in rows
    # Every past end of life is listed before the rest.
    flags = ["Past end of life" in row for row in rows]
    assert flags == sorted(flags, reverse=True)
    assert "is-past" in html


def test_eol_timeline_counts_days_to_an_end_of_life_within_the_horizon(alice):
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    cluster = ClusterFactory(name="soon", owners=[alice])
    snapshot(cluster, now - timedelta(hours=1), kubernetes_version="v1.34.2",
             node_summary={"os_images": {}})
    support = kubernetes_support("v1.34.2", now.date())
    assert 0 < support.days_left <= 180
    page = overview.build(cluster.__class__.objects.all(), now)
    html = render_to_string("posture/_eol_timeline.html",
                            {"overview": page, "horizon": overview.EOL_HORIZON_DAYS})
    assert f"End of life in {support.days_left} days" in " ".join(html.split())


def test_eol_timeline_lists_the_most_pressing_entries_of_the_page(alice):
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    for index in range(overview.EOL_SHOWN + 5):
        snapshot(ClusterFactory(name=f"old-{index:02}", owners=[alice]),
                 now - timedelta(hours=1), kubernetes_version="v1.25.3",
                 node_summary={"os_images": {}})
    page = overview.build(ClusterFactory._meta.model.objects.all(), now, "name")
    assert len(page.eol) == overview.EOL_SHOWN + 5 and page.eol_more == 5
    html = render_to_string("posture/_eol_timeline.html",
                            {"overview": page, "horizon": overview.EOL_HORIZON_DAYS})
    assert len(re.findall(r"<tr class=", html)) == overview.EOL_SHOWN
    assert "5 more entries" in html


def test_heatmap_shows_each_category_score_of_the_newest_snapshot(as_alice, alice):
    cluster = ClusterFactory(owners=[alice])
    deduction = {"check": "image.latest-tag", "severity": "medium", "count": 1}
    snapshot(cluster, timezone.now() - timedelta(days=1),
             category_scores={"images": {"score": 10.0, "weight": .1, "deductions": []}})
    snapshot(cluster, timezone.now() - timedelta(hours=1), category_scores={
        "images": {"score": 72.25, "weight": .1, "deductions": [deduction] * 40},
        "access": {"score": 100.0, "weight": .2, "deductions": []}})
    heatmap = figures(as_alice.get(URL).content.decode())["figure-category-heatmap"]["data"][0]
    by_label = dict(zip(heatmap["x"], heatmap["z"][0], strict=True))
    assert by_label == {c.label: {"images": 72.2, "access": 100.0}.get(str(c))
                        for c in Category.ordered()}


def test_heatmap_shows_a_category_that_was_not_evaluated_grey(as_alice, alice):
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=1))
    finding(cluster, seen, "image.latest-tag", namespace="shop", name="web", container="app")
    # As a poll of a cluster without the Trivy Operator records it.
    seen.finding_counts = {"severity": {}, "category": {}, "not_evaluated": {
        "vulnerability.critical": "no reports", "vulnerability.high": "no reports"}}
    seen.save()
    rescore_latest(cluster)
    html = as_alice.get(URL).content.decode()
    scores, grey = figures(html)["figure-category-heatmap"]["data"]
    vulnerabilities = Category.ordered().index(Category.VULNERABILITIES)
    assert scores["z"][0][vulnerabilities] is None
    assert grey["text"][0][vulnerabilities] == "not evaluated"
    assert scores["z"][0][Category.ordered().index(Category.IMAGES)] < 100


def test_platform_findings_are_not_in_the_headline_counts_even_when_accepted(as_alice, alice):
    cluster = ClusterFactory(owners=[alice])
    seen = snapshot(cluster, timezone.now() - timedelta(hours=1))
    finding(cluster, seen, "workload.privileged", kind="DaemonSet", namespace="kube-system",
            name="kube-proxy")
    finding(cluster, seen, "workload.privileged", namespace="shop", name="web")
    RiskAcceptance.objects.create(cluster=cluster, check_id="workload.privileged",
                                  namespace="kube-system", reason="provider-managed",
                                  expires_at=timezone.now() + timedelta(days=5))
    rescore_latest(cluster)
    (row,) = overview.build(cluster.__class__.objects.filter(pk=cluster.pk), timezone.now()).rows
    assert row.open_counts["critical"] == 1 and row.accepted_counts["critical"] == 0
def test_fleet_chart_tells_clusters_of_one_grade_apart(as_alice, alice):
    now = timezone.now()
    for index, name in enumerate(("red-1", "red-2", "red-3")):
        cluster = ClusterFactory(name=name, owners=[alice])
        snapshot(cluster, now - timedelta(days=1), score=30.0 + index)
        snapshot(cluster, now - timedelta(hours=1), score=35.0 + index)
    traces = figures(as_alice.get(URL).content.decode())["figure-fleet-scores"]["data"]
    assert [t["name"] for t in traces] == ["red-1", "red-2", "red-3"]
    assert len({t["line"]["color"] for t in traces}) == 3
    assert [t["customdata"] for t in traces] == [["F", "F"]] * 3


def test_fleet_chart_day_is_the_days_last_poll_as_on_the_trends_page(alice):
    now = datetime(2026, 6, 1, 20, tzinfo=UTC)
    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, now.replace(hour=8), score=50.0)
    snapshot(cluster, now.replace(hour=18), score=70.0)
    snapshot(cluster, now.replace(hour=19), status="failed")
    history = overview.score_history([cluster], now)
    assert history[cluster.name] == [FleetPoint(now.date(), 70.0, "C")]
    [trend] = trends.points(cluster, now, 90)
    assert trend.score == history[cluster.name][0].score


@pytest.mark.threat('Cluster-controlled text runs as script in a page, chart, email or export',
                     'Autoescaping everywhere, hover text escaped before it reaches plotly, CSP without inline scripts; a hostile scenario rendered on every page')
def test_page_escapes_hostile_cluster_text_in_html_and_chart_json(as_alice, alice):
    now = timezone.now()
    # Names are validated at registration, but labels, OS images and versions come from
    # clusters and people unchecked: treat the name as hostile too.
    cluster = ClusterFactory(name=HOSTILE, owners=[alice], labels={"team": HOSTILE})
    snapshot(cluster, now - timedelta(days=1), score=60.0)
    snapshot(cluster, now - timedelta(hours=1), score=62.0, kubernetes_version=HOSTILE,
             node_summary={"os_images": {HOSTILE: 1}},
             category_scores={"images": {"score": 50, "weight": .1, "deductions": []}})
    html = as_alice.get(URL).content.decode()
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    found = figures(html)
    names = [t["name"] for t in found["figure-fleet-scores"]["data"]]
    assert names == ["&lt;img src=x onerror=alert(1)&gt;"]
    assert found["figure-category-heatmap"]["data"][0]["y"] == names
    assert HOSTILE not in json.dumps(found)


def _populate(owner, clusters: int, snapshots: int, now: datetime) -> None:
    for index in range(clusters):
        cluster = ClusterFactory(owners=[owner], labels={"env": "prod"})
        for day in range(snapshots):
            seen = snapshot(cluster, now - timedelta(days=day, hours=index % 5),
                            score=50.0 + day % 40, kubernetes_version=f"v1.3{index % 5}.1",
                            finding_counts={"severity": {"critical": 1, "high": 2}})
        finding(cluster, seen, "workload.privileged")
        RiskAcceptance.objects.create(cluster=cluster, check_id="workload.privileged",
                                      reason="r", expires_at=now + timedelta(days=5))


def test_query_count_is_the_same_at_10_and_at_100_clusters(as_sam, sam,
                                                          django_assert_max_num_queries):
    now = timezone.now()
    _populate(sam, 10, 3, now)
    with CaptureQueriesContext(connection) as small:
        assert as_sam.get(URL).status_code == 200
    _populate(sam, 90, 5, now)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = as_sam.get(URL)
    assert page.content.decode().count("<tr data-cluster=") == overview.PAGE_SIZE
    with django_assert_max_num_queries(len(small.captured_queries)):
        as_sam.get(URL, {"sort": "-critical", "label": "env=prod", "page": "2"})


def test_pages_hold_page_size_rows_and_links_keep_sort_and_filters(as_sam, sam):
    now = timezone.now()
    for index in range(overview.PAGE_SIZE + 5):
        cluster = ClusterFactory(name=f"c-{index:03}", owners=[sam], labels={"env": "prod"})
        snapshot(cluster, now - timedelta(hours=1), score=float(index % 100))
    first = as_sam.get(URL, {"sort": "name", "label": "env=prod"}).content.decode()
    assert _names(first) == [f"c-{i:03}" for i in range(overview.PAGE_SIZE)]
    assert f"1–{overview.PAGE_SIZE} of {overview.PAGE_SIZE + 5} matching" in first
    assert 'href="?sort=name&amp;label=env%3Dprod&amp;page=2"' in first
    second = as_sam.get(URL, {"sort": "name", "label": "env=prod", "page": "2"}).content.decode()
    assert _names(second) == [f"c-{i:03}" for i in range(overview.PAGE_SIZE,
                                                         overview.PAGE_SIZE + 5)]
    assert 'aria-current="page">2<' in second
    # A page past the end shows the last one; nonsense shows the first.
    assert _names(as_sam.get(URL, {"sort": "name", "page": "99"}).content.decode()) == \
        _names(second)
    assert _names(as_sam.get(URL, {"sort": "name", "page": "x"}).content.decode()) == \
        _names(first)


def test_filters_by_kubernetes_end_of_life_within_days_and_by_name(alice):
    now = datetime(2026, 9, 1, 12, tzinfo=UTC)
    for name, version in {"soon": "v1.34.2", "later": "v1.37.1", "past": "v1.25.3"}.items():
        snapshot(ClusterFactory(name=name, owners=[alice]), now - timedelta(hours=1),
                 kubernetes_version=version)
    ClusterFactory(name="never-polled", owners=[alice])
    everyone = ClusterFactory._meta.model.objects.all()
    soon = kubernetes_support("v1.34.2", now.date())
    assert 0 < soon.days_left <= 180 < kubernetes_support("v1.37.1", now.date()).days_left

    def names(**query: str) -> list[str]:
        page = overview.build(everyone, now, "name", overview.Filters.from_query(query))
        return [r.cluster.name for r in page.rows]

    assert names(eol_within="180") == ["past", "soon"]
    assert names(eol_within="0") == ["past"]
    assert names(eol_within="-5") == names() == ["later", "never-polled", "past", "soon"]
    assert names(q="OO") == ["soon"]
    assert names(q="o", eol_within="180") == ["soon"]


def test_fleet_charts_add_up_the_whole_selection_not_the_page(as_sam, sam):
    now = timezone.now()
    for index in range(overview.PAGE_SIZE + 10):
        cluster = ClusterFactory(owners=[sam])
        snapshot(cluster, now - timedelta(days=2), score=40.0)
        snapshot(cluster, now, score=95.0 if index < 10 else 55.0,
                 kubernetes_version="v1.25.3")
    found = figures(as_sam.get(URL).content.decode())
    grades = found["figure-fleet-grades"]["data"][0]
    assert dict(zip(grades["x"], grades["y"], strict=True)) == {
        "A": 10, "B": 0, "C": 0, "D": 0, "F": overview.PAGE_SIZE}
    trend = found["figure-fleet-trend"]["data"][0]
    assert trend["y"][-2:] == [40.0, round((10 * 95 + 50 * 55) / 60, 1)]
    assert trend["customdata"][-1] == overview.PAGE_SIZE + 10
    months = found["figure-eol-months"]["data"]
    assert len(months) == 1 and sum(months[0]["y"]) == overview.PAGE_SIZE + 10
    assert len(found["figure-fleet-scores"]["data"]) == overview.PAGE_SIZE


def test_a_category_flagged_not_evaluated_has_no_score_even_where_sqlite_reads_0():
    from posture.web.dashboard import category_scores, not_evaluated

    # SQLite (embedded mode) casts a JSON null to 0.0; the flag is what says "not evaluated".
    row = {f"{c}_{part}": None for c in Category for part in ("score", "evaluated")}
    row |= {"vulnerabilities_score": 0.0, "vulnerabilities_evaluated": "false",
            "images_score": 50.0, "images_evaluated": "true", "access_score": 90.0}
    assert category_scores(row) == {"images": 50.0, "access": 90.0}
    assert not_evaluated(row) == {"vulnerabilities"}


def test_fleet_trend_of_the_whole_fleet_reads_the_days_without_the_clusters_join(sam):
    # The security team's unfiltered fleet takes the shorter query; it must add up the same
    # days as the same clusters named one by one.
    from clusters.models import Cluster

    now = timezone.now()
    for score in (30.0, 60.0, 90.0):
        cluster = ClusterFactory()
        snapshot(cluster, now - timedelta(days=3), score=score - 10)
        snapshot(cluster, now, score=score)
    everything = Cluster.objects.all()
    named = Cluster.objects.filter(pk__in=list(everything.values_list("pk", flat=True)))
    with CaptureQueriesContext(connection) as whole:
        trend = overview.fleet_trend(everything, now)
    assert "clusters_cluster" not in whole.captured_queries[-1]["sql"]
    assert trend == overview.fleet_trend(named, now)
    assert [(mean, count) for _, mean, count in trend] == [(50.0, 3), (60.0, 3)]
    assert overview.fleet_trend(Cluster.objects.none(), now) == []
