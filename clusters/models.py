"""The cluster registry."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from clusters import vault
from clusters.kubeconfig import ClusterCredentials, credentials

CLUSTER_NAME = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    "Use lower-case letters, digits and dashes (at most 63), starting and ending with a letter "
    "or digit.",
)


class Cluster(models.Model):
    """A registered cluster: where it is, how to reach it (sealed), who owns it, when to poll."""

    name = models.CharField(max_length=63, unique=True, validators=[CLUSTER_NAME])
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="owned_clusters", blank=True
    )
    owner_teams = models.ManyToManyField(
        "auth.Group", related_name="owned_clusters", blank=True,
        help_text="Teams whose members own this cluster.",
    )
    # Free-form key/value labels (environment, provider, region…) for filtering and policy.
    labels = models.JSONField(default=dict, blank=True)
    server = models.CharField(max_length=2048, help_text="API server URL (not secret).")
    context = models.CharField(max_length=253)
    kubeconfig_sealed = models.BinaryField(editable=False)
    poll_interval_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The poll lease: a worker owns the cluster's poll while poll_lease_until is in the future.
    # A crashed worker's lease simply runs out.
    poll_lease_id = models.CharField(max_length=36, blank=True, default="")
    poll_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("clusters:detail", args=[self.pk])

    def store_kubeconfig(self, creds: ClusterCredentials) -> None:
        """Seal the minimal kubeconfig for ``creds`` and remember its non-secret parts."""
        self.kubeconfig_sealed = vault.seal(creds.to_kubeconfig())
        self.server = creds.server
        self.context = creds.context

    def credentials(self) -> ClusterCredentials:
        """Decrypt the kubeconfig in memory and return its credentials."""
        # The address policy is enforced when connecting (clusters.kube), after DNS: a stored
        # kubeconfig whose address the settings now forbid fails its poll as blocked-address.
        return credentials(vault.unseal(self.kubeconfig_sealed), self.context,
                           allow_link_local=settings.POSTURE_ALLOW_LINK_LOCAL)

    @property
    def poll_interval(self) -> timedelta:
        return timedelta(minutes=self.poll_interval_minutes)

    def claim_poll(self, lease: timedelta) -> str | None:
        """Take the poll lease if nobody holds a live one; return its id, or None if taken.

        A conditional UPDATE that must change exactly one row: two workers racing for the same
        cluster cannot both succeed, on PostgreSQL or SQLite.
        """
        now = timezone.now()
        lease_id = str(uuid.uuid4())
        taken = (
            Cluster.objects.filter(pk=self.pk)
            .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
            .update(poll_lease_id=lease_id, poll_lease_until=now + lease)
        )
        return lease_id if taken == 1 else None

    def release_poll(self, lease_id: str, next_poll_at: object) -> None:
        """Give the lease back and schedule the next poll (only if we still hold the lease)."""
        Cluster.objects.filter(pk=self.pk, poll_lease_id=lease_id).update(
            poll_lease_id="", poll_lease_until=None, next_poll_at=next_poll_at
        )
