"""A cluster's trends: daily points from snapshot aggregates, the trends page, its queries."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from posture.lifecycle import kubernetes_support, os_support
from posture.web.charts import Runway
from posture.web.dashboard import trends
from tests.factories import ClusterFactory
from tests.posture.snapshot_factories import snapshot

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 10, 20, tzinfo=UTC)
HOSTILE = "<img src=x onerror=alert(1)>"


def url(cluster, **params) -> str:
    return reverse("clusters:trends", args=[cluster.pk])


def figures(html: str) -> dict[str, dict]:
    return {m[1]: json.loads(m[2]) for m in re.finditer(
        r'<script id="(figure-[^"]+)" type="application/json">(.*?)</script>', html, re.S)}


def test_each_day_is_its_last_successful_poll(alice):
    cluster = ClusterFactory(owners=[alice])
    day1 = NOW - timedelta(days=2)
    snapshot(cluster, day1.replace(hour=9), score=50.0)
    snapshot(cluster, day1.replace(hour=18), score=60.0)
    snapshot(cluster, day1.replace(hour=19), status="failed")
    snapshot(cluster, (NOW - timedelta(days=1)).replace(hour=10), score=70.0,
             finding_counts={"severity": {"high": 4, "low": 1}})
    snapshot(cluster, NOW - timedelta(days=200), score=10.0)
    points = trends.points(cluster, NOW, 90)
    assert [(p.day, p.score) for p in points] == [
        (day1.date(), 60.0), ((NOW - timedelta(days=1)).date(), 70.0)]
    assert points[1].severities == {"high": 4, "low": 1}


def test_version_lag_and_os_runway_are_judged_as_of_each_day(alice):
    cluster = ClusterFactory(owners=[alice])
    images = {"CentOS Linux 7 (Core)": 2, "Ubuntu 24.04.1 LTS": 3, "Mystery OS 1": 1,
              "Ubuntu 18.04.6 LTS": 4}
    for days_ago, version in ((60, "v1.31.2-eks-1a2b3c4"), (1, "v1.33.1-eks-1a2b3c4")):
        snapshot(cluster, NOW - timedelta(days=days_ago), kubernetes_version=version,
                 provider="eks", node_summary={"os_images": images})
    points = trends.points(cluster, NOW, 90)
    for p in points:
        support = kubernetes_support(p.version, p.day, "eks")
        assert (p.minors_behind, p.patches_behind) == (support.minors_behind,
                                                       support.patches_behind)
        expected: dict[str, int] = {}
        for image, count in images.items():
            s = os_support(image, p.day)
            bucket = str(Runway.of(s.status, s.days_left))
            expected[bucket] = expected.get(bucket, 0) + count
        assert p.os_runway == expected
        assert sum(p.os_runway.values()) == 10
    assert points[0].minors_behind is not None
    assert points[0].minors_behind >= points[1].minors_behind


def test_points_read_category_scores_without_their_deductions(alice):
    cluster = ClusterFactory(owners=[alice])
    deduction = {"check": "workload.privileged", "severity": "critical", "count": 3}
    snapshot(cluster, NOW - timedelta(days=1), category_scores={
        "workloads": {"score": 61.5, "weight": .25, "deductions": [deduction] * 50},
        "access": {"score": 90.0, "weight": .2, "deductions": []},
        "network": {"weight": .1, "deductions": []},
        "retired-category": {"score": 5.0, "weight": .1, "deductions": []},
    }, finding_counts={"severity": {"critical": 3}, "category": {"workloads": 3}},
        node_summary={"os_images": {"Ubuntu 24.04.1 LTS": 2}, "runtimes": {"x": 2}})
    [only] = trends.points(cluster, NOW, 90)
    # Only the vocabulary's categories are charted; one without a score has no point.
    assert only.categories == {"workloads": 61.5, "access": 90.0}
    assert only.severities == {"critical": 3}
    assert sum(only.os_runway.values()) == 2


def test_days_are_calendar_days_of_the_site_time_zone(alice, settings):
    settings.TIME_ZONE = "America/New_York"
    cluster = ClusterFactory(owners=[alice])
    # 03:00 and 05:00 UTC on 9 June are 23:00 on the 8th and 01:00 on the 9th in New York.
    snapshot(cluster, datetime(2026, 6, 9, 3, tzinfo=UTC), score=40.0)
    snapshot(cluster, datetime(2026, 6, 9, 5, tzinfo=UTC), score=50.0)
    snapshot(cluster, datetime(2026, 6, 9, 16, tzinfo=UTC), score=55.0)
    points = trends.points(cluster, NOW, 90)
    assert [(p.day.isoformat(), p.score) for p in points] == [("2026-06-08", 40.0),
                                                              ("2026-06-09", 55.0)]


def test_checkset_changes_are_marked_on_the_day_they_first_appear(alice):
    cluster = ClusterFactory(owners=[alice])
    snapshot(cluster, NOW - timedelta(days=100), checkset_version="1.0.0+old")
    snapshot(cluster, NOW - timedelta(days=50), checkset_version="1.0.0+aaa")
    snapshot(cluster, NOW - timedelta(days=20), checkset_version="1.1.0+bbb")
    snapshot(cluster, NOW - timedelta(days=10), checkset_version="1.1.0+bbb")
    changes = trends.checkset_changes(cluster, NOW, 90)
    assert changes == [((NOW - timedelta(days=50)).date(), "1.0.0+aaa"),
                       ((NOW - timedelta(days=20)).date(), "1.1.0+bbb")]
    assert trends.checkset_changes(cluster, NOW, 30) == changes[1:]


def test_the_scoring_model_change_is_marked_on_the_day_its_scores_begin(alice, as_alice):
    """Old snapshots kept no scoring version (model 1); rescoring or polling stores the new one."""
    from posture.domain.scorecard import rescore_latest
    from posture.domain.scoring import SCORING_VERSION

    cluster = ClusterFactory(owners=[alice])
    now = timezone.now()
    snapshot(cluster, now - timedelta(days=40), checkset_version="a", score=90.0)
    snapshot(cluster, now - timedelta(days=20), checkset_version="a", score=90.0)
    newest = snapshot(cluster, now - timedelta(days=2), checkset_version="b", score=90.0)
    assert trends.history(cluster, now, 90).scoring == []
    rescore_latest(cluster, now)
    newest.refresh_from_db()
    assert newest.finding_counts["scoring_version"] == SCORING_VERSION
    changed = timezone.localdate(newest.taken_at)
    past = trends.history(cluster, now, 90)
    assert (past.checks, past.scoring) == ([(changed, "b")], [(changed, str(SCORING_VERSION))])
    # Later polls under the same model are no change; a range that starts after it has none.
    snapshot(cluster, now - timedelta(days=1), checkset_version="b",
             finding_counts={"scoring_version": SCORING_VERSION})
    assert trends.history(cluster, now, 1).scoring == []
    score, severity = trends.charts(cluster, now, 90)[:2]
    for chart in (score, severity):
        [note] = [a for a in chart.figure["layout"]["annotations"] if "changed" in a["text"]]
        assert note["text"] == "checks and scoring changed", chart.key
        assert note["hovertext"] == f"Check set b<br>Scoring model {SCORING_VERSION}"
        assert note["x"] == changed.isoformat()
        assert (f"The scoring model changed on {changed.isoformat()} (model {SCORING_VERSION})"
                in chart.note)
    page = as_alice.get(url(cluster)).content.decode()
    [note] = [a for a in figures(page)["figure-score-trend"]["layout"]["annotations"]
              if "changed" in a["text"]]
    assert note["text"] == "checks and scoring changed"


def test_trends_page_draws_four_charts_with_tables(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    now = timezone.now()
    for day in range(10):
        snapshot(cluster, now - timedelta(days=day), score=60.0 + day,
                 checkset_version="a" if day > 4 else "b",
                 finding_counts={"severity": {"critical": day % 3, "medium": 2}},
                 category_scores={"workloads": {"score": 50.0, "weight": .25, "deductions": []}})
    page = as_alice.get(url(cluster)).content.decode()
    found = figures(page)
    assert set(found) == {"figure-score-trend", "figure-severity-trend", "figure-version-lag",
                          "figure-os-runway"}
    score = found["figure-score-trend"]
    assert len(score["data"][0]["x"]) == 10
    markers = [s for s in score["layout"]["shapes"] if s["type"] == "line"]
    assert len(markers) == 1
    assert page.count('<details class="chart-data" open>') == 4
    assert "vendor/plotly.min" in page and "js/charts" in page


def test_range_parameter_is_limited_to_the_offered_ranges():
    assert trends.parse_days("30") == 30
    assert trends.parse_days("365") == 365
    assert trends.parse_days("7") == trends.DEFAULT_DAYS
    assert trends.parse_days("lots") == trends.DEFAULT_DAYS


def test_hostile_version_is_escaped_in_the_chart_json(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    # A version the lifecycle data places on one day, so the chart is drawn with both days.
    snapshot(cluster, timezone.now() - timedelta(days=1), kubernetes_version="v1.33.1")
    snapshot(cluster, timezone.now(), kubernetes_version=HOSTILE)
    page = as_alice.get(url(cluster)).content.decode()
    assert HOSTILE not in page
    lag = figures(page)["figure-version-lag"]
    assert lag["data"][0]["customdata"] == ["v1.33.1", "&lt;img src=x onerror=alert(1)&gt;"]


def test_no_history_says_so(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    assert 'id="trends-empty"' in as_alice.get(url(cluster)).content.decode()


def test_bob_cannot_see_alices_trends(as_bob, cluster_a):
    assert as_bob.get(url(cluster_a)).status_code == 404


def test_query_count_does_not_grow_with_history(alice, as_alice, django_assert_max_num_queries):
    cluster = ClusterFactory(owners=[alice])
    now = timezone.now()
    for day in range(3):
        snapshot(cluster, now - timedelta(days=day), checkset_version=str(day))
    with CaptureQueriesContext(connection) as small:
        as_alice.get(url(cluster))
    for day in range(3, 90):
        for hour in (1, 13):
            snapshot(cluster, now - timedelta(days=day, hours=hour), checkset_version=str(day))
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = as_alice.get(url(cluster)).content.decode()
    assert len(figures(page)["figure-score-trend"]["data"][0]["x"]) >= 89
    # Session, user, groups, cluster; the daily points; the check set changes.
    with django_assert_max_num_queries(6):
        as_alice.get(url(cluster), {"days": "365"})


def _range_days(axis: dict) -> tuple[date, date]:
    start, end = (datetime.fromisoformat(edge) for edge in axis["range"])
    return (start + timedelta(hours=12)).date(), (end - timedelta(hours=12)).date()


def test_a_new_clusters_one_poll_is_a_dated_point_on_a_week_with_a_history_note(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    now = timezone.now()
    snapshot(cluster, now - timedelta(minutes=5), score=72.0,
             finding_counts={"severity": {"high": 2}})
    page = as_alice.get(url(cluster)).content.decode()
    found = figures(page)
    assert set(found) == {"figure-score-trend", "figure-severity-trend", "figure-version-lag",
                          "figure-os-runway"}
    day = timezone.localdate(now)
    for key, figure in found.items():
        axis = figure["layout"]["xaxis"]
        assert axis["type"] == "date", key
        first, last = _range_days(axis)
        assert last == day and (last - first).days >= 6, key
    score = found["figure-score-trend"]["data"][0]
    assert (score["x"], score["y"], score["mode"]) == ([day.isoformat()], [72.0], "lines+markers")
    assert page.count(f"History starts on {day.isoformat()}") == 5


def test_history_note_only_when_the_first_poll_falls_in_the_range(alice):
    cluster = ClusterFactory(owners=[alice])
    first = snapshot(cluster, NOW - timedelta(days=100), checkset_version="a")
    snapshot(cluster, NOW - timedelta(days=1), checkset_version="b")
    assert trends.history(cluster, NOW, 90) == (
        None, [((NOW - timedelta(days=1)).date(), "b")], [])
    assert trends.history(cluster, NOW, 365)[0] == first.taken_at.date()
    notes = [chart.note for chart in trends.charts(cluster, NOW, 90)]
    assert not any("History starts" in note for note in notes)


def test_a_chart_without_data_says_so_instead_of_an_empty_frame(alice, as_alice):
    cluster = ClusterFactory(owners=[alice])
    # The service account could not list nodes: no OS images, and no findings either.
    snapshot(cluster, timezone.now() - timedelta(hours=1), node_summary={})
    page = as_alice.get(url(cluster)).content.decode()
    assert 'id="empty-os-runway"' in page and 'id="plot-os-runway"' not in page
    assert "figure-os-runway" not in figures(page)
    assert 'id="empty-severity-trend"' in page
    assert 'id="plot-score-trend"' in page
