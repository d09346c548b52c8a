"""What Posture learns from polls: snapshots (one per poll), findings (one per problem's life)."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from posture.checks import Policy

if TYPE_CHECKING:
    from clusters.models import Cluster


class SnapshotStatus(models.TextChoices):
    """How a poll ended. ``running`` is a poll in progress (or one whose worker died)."""

    RUNNING = "running", "Running"
    OK = "ok", "OK"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


# The statuses of a poll that read the cluster: the dashboards' "latest snapshot" is one of these.
SUCCEEDED = (SnapshotStatus.OK, SnapshotStatus.PARTIAL)

SNAPSHOT_STATUS_COLOURS = {
    SnapshotStatus.RUNNING: "#1f5fa8",
    SnapshotStatus.OK: "#1a7f37",
    SnapshotStatus.PARTIAL: "#9a6700",
    SnapshotStatus.FAILED: "#b42318",
}


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Poll now"
    COMMAND = "command", "Command line"
    REPLAY = "replay", "History replay"


# The heaviest fields of a snapshot (a big cluster's node list runs to hundreds of kB), which only
# the scorecard itself shows. The node summary stays: scoring reads its count of nodes whose OS
# support is unknown, and it is a few hundred bytes.
DETAIL_FIELDS = ("nodes", "coverage", "category_scores", "pod_security")


class SnapshotQuerySet(models.QuerySet["Snapshot"]):
    def successful(self) -> SnapshotQuerySet:
        """Return the snapshots of polls that read their cluster (``SUCCEEDED``)."""
        return self.filter(status__in=SUCCEEDED)

    def successful_of(self, cluster: Any) -> SnapshotQuerySet:
        """Return ``cluster``'s successful snapshots, newest first: the one query behind "the
        latest successful snapshot" (``cluster`` is a row, a pk or an ``OuterRef`` — then
        ``.values(...)[:1]`` of it is a per-cluster subquery)."""
        return self.successful().filter(cluster=cluster).order_by("-taken_at")

    def latest_successful(self, cluster: Cluster, *, detail: bool = True) -> Snapshot | None:
        """Return ``cluster``'s newest successful snapshot; without ``detail``, leave its
        ``DETAIL_FIELDS`` unread (reading one later costs a query)."""
        snapshots = self.successful_of(cluster)
        if not detail:
            snapshots = snapshots.defer(*DETAIL_FIELDS)
        snapshot = snapshots.first()
        if snapshot is not None:
            snapshot.cluster = cluster  # known already: reading it costs no query
        return snapshot


class CheckSet(models.Model):
    """The check ids of one check-set version, stored once per version ever used by a poll.

    A snapshot keeps its ``checkset_version`` and the checks that did not run (with why); the
    checks that did run are this row's ids less those. Kept apart so that a poll does not
    carry the whole catalog, and so that a check added to the catalog later is known not to
    have run in older polls (a framework control then says "not evaluated", not "passed").
    """

    version = models.CharField(max_length=64, primary_key=True)
    checks = models.JSONField(default=list)
    first_seen = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.version


class Snapshot(models.Model):
    """One poll of one cluster: its outcome and aggregates. Trend charts read only these rows."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="snapshots")
    taken_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=16, choices=SnapshotStatus.choices,
                              default=SnapshotStatus.RUNNING)
    error_kind = models.CharField(max_length=32, blank=True, default="")
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)

    kubernetes_version = models.CharField(max_length=128, blank=True, default="")
    kubernetes_minor = models.CharField(max_length=16, blank=True, default="")
    provider = models.CharField(max_length=16, blank=True, default="")
    coverage = models.JSONField(default=dict, blank=True)

    node_count = models.PositiveIntegerField(null=True, blank=True)
    namespace_count = models.PositiveIntegerField(null=True, blank=True)
    workload_count = models.PositiveIntegerField(null=True, blank=True)
    pod_count = models.PositiveIntegerField(null=True, blank=True)
    # {"os_images": {image: count}, "kubelet_minors": {minor: count}, "oldest_node_created": iso,
    #  "runtimes": {runtime: count}}
    node_summary = models.JSONField(default=dict, blank=True)
    # Compact node detail (name, OS, kernel, kubelet, runtime, created); pruned after the
    # retention window, while the aggregates above stay forever.
    nodes = models.JSONField(null=True, blank=True)
    # Per namespace, its Pod Security Admission labels and the level its workloads meet
    # (``posture.checks.namespaces``); kept forever, like the aggregates. Null before it was
    # recorded, and when the namespaces could not be read.
    pod_security = models.JSONField(null=True, blank=True)

    checkset_version = models.CharField(max_length=64, blank=True, default="")
    # {"severity": {"critical": n, ...}, "category": {"workloads": n, ...}, "not_evaluated": {...}}
    finding_counts = models.JSONField(default=dict, blank=True)
    open_findings = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    grade = models.CharField(max_length=2, blank=True, default="")
    category_scores = models.JSONField(default=dict, blank=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            models.Index(fields=["cluster", "-taken_at"]),
            # The pages ask, per cluster, for the newest successful snapshot (now, or as of 7 and
            # 30 days ago) and read recent scores: only successful rows, newest first, with the
            # score at hand for an index-only scan.
            models.Index(fields=["cluster", "-taken_at"], include=["score"],
                         condition=Q(status__in=SUCCEEDED), name="snapshot_succeeded_newest"),
        ]
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        return f"{self.cluster_id} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def status_colour(self) -> str:
        return SNAPSHOT_STATUS_COLOURS[SnapshotStatus(self.status)]

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED


