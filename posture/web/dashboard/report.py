"""The printable report for auditors: per cluster, its score and deductions, the accepted risks
in force with their reasons and expiry, as of its newest successful poll; for the fleet, the
same for every cluster the user may see, after a summary table.

Frameworks (CIS, NSA/CISA) join the report through ``frameworks_section``: it returns None
until the site shows a framework view of a cluster, and the template leaves the section out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clusters.models import Cluster
from posture.domain.models import RiskAcceptance
from posture.domain.polling import policy_for
from posture.web.dashboard import scorecard


@dataclass
class ClusterReport:
    """One cluster's part of a report."""

    cluster: Cluster
    scorecard: scorecard.ClusterScorecard
    acceptances: list[RiskAcceptance] = field(default_factory=list)
    frameworks: Any = None

    @property
    def as_of(self) -> datetime | None:
        """Return when the poll the report is read from was taken."""
        return self.scorecard.snapshot.taken_at if self.scorecard.snapshot else None


def frameworks_section(cluster: Cluster, card: scorecard.ClusterScorecard) -> Any:
    """Return the cluster's framework view for the report, or None while there is none."""
    return None


def _reports(clusters: Iterable[Cluster], now: datetime) -> list[ClusterReport]:
    clusters = list(clusters)
    active: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for acceptance in (RiskAcceptance.objects
                       .filter(cluster__in=clusters, revoked_at__isnull=True, expires_at__gt=now)
                       .select_related("created_by").order_by("expires_at", "check_id")):
        active[acceptance.cluster_id].append(acceptance)
    reports = []
    for cluster in clusters:
        card = scorecard.build(cluster, now, policy_for(cluster))
        reports.append(ClusterReport(cluster, card, active.get(cluster.pk, []),
                                     frameworks_section(cluster, card)))
    return reports


def cluster_report(cluster: Cluster, now: datetime) -> ClusterReport:
    """Return ``cluster``'s report."""
    return _reports([cluster], now)[0]


def fleet_report(clusters: Iterable[Cluster], now: datetime) -> list[ClusterReport]:
    """Return the report of every cluster in ``clusters``, by name."""
    return _reports(sorted(clusters, key=lambda c: (c.name, c.pk)), now)
