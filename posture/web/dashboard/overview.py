"""The fleet overview: one row per visible cluster, the fleet's charts and its EOL timeline.

Everything here reads snapshot aggregates (the newest successful snapshot per cluster, scores
of older ones, each day's last score for the chart) in a fixed number of queries, whatever the
number of clusters or snapshots. The one read of Finding rows is fleet-wide and narrow: open
critical and high findings of checks that have an active acceptance, to count accepted risks
apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from clusters.models import Cluster
from posture.domain.models import Finding, OrgPolicy, RiskAcceptance, Snapshot
from posture.domain.scoring import Grade
from posture.domain.waivers import accepting
from posture.lifecycle import (
    KubeSupport,
    OSSupport,
    Provider,
    Support,
    SupportStatus,
    kubernetes_support,
    os_support,
)
from posture.web import charts as chart_builders
from posture.web.charts import Chart, FleetPoint, Span
from posture.web.dashboard import (
    aggregate_parts,
    category_scores,
    latest_successful_ids,
    not_evaluated,
    today,
)
from posture.web.dashboard.trends import last_of_each_day

HISTORY_DAYS = 90
EOL_HORIZON_DAYS = 180
# The severities the overview counts, most severe first.
COUNTED = ("critical", "high")
UPSTREAM = "upstream"


@dataclass(frozen=True)
class Filters:
    """What the overview is narrowed to; empty strings mean no filter."""

    grade: str = ""
    provider: str = ""
    label: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Read filters from GET parameters, dropping values that cannot match anything."""
        grade = query.get("grade", "").strip().upper()
        provider = query.get("provider", "").strip().lower()
        label = query.get("label", "").strip()[:300]
        return cls(
            grade=grade if grade in {str(g) for g in Grade} else "",
            provider=provider if provider in provider_choices() else "",
            label=label if "=" in label else "",
        )

    @property
    def active(self) -> bool:
        return bool(self.grade or self.provider or self.label)

    def label_pair(self) -> tuple[str, str] | None:
        """Return the label filter as (key, value), or None."""
        if not self.label:
            return None
        key, _, value = self.label.partition("=")
        return key.strip(), value.strip()


def provider_choices() -> dict[str, str]:
    """Return the provider filter's values and labels (self-managed clusters are upstream)."""
    return {UPSTREAM: "Upstream / self-managed", **{str(p): p.label for p in Provider}}


@dataclass(frozen=True)
class OSRow:
    """A node OS image of a cluster, how many nodes run it, and its support."""

    image: str
    nodes: int
    support: OSSupport


@dataclass
class Row:
    """One cluster on the overview."""

    cluster: Cluster
    snapshot: Snapshot | None
    change_7d: float | None
    change_30d: float | None
    support: KubeSupport | None
    os_images: list[OSRow]
    category_scores: dict[str, float]
    # Categories none of whose checks could run in the newest poll (grey, not a score).
    not_evaluated: set[str]
    open_counts: dict[str, int]
    accepted_counts: dict[str, int]
    last_status: str | None
    last_taken_at: datetime | None

    @property
    def grade(self) -> Grade | None:
        return Grade(self.snapshot.grade) if self.snapshot and self.snapshot.grade else None

    @property
    def score(self) -> float | None:
        return self.snapshot.score if self.snapshot else None

    @property
    def oldest_os(self) -> OSRow | None:
        """Return the OS image whose support ends first (unknown ones last)."""
        return self.os_images[0] if self.os_images else None

    @property
    def provider(self) -> str:
        return (self.snapshot.provider if self.snapshot else "") or UPSTREAM


class Milestone(StrEnum):
    """Which end of support an EOL timeline entry is about."""

    # The last day of any support: no more security fixes.
    END_OF_LIFE = "eol"
    # The last day of standard support, after which only extended (often paid) support remains.
    STANDARD_END = "standard"


@dataclass(frozen=True)
class EolEntry:
    """Something in a cluster that is past end of life, or reaches an end of support soon.

    ``ends`` is the last day of the ``milestone`` (None when the data has no date for it),
    ``days_left`` counts to it from the overview's day: 0 on the day, negative once past.
    ``extended_until`` is, for the end of standard support, the end of the extended support
    that follows.
    """

    cluster: Cluster
    what: str
    kind: str
    milestone: Milestone
    ends: date | None
    days_left: int | None
    nodes: int | None = None
    extended_until: date | None = None

    @property
    def past(self) -> bool:
        """Return whether the milestone has passed (an end of life without a date has)."""
        return self.days_left is None or self.days_left < 0

    @property
    def about_end_of_life(self) -> bool:
        """Return whether the entry is about the end of all support (not of standard support)."""
        return self.milestone is Milestone.END_OF_LIFE

    @property
    def past_end_of_life(self) -> bool:
        return self.past and self.about_end_of_life