class Finding(models.Model):
    """One distinct problem over its lifetime, keyed by the owning workload (never the pod).

    Identity: (cluster, check, kind, namespace, name, container). An unchanged re-poll writes
    nothing here; a changed description (message, evidence) of an open finding is written over
    its row; a problem that comes back after being resolved gets a new row (a reopening).
    """

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="findings")
    check_id = models.CharField(max_length=96)
    kind = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253, blank=True, default="")
    name = models.CharField(max_length=253)
    container = models.CharField(max_length=253, blank=True, default="")
    severity = models.CharField(max_length=16)
    category = models.CharField(max_length=32)
    message = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    first_seen = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    first_seen_at = models.DateTimeField()
    resolved_in = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cluster_id", "check_id", "namespace", "name", "container"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "check_id", "kind", "namespace", "name", "container"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_finding_per_identity",
            )
        ]
        indexes = [
            models.Index(fields=["cluster", "resolved_at"]),
            models.Index(fields=["cluster", "check_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.check_id} {self.kind}/{self.namespace}/{self.name} {self.container}".strip()

    @property
    def identity(self) -> tuple[str, str, str, str, str]:
        return (self.check_id, self.kind, self.namespace, self.name, self.container)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class OrgPolicy(models.Model):
    """The organisation's policy (a single row): what ``posture.checks.Policy`` reads.

    Kept as the same JSON document the CLI reads from YAML, so one policy file can serve both.
    """

    document = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "organisation policy"

    def __str__(self) -> str:
        return "Organisation policy"

    @classmethod
    def load(cls) -> OrgPolicy:
        row, _ = cls.objects.get_or_create(pk=1)
        return row

    def policy(self) -> Policy:
        """Return the parsed policy; the document was validated when saved."""
        return Policy.from_dict(self.document or {})


class RiskAcceptance(models.Model):
    """An accepted risk: one check, in a scope of one cluster, until a date, with a reason.

    Matching findings stay visible (marked accepted) but leave the score; on expiry they count
    again. Rows are never deleted, so every acceptance is kept with who and when.
    """

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="acceptances")
    check_id = models.CharField(max_length=96)
    namespace = models.CharField(max_length=253, blank=True, default="",
                                 help_text="Empty: every namespace.")
    name_pattern = models.CharField(max_length=253, blank=True, default="",
                                    help_text="Workload name, shell wildcards allowed (web-*). "
                                              "Empty: every workload.")
    reason = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["cluster", "check_id"])]

    def __str__(self) -> str:
        scope = "/".join(p for p in (self.namespace, self.name_pattern) if p) or "whole cluster"
        return f"{self.check_id} on {scope}"

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now

    def matches(self, check_id: str, namespace: str, name: str) -> bool:
        """Say whether a finding falls in this acceptance's scope."""
        return (check_id == self.check_id
                and (not self.namespace or namespace == self.namespace)
                and (not self.name_pattern or fnmatch.fnmatchcase(name, self.name_pattern)))


