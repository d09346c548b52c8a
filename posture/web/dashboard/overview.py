"""The fleet overview: one page of clusters, the fleet's charts and its EOL timeline.

Everything here reads the rollups (``posture.domain.rollup_models``): each cluster's current
row, and its days. Filters, sort and the count run in SQL over the whole visible fleet; only the
page shown (``PAGE_SIZE`` rows) is turned into Python rows. The fleet charts (grades, the daily
trend, control planes by end-of-life month) are aggregated in SQL, so their cost does not grow
with the fleet in Python. The one read of Finding rows is for the page's clusters and narrow:
open critical and high findings of checks that have an active acceptance, to count accepted
risks apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import TruncMonth

from clusters.models import Cluster
from posture.domain.models import ClusterCurrent, ClusterDay, Finding, OrgPolicy, RiskAcceptance
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
from posture.web.dashboard import today

HISTORY_DAYS = 90
EOL_HORIZON_DAYS = 180
PAGE_SIZE = 50
# The timeline lists this many of the page's entries, the most pressing first (past end of life,
# then by date); the end-of-life chart counts the whole selection.
EOL_SHOWN = 25
# The severities the overview counts, most severe first.
COUNTED = ("critical", "high")
UPSTREAM = "upstream"
# "Kubernetes end of life within N days" accepts up to ten years ahead.
MAX_EOL_WITHIN = 3650


def _positive(value: str, limit: int) -> int | None:
    value = value.strip()
    if not value.isdigit() or len(value) > 6:
        return None
    number = int(value)
    return number if 0 <= number <= limit else None


@dataclass(frozen=True)
class Filters:
    """What the overview is narrowed to; empty strings (and None) mean no filter."""

    grade: str = ""
    provider: str = ""
    label: str = ""
    # Control planes whose end of life is at most this many days away (or past).
    eol_within: int | None = None
    # Part of the cluster's name.
    search: str = ""

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
            eol_within=_positive(query.get("eol_within", ""), MAX_EOL_WITHIN),
            # Cluster names are at most 63 characters: a longer search matches nothing anyway.
            search=query.get("q", "").strip()[:63],
        )

    @property
    def active(self) -> bool:
        return bool(self.grade or self.provider or self.label or self.search
                    or self.eol_within is not None)

    def label_pair(self) -> tuple[str, str] | None:
        """Return the label filter as (key, value), or None."""
        if not self.label:
            return None
        key, _, value = self.label.partition("=")
        return key.strip(), value.strip()

    def params(self) -> dict[str, str]:
        """Return the filters as GET parameters (to keep them in sort and page links)."""
        return {"grade": self.grade, "provider": self.provider, "label": self.label,
                "eol_within": "" if self.eol_within is None else str(self.eol_within),
                "q": self.search}

    def narrow(self, clusters: QuerySet[Cluster], day: date) -> QuerySet[Cluster]:
        """Return ``clusters`` narrowed to the filters, in SQL."""
        if self.grade:
            clusters = clusters.filter(current__grade=self.grade)
        if self.provider == UPSTREAM:
            clusters = clusters.filter(Q(current__provider="") | Q(current__isnull=True))
        elif self.provider:
            clusters = clusters.filter(current__provider=self.provider)
        pair = self.label_pair()
        if pair is not None:
            clusters = clusters.filter(labels__contains={pair[0]: pair[1]})
        if self.eol_within is not None:
            clusters = clusters.filter(
                current__kubernetes_eol__lte=day + timedelta(days=self.eol_within))
        if self.search:
            clusters = clusters.filter(name__icontains=self.search)
        return clusters


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
    """One cluster on the overview, from its current row (None before its first poll)."""

    cluster: Cluster
    current: ClusterCurrent | None
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
    def scored(self) -> bool:
        """Say whether the cluster has a successful poll to show."""
        return self.current is not None and self.current.snapshot_id is not None

    @property
    def grade(self) -> Grade | None:
        return Grade(self.current.grade) if self.current and self.current.grade else None

    @property
    def score(self) -> float | None:
        return self.current.score if self.current else None

    @property
    def oldest_os(self) -> OSRow | None:
        """Return the OS image whose support ends first (unknown ones last)."""
        return self.os_images[0] if self.os_images else None

    @property
    def provider(self) -> str:
        return (self.current.provider if self.current else "") or UPSTREAM


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
    """A sortable column: its key in ``?sort=``, its header, and what SQL orders its rows by."""

    key: str
    label: str
    order: Any


# A grade's rank (A best) as SQL, null without a grade.
_GRADE_RANK = Case(*(When(current__grade=str(g), then=Value(g.rank)) for g in Grade),
                   default=None, output_field=IntegerField())

COLUMNS: tuple[Column, ...] = (
    Column("name", "Cluster", F("name")),
    Column("grade", "Grade", _GRADE_RANK),
    Column("score", "Score", F("current__score")),
    Column("change7", "7 days", F("change_7d")),
    Column("change30", "30 days", F("change_30d")),
    Column("eol", "Kubernetes", F("current__kubernetes_eol")),
    Column("os", "Oldest node OS", F("current__os_eol")),
    Column("critical", "Critical", F("current__critical")),
    Column("high", "High", F("current__high")),
    Column("polled", "Last poll", F("current__last_poll_at")),
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
    """The overview page's content: one page of rows and what the whole selection adds up to."""

    rows: list[Row]
    # Clusters the user may see, and how many of them the filters keep.
    visible: int
    matched: int
    sort: str
    descending: bool
    filters: Filters
    page: int = 1
    pages: int = 1
    eol: list[EolEntry] = field(default_factory=list)
    history: dict[str, list[FleetPoint]] = field(default_factory=dict)
    # The selection's clusters by grade ("" for no score yet), daily mean score and clusters
    # scored, and control planes by end-of-life month and version.
    grades: dict[str, int] = field(default_factory=dict)
    trend: list[tuple[date, float, int]] = field(default_factory=list)
    eol_months: list[tuple[date, str, int]] = field(default_factory=list)
    day: date | None = None

    @property
    def eol_shown(self) -> list[EolEntry]:
        """Return the timeline's most pressing entries, as many as the page lists."""
        return self.eol[:EOL_SHOWN]

    @property
    def eol_more(self) -> int:
        """Return how many timeline entries the page leaves out."""
        return max(0, len(self.eol) - EOL_SHOWN)

    @property
    def first(self) -> int:
        """Return the position of the page's first row in the selection (1 first)."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

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

    @property
    def page_links(self) -> list[dict[str, Any]]:
        """Return the pager's links: first, a window around this page, last (gaps as None)."""
        shown = sorted({1, self.pages, *range(max(1, self.page - 2),
                                               min(self.pages, self.page + 2) + 1)})
        out: list[dict[str, Any]] = []
        previous = 0
        for number in shown:
            if number - previous > 1:
                out.append({"number": None, "query": "", "current": False})
            out.append({"number": number, "query": self.query(page=str(number)),
                        "current": number == self.page})
            previous = number
        return out

    def query(self, **changes: str) -> str:
        """Return this page's query string (sort, filters; the page only when asked) with
        ``changes`` applied: a new sort or filter starts again from the first page."""
        params = {
            "sort": f"-{self.sort}" if self.descending else self.sort,
            **self.filters.params(),
            **changes,
        }
        return urlencode({k: v for k, v in params.items() if v})


