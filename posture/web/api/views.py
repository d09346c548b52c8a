"""API views: each answers exactly what the same user may see on the pages."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from clusters.access import get_visible_cluster, visible_clusters
from clusters.models import Cluster
from posture.domain.fleet import iso, kubernetes_eol, with_current, with_latest
from posture.domain.models import Finding, OrgPolicy, Snapshot
from posture.domain.polling import policy_for
from posture.domain.waivers import accepting, active_acceptances
from posture.web.api.auth import api_view
from posture.web.api.findings import BadRequest
from posture.web.api.openapi import SCHEMA
from posture.web.dashboard import scorecard as scorecards
from posture.web.dashboard import vulnerabilities as vulnerability_pages

MAX_LIMIT = 1000


def _cluster(cluster: Cluster, now: datetime) -> dict[str, Any]:
    eol = kubernetes_eol(cluster, now.date())
    stored = getattr(cluster, "finding_counts", None) or {}
    counts = stored.get("severity") or {}
    return {
        "id": cluster.pk,
        "name": cluster.name,
        "labels": cluster.labels or {},
        "score": getattr(cluster, "score", None),
        "grade": getattr(cluster, "grade", None) or None,
        "kubernetes_version": getattr(cluster, "kubernetes_version", None) or None,
        "kubernetes_support": eol.status,
        "kubernetes_eol": iso(eol.eol),
        "kubernetes_eol_days_left": eol.days_left,
        "open_findings_by_severity": counts,
        # Left out of the counts above (and of the score) unless the policy scores them.
        "platform_findings_by_severity": stored.get("platform_severity") or {},
        "last_poll": {"status": getattr(cluster, "last_poll_status", None),
                      "at": iso(getattr(cluster, "last_poll_at", None))},
        "last_success_at": iso(getattr(cluster, "last_success_at", None)),
        "poll_interval_minutes": cluster.poll_interval_minutes,
    }


def _limit(request: HttpRequest, default: int = 100) -> int:
    try:
        return max(1, min(MAX_LIMIT, int(request.GET.get("limit", default))))
    except ValueError:
        return default


_CLUSTERS_CURSOR = 1


def encode_clusters_cursor(after: str) -> str:
    """Return the opaque cursor of the page that follows the cluster named ``after``."""
    raw = json.dumps({"v": _CLUSTERS_CURSOR, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _clusters_after(text: str) -> str:
    if not text:
        return ""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        after = data["after"]
        # Cluster names are at most 63 characters; a longer one is not a cursor we gave out.
        if data.get("v") != _CLUSTERS_CURSOR or type(after) is not str or len(after) > 63:
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave out: use the `next` link of the "
                         "previous page as it is") from None
    return after


@api_view
def clusters(request: HttpRequest) -> JsonResponse:
    """By name, ``limit`` a page (100 by default), with a ``next`` link while more follow."""
    now = timezone.now()
    try:
        after = _clusters_after(request.GET.get("cursor", ""))
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    limit = _limit(request)
    rows = with_current(visible_clusters(request.user)).order_by("name")
    if after:
        rows = rows.filter(name__gt=after)
    # One row past the page says whether another page follows, without counting them all.
    page = list(rows[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_url = None
    if more and page:
        params = {k: v for k, v in request.GET.items() if k != "cursor"}
        params["cursor"] = encode_clusters_cursor(page[-1].name)
        next_url = request.build_absolute_uri(request.path + "?" + urlencode(params))
    return JsonResponse({"clusters": [_cluster(c, now) for c in page], "next": next_url})


@api_view
def cluster(request: HttpRequest, pk: int) -> JsonResponse:
    visible = get_visible_cluster(request, pk)
    annotated = with_latest(Cluster.objects.filter(pk=visible.pk)).get()
    body = _cluster(annotated, timezone.now())
    latest = Snapshot.objects.filter(pk=annotated.latest_snapshot_id).only(
        "category_scores", "coverage").first()
    body["category_scores"] = latest.category_scores if latest else {}
    body["coverage"] = latest.coverage if latest else {}
    return JsonResponse(body)


@api_view
def snapshots(request: HttpRequest, pk: int) -> JsonResponse:
    """Newest first; page backwards with ``?before=<taken_at of the last row>``."""
    visible = get_visible_cluster(request, pk)
    rows = Snapshot.objects.filter(cluster=visible).defer("nodes", "coverage", "node_summary")
    before = parse_datetime(request.GET.get("before", "") or "")
    if before is not None:
        rows = rows.filter(taken_at__lt=before)
    limit = _limit(request)
    page = list(rows.order_by("-taken_at")[: limit + 1])
    items = [{
        "id": s.pk, "taken_at": iso(s.taken_at), "status": s.status, "error": s.error,
        "duration_ms": s.duration_ms, "kubernetes_version": s.kubernetes_version,
        "node_count": s.node_count, "workload_count": s.workload_count, "pod_count": s.pod_count,
        "score": s.score, "grade": s.grade or None, "category_scores": s.category_scores,
        "finding_counts": s.finding_counts, "checkset_version": s.checkset_version,
    } for s in page[:limit]]
    more = len(page) > limit
    return JsonResponse({"snapshots": items,
                         "next_before": items[-1]["taken_at"] if more and items else None})


@api_view
def findings(request: HttpRequest, pk: int) -> JsonResponse:
    """``?status=open`` (default, accepted ones included and marked), ``resolved`` or ``all``."""
    visible = get_visible_cluster(request, pk)
    rows = Finding.objects.filter(cluster=visible)
    wanted = request.GET.get("status", "open")
    if wanted == "open":
        rows = rows.filter(resolved_at__isnull=True)
    elif wanted == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    elif wanted != "all":
        return JsonResponse({"error": "status must be open, resolved or all"}, status=400)
    acceptances = active_acceptances(visible)
    policy = OrgPolicy.load().policy()
    items = []
    for f in rows.order_by("check_id", "namespace", "name", "container", "first_seen_at"):
        accepted = accepting(f, acceptances) if f.resolved_at is None else None
        items.append({
            "id": f.pk, "check": f.check_id, "severity": f.severity, "category": f.category,
            "kind": f.kind, "namespace": f.namespace, "name": f.name, "container": f.container,
            "message": f.message, "first_seen_at": iso(f.first_seen_at),
            "resolved_at": iso(f.resolved_at),
            "status": "resolved" if f.resolved_at else ("accepted" if accepted else "open"),
            "accepted_until": iso(accepted.expires_at) if accepted else None,
            "platform_managed": policy.set_apart(f.kind, f.namespace, f.name),
        })
    return JsonResponse({"findings": items})


def scorecard_body(sc: scorecards.ClusterScorecard) -> dict[str, Any]:
    """Return the scorecard page's figures as JSON: the same computation, figure for figure."""
    if sc.snapshot is None or sc.card is None:
        return {"snapshot": None, "score": None, "grade": None, "stored_score": None,
                "uncapped_score": None, "cap_points": 0.0, "caps": [], "capped_by": [],
                "waived": 0,
                "waived_points": 0.0, "platform": 0, "platform_points": 0.0,
                "not_evaluated": [], "os_unjudged_nodes": 0, "categories": {}, "fixes": [],
                "shown_fixes": 0, "path": None, "platform_findings": []}
    body = sc.card.to_dict()
    cuts = {str(row.cap): row.cuts for row in sc.caps}
    for cap in body["caps"]:
        cap["cuts"] = cuts[cap["cap"]]
    for position, fix in enumerate(body["fixes"], start=1):
        fix["rank"] = position
    path = sc.path
    body.update(
        snapshot={"id": sc.snapshot.pk, "taken_at": iso(sc.snapshot.taken_at)},
        stored_score=sc.snapshot.score,
        os_unjudged_nodes=sc.os_unjudged,
        shown_fixes=len(sc.fixes),
        path=None if path is None else {
            "target": str(path.target), "steps": path.steps, "score": path.score,
            "reachable": path.reachable, "blocked_by": [str(cap) for cap in path.blocked_by]},
        platform_findings=[
            {"check": g.check_id, "severity": str(g.severity), "count": g.count,
             "resources": g.resources} for g in sc.platform],
    )
    return body