class DigestPreference(models.Model):
    """A user's weekly digest settings: on or off, and which clusters (none = all visible)."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE,
                                related_name="digest_preference")
    enabled = models.BooleanField(default=True)
    clusters = models.ManyToManyField("clusters.Cluster", blank=True, related_name="+",
                                      help_text="Empty: every cluster you may see.")

    def __str__(self) -> str:
        return f"digest for {self.user_id} ({'on' if self.enabled else 'off'})"


class DigestDelivery(models.Model):
    """One digest for one recipient and week. The unique row is the exactly-once guarantee: it is
    claimed before sending, and marked sent after."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="Monday of the digest's week, in TIME_ZONE.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "week"],
                                               name="one_digest_per_user_and_week")]

    def __str__(self) -> str:
        return f"digest {self.week} for {self.user_id}: {self.status}"


class AuditEvent(models.Model):
    """Who did what, when, from where. Never holds a secret (kubeconfigs are never recorded)."""

    class Action(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login-failed", "Login failed"
        LOGOUT = "logout", "Logged out"
        REGISTER = "cluster-register", "Registered a cluster"
        KUBECONFIG_REPLACE = "kubeconfig-replace", "Replaced a kubeconfig"
        DELETE = "cluster-delete", "Deleted a cluster"
        POLL_NOW = "poll-now", "Asked for a poll"
        ACCEPT_RISK = "risk-accept", "Accepted a risk"
        REVOKE_RISK = "risk-revoke", "Revoked a risk acceptance"
        POLICY_CHANGE = "policy-change", "Changed the policy"
        ROLE_CHANGE = "role-change", "Changed roles"
        TOKEN_CREATE = "token-create", "Created an API token"
        TOKEN_REVOKE = "token-revoke", "Revoked an API token"
        ALERT_RULE_CREATE = "alert-rule-create", "Created an alert rule"
        ALERT_RULE_CHANGE = "alert-rule-change", "Changed an alert rule"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(max_length=150, blank=True, default="",
                                  help_text="Kept when the user is deleted.")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    cluster = models.ForeignKey("clusters.Cluster", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    target = models.CharField(max_length=300, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"


class ApiToken(models.Model):
    """A personal token for the read-only API: it sees what its user sees. Only a hash is kept."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    prefix = models.CharField(max_length=12, help_text="The token's first characters, to tell "
                                                      "tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Image(models.Model):
    """One container image a cluster runs, as Trivy Operator scanned it, over its lifetime.

    Identity: (cluster, ref), ``ref`` being ``registry/repository@digest`` when the digest is
    known, else ``registry/repository:tag``. Its vulnerabilities are de-duplicated over every
    workload and container that runs it. ``counts`` cover every vulnerability read
    (``{"critical": {"total": n, "fixable": m}, …}``, ``fixable`` null when the report listed
    none); at most a bounded number are kept as rows (``stored``), the most urgent first. An
    unchanged image polled again writes nothing; an image no longer run is resolved.
    """

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="images")
    ref = models.CharField(max_length=512)
    registry = models.CharField(max_length=256, blank=True, default="")
    repository = models.CharField(max_length=256, blank=True, default="")
    tag = models.CharField(max_length=256, blank=True, default="")
    digest = models.CharField(max_length=256, blank=True, default="")
    os = models.CharField(max_length=160, blank=True, default="")
    counts = models.JSONField(default=dict, blank=True)
    stored = models.PositiveIntegerField(default=0)
    # Workloads running it past the ones listed (ImageWorkload rows are bounded too).
    more_workloads = models.PositiveIntegerField(default=0)
    rank = models.PositiveIntegerField(default=0, help_text="0 is the most urgent image.")
    first_seen = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    first_seen_at = models.DateTimeField()
    resolved_in = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cluster_id", "rank", "ref"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "ref"],
                                    condition=Q(resolved_at__isnull=True),
                                    name="one_open_image_per_ref"),
        ]
        indexes = [models.Index(fields=["cluster", "resolved_at"])]

    def __str__(self) -> str:
        return self.ref

    @property
    def short_ref(self) -> str:
        """Return the reference with its digest cut to 12 hex digits, to show in tables."""
        if not self.digest or len(self.digest) <= 19:
            return self.ref
        name = f"{self.registry}/{self.repository}" if self.registry else self.repository
        return f"{name}{':' + self.tag if self.tag else ''}@{self.digest[:19]}…"

    def count(self, severity: str) -> dict[str, int | None]:
        """Return ``{"total": n, "fixable": m}`` for one vulnerability severity."""
        entry = (self.counts or {}).get(severity)
        return entry if isinstance(entry, dict) else {"total": 0, "fixable": 0}

    @property
    def total(self) -> int:
        """Return how many vulnerabilities were read for the image (stored or not)."""
        return sum(int(c.get("total") or 0) for c in (self.counts or {}).values()
                   if isinstance(c, dict))

    @property
    def fixable(self) -> int:
        """Return how many of them have a fixed version (unknown counts as none)."""
        return sum(int(c.get("fixable") or 0) for c in (self.counts or {}).values()
                   if isinstance(c, dict))


class ImageWorkload(models.Model):
    """A workload container that runs an image now (links are replaced as they change)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="workloads")
    kind = models.CharField(max_length=64)
    namespace = models.CharField(max_length=253, blank=True, default="")
    name = models.CharField(max_length=253)
    container = models.CharField(max_length=253, blank=True, default="")

    class Meta:
        ordering = ["namespace", "kind", "name", "container"]
        constraints = [
            models.UniqueConstraint(fields=["image", "kind", "namespace", "name", "container"],
                                    name="one_link_per_image_workload"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name} {self.container}".strip()

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.kind, self.namespace, self.name, self.container)


class ImageVulnerability(models.Model):
    """One vulnerability of one package in an image, over its lifetime.

    Identity: (image, vulnerability id, package, installed version). A fix published later
    (``fixed_version`` filled in), a new severity or title updates the row in place; a
    vulnerability gone from the report, or whose image is no longer run, is resolved.
    """

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="vulnerabilities")
    vulnerability_id = models.CharField(max_length=128)
    package = models.CharField(max_length=256)
    installed_version = models.CharField(max_length=128, blank=True, default="")
    fixed_version = models.CharField(max_length=256, blank=True, default="")
    severity = models.CharField(max_length=16)
    title = models.CharField(max_length=300, blank=True, default="")
    link = models.CharField(max_length=500, blank=True, default="",
                            help_text="An http(s) URL, checked when read.")
    score = models.FloatField(null=True, blank=True)
    # posture.checks.trivy.Vulnerability.priority: higher is more urgent.
    priority = models.PositiveIntegerField(default=0)
    first_seen = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")
    first_seen_at = models.DateTimeField()
    resolved_in = models.ForeignKey(Snapshot, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "vulnerability_id", "package", "installed_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "vulnerability_id", "package", "installed_version"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_vulnerability_per_identity"),
        ]
        indexes = [models.Index(fields=["cluster", "resolved_at"]),
                   models.Index(fields=["image", "resolved_at"])]

    def __str__(self) -> str:
        return f"{self.vulnerability_id} {self.package} {self.installed_version}"

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.vulnerability_id, self.package, self.installed_version)

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_version)

    @property
    def safe_link(self) -> str:
        """Return the link if it is (still) a plain http/https URL, else ""."""
        from posture.checks.trivy import safe_link

        return safe_link(self.link)


# Alert rules, events and the outbox, and the fleet rollups, live in their own modules; imported
# here so Django finds them.
from posture.domain.alert_models import (  # noqa: E402, F401
    AlertDelivery,
    AlertEvent,
    AlertRule,
)
from posture.domain.rollup_models import (  # noqa: E402, F401
    ClusterCurrent,
    ClusterDay,
)
