"""The printable report for auditors: per cluster, its score and deductions, the accepted risks
in force with their reasons and expiry, as of its newest successful poll; for the fleet, the
same for every cluster the user may see, after a summary table.

Each cluster's part ends with where it stands on the frameworks (CIS, NSA/CISA): the controls
counted by status and the failed ones (``frameworks_section``), from the same poll and findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from clusters.models import Cluster
from posture.checks import Policy
from posture.domain.models import RiskAcceptance
from posture.domain.polling import policy_for
from posture.web.dashboard import frameworks, scorecard


@dataclass
class ClusterReport:
    """One cluster's part of a report."""

    cluster: Cluster
    scorecard: scorecard.ClusterScorecard
    acceptances: list[RiskAcceptance] = field(default_factory=list)
    frameworks: list[frameworks.FrameworkView] = field(default_factory=list)

    @property
    def as_of(self) -> datetime | None:
        """Return when the poll the report is read from was taken."""
        return self.scorecard.snapshot.taken_at if self.scorecard.snapshot else None


def frameworks_section(cluster: Cluster, card: scorecard.ClusterScorecard, now: datetime,
                       policy: Policy) -> list[frameworks.FrameworkView]:
    """Return the cluster's standing on every framework, from the poll its scorecard read
    (none when it has no successful poll: the template then leaves the section out)."""
    if card.snapshot is None:
        return []
    return frameworks.cluster_frameworks(cluster, policy, now, snapshot=card.snapshot).views


def _reports(clusters: Iterable[Cluster], now: datetime) -> list[ClusterReport]:
    clusters = list(clusters)
    active: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for acceptance in (RiskAcceptance.objects
                       .filter(cluster__in=clusters, revoked_at__isnull=True, expires_at__gt=now)
                       .select_related("created_by").order_by("expires_at", "check_id")):
        active[acceptance.cluster_id].append(acceptance)
    reports = []
    for cluster in clusters:
        policy = policy_for(cluster)
        card = scorecard.build(cluster, now, policy)
        reports.append(ClusterReport(cluster, card, active.get(cluster.pk, []),
                                     frameworks_section(cluster, card, now, policy)))
    return reports


def cluster_report(cluster: Cluster, now: datetime) -> ClusterReport:
    """Return ``cluster``'s report."""
    return _reports([cluster], now)[0]


def fleet_report(clusters: Iterable[Cluster], now: datetime) -> list[ClusterReport]:
    """Return the report of every cluster in ``clusters``, by name."""
    return _reports(sorted(clusters, key=lambda c: (c.name, c.pk)), now)
