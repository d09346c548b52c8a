"""/metrics: off without a token, refused with a wrong one, per-cluster gauges with the right one."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.posture.test_api import snapshot

pytestmark = pytest.mark.django_db


def test_off_until_a_token_is_configured(settings):
    settings.POSTURE_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404


@pytest.mark.threat('Fleet data scraped from /metrics by anyone',
                     'Off unless POSTURE_METRICS_TOKEN is set; bearer token compared in constant time')
def test_wrong_or_missing_token_is_401(settings):
    settings.POSTURE_METRICS_TOKEN = "s3cret-scrape-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_gauges_per_cluster(settings, cluster_a, cluster_b):
    settings.POSTURE_METRICS_TOKEN = "s3cret-scrape-token"
    snapshot(cluster_a, score=81.0, grade="B", kubernetes_version="v1.35.2",
             finding_counts={"severity": {"critical": 2, "high": 5}})
    snapshot(cluster_b, status="failed", score=None, grade="")
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(response.content.decode())
               for s in family.samples}
    a = ("cluster", "cluster-a")
    assert samples[("posture_cluster_score", (a,))] == 81.0
    assert samples[("posture_cluster_grade", (a, ("grade", "B")))] == 4
    assert samples[("posture_cluster_open_findings", (a, ("severity", "critical")))] == 2
    assert samples[("posture_cluster_kubernetes_eol_days", (a,))] > 0
    assert samples[("posture_cluster_last_poll_ok", (a,))] == 1
    assert samples[("posture_cluster_last_poll_ok", (("cluster", "cluster-b"),))] == 0
    assert ("posture_cluster_score", (("cluster", "cluster-b"),)) not in samples
