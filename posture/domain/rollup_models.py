"""Rows the fleet pages read instead of snapshots: each cluster's day, and each cluster now.

Both are copies of what a snapshot already holds, written with it (``posture.domain.rollups``)
so a fleet page costs the same whether a cluster has a week of polls or years of them. Nothing
here is scored again: the score, grade and counts are the snapshot's, as the scorecard shows.
"""

from __future__ import annotations

from django.db import models


class ClusterDay(models.Model):
    """A cluster's day: the aggregates of that day's last successful poll (site time zone)."""

    # No index of its own: the unique (cluster, day) index serves every lookup by cluster.
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="days", db_index=False)
    day = models.DateField()
    snapshot = models.ForeignKey("posture.Snapshot", on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField()
    score = models.FloatField(null=True, blank=True)
    grade = models.CharField(max_length=2, blank=True, default="")
    # {category: score} of the categories that were evaluated; ``not_evaluated`` lists the rest.
    category_scores = models.JSONField(default=dict, blank=True)
    not_evaluated = models.JSONField(default=list, blank=True)
    # Open findings by severity (accepted risks in, platform-managed ones apart) and by category.
    severity_counts = models.JSONField(default=dict, blank=True)
    category_counts = models.JSONField(default=dict, blank=True)
    critical = models.PositiveIntegerField(default=0)
    high = models.PositiveIntegerField(default=0)
    kubernetes_version = models.CharField(max_length=128, blank=True, default="")
    kubernetes_minor = models.CharField(max_length=16, blank=True, default="")
    provider = models.CharField(max_length=16, blank=True, default="")
    kubernetes_eol = models.DateField(null=True, blank=True)
    # Nodes by OS image, and how many run an OS past end of life or of unknown support that day.
    os_images = models.JSONField(default=dict, blank=True)
    nodes = models.PositiveIntegerField(default=0)
    nodes_os_eol = models.PositiveIntegerField(default=0)
    nodes_os_unknown = models.PositiveIntegerField(default=0)
    # Namespaces by the Pod Security level admission enforces on them ({level: n}); null when
    # the poll recorded no namespace labels (before they were kept, or unreadable).
    pss_levels = models.JSONField(null=True, blank=True)
    checkset_version = models.CharField(max_length=64, blank=True, default="")
    scoring_version = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["cluster_id", "day"]
        # The overview's per-cluster chart and its 7/30-day changes read a page of clusters'
        # days, the fleet trend every cluster's days of a window: both index-only, from these.
        constraints = [models.UniqueConstraint(fields=["cluster", "day"],
                                               include=["taken_at", "score", "grade"],
                                               name="one_rollup_per_cluster_and_day")]
        indexes = [models.Index(fields=["day"], include=["cluster", "score"],
                                name="clusterday_day")]

    def __str__(self) -> str:
        return f"{self.cluster_id} on {self.day}: {self.grade or '—'}"

    @property
    def nodes_os_supported(self) -> int:
        """Return the nodes whose OS was supported that day."""
        return max(0, self.nodes - self.nodes_os_eol - self.nodes_os_unknown)


class ClusterCurrent(models.Model):
    """A cluster now: its newest successful snapshot's aggregates and how its last poll went."""

    cluster = models.OneToOneField("clusters.Cluster", on_delete=models.CASCADE,
                                   primary_key=True, related_name="current")
    snapshot = models.ForeignKey("posture.Snapshot", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField(null=True, blank=True)
    grade = models.CharField(max_length=2, blank=True, default="")
    category_scores = models.JSONField(default=dict, blank=True)
    not_evaluated = models.JSONField(default=list, blank=True)
    severity_counts = models.JSONField(default=dict, blank=True)
    platform_counts = models.JSONField(default=dict, blank=True)
    critical = models.PositiveIntegerField(null=True, blank=True)
    high = models.PositiveIntegerField(null=True, blank=True)
    kubernetes_version = models.CharField(max_length=128, blank=True, default="")
    provider = models.CharField(max_length=16, blank=True, default="")
    kubernetes_eol = models.DateField(null=True, blank=True)
    os_images = models.JSONField(default=dict, blank=True)
    # The soonest end of life among the nodes' OS images (None: no node, or none known).
    os_eol = models.DateField(null=True, blank=True)
    last_poll_status = models.CharField(max_length=16, blank=True, default="")
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The overview sorts and filters on these over the whole fleet.
        indexes = [
            models.Index(fields=["score"], name="clustercurrent_score"),
            models.Index(fields=["grade"], name="clustercurrent_grade"),
            models.Index(fields=["kubernetes_eol"], name="clustercurrent_eol"),
            models.Index(fields=["last_poll_at"], name="clustercurrent_polled"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_id} now: {self.grade or '—'}"
