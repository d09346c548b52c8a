"""Which findings an active risk acceptance covers (what scoring leaves out as accepted).

Accepting and revoking are ``posture.domain.risk``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from clusters.models import Cluster
from posture.domain.models import Finding, RiskAcceptance

FindingKey = tuple[str, str, str, str, str]


def active_acceptances(cluster: Cluster, now: datetime | None = None) -> list[RiskAcceptance]:
    now = now or timezone.now()
    return list(RiskAcceptance.objects.filter(cluster=cluster, revoked_at__isnull=True,
                                              expires_at__gt=now))


def accepting(finding: Finding | tuple[str, str, str],
              acceptances: Iterable[RiskAcceptance]) -> RiskAcceptance | None:
    """Return the acceptance covering ``finding`` (a row, or (check, namespace, name))."""
    if isinstance(finding, Finding):
        check, namespace, name = finding.check_id, finding.namespace, finding.name
    else:
        check, namespace, name = finding
    for acceptance in acceptances:
        if acceptance.matches(check, namespace, name):
            return acceptance
    return None


def waived_keys(findings: Iterable[Finding],
                acceptances: list[RiskAcceptance]) -> set[FindingKey]:
    """Return the identity keys of the findings an active acceptance covers."""
    if not acceptances:
        return set()
    return {f.identity for f in findings if accepting(f, acceptances) is not None}