@api_view
def scorecard(request: HttpRequest, pk: int) -> JsonResponse:
    """The cluster's scorecard, computed as its page computes it (now, with today's policy)."""
    visible = get_visible_cluster(request, pk)
    built = scorecards.build(visible, timezone.now(), policy_for(visible))
    return JsonResponse({"cluster": visible.pk, **scorecard_body(built)})
@api_view
def vulnerabilities(request: HttpRequest, pk: int) -> JsonResponse:
    """Every open image, worst first, with every CVE stored; ``?severity=``, ``?fixable=true``."""
    visible = get_visible_cluster(request, pk)
    page = vulnerability_pages.build(
        visible, vulnerability_pages.Filters.from_query(request.GET), per_image=None)
    images = [{
        "id": row.image.pk, "ref": row.image.ref, "registry": row.image.registry,
        "repository": row.image.repository, "tag": row.image.tag, "digest": row.image.digest,
        "os": row.image.os, "first_seen_at": iso(row.image.first_seen_at),
        "counts": row.image.counts, "stored": row.image.stored,
        "more_workloads": row.image.more_workloads,
        "workloads": [{"kind": w.kind, "namespace": w.namespace, "name": w.name,
                       "container": w.container} for w in row.workloads],
        "vulnerabilities": [{
            "id": v.pk, "vulnerability_id": v.vulnerability_id, "package": v.package,
            "installed_version": v.installed_version, "fixed_version": v.fixed_version,
            "fixable": v.fixable, "severity": v.severity, "score": v.score, "title": v.title,
            "link": v.safe_link or None, "first_seen_at": iso(v.first_seen_at),
        } for v in row.vulnerabilities],
    } for row in page.images]
    evaluated = page.state == vulnerability_pages.State.EVALUATED
    return JsonResponse({"evaluated": evaluated,
                         "reason": None if evaluated else (page.reason or "not polled yet"),
                         "images": images})


def openapi(request: HttpRequest) -> JsonResponse:
    """The API's OpenAPI 3.1 description (public: it holds no data)."""
    return JsonResponse(SCHEMA)
