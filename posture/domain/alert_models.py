"""Alerts: rules that say what to be told about, events that happened, and the outbox.

An ``AlertEvent`` is one thing that happened to one cluster, stored once under its natural key
(a grade drop at a snapshot, a critical finding's first sighting, an end of life coming within a
rule's window, a streak of failed polls). An ``AlertDelivery`` is one rule's message about one
event: the outbox row a worker claims before it sends (docs/alerts.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AlertKind(models.TextChoices):
    """What a rule watches for; ``threshold`` is days or hours where the kind needs one."""

    GRADE_DROPPED = "grade-dropped", "Grade dropped"
    NEW_CRITICAL = "new-critical", "New critical finding"
    EOL_SOON = "eol-soon", "Kubernetes end of life within N days"
    POLL_FAILING = "poll-failing", "Poll failing for N hours"


# The unit of each kind's threshold, for the form and the rules page.
THRESHOLD_UNITS = {AlertKind.EOL_SOON: "days", AlertKind.POLL_FAILING: "hours"}


class AlertChannel(models.TextChoices):
    """Where a rule's messages go."""

    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Signed JSON webhook"


WEBHOOK_CHANNELS = (AlertChannel.SLACK, AlertChannel.TEAMS, AlertChannel.WEBHOOK)


class DeliveryState(models.TextChoices):
    """Where an outbox row stands. ``sending`` is claimed by a worker until ``lease_until``."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


DELIVERY_STATE_COLOURS = {
    DeliveryState.PENDING: "#1f5fa8",
    DeliveryState.SENDING: "#9a6700",
    DeliveryState.SENT: "#1a7f37",
    DeliveryState.FAILED: "#b42318",
}


class AlertRule(models.Model):
    """One recipient's rule: which events, on which of the clusters they may see, sent where.

    The scope is the recipient's visibility (``clusters.access``), narrowed to ``clusters``
    when any are chosen: an owner's rule never reports on a cluster they cannot see.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="alert_rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    threshold = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=16, choices=AlertChannel.choices)
    # Email: the address (the recipient's own when blank). Webhooks: the URL, sealed like a
    # kubeconfig, and shown back only as its host (``url_hint``).
    email = models.EmailField(blank=True)
    url_sealed = models.BinaryField(blank=True, default=b"", editable=False)
    url_hint = models.CharField(max_length=300, blank=True)
    # The generic webhook's HMAC key, sealed; shown once, when the rule is created.
    secret_sealed = models.BinaryField(blank=True, default=b"", editable=False)
    clusters = models.ManyToManyField("clusters.Cluster", blank=True, related_name="+")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "posture"
        ordering = ["recipient_id", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def destination(self) -> str:
        """Return where messages go, without the secret part of a URL."""
        if self.channel == AlertChannel.EMAIL:
            return self.email or self.recipient.email
        return self.url_hint


class AlertEvent(models.Model):
    """One thing that happened to one cluster; ``key`` makes the same happening one row."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE,
                                related_name="alert_events")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    key = models.CharField(max_length=200)
    # The rule threshold the event was found under (EOL days, failing hours); 0 otherwise.
    threshold = models.PositiveIntegerField(default=0)
    occurred_at = models.DateTimeField()
    # What the message says: grades, a check and workload, a date. Untrusted text is kept as
    # it came and escaped per channel when rendered.
    detail = models.JSONField(default=dict)

    class Meta:
        app_label = "posture"
        constraints = [models.UniqueConstraint(fields=["cluster", "kind", "key"],
                                               name="alert_event_natural_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class AlertDelivery(models.Model):
    """The outbox: one rule's message about one event, claimed before it is sent."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=DeliveryState.choices,
                             default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_id = models.CharField(max_length=36, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    # What went wrong, never the URL or a body: an HTTP status, an exception's class.
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        app_label = "posture"
        constraints = [models.UniqueConstraint(fields=["rule", "event"],
                                               name="alert_delivery_once_per_rule")]
        indexes = [models.Index(fields=["state", "next_attempt_at"],
                                name="alert_delivery_due")]

    def __str__(self) -> str:
        return str(self.uid)
