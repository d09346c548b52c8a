"""Fleet findings: every check with open findings across the clusters a user may see.

One row per check: how many clusters and resources it affects, its open findings with accepted
risks counted apart, and how the number of affected resources changed over 7 and 30 days, read
from the findings' lifetimes. Findings on platform-managed components (``Policy.set_apart``) are
counted in a column of their own and in none of the others, as they are kept out of each
cluster's score and headline counts. Per check, every affected cluster, namespace, workload and
container. The database does the counting (one grouped query for the table); Python reads only
the visible clusters, the scopes of active risk acceptances and the distinct namespaces the
policy is asked about, never every finding.

A *resource* is what a finding is about — a workload (whatever its containers), a node, a
namespace, a Service, a binding — identified by (cluster, kind, namespace, name). It is not the
scoring's "affected unit": the score counts an RBAC check once per cluster (presence), while here
every cluster-admin binding is one resource to fix.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from typing import Any
from urllib.parse import urlencode

from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from clusters.models import Cluster
from posture.checks import CATALOG, Policy
from posture.checks.advice import Advice
from posture.checks.base import Check
from posture.checks.vocabulary import Category, Severity
from posture.domain.models import Finding, RiskAcceptance, Snapshot
from posture.domain.waivers import accepting
from posture.web.dashboard import advice
from posture.web.dashboard.checklist import Item, Status

# The trend columns: the change in affected resources over this many days.
TREND_DAYS = (7, 30)
# A check's page lists at most this many findings (the CSV export has every one).
DETAIL_LIMIT = 1000
SEARCH_MAX = 100
LABEL_MAX = 300
OWNER_MAX = 160

USER_PREFIX = "user:"
TEAM_PREFIX = "team:"

OPEN = Q(resolved_at__isnull=True)
# A condition no finding meets (its id is never null): "no finding is platform-managed".
NONE = Q(pk__isnull=True)


# --- Filters ------------------------------------------------------------------------------------


def parse_label(text: str) -> tuple[str, str] | None:
    """Return a ``key=value`` label filter as (key, value); None when it has no ``=``."""
    key, sep, value = text.strip().partition("=")
    if not sep or not key.strip():
        return None
    return key.strip(), value.strip()


def has_label(labels: object, pair: tuple[str, str]) -> bool:
    """Say whether a cluster's labels carry ``key=value`` (as the overview's filter reads it)."""
    key, value = pair
    return isinstance(labels, dict) and key in labels and str(labels[key]) == value


@dataclass(frozen=True)
class Filters:
    """What the fleet findings are narrowed to; empty strings mean no filter.

    ``severity`` and ``category`` narrow the findings (as stored: a policy may have changed a
    check's severity), ``label`` and ``owner`` the clusters, ``search`` the checks (id or title).
    ``problems`` says which given values were dropped and why.
    """

    severity: str = ""
    category: str = ""
    label: str = ""
    owner: str = ""
    search: str = ""
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """Read filters from GET parameters; a value that cannot match anything is dropped with a
        problem saying why."""
        problems = []
        severity = query.get("severity", "").strip().lower()
        if severity and severity not in {str(s) for s in Severity}:
            problems.append(f"There is no severity “{severity[:40]}”: "
                            "showing every severity.")
            severity = ""
        category = query.get("category", "").strip().lower()
        if category and category not in {str(c) for c in Category}:
            problems.append(f"There is no category “{category[:40]}”: "
                            "showing every category.")
            category = ""
        label = query.get("label", "").strip()[:LABEL_MAX]
        if label and parse_label(label) is None:
            problems.append("A label filter reads key=value (env=prod): "
                            "showing every cluster.")
            label = ""
        return cls(
            severity=severity,
            category=category,
            label=label,
            owner=query.get("owner", "").strip()[:OWNER_MAX],
            search=query.get("q", "").strip()[:SEARCH_MAX],
            problems=tuple(problems),
        )

    @property
    def active(self) -> bool:
        return bool(self.severity or self.category or self.label or self.owner or self.search)

    def query(self, **changes: str) -> str:
        """Return these filters as a query string, with ``changes`` applied."""
        params = {"severity": self.severity, "category": self.category, "label": self.label,
                  "owner": self.owner, "q": self.search, **changes}
        return urlencode({k: v for k, v in params.items() if v})

    def for_check(self) -> Filters:
        """Return the filters that still apply once a check is chosen: the clusters' and the
        severity (a category or a text search has nothing left to narrow)."""
        return Filters(severity=self.severity, label=self.label, owner=self.owner,
                       problems=self.problems)


# --- The clusters in view -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterInfo:
    """A visible cluster as the fleet findings read it."""

    pk: int
    name: str
    labels: dict[str, Any]
    # The first successful poll: since when Posture has watched the cluster.
    first_success: datetime | None
    # The checks the newest successful poll could not run.
    not_evaluated: frozenset[str]
    owners: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    @property
    def polled(self) -> bool:
        return self.first_success is not None

    def watched_at(self, when: datetime) -> bool:
        """Say whether a successful poll had read the cluster by ``when``."""
        return self.first_success is not None and self.first_success <= when

    def owned_by(self, owner: str) -> bool:
        """Match ``user:NAME``, ``team:NAME``, or a bare NAME (either)."""
        if owner.startswith(USER_PREFIX):
            return owner[len(USER_PREFIX):] in self.owners
        if owner.startswith(TEAM_PREFIX):
            return owner[len(TEAM_PREFIX):] in self.teams
        return owner in self.owners or owner in self.teams


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass
class Scope:
    """The visible clusters, those the filters keep, and what the filter controls offer."""

    visible: int
    clusters: dict[int, ClusterInfo]
    owner_choices: list[Choice]
    label_choices: list[str]
    acceptances: list[RiskAcceptance]
    # The organisation's policy: which findings are platform-managed.
    policy: Policy = field(default_factory=Policy)

    @property
    def ids(self) -> list[int]:
        return list(self.clusters)

    @property
    def polled(self) -> int:
        """Return how many clusters in view have had a successful poll."""
        return sum(1 for c in self.clusters.values() if c.polled)

    def watched_ids(self, when: datetime) -> list[int]:
        return [c.pk for c in self.clusters.values() if c.watched_at(when)]

    def owner_choices_with(self, owner: str) -> list[Choice]:
        """Return the owner choices, plus ``owner`` when it came from the URL and is not one of
        them (so the form shows what the page is filtered by)."""
        if not owner or any(c.value == owner for c in self.owner_choices):
            return self.owner_choices
        return [*self.owner_choices, Choice(owner, owner)]

    def acceptances_by_cluster(self) -> dict[int, list[RiskAcceptance]]:
        out: dict[int, list[RiskAcceptance]] = defaultdict(list)
        for acceptance in self.acceptances:
            out[acceptance.cluster_id].append(acceptance)
        return out


def _not_evaluated(value: object) -> frozenset[str]:
    return frozenset(value) if isinstance(value, dict) else frozenset()


def scope(visible: QuerySet[Cluster], filters: Filters, now: datetime, policy: Policy) -> Scope:
    """Return the clusters of ``visible`` (what the user may see) that ``filters`` keep.

    Four queries, however many clusters: the clusters, their owners, their owning teams, the
    active acceptances.
    """
    succeeded = Snapshot.objects.successful_of(OuterRef("pk"))
    rows = list(visible.annotate(
        first_success=Subquery(succeeded.order_by("taken_at").values("taken_at")[:1]),
        latest_not_evaluated=Subquery(
            succeeded.order_by("-taken_at").values("finding_counts__not_evaluated")[:1],
            output_field=JSONField()),
    ).values_list("pk", "name", "labels", "first_success", "latest_not_evaluated"))
    ids = [r[0] for r in rows]
    owners: dict[int, list[str]] = defaultdict(list)
    for cluster_id, username in (Cluster.owners.through.objects.filter(cluster_id__in=ids)
                                 .values_list("cluster_id", "user__username")):
        owners[cluster_id].append(username)
    teams: dict[int, list[str]] = defaultdict(list)
    for cluster_id, team in (Cluster.owner_teams.through.objects.filter(cluster_id__in=ids)
                             .values_list("cluster_id", "group__name")):
        teams[cluster_id].append(team)
    every = [
        ClusterInfo(pk=pk, name=name, labels=labels if isinstance(labels, dict) else {},
                    first_success=first, not_evaluated=_not_evaluated(skipped),
                    owners=tuple(sorted(owners[pk])), teams=tuple(sorted(teams[pk])))
        for pk, name, labels, first, skipped in rows
    ]
    kept = every
    pair = parse_label(filters.label) if filters.label else None
    if pair is not None:
        kept = [c for c in kept if has_label(c.labels, pair)]
    if filters.owner:
        kept = [c for c in kept if c.owned_by(filters.owner)]
    kept.sort(key=lambda c: c.name)
    acceptances = list(RiskAcceptance.objects.filter(
        cluster_id__in=[c.pk for c in kept], revoked_at__isnull=True, expires_at__gt=now,
    ).select_related("created_by")) if kept else []
    return Scope(
        visible=len(every),
        clusters={c.pk: c for c in kept},
        owner_choices=_owner_choices(every),
        label_choices=sorted({f"{k}={v}" for c in every for k, v in c.labels.items()}),
        acceptances=acceptances,
        policy=policy,
    )


def _owner_choices(clusters: Iterable[ClusterInfo]) -> list[Choice]:
    users = sorted({u for c in clusters for u in c.owners})
    teams = sorted({t for c in clusters for t in c.teams})
    return ([Choice(USER_PREFIX + u, u) for u in users]
            + [Choice(TEAM_PREFIX + t, f"{t} (team)") for t in teams])


# --- What the database counts -------------------------------------------------------------------


def findings_in(view: Scope, filters: Filters) -> QuerySet[Finding]:
    """Return every finding (open or not) of the clusters in view that ``filters`` keep."""
    rows = Finding.objects.filter(cluster_id__in=view.ids)
    if filters.severity:
        rows = rows.filter(severity=filters.severity)
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.search:
        rows = rows.filter(_search(filters.search))
    return rows


def _search(text: str) -> Q:
    needle = text.lower()
    titled = [c.id for c in CATALOG.values() if needle in c.title.lower()]
    return Q(check_id__icontains=text) | Q(check_id__in=titled)


def open_at(when: datetime) -> Q:
    """Return the condition of a finding open at ``when``, read from its lifetime."""
    return (Q(first_seen_at__lte=when)
            & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=when)))


def accepted_condition(acceptances: list[RiskAcceptance], rows: QuerySet[Finding]) -> Q | None:
    """Return the condition of a finding of ``rows`` that one of ``acceptances`` covers.

    Whole-cluster and namespace scopes are plain equalities. Name patterns are shell wildcards,
    matched by ``RiskAcceptance.matches`` — the one definition — against the distinct names of
    the open findings in their scope (one query), so the database never needs to know globs.
    """
    if not acceptances:
        return None
    terms: list[Q] = []
    patterned = []
    for acceptance in acceptances:
        where = Q(cluster_id=acceptance.cluster_id, check_id=acceptance.check_id)
        if acceptance.namespace:
            where &= Q(namespace=acceptance.namespace)
        if acceptance.name_pattern:
            patterned.append((acceptance, where))
        else:
            terms.append(where)
    if patterned:
        candidates = (rows.filter(OPEN).filter(reduce(operator.or_, [w for _, w in patterned]))
                      .values_list("cluster_id", "check_id", "namespace", "name")
                      .distinct().order_by())
        names: dict[tuple[int, str, str], set[str]] = defaultdict(set)
        for cluster_id, check_id, namespace, name in candidates:
            if any(a.cluster_id == cluster_id and a.matches(check_id, namespace, name)
                   for a, _ in patterned):
                names[(cluster_id, check_id, namespace)].add(name)
        terms += [Q(cluster_id=c, check_id=k, namespace=ns, name__in=sorted(found))
                  for (c, k, ns), found in sorted(names.items())]
    return reduce(operator.or_, terms) if terms else None


def platform_condition(policy: Policy, rows: QuerySet[Finding]) -> Q:
    """Return the condition of a finding of ``rows`` that ``policy`` sets apart as
    platform-managed (``Policy.set_apart``); ``NONE`` when no finding is.

    ``Policy.platform_managed`` stays the one definition, in shell wildcards: it is asked about
    the distinct namespaces of ``rows`` (one query) and, when ``platform_workloads`` names
    objects, about their distinct kind/namespace/name outside those namespaces (a second), so
    the database never needs to know globs and the answer is the policy's, row for row.
    """
    if policy.score_platform_findings:
        return NONE
    # A Namespace finding is about the namespace it names, as in ``platform_managed``.
    is_namespace = Case(When(kind="Namespace", then=Value(True)), default=Value(False))
    where = Case(When(kind="Namespace", then=F("name")), default=F("namespace"))
    places = (rows.order_by().annotate(is_namespace=is_namespace, where=where)
              .values_list("is_namespace", "where").distinct())
    namespaces: dict[bool, list[str]] = {True: [], False: []}
    for named, place in places:
        if policy.platform_namespace(place):
            namespaces[named].append(place)
    terms = []
    if namespaces[False]:
        terms.append(Q(namespace__in=sorted(namespaces[False])) & ~Q(kind="Namespace"))
    if namespaces[True]:
        terms.append(Q(kind="Namespace", name__in=sorted(namespaces[True])))
    if policy.platform_workloads:
        rest = rows.exclude(reduce(operator.or_, terms)) if terms else rows
        named_objects: dict[tuple[str, str], list[str]] = defaultdict(list)
        for kind, namespace, name in (rest.order_by().values_list("kind", "namespace", "name")
                                      .distinct()):
            if policy.platform_workload(kind, namespace, name):
                named_objects[(kind, namespace)].append(name)
        terms += [Q(kind=kind, namespace=namespace, name__in=sorted(names))
                  for (kind, namespace), names in sorted(named_objects.items())]
    return reduce(operator.or_, terms) if terms else NONE


def _severity_rank() -> Case:
    return Case(*[When(severity=str(s), then=Value(s.rank)) for s in Severity],
                default=Value(-1))


# A resource: what one finding is about, whatever its containers (see the module docstring).
RESOURCE = ("cluster_id", "kind", "namespace", "name")


def _flag(condition: Q) -> Max:
    """Return 1 for a group holding a finding that meets ``condition``, else 0."""
    return Max(Case(When(condition, then=Value(1)), default=Value(0)))


def _per_resource(view: Scope, accepted: Q | None, platform: Q, now: datetime) -> dict[str, Any]:
    """Return what one resource's findings of one check add up to (the inner GROUP BY).

    Platform-managed findings count only in their own figures (``platform``, ``is_platform``,
    ``platform_rank``): a resource is platform-managed or not, whatever its containers.
    The trend flags say whether the resource was affected at the start of each window, and is
    now, in a cluster watched by then. A cluster registered inside the window has no "then":
    counting it would show its whole backlog as a regression.
    """
    owned = ~platform
    mine = OPEN & owned
    out: dict[str, Any] = {
        "findings": Count("pk", filter=mine),
        "accepted": Count("pk", filter=mine & accepted) if accepted is not None else Value(0),
        "platform": Count("pk", filter=OPEN & platform),
        "is_open": _flag(mine),
        "is_platform": _flag(OPEN & platform),
        "rank": Max(_severity_rank(), filter=mine),
        "platform_rank": Max(_severity_rank(), filter=OPEN & platform),
        "stored_category": Max("category", filter=OPEN),
    }
    for days in TREND_DAYS:
        when = now - timedelta(days=days)
        watched = view.watched_ids(when)
        if watched:
            in_watch = Q(cluster_id__in=watched) & owned
            out[f"now_{days}"] = _flag(OPEN & in_watch)
            out[f"then_{days}"] = _flag(open_at(when) & in_watch)
    return out


def _totals(rows: QuerySet[Finding], view: Scope, accepted: Q | None, platform: Q,
            now: datetime, by: str) -> list[dict[str, Any]]:
    """Return the counts of ``rows`` per ``by`` (``check_id``, or ``cluster_id`` for one
    check), only where some finding is open.

    One query, grouped in levels: per (check, resource), per (check, cluster), then per check.
    A single GROUP BY with COUNT(DISTINCT …) of resources sorts a text key per finding for each
    count; adding up one row per resource, then one per cluster, took less than half the time
    at 70,000 open findings, with the same answers. Django has no subquery in FROM, so the
    outer levels are written here, over the SQL of the ORM's inner level.
    """
    per_resource = _per_resource(view, accepted, platform, now)
    inner = (_relevant(rows, now).values("check_id", *RESOURCE)
             .annotate(**per_resource).order_by())
    sql, params = inner.query.sql_with_params()
    connection = connections[rows.db]
    q = connection.ops.quote_name
    summed = ["findings", "accepted", "platform",
              *[k for k in per_resource if k.startswith(("now_", "then_"))]]
    maxed = ["rank", "platform_rank", "stored_category"]

    def columns(counts: list[str]) -> list[str]:
        return ([f"SUM({q(k)}) AS {q(k)}" for k in counts]
                + [f"MAX({q(k)}) AS {q(k)}" for k in maxed])

    # Only our own column names go into the text; every value travels as a parameter of the
    # ORM's inner SQL. A cluster whose findings of a check were all resolved inside a trend
    # window still counts towards that window's "then": only the outermost level drops what has
    # nothing open.
    having = f"HAVING SUM({q('findings')}) + SUM({q('platform')}) > 0"
    per_cluster = " ".join([
        f"SELECT {q('check_id')}, {q('cluster_id')}, {', '.join(columns(summed))},",  # noqa: S608
        f"SUM({q('is_open')}) AS {q('resources')},",
        f"SUM({q('is_platform')}) AS {q('platform_resources')} FROM ({sql}) AS per_resource",
        f"GROUP BY {q('check_id')}, {q('cluster_id')}",
    ])
    query = f"{per_cluster} {having}" if by == "cluster_id" else " ".join([
        f"SELECT {q('check_id')},",  # noqa: S608
        f"{', '.join(columns([*summed, 'resources', 'platform_resources']))},",
        f"SUM(CASE WHEN {q('resources')} > 0 THEN 1 ELSE 0 END) AS {q('clusters')},",
        f"SUM(CASE WHEN {q('platform_resources')} > 0 THEN 1 ELSE 0 END)",
        f"AS {q('platform_clusters')}",
        f"FROM ({per_cluster}) AS per_cluster GROUP BY {q('check_id')} {having}",
    ])
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _relevant(rows: QuerySet[Finding], now: datetime) -> QuerySet[Finding]:
    # Open now, or resolved inside the longest trend window (and so possibly open at its start).
    oldest = now - timedelta(days=max(TREND_DAYS))
    return rows.filter(OPEN | Q(resolved_at__gt=oldest))


def _change(row: Mapping[str, Any], days: int) -> int | None:
    if f"now_{days}" not in row:
        return None
    return int(row[f"now_{days}"]) - int(row[f"then_{days}"])


# --- The page of every check --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow:
    """One check across the clusters in view."""

    check_id: str
    check: Check | None
    severity: Severity | None
    category: str
    clusters: int
    resources: int
    findings: int
    accepted: int
    change_7d: int | None
    change_30d: int | None
    # Clusters in view whose newest successful poll could not run the check.
    not_evaluated: int
    # Open platform-managed findings, and the clusters they are in: in none of the figures above.
    platform: int = 0
    platform_clusters: int = 0

    @property
    def title(self) -> str:
        return self.check.title if self.check else self.check_id

    @property
    def to_fix(self) -> int:
        """Return the open findings no acceptance covers."""
        return self.findings - self.accepted

    @property
    def platform_only(self) -> bool:
        """Say whether every open finding of the check is platform-managed."""
        return self.findings == 0

    @property
    def sort_key(self) -> tuple[bool, int, int, int, int, str]:
        # Most severe first, then the widest spread across the fleet; checks whose findings
        # are all platform-managed come after every check the owners have to fix.
        rank = self.severity.rank if self.severity else -1
        return (self.platform_only, -rank, -self.clusters, -self.resources, -self.findings,
                self.check_id)


@dataclass
class FleetFindings:
    """The fleet findings page's content."""

    rows: list[CheckRow]
    filters: Filters
    scope: Scope
    trend_days: tuple[int, ...] = TREND_DAYS

    @property
    def owner_choices(self) -> list[Choice]:
        return self.scope.owner_choices_with(self.filters.owner)

    @property
    def totals(self) -> dict[str, int]:
        return {"findings": sum(r.findings for r in self.rows),
                "accepted": sum(r.accepted for r in self.rows),
                "platform": sum(r.platform for r in self.rows)}


def _rank_severity(rank: int | None) -> Severity | None:
    for severity in Severity:
        if severity.rank == rank:
            return severity
    return None


def _check_row(row: Mapping[str, Any], view: Scope) -> CheckRow:
    check_id = row["check_id"]
    check = CATALOG.get(check_id)
    return CheckRow(
        check_id=check_id,
        check=check,
        # The most severe of its open findings (the owners' when there are any): the severity
        # the filter and the score read.
        severity=_rank_severity(row["rank"] if row["rank"] is not None else row["platform_rank"]),
        category=str(check.category) if check else row["stored_category"],
        clusters=int(row["clusters"]),
        resources=int(row["resources"]),
        findings=int(row["findings"]),
        accepted=int(row["accepted"]),
        change_7d=_change(row, 7),
        change_30d=_change(row, 30),
        not_evaluated=sum(1 for c in view.clusters.values() if check_id in c.not_evaluated),
        platform=int(row["platform"]),
        platform_clusters=int(row["platform_clusters"]),
    )


def check_rows(view: Scope, filters: Filters, now: datetime) -> list[CheckRow]:
    """Return one row per check with open findings in view, most severe and widest first."""
    if not view.clusters:
        return []
    rows = findings_in(view, filters)
    platform = platform_condition(view.policy, _relevant(rows, now))
    return _check_rows(view, rows, accepted_condition(view.acceptances, rows), platform, now)


def _check_rows(view: Scope, rows: QuerySet[Finding], accepted: Q | None, platform: Q,
                now: datetime) -> list[CheckRow]:
    grouped = _totals(rows, view, accepted, platform, now, "check_id")
    return sorted((_check_row(r, view) for r in grouped), key=lambda r: r.sort_key)


def build(visible: QuerySet[Cluster], filters: Filters, now: datetime,
          policy: Policy) -> FleetFindings:
    """Return the fleet findings of ``visible`` (already what the user may see)."""
    view = scope(visible, filters, now, policy)
    return FleetFindings(rows=check_rows(view, filters, now), filters=filters, scope=view)


# --- One check's page ---------------------------------------------------------------------------


@dataclass
class Workload:
    """One resource's findings of the check (one per container, or one)."""

    kind: str
    name: str
    items: list[Item] = field(default_factory=list)


@dataclass
class Namespace:
    name: str
    workloads: list[Workload] = field(default_factory=list)


@dataclass
class ClusterGroup:
    """One affected cluster: its counts and its findings by namespace and workload."""

    cluster: ClusterInfo
    resources: int
    findings: int
    accepted: int
    # Open platform-managed findings (listed, marked, in none of the counts above).
    platform: int = 0
    namespaces: list[Namespace] = field(default_factory=list)

    @property
    def listed(self) -> int:
        return sum(len(w.items) for ns in self.namespaces for w in ns.workloads)


@dataclass
class CheckDetail:
    """A check across the fleet: its row, and every cluster, namespace and workload it affects."""

    check_id: str
    check: Check | None
    row: CheckRow | None
    clusters: list[ClusterGroup]
    filters: Filters
    scope: Scope
    truncated: bool
    # The table's filters as they were, for the way back to it.
    back: Filters = field(default_factory=Filters)

    @property
    def title(self) -> str:
        return self.check.title if self.check else self.check_id

    @property
    def slug(self) -> str:
        return self.check_id.replace(".", "-")

    @property
    def advice(self) -> Advice | None:
        """Return the catalog's advice in its generic form: the clusters in view may run on
        different providers and versions (each checklist has its own commands)."""
        return advice.for_check(self.check, None)

    @property
    def owner_choices(self) -> list[Choice]:
        return self.scope.owner_choices_with(self.filters.owner)


def known_check(visible: QuerySet[Cluster], check_id: str) -> bool:
    """Say whether ``check_id`` is a check: in the catalog, or behind a visible finding."""
    return check_id in CATALOG or Finding.objects.filter(
        cluster__in=visible, check_id=check_id).exists()


def check_detail(visible: QuerySet[Cluster], check_id: str, filters: Filters, now: datetime,
                 policy: Policy) -> CheckDetail:
    """Return ``check_id`` across the clusters of ``visible`` that ``filters`` keep."""
    back, filters = filters, filters.for_check()
    view = scope(visible, filters, now, policy)
    if not view.clusters:
        return CheckDetail(check_id, CATALOG.get(check_id), None, [], filters, view, False, back)
    of_check = findings_in(view, filters).filter(check_id=check_id)
    accepted = accepted_condition(view.acceptances, of_check)
    platform = platform_condition(policy, _relevant(of_check, now))
    rows = _check_rows(view, of_check, accepted, platform, now)
    open_rows = of_check.filter(OPEN)
    per_cluster = {r["cluster_id"]: r for r in _totals(open_rows, view, accepted, platform, now,
                                                       "cluster_id")}
    # Within a cluster the owners' findings come first, the platform-managed ones after them.
    apart = Case(When(platform, then=Value(1)), default=Value(0))
    listed = list(open_rows.defer("evidence").annotate(apart=apart).order_by(
        "cluster__name", "apart", "namespace", "kind", "name", "container", "first_seen_at",
        "pk",
    )[:DETAIL_LIMIT + 1]) if rows else []
    truncated = len(listed) > DETAIL_LIMIT
    return CheckDetail(
        check_id=check_id,
        check=CATALOG.get(check_id),
        row=rows[0] if rows else None,
        clusters=_groups(view, per_cluster, listed[:DETAIL_LIMIT]),
        filters=filters,
        scope=view,
        truncated=truncated,
        back=back,
    )


def _groups(view: Scope, per_cluster: Mapping[int, Mapping[str, Any]],
            listed: Sequence[Any]) -> list[ClusterGroup]:
    by_cluster = view.acceptances_by_cluster()
    groups = {pk: ClusterGroup(view.clusters[pk], int(counts["resources"]),
                               int(counts["findings"]), int(counts["accepted"]),
                               int(counts["platform"]))
              for pk, counts in per_cluster.items()}
    namespaces: dict[tuple[int, str], Namespace] = {}
    workloads: dict[tuple[int, str, str, str], Workload] = {}
    for finding in listed:
        group = groups[finding.cluster_id]
        ns_key = (finding.cluster_id, finding.namespace)
        namespace = namespaces.get(ns_key)
        if namespace is None:
            namespace = namespaces[ns_key] = Namespace(finding.namespace)
            group.namespaces.append(namespace)
        key = (finding.cluster_id, finding.namespace, finding.kind, finding.name)
        workload = workloads.get(key)
        if workload is None:
            workload = workloads[key] = Workload(finding.kind, finding.name)
            namespace.workloads.append(workload)
        covering = accepting(finding, by_cluster.get(finding.cluster_id, []))
        workload.items.append(Item(finding, Status.ACCEPTED if covering else Status.OPEN,
                                   covering, platform=bool(finding.apart)))
    return sorted(groups.values(), key=lambda g: g.cluster.name)
