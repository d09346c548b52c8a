"""Where clusters stand on the frameworks (CIS Kubernetes Benchmark, NSA/CISA guide).

Read from what the newest successful poll recorded — the cluster's open findings, the checks
that ran and why the others did not — as the scorecard reads it: findings of checks that could
not run are left out, accepted risks and platform-managed findings are set apart. The mapping
decides nothing about the score; it only groups the same findings by control.

``cluster_frameworks`` reads one cluster; ``fleet_framework`` every cluster a user may see,
in a fixed number of queries however many clusters there are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from clusters.models import Cluster
from posture.checks import CHECKSET_VERSION, Policy
from posture.checks.frameworks.assess import (
    SWITCHED_OFF,
    Assessment,
    ControlResult,
    ControlStatus,
    assess,
)
from posture.checks.frameworks.data import Control, Framework, framework, frameworks
from posture.domain import checksets
from posture.domain.fleet import with_latest
from posture.domain.models import Finding, OrgPolicy, RiskAcceptance, Snapshot
from posture.domain.waivers import accepting

ACCEPTED = "accepted risk"
PLATFORM = "platform-managed"
# A page or an API answer lists at most this many findings under one control; the counts
# and the checklist give the rest (a control over thousands of pods stays a readable page).
FINDINGS_SHOWN = 25
NOT_POLLED = "no successful poll yet"


class StoredFinding(NamedTuple):
    """An open finding as the assessment reads it (only the columns it needs)."""

    pk: int
    cluster_id: int
    check_id: str
    kind: str
    namespace: str
    name: str
    container: str
    severity: str
    message: str

    @property
    def check(self) -> str:
        """Return the check id (the name ``assess`` reads by default)."""
        return self.check_id

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as the API writes it."""
        return {
            "id": self.pk,
            "check": self.check_id,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "container": self.container,
            "severity": self.severity,
            "message": self.message,
        }


_COLUMNS = StoredFinding._fields


def get_framework(framework_id: str) -> Framework:
    """Return the shipped framework ``framework_id`` or raise 404 (the id comes from a URL)."""
    try:
        return framework(framework_id)
    except KeyError:
        raise Http404("No such framework") from None


def checks_run(finding_counts: Mapping[str, Any] | None,
               catalog: Collection[str]) -> tuple[set[str], dict[str, str]]:
    """Return the checks a poll ran and why the others did not.

    ``catalog`` is the poll's check set (``checksets.checks_of``); every check of it ran except
    those ``finding_counts`` names as not evaluated or switched off.
    """
    counts = finding_counts or {}
    not_evaluated = counts.get("not_evaluated") or {}
    reasons: dict[str, str] = {str(c): SWITCHED_OFF for c in counts.get("disabled") or ()}
    if isinstance(not_evaluated, dict):
        reasons.update({str(c): str(why) for c, why in not_evaluated.items()})
    return set(catalog) - set(reasons), reasons


def _set_apart(policy: Policy, acceptances: list[RiskAcceptance]) -> Any:
    def why(f: StoredFinding) -> str | None:
        if acceptances and accepting((f.check_id, f.namespace, f.name), acceptances):
            return ACCEPTED
        if policy.set_apart(f.kind, f.namespace, f.name):
            return PLATFORM
        return None

    return why


def _assess(fw: Framework, rows: Iterable[StoredFinding], counts: Mapping[str, Any] | None,
            catalog: Collection[str], policy: Policy,
            acceptances: list[RiskAcceptance]) -> Assessment[StoredFinding]:
    ran, reasons = checks_run(counts, catalog)
    return assess(fw, rows, ran=ran, not_evaluated=reasons,
                  set_apart=_set_apart(policy, acceptances))


def _mapped_checks() -> set[str]:
    return {check for fw in frameworks().values() for check in fw.evaluates}


def _open_rows(clusters: Iterable[int]) -> QuerySet[Any]:
    return (Finding.objects
            .filter(cluster_id__in=list(clusters), resolved_at__isnull=True,
                    check_id__in=_mapped_checks())
            .order_by("check_id", "namespace", "name", "container", "pk")
            .values_list(*_COLUMNS))


@dataclass(frozen=True)
class StatusCount:
    """How many controls (or clusters) have one status."""

    status: ControlStatus
    count: int


def status_counts(counts: Mapping[str, int]) -> list[StatusCount]:
    """Return ``counts`` (status -> number) as rows in display order, every status present."""
    return [StatusCount(s, counts.get(str(s), 0)) for s in ControlStatus.ordered()]