def parse_page(value: str | None) -> int:
    """Return the page number asked for (1 when missing or not a number)."""
    number = _positive(value or "", 10**6)
    return max(1, number or 1)


def build(clusters: QuerySet[Cluster], now: datetime, sort: str = DEFAULT_SORT,
          filters: Filters | None = None, page: int = 1) -> Overview:
    """Return one page of the overview of ``clusters`` (already limited to what the user may
    see): a fixed number of queries, whatever the size of the fleet or of its history."""
    filters = filters or Filters()
    key, descending = parse_sort(sort)
    day = today(now)
    selected = filters.narrow(clusters, day)
    counts = clusters.aggregate(visible=Count("pk"),
                                matched=Count("pk", filter=Q(pk__in=selected.values("pk"))))
    visible, matched = counts["visible"], counts["matched"]
    pages = max(1, -(-matched // PAGE_SIZE))
    page = min(max(1, page), pages)
    ordered = _annotated(selected, now).order_by(*_ordering(key, descending))
    start = (page - 1) * PAGE_SIZE
    rows = [_row(cluster, day) for cluster in ordered[start:start + PAGE_SIZE]]
    _count_accepted(rows, now)
    return Overview(
        rows=rows,
        visible=visible,
        matched=matched,
        sort=key,
        descending=descending,
        filters=filters,
        page=page,
        pages=pages,
        eol=eol_timeline(rows, day),
        history=score_history([r.cluster for r in rows], now),
        grades=grade_counts(selected),
        trend=fleet_trend(selected, now),
        eol_months=eol_by_month(selected),
        day=day,
    )


def _ordering(key: str, descending: bool) -> list[OrderBy]:
    # Rows without a value (never polled, no data) go last in either direction; the name (then
    # the pk) breaks ties so the order, and so the pages, are stable from one request to the next.
    expression = _COLUMNS[key].order
    first = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [first, F("name").asc(), F("pk").asc()]


def _score_before(cutoff: datetime) -> Subquery:
    """The cluster's score on the newest day whose last successful poll was at ``cutoff`` or
    before (the day rows hold each day's last poll)."""
    return Subquery(ClusterDay.objects.filter(cluster=OuterRef("pk"), taken_at__lte=cutoff,
                                              score__isnull=False)
                    .order_by("-day").values("score")[:1])


def _annotated(clusters: QuerySet[Cluster], now: datetime) -> QuerySet[Any]:
    # The sealed kubeconfig is never needed to show a row: it stays in the database.
    return (clusters.select_related("current").defer("kubeconfig_sealed")
            .annotate(change_7d=F("current__score") - _score_before(now - timedelta(days=7)),
                      change_30d=F("current__score") - _score_before(now - timedelta(days=30))))


def _round_change(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


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


def _row(cluster: Any, day: date) -> Row:
    """``cluster`` carries its current row (or none yet) and the annotated changes."""
    try:
        current: ClusterCurrent | None = cluster.current
    except ClusterCurrent.DoesNotExist:
        current = None
    scored = current is not None and current.snapshot_id is not None
    support = None
    if current is not None and scored and current.kubernetes_version:
        support = kubernetes_support(current.kubernetes_version, day, current.provider or None)
    severity = (current.severity_counts if current is not None
                and isinstance(current.severity_counts, dict) else {})
    scores = current.category_scores if current is not None else {}
    return Row(
        cluster=cluster,
        current=current,
        change_7d=_round_change(cluster.change_7d),
        change_30d=_round_change(cluster.change_30d),
        support=support,
        os_images=os_rows(current.os_images if scored and current else None, day),
        category_scores=({str(k): float(v) for k, v in scores.items()}
                         if scored and isinstance(scores, dict) else {}),
        not_evaluated=(set(current.not_evaluated) if scored and current
                       and isinstance(current.not_evaluated, list) else set()),
        open_counts={s: int(severity.get(s, 0)) for s in COUNTED} if scored else {},
        accepted_counts={s: 0 for s in COUNTED},
        last_status=(current.last_poll_status or None) if current else None,
        last_taken_at=current.last_poll_at if current else None,
    )


def _count_accepted(rows: list[Row], now: datetime) -> None:
    """Move open critical/high findings covered by an active acceptance to ``accepted_counts``."""
    by_id = {r.cluster.pk: r for r in rows if r.scored}
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
        (getattr(row.current, "platform_counts", None) or {}).values())}
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

    A day's score is its last successful poll's (the day rows), as on the cluster's trends page.
    """
    names = {c.pk: c.name for c in clusters}
    if not names:
        return {}
    daily = (ClusterDay.objects.filter(cluster_id__in=list(names), score__isnull=False,
                                       taken_at__gte=now - timedelta(days=days))
             .order_by("cluster_id", "day").values_list("cluster_id", "day", "score", "grade"))
    out: dict[str, list[FleetPoint]] = {name: [] for name in names.values()}
    for cluster_id, day, score, grade in daily:
        out[names[cluster_id]].append(FleetPoint(day, score, grade))
    return out


def grade_counts(clusters: QuerySet[Cluster]) -> dict[str, int]:
    """Return how many of ``clusters`` have each grade now ("" for none yet), in one query."""
    rows = (ClusterCurrent.objects.filter(cluster__in=clusters.values("pk"))
            .values("grade").annotate(clusters=Count("pk")).order_by())
    counts = {str(g): 0 for g in Grade.ordered()}
    for row in rows:
        counts[row["grade"] or ""] = counts.get(row["grade"] or "", 0) + row["clusters"]
    return counts


def fleet_trend(clusters: QuerySet[Cluster], now: datetime,
                days: int = HISTORY_DAYS) -> list[tuple[date, float, int]]:
    """Return, per day, the mean score of ``clusters`` and how many had a score that day."""
    window = ClusterDay.objects.filter(score__isnull=False,
                                       day__gte=today(now) - timedelta(days=days))
    if not _every_cluster(clusters):
        window = window.filter(cluster__in=clusters.values("pk"))
    rows = window.values("day").annotate(mean=Avg("score"), clusters=Count("score")).order_by("day")
    return [(row["day"], round(row["mean"], 1), row["clusters"]) for row in rows]


def _every_cluster(clusters: QuerySet[Cluster]) -> bool:
    """Say whether ``clusters`` is the whole table, unfiltered (the security team's fleet).

    Every day row belongs to a cluster (a foreign key), so for the whole fleet the trend needs
    no join with the clusters: at 1,000 clusters x 90 days that join took most of the query.
    """
    query = clusters.query
    return clusters.model is Cluster and not query.has_filters() and not query.is_sliced


def eol_by_month(clusters: QuerySet[Cluster]) -> list[tuple[date, str, int]]:
    """Return control planes by the month their end of life falls in: (month, what ends,
    clusters), oldest month first; versions whose end is not known are left out."""
    rows = (ClusterCurrent.objects.filter(cluster__in=clusters.values("pk"),
                                          kubernetes_eol__isnull=False)
            .annotate(month=TruncMonth("kubernetes_eol"))
            .values("month", "kubernetes_eol", "provider")
            .annotate(clusters=Count("pk")).order_by("month", "kubernetes_eol", "provider"))
    return [(row["month"], _ending(row["kubernetes_eol"], row["provider"]), row["clusters"])
            for row in rows]


def _ending(end: date | None, provider: str) -> str:
    """Return what ends: the provider's control planes whose end of life is ``end`` (the
    version itself is on each cluster's row)."""
    label = Provider(provider).label if provider in {str(p) for p in Provider} else "upstream"
    return f"{label}, end of life {end.isoformat() if end else 'unknown'}"


def charts(page: Overview) -> list[Chart]:
    """Return the fleet charts (none when no cluster has a score): the whole selection's grades,
    daily mean and control planes by end-of-life month, then the page's clusters' daily scores
    and category heat map."""
    scored = [r for r in page.rows if r.scored]
    if not scored:
        return []
    by_name = sorted(scored, key=lambda r: r.cluster.name)
    return [
        chart_builders.fleet_grades(page.grades),
        chart_builders.fleet_trend(page.trend, Span(until=page.day)),
        chart_builders.eol_months(page.eol_months, page.day),
        chart_builders.fleet_scores(
            {name: points for name, points in page.history.items() if points},
            Span(until=page.day),
        ),
        chart_builders.category_heatmap([(r.cluster.name, r.category_scores) for r in by_name],
                                        [r.not_evaluated for r in by_name]),
    ]