@dataclass(frozen=True)
class Column:
    """A sortable column: its key in ``?sort=``, its header, and how its rows compare."""

    key: str
    label: str
    value: Callable[[Row], Any]


COLUMNS: tuple[Column, ...] = (
    Column("name", "Cluster", lambda r: r.cluster.name),
    Column("grade", "Grade", lambda r: r.grade.rank if r.grade else None),
    Column("score", "Score", lambda r: r.score),
    Column("change7", "7 days", lambda r: r.change_7d),
    Column("change30", "30 days", lambda r: r.change_30d),
    Column("eol", "Kubernetes", lambda r: r.support.days_left if r.support else None),
    Column("os", "Oldest node OS",
           lambda r: r.oldest_os.support.days_left if r.oldest_os else None),
    Column("critical", "Critical", lambda r: r.open_counts.get("critical")),
    Column("high", "High", lambda r: r.open_counts.get("high")),
    Column("polled", "Last poll", lambda r: r.last_taken_at),
)
_COLUMNS = {c.key: c for c in COLUMNS}
DEFAULT_SORT = "score"


def parse_sort(value: str) -> tuple[str, bool]:
    """Return (column key, descending) for ``?sort=``; unknown keys give the default."""
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in _COLUMNS:
        return DEFAULT_SORT, False
    return key, descending


@dataclass
class Overview:
    """The overview page's content."""

    rows: list[Row]
    visible: int
    sort: str
    descending: bool
    filters: Filters
    eol: list[EolEntry] = field(default_factory=list)
    history: dict[str, list[FleetPoint]] = field(default_factory=dict)
    day: date | None = None

    @property
    def headers(self) -> list[dict[str, str]]:
        """Return each column's header: label, aria-sort value and the link that sorts by it."""
        out = []
        for column in COLUMNS:
            current = column.key == self.sort
            if current:
                aria = "descending" if self.descending else "ascending"
                link = column.key if self.descending else f"-{column.key}"
            else:
                aria, link = "none", column.key
            out.append({"key": column.key, "label": column.label, "aria": aria,
                        "query": self.query(sort=link)})
        return out

    def query(self, **changes: str) -> str:
        """Return this page's query string (sort and filters) with ``changes`` applied."""
        params = {
            "sort": f"-{self.sort}" if self.descending else self.sort,
            "grade": self.filters.grade,
            "provider": self.filters.provider,
            "label": self.filters.label,
            **changes,
        }
        return urlencode({k: v for k, v in params.items() if v})


def build(clusters: QuerySet[Cluster], now: datetime, sort: str = DEFAULT_SORT,
          filters: Filters | None = None) -> Overview:
    """Return the overview of ``clusters`` (already limited to what the user may see)."""
    filters = filters or Filters()
    key, descending = parse_sort(sort)
    day = today(now)
    annotated = list(_annotated(clusters, now))
    # Snapshots carrying ``aggregate_parts`` (severity_counts, os_images, ...).
    snapshots: dict[int, Any] = {s.pk: s for s in Snapshot.objects.filter(
        pk__in=[c.latest_id for c in annotated if c.latest_id is not None]
    ).only(*_SNAPSHOT_FIELDS).annotate(**aggregate_parts())}
    rows = []
    for cluster in annotated:
        snapshot = snapshots.get(cluster.latest_id)
        rows.append(_row(cluster, snapshot, day))
    visible = len(rows)
    rows = [r for r in rows if _matches(r, filters)]
    _count_accepted(rows, now)
    rows = _sorted(rows, key, descending)
    return Overview(
        rows=rows,
        visible=visible,
        sort=key,
        descending=descending,
        filters=filters,
        eol=eol_timeline(rows, day),
        history=score_history([r.cluster for r in rows], now),
        day=day,
    )


# What a row reads of its snapshot, besides the ``aggregate_parts``.
_SNAPSHOT_FIELDS = ("pk", "score", "grade", "kubernetes_version", "provider")