@dataclass(frozen=True)
class FrameworkView:
    """One cluster's assessment against one framework, as the pages show it."""

    assessment: Assessment[StoredFinding]

    @property
    def framework(self) -> Framework:
        return self.assessment.framework

    @property
    def counts(self) -> list[StatusCount]:
        """Return how many controls have each status, in display order."""
        return status_counts(self.assessment.counts())

    @property
    def failed(self) -> list[ControlResult[StoredFinding]]:
        """Return the failed controls, in the framework's order."""
        return [r for r in self.assessment.results if r.status is ControlStatus.FAILED]

    @property
    def sections(self) -> list[tuple[str, str, list[ControlResult[StoredFinding]]]]:
        return self.assessment.by_section()


@dataclass(frozen=True)
class ClusterFrameworks:
    """A cluster's standing on every framework, from its newest successful snapshot."""

    cluster: Cluster
    snapshot: Snapshot | None
    views: list[FrameworkView] = field(default_factory=list)

    @property
    def checkset_version(self) -> str:
        return self.snapshot.checkset_version if self.snapshot else ""

    @property
    def checkset_is_current(self) -> bool:
        """Say whether the poll ran today's check set (else the next poll may differ)."""
        return self.checkset_version == CHECKSET_VERSION

    def view(self, framework_id: str) -> FrameworkView:
        """Return the view of ``framework_id``; KeyError if there is none."""
        for v in self.views:
            if v.framework.id == framework_id:
                return v
        raise KeyError(framework_id)


def cluster_frameworks(cluster: Cluster, policy: Policy, now: datetime,
                       only: Iterable[Framework] | None = None,
                       snapshot: Snapshot | None = None) -> ClusterFrameworks:
    """Assess ``cluster``'s newest successful snapshot against ``only`` (default: all).

    ``snapshot`` saves the query when the caller holds the newest successful one already.
    """
    if snapshot is None:
        snapshot = Snapshot.objects.latest_successful(cluster, detail=False)
    if snapshot is None:
        return ClusterFrameworks(cluster, None)
    rows = [StoredFinding(*r) for r in _open_rows([cluster.pk])]
    acceptances = list(RiskAcceptance.objects.filter(
        cluster=cluster, revoked_at__isnull=True, expires_at__gt=now))
    chosen = list(only) if only is not None else list(frameworks().values())
    catalog = checksets.checks_of([snapshot.checkset_version])[snapshot.checkset_version]
    views = [FrameworkView(_assess(fw, rows, snapshot.finding_counts, catalog, policy,
                                   acceptances)) for fw in chosen]
    return ClusterFrameworks(cluster, snapshot, views)


def shown(result: ControlResult[StoredFinding]) -> ControlResult[StoredFinding]:
    """Return ``result`` with at most ``FINDINGS_SHOWN`` findings and set-apart findings."""
    return replace(result, findings=result.findings[:FINDINGS_SHOWN],
                   set_apart=result.set_apart[:FINDINGS_SHOWN])


def control_dict(result: ControlResult[StoredFinding]) -> dict[str, Any]:
    """Return a control's result as the API writes it: counts, then the first findings."""
    body = shown(result).to_dict(StoredFinding.to_dict)
    body["status_label"] = result.status.label
    body["findings_count"] = len(result.findings)
    body["set_apart_count"] = len(result.set_apart)
    body["findings_truncated"] = (len(result.findings) > FINDINGS_SHOWN
                                  or len(result.set_apart) > FINDINGS_SHOWN)
    return body


# --- The fleet ---------------------------------------------------------------------------------


@dataclass
class ControlRollup:
    """One control across the fleet: how many clusters have each status, and which fail."""

    control: Control
    counts: Counter[str] = field(default_factory=Counter)
    failing: list[tuple[Cluster, ControlResult[StoredFinding]]] = field(default_factory=list)
    not_evaluated: list[tuple[Cluster, ControlResult[StoredFinding]]] = field(
        default_factory=list)

    @property
    def status_counts(self) -> list[StatusCount]:
        return status_counts(self.counts)

    @property
    def failed(self) -> int:
        return self.counts[str(ControlStatus.FAILED)]

    @property
    def passed(self) -> int:
        return self.counts[str(ControlStatus.PASSED)]

    @property
    def unevaluated(self) -> int:
        return self.counts[str(ControlStatus.NOT_EVALUATED)]

    @property
    def not_checkable(self) -> bool:
        return bool(self.control.not_checkable)


