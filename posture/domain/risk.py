"""Risk acceptance as an action: accept a check for a scope until a date, or revoke it.

Each leaves an audit row and rescores the cluster's newest snapshot; what an acceptance covers
is ``posture.domain.waivers``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster
from posture.checks import CATALOG
from posture.domain.audit import Action, record
from posture.domain.models import OrgPolicy, RiskAcceptance
from posture.domain.scorecard import rescore_latest


class AcceptanceError(ValueError):
    """An acceptance was refused; ``field`` names the input to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def accept(*, cluster: Cluster, check_id: str, namespace: str, name_pattern: str, reason: str,
           expires_at: datetime, user: User | AnonymousUser | None,
           now: datetime | None = None) -> RiskAcceptance:
    """Record an acceptance after checking it against the policy; rescore the cluster."""
    now = now or timezone.now()
    if check_id not in CATALOG:
        raise AcceptanceError(f"Unknown check {check_id!r}.", "check_id")
    if not reason.strip():
        raise AcceptanceError("Say why the risk is accepted.", "reason")
    limit = OrgPolicy.load().policy().max_acceptance_days
    if expires_at <= now:
        raise AcceptanceError("The expiry must be in the future.", "expires_at")
    if expires_at > now + timedelta(days=limit):
        raise AcceptanceError(f"The policy allows accepting a risk for at most {limit} days.",
                              "expires_at")
    with transaction.atomic():
        acceptance = RiskAcceptance.objects.create(
            cluster=cluster, check_id=check_id, namespace=namespace.strip(),
            name_pattern=name_pattern.strip(), reason=reason.strip(), expires_at=expires_at,
            created_by=user if isinstance(user, User) else None)
        rescore_latest(cluster, now)
        record(Action.ACCEPT_RISK, actor=user, cluster=cluster, target=str(acceptance),
               detail={"check": check_id, "namespace": acceptance.namespace,
                       "name_pattern": acceptance.name_pattern, "reason": acceptance.reason,
                       "expires_at": expires_at.isoformat()})
    return acceptance


def revoke(acceptance: RiskAcceptance, user: User | AnonymousUser | None,
           now: datetime | None = None) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        acceptance.revoked_at = now
        acceptance.revoked_by = user if isinstance(user, User) else None
        acceptance.save(update_fields=["revoked_at", "revoked_by"])
        rescore_latest(acceptance.cluster, now)
        record(Action.REVOKE_RISK, actor=user, cluster=acceptance.cluster,
               target=str(acceptance), detail={"check": acceptance.check_id})