def _annotated(clusters: QuerySet[Cluster], now: datetime) -> QuerySet[Any]:
    succeeded = Snapshot.objects.successful_of(OuterRef("pk")).filter(score__isnull=False)
    newest = Snapshot.objects.filter(cluster=OuterRef("pk")).order_by("-taken_at")
    return latest_successful_ids(clusters).annotate(
        score_7d=Subquery(succeeded.filter(taken_at__lte=now - timedelta(days=7))
                          .values("score")[:1]),
        score_30d=Subquery(succeeded.filter(taken_at__lte=now - timedelta(days=30))
                           .values("score")[:1]),
        last_status=Subquery(newest.values("status")[:1]),
        last_taken_at=Subquery(newest.values("taken_at")[:1]),
    ).only("pk", "name", "labels")


def _change(now_score: float | None, then: float | None) -> float | None:
    if now_score is None or then is None:
        return None
    return round(now_score - then, 1)


def os_rows(images: Mapping[str, Any] | None, day: date) -> list[OSRow]:
    """Return node OS images (a node summary's ``os_images``) with their support, the soonest
    end first."""
    images = images or {}
    rows = [OSRow(str(image), int(count), os_support(str(image), day))
            for image, count in images.items() if isinstance(count, int)]
    return sorted(rows, key=_os_order)


def _os_order(row: OSRow) -> tuple[int, int, str]:
    support = row.support
    if support.status == SupportStatus.EOL:
        return (0, support.days_left if support.days_left is not None else -10**6, row.image)
    if support.days_left is None:
        return (2, 0, row.image)
    return (1, support.days_left, row.image)


def _row(cluster: Any, snapshot: Any, day: date) -> Row:
    """``snapshot`` is a Snapshot annotated with ``aggregate_parts``, or None."""
    score = snapshot.score if snapshot else None
    support = None
    if snapshot is not None and snapshot.kubernetes_version:
        support = kubernetes_support(snapshot.kubernetes_version, day, snapshot.provider or None)
    severity = (snapshot.severity_counts or {}) if snapshot else {}
    return Row(
        cluster=cluster,
        snapshot=snapshot,
        change_7d=_change(score, cluster.score_7d),
        change_30d=_change(score, cluster.score_30d),
        support=support,
        os_images=os_rows(snapshot.os_images if snapshot else None, day),
        category_scores=category_scores(vars(snapshot)) if snapshot else {},
        not_evaluated=not_evaluated(vars(snapshot)) if snapshot else set(),
        open_counts={s: int(severity.get(s, 0)) for s in COUNTED} if snapshot else {},
        accepted_counts={s: 0 for s in COUNTED},
        last_status=cluster.last_status,
        last_taken_at=cluster.last_taken_at,
    )


def _matches(row: Row, filters: Filters) -> bool:
    if filters.grade and (row.grade is None or str(row.grade) != filters.grade):
        return False
    if filters.provider and row.provider != filters.provider:
        return False
    pair = filters.label_pair()
    if pair is not None:
        labels = row.cluster.labels if isinstance(row.cluster.labels, dict) else {}
        if str(labels.get(pair[0], "")) != pair[1] or pair[0] not in labels:
            return False
    return True


def _count_accepted(rows: list[Row], now: datetime) -> None:
    """Move open critical/high findings covered by an active acceptance to ``accepted_counts``."""
    by_id = {r.cluster.pk: r for r in rows if r.snapshot is not None}
    acceptances = list(RiskAcceptance.objects.filter(
        cluster_id__in=list(by_id), revoked_at__isnull=True, expires_at__gt=now))
    if not acceptances:
        return
    per_cluster: dict[int, list[RiskAcceptance]] = defaultdict(list)
    for acceptance in acceptances:
        per_cluster[acceptance.cluster_id].append(acceptance)
    findings = Finding.objects.filter(
        cluster_id__in=list(per_cluster), resolved_at__isnull=True, severity__in=COUNTED,
        check_id__in={a.check_id for a in acceptances},
    ).only("cluster_id", "check_id", "kind", "namespace", "name", "severity")
    # Platform-managed findings are not in the open counts to begin with, so an acceptance of
    # one takes nothing away from them. Only clusters that have some (as last scored) need the
    # policy to tell which, so a fleet without any is spared reading it.
    managed = {pk for pk, row in by_id.items() if pk in per_cluster and any(
        (getattr(row.snapshot, "platform_counts", None) or {}).values())}
    policy = OrgPolicy.load().policy() if managed else None
    for finding in findings:
        if accepting(finding, per_cluster[finding.cluster_id]) is None:
            continue
        if (policy is not None and finding.cluster_id in managed
                and policy.set_apart(finding.kind, finding.namespace, finding.name)):
            continue
        row = by_id[finding.cluster_id]
        row.accepted_counts[finding.severity] += 1
        row.open_counts[finding.severity] = max(0, row.open_counts.get(finding.severity, 0) - 1)


