"""Prometheus metrics: per-cluster posture gauges, so teams can alert with the tools they run.

Built fresh on each scrape from snapshot aggregates (one query for the whole fleet), in a registry
of its own: nothing is kept in process memory, so every gunicorn worker answers the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from clusters.models import Cluster
from posture.checks.vocabulary import Severity
from posture.domain.fleet import kubernetes_eol, with_latest
from posture.domain.scoring import Grade


class FleetCollector(Collector):
    def __init__(self, today: date) -> None:
        self.today = today

    def collect(self) -> Iterator[Metric]:
        score = GaugeMetricFamily("posture_cluster_score", "Posture score, 0-100",
                                  labels=["cluster"])
        grade = GaugeMetricFamily(
            "posture_cluster_grade", "Grade as a number: A=5, B=4, C=3, D=2, F=1",
            labels=["cluster", "grade"])
        findings = GaugeMetricFamily("posture_cluster_open_findings",
                                     "Open findings by severity", labels=["cluster", "severity"])
        eol = GaugeMetricFamily("posture_cluster_kubernetes_eol_days",
                                "Days until the control plane's Kubernetes reaches end of life "
                                "(negative when past)", labels=["cluster"])
        success = GaugeMetricFamily("posture_cluster_last_poll_success_timestamp_seconds",
                                    "When the cluster was last read successfully",
                                    labels=["cluster"])
        up = GaugeMetricFamily("posture_cluster_last_poll_ok",
                               "1 if the newest poll succeeded (ok or partial), else 0",
                               labels=["cluster"])
        ranks = {g: len(Grade.ordered()) - i for i, g in enumerate(Grade.ordered())}
        for cluster in with_latest(Cluster.objects.all()).order_by("name"):
            name = cluster.name
            if cluster.score is not None:
                score.add_metric([name], cluster.score)
            if cluster.grade:
                grade.add_metric([name, cluster.grade], ranks.get(Grade(cluster.grade), 0))
            counts = (cluster.finding_counts or {}).get("severity", {})
            for severity in Severity:
                findings.add_metric([name, str(severity)], counts.get(str(severity), 0))
            days = kubernetes_eol(cluster, self.today).days_left
            if days is not None:
                eol.add_metric([name], days)
            if cluster.last_success_at is not None:
                success.add_metric([name], cluster.last_success_at.timestamp())
            if cluster.last_poll_status is not None:
                up.add_metric([name], 1 if cluster.last_poll_status in ("ok", "partial") else 0)
        yield from (score, grade, findings, eol, success, up)
