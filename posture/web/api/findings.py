"""``/api/v1/findings/``: findings across every cluster the caller may see, page by page.

Pages are in finding id order, the only order that stays put while polls add findings: a new
finding gets a higher id, so walking the pages never repeats or skips a finding that exists the
whole time. The cursor is opaque to clients (today: the last id of the page, encoded).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from clusters.access import visible_clusters
from posture.checks import CATALOG
from posture.checks.vocabulary import Category, Severity
from posture.domain.fleet import iso
from posture.domain.models import Finding, OrgPolicy, RiskAcceptance
from posture.domain.waivers import accepting
from posture.web.api.auth import api_view
from posture.web.dashboard.checklist import Status
from posture.web.dashboard.fleet_findings import has_label, parse_label

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
STATUSES = ("open", "resolved", "all")
_CURSOR_VERSION = 1


class BadRequest(ValueError):
    """A parameter the API cannot use; the message says which and why."""


@dataclass(frozen=True)
class Query:
    """The list's parameters, checked."""

    check: str
    severity: str
    category: str
    cluster: str
    label: tuple[str, str] | None
    status: str
    limit: int
    after: int

    @classmethod
    def parse(cls, params: Any) -> Query:
        check = params.get("check", "").strip()
        if check and check not in CATALOG:
            raise BadRequest(f"check: no check has the id {check[:100]!r} "
                             "(docs/checks.md lists them)")
        severity = params.get("severity", "").strip()
        if severity and severity not in {str(s) for s in Severity}:
            raise BadRequest("severity must be one of " + ", ".join(Severity.ordered()))
        category = params.get("category", "").strip()
        if category and category not in {str(c) for c in Category}:
            raise BadRequest("category must be one of " + ", ".join(Category.ordered()))
        label_text = params.get("label", "").strip()
        label = parse_label(label_text) if label_text else None
        if label_text and label is None:
            raise BadRequest("label must read key=value, e.g. env=prod")
        status = params.get("status", "open").strip() or "open"
        if status not in STATUSES:
            raise BadRequest("status must be open, resolved or all")
        return cls(check=check, severity=severity, category=category,
                   cluster=params.get("cluster", "").strip(), label=label, status=status,
                   limit=_limit(params.get("limit", "")), after=_cursor(params.get("cursor", "")))


def _limit(text: str) -> int:
    if not text:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def encode_cursor(after: int) -> str:
    raw = json.dumps({"v": _CURSOR_VERSION, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor(text: str) -> int:
    if not text:
        return 0
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        after = data["after"]
        if data.get("v") != _CURSOR_VERSION or type(after) is not int or after < 0:
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave out: use the `next` link of the "
                         "previous page as it is") from None
    return after


def _clusters(request: HttpRequest, query: Query) -> dict[int, str] | None:
    """Return the names of the visible clusters the query keeps, by id; None when it names a
    cluster the caller cannot see.

    ``cluster`` is an id (all digits) or a name. Like every object the caller may not see, a
    cluster that is not theirs reads as missing.
    """
    clusters = visible_clusters(request.user)
    if query.cluster:
        by_id = query.cluster.isascii() and query.cluster.isdigit() and len(query.cluster) < 19
        clusters = (clusters.filter(pk=int(query.cluster)) if by_id
                    else clusters.filter(name=query.cluster))
    rows = list(clusters.values_list("pk", "name", "labels"))
    if query.cluster and not rows:
        return None
    return {pk: name for pk, name, labels in rows
            if query.label is None or has_label(labels, query.label)}


def _status(finding: Finding, acceptance: RiskAcceptance | None) -> str:
    if finding.resolved_at is not None:
        return Status.RESOLVED
    return Status.ACCEPTED if acceptance else Status.OPEN


@api_view
def fleet_findings(request: HttpRequest) -> JsonResponse:
    """Findings of the visible clusters, filtered, ``limit`` a page with a ``next`` link."""
    try:
        query = Query.parse(request.GET)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    names = _clusters(request, query)
    if names is None:
        return JsonResponse({"error": "cluster: no such cluster"}, status=404)
    rows = Finding.objects.filter(cluster_id__in=list(names), pk__gt=query.after)
    if query.check:
        rows = rows.filter(check_id=query.check)
    if query.severity:
        rows = rows.filter(severity=query.severity)
    if query.category:
        rows = rows.filter(category=query.category)
    if query.status == "open":
        rows = rows.filter(resolved_at__isnull=True)
    elif query.status == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    page = list(rows.defer("evidence").order_by("pk")[:query.limit + 1]) if names else []
    more = len(page) > query.limit
    page = page[:query.limit]
    acceptances: dict[int, list[RiskAcceptance]] = {}
    open_in = {f.cluster_id for f in page if f.resolved_at is None}
    if open_in:
        for a in RiskAcceptance.objects.filter(cluster_id__in=open_in, revoked_at__isnull=True,
                                               expires_at__gt=timezone.now()):
            acceptances.setdefault(a.cluster_id, []).append(a)
    policy = OrgPolicy.load().policy()
    items = []
    for f in page:
        accepted = (accepting(f, acceptances.get(f.cluster_id, []))
                    if f.resolved_at is None else None)
        items.append({
            "id": f.pk, "cluster": {"id": f.cluster_id, "name": names[f.cluster_id]},
            "check": f.check_id, "severity": f.severity, "category": f.category,
            "kind": f.kind, "namespace": f.namespace, "name": f.name, "container": f.container,
            "message": f.message, "first_seen_at": iso(f.first_seen_at),
            "resolved_at": iso(f.resolved_at), "status": _status(f, accepted),
            "accepted_until": iso(accepted.expires_at) if accepted else None,
            "platform_managed": policy.set_apart(f.kind, f.namespace, f.name),
        })
    next_url = None
    if more and page:
        params = {k: v for k, v in request.GET.items() if k != "cursor"}
        params["cursor"] = encode_cursor(page[-1].pk)
        next_url = request.build_absolute_uri(request.path + "?" + urlencode(params))
    return JsonResponse({"findings": items, "next": next_url})