def _sorted(rows: list[Row], key: str, descending: bool) -> list[Row]:
    value = _COLUMNS[key].value
    known = [r for r in rows if value(r) is not None]
    unknown = [r for r in rows if value(r) is None]
    # Name breaks ties so the order is stable from one request to the next.
    known.sort(key=lambda r: r.cluster.name)
    known.sort(key=value, reverse=descending)
    unknown.sort(key=lambda r: r.cluster.name)
    # Rows without a value (never polled, no data) go last in either direction.
    return known + unknown


def eol_timeline(rows: Iterable[Row], day: date,
                 horizon: int = EOL_HORIZON_DAYS) -> list[EolEntry]:
    """Return what is past end of life and what reaches an end of support within ``horizon``.

    Each control plane and node OS gives at most one entry, its most pressing milestone: past
    end of life; else end of life within the horizon; else the end of standard support (past,
    or within the horizon) when extended support follows it, since for managed Kubernetes and
    LTS distributions the final end is often years after support stops being free. What is past
    end of life comes first, longest past first; then the rest by date.
    """
    entries = []
    for row in rows:
        support = row.support
        if support is not None:
            provider = Provider(support.provider).label if support.provider else "upstream"
            entry = _eol_entry(row.cluster, f"Kubernetes {support.cycle} ({provider})",
                               "control plane", support, day, horizon)
            if entry is not None:
                entries.append(entry)
        for os_row in row.os_images:
            entry = _eol_entry(row.cluster, os_row.image, "node OS", os_row.support, day,
                               horizon, os_row.nodes)
            if entry is not None:
                entries.append(entry)
    # Past end of life without a known date is the most overdue of all: date.min sorts it first.
    return sorted(entries, key=lambda e: (not e.past_end_of_life, e.ends or date.min,
                                          e.cluster.name, e.what))


def _eol_entry(cluster: Cluster, what: str, kind: str, support: Support, day: date,
               horizon: int, nodes: int | None = None) -> EolEntry | None:
    if support.status == SupportStatus.EOL or (
            support.days_left is not None and support.days_left <= horizon):
        return EolEntry(cluster, what, kind, Milestone.END_OF_LIFE, support.eol,
                        support.days_left, nodes)
    standard, extended = support.standard_end, support.extended_end
    if standard is None or extended is None or standard >= extended:
        return None
    days = (standard - day).days
    if days > horizon:
        return None
    return EolEntry(cluster, what, kind, Milestone.STANDARD_END, standard, days, nodes,
                    extended_until=extended)


def score_history(clusters: list[Cluster], now: datetime,
                  days: int = HISTORY_DAYS) -> dict[str, list[FleetPoint]]:
    """Return each cluster's daily score over the last ``days`` days, oldest first.

    A day's score is its last successful poll's, as on the cluster's trends page.
    """
    names = {c.pk: c.name for c in clusters}
    if not names:
        return {}
    recent = Snapshot.objects.successful().filter(
        cluster_id__in=list(names), score__isnull=False, taken_at__gte=now - timedelta(days=days))
    daily = (last_of_each_day(recent).order_by("cluster_id", "taken_at")
             .values_list("cluster_id", TruncDate("taken_at"), "score", "grade"))
    out: dict[str, list[FleetPoint]] = {name: [] for name in names.values()}
    for cluster_id, day, score, grade in daily:
        out[names[cluster_id]].append(FleetPoint(day, score, grade))
    return out


def charts(page: Overview) -> list[Chart]:
    """Return the fleet charts for the overview's rows (none when no cluster has a score)."""
    scored = [r for r in page.rows if r.snapshot is not None]
    if not scored:
        return []
    by_name = sorted(scored, key=lambda r: r.cluster.name)
    return [
        chart_builders.fleet_scores(
            {name: points for name, points in page.history.items() if points},
            Span(until=page.day),
        ),
        chart_builders.category_heatmap([(r.cluster.name, r.category_scores) for r in by_name],
                                        [r.not_evaluated for r in by_name]),
    ]
