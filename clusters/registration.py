"""Register a cluster: the one function behind the web form and ``manage.py register_cluster``."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal

from clusters import kube
from clusters.kubeconfig import ClusterCredentials, KubeconfigError, credentials
from clusters.models import CLUSTER_NAME, Cluster

# Sent inside the registration's transaction with ``cluster``, ``actor`` (who registered it, or
# None) and ``via`` (how, when not through the web form): the domain records it in the audit
# trail, so the registry needs no knowledge of auditing and every caller gets the same row.
cluster_registered = Signal()


class RegistrationError(ValueError):
    """Registration refused; ``str(error)`` is one line for the user. ``field`` names the input."""

    def __init__(self, message: str, field: str = "kubeconfig") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Registered:
    cluster: Cluster
    verified: kube.VerifyResult | None


def timeouts() -> kube.Timeouts:
    return kube.Timeouts(connect=settings.POSTURE_POLL_CONNECT_TIMEOUT,
                         read=settings.POSTURE_POLL_READ_TIMEOUT)


def read_credentials(kubeconfig: str | bytes, context: str | None) -> ClusterCredentials:
    """Validate a kubeconfig and return the chosen context's credentials."""
    try:
        return credentials(kubeconfig, context or None,
                           allow_link_local=settings.POSTURE_ALLOW_LINK_LOCAL,
                           addresses=kube.Limits.from_settings().addresses)
    except KubeconfigError as exc:
        raise RegistrationError(str(exc), exc.field) from None


def check_name(name: str) -> str:
    name = name.strip()
    try:
        CLUSTER_NAME(name)
    except ValidationError as exc:
        raise RegistrationError(f"Name {name!r}: {exc.messages[0]}", "name") from None
    if Cluster.objects.filter(name=name).exists():
        raise RegistrationError(f"A cluster named {name!r} is already registered.", "name")
    return name


def register(
    *,
    name: str,
    creds: ClusterCredentials,
    owner: User | None,
    poll_interval_minutes: int | None = None,
    verify: bool = False,
    via: str | None = None,
) -> Registered:
    """Store a new cluster with its sealed kubeconfig; optionally verify the connection first.

    With ``verify`` a failed ``/version`` call refuses the registration. ``via`` says where the
    registration came from when it is not the web form (the audit row keeps it).
    """
    name = check_name(name)
    interval = poll_interval_minutes or settings.POSTURE_POLL_INTERVAL_DEFAULT
    if not 1 <= interval <= 24 * 60:
        raise RegistrationError("The poll interval must be between 1 and 1440 minutes.",
                                "poll_interval_minutes")
    result = None
    if verify:
        result = kube.verify(creds, timeouts())
        if not result.ok:
            assert result.failure is not None
            raise RegistrationError(f"Connection check failed: {result.failure.message}")
    with transaction.atomic():
        # The first poll is not scheduled: the registration page takes it at once
        # (``claim_first_poll``); otherwise beat gives it a slot in the coming interval, so
        # clusters registered in bulk are not all polled on the same tick.
        cluster = Cluster(name=name, poll_interval_minutes=interval, created_by=owner,
                          next_poll_at=None)
        cluster.store_kubeconfig(creds)
        cluster.save()
        if owner is not None:
            cluster.owners.add(owner)
        cluster_registered.send(sender=Cluster, cluster=cluster, actor=owner, via=via)
    return Registered(cluster=cluster, verified=result)