@dataclass
class FleetFramework:
    """A framework across the clusters a user may see (those with a successful poll)."""

    framework: Framework
    controls: list[ControlRollup]
    polled: list[tuple[Cluster, Assessment[StoredFinding]]]
    not_polled: list[Cluster]

    @property
    def failing_controls(self) -> int:
        """Return how many controls fail on at least one cluster."""
        return sum(1 for c in self.controls if c.failed)

    @property
    def sections(self) -> list[tuple[str, str, list[ControlRollup]]]:
        by_id = {c.control.id: c for c in self.controls}
        return [(s.id, s.title, [by_id[c.id] for c in s.controls])
                for s in self.framework.sections]

    def csv_rows(self) -> list[tuple[str, datetime | None, str, Assessment[StoredFinding]]]:
        """Return (cluster name, as of, check set version, assessment) per assessed cluster."""
        # The clusters carry ``with_latest``'s annotations, which their model does not declare.
        return [(c.name, getattr(c, "last_success_at", None),
                 getattr(c, "checkset_version", None) or "", a) for c, a in self.polled]

    def control(self, control_id: str) -> ControlRollup:
        """Return the rollup of ``control_id``; KeyError if the framework has none."""
        for c in self.controls:
            if c.control.id == control_id:
                return c
        raise KeyError(control_id)


def fleet_framework(fw: Framework, clusters: QuerySet[Cluster], now: datetime) -> FleetFramework:
    """Assess every cluster of ``clusters`` against ``fw``."""
    return fleet_frameworks([fw], clusters, now)[0]


def fleet_frameworks(fws: Sequence[Framework], clusters: QuerySet[Cluster],
                     now: datetime) -> list[FleetFramework]:
    """Assess every cluster of ``clusters`` against each of ``fws``, in four queries in all."""
    good = Snapshot.objects.successful_of(OuterRef("pk"))
    rows = list(with_latest(clusters)
                .annotate(checkset_version=Subquery(good.values("checkset_version")[:1]))
                .order_by("name", "pk"))
    polled = [c for c in rows if c.latest_snapshot_id is not None]
    org_policy = OrgPolicy.load().policy()
    per_cluster: dict[int, list[StoredFinding]] = defaultdict(list)
    relevant = {check for fw in fws for check in fw.evaluates}
    for r in _open_rows(c.pk for c in polled).filter(check_id__in=relevant):
        f = StoredFinding(*r)
        per_cluster[f.cluster_id].append(f)
    acceptances: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for a in RiskAcceptance.objects.filter(cluster__in=[c.pk for c in polled],
                                           revoked_at__isnull=True, expires_at__gt=now):
        acceptances[a.cluster_id].append(a)
    policies = {c.pk: org_policy.for_cluster(c.labels or {}) for c in polled}
    catalogs = checksets.checks_of(c.checkset_version for c in polled)
    out = []
    for fw in fws:
        rollups = {c.id: ControlRollup(c) for c in fw.controls}
        assessed = []
        for cluster in polled:
            assessment = _assess(fw, per_cluster.get(cluster.pk, ()), cluster.finding_counts,
                                 catalogs[cluster.checkset_version], policies[cluster.pk],
                                 acceptances.get(cluster.pk, []))
            assessed.append((cluster, assessment))
            for result in assessment.results:
                rollup = rollups[result.control.id]
                rollup.counts[str(result.status)] += 1
                if result.status is ControlStatus.FAILED:
                    rollup.failing.append((cluster, result))
                elif result.status is ControlStatus.NOT_EVALUATED:
                    rollup.not_evaluated.append((cluster, result))
        out.append(FleetFramework(fw, list(rollups.values()), assessed,
                                  [c for c in rows if c.latest_snapshot_id is None]))
    return out


def fleet_dict(fleet: FleetFramework) -> dict[str, Any]:
    """Return the fleet's standing on a framework as the API writes it."""
    fw = fleet.framework
    return {
        "id": fw.id,
        "title": fw.title,
        "version": fw.version,
        "clusters_assessed": len(fleet.polled),
        "clusters_not_polled": [{"id": c.pk, "name": c.name} for c in fleet.not_polled],
        "controls": [{
            "id": r.control.id,
            "title": r.control.title,
            "section": r.control.section,
            "not_checkable": r.control.not_checkable,
            "clusters": {str(s): r.counts[str(s)] for s in ControlStatus.ordered()},
            "failed_clusters": [
                {"id": c.pk, "name": c.name, "findings": len(res.findings)}
                for c, res in r.failing],
        } for r in fleet.controls],
    }
