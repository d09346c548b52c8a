"""Keep each cluster's day and each cluster's "now" in step with its snapshots.

``snapshot_saved`` runs whenever a snapshot row is saved (``posture.domain.signals``), inside the
transaction that saves it: the poll being recorded (``snapshots.record``), a failed poll, a
rescore after an accepted risk or a policy change. It copies what the snapshot holds, so the
fleet pages show the very score the scorecard shows; nothing is scored here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from posture.checks.namespaces import enforced_level
from posture.checks.pss import LEVELS
from posture.checks.vocabulary import Category
from posture.domain.models import Snapshot
from posture.domain.rollup_models import ClusterCurrent, ClusterDay
from posture.lifecycle import kubernetes_support, os_support

# Snapshot fields that, saved alone, change nothing a rollup holds.
_IRRELEVANT = frozenset({"nodes"})


def flat_category_scores(category_scores: Any) -> tuple[dict[str, float], list[str]]:
    """Return ({category: score} of the evaluated categories, [categories not evaluated])."""
    scores: dict[str, float] = {}
    skipped: list[str] = []
    if not isinstance(category_scores, Mapping):
        return scores, skipped
    for category in Category:
        entry = category_scores.get(str(category))
        if not isinstance(entry, Mapping):
            continue
        if entry.get("evaluated") is False:
            skipped.append(str(category))
        elif isinstance(entry.get("score"), int | float):
            scores[str(category)] = float(entry["score"])
    return scores, skipped


def kubernetes_eol(version: str, provider: str, day: date) -> date | None:
    """Return the last day of any support of a control plane version (None when unknown)."""
    return kubernetes_support(version or None, day, provider or None).eol if version else None


def os_eol(images: Any, day: date) -> date | None:
    """Return the soonest end of life among a node summary's OS images (None when unknown)."""
    if not isinstance(images, Mapping):
        return None
    ends = [end for image in images
            if (end := os_support(str(image), day).eol) is not None]
    return min(ends, default=None)


def pss_levels(pod_security: Any) -> dict[str, int] | None:
    """Return namespaces by the level admission enforces (None without recorded labels)."""
    if not isinstance(pod_security, Mapping):
        return None
    counts: dict[str, int] = {}
    for entry in pod_security.values():
        if isinstance(entry, Mapping):
            level = enforced_level(entry)
            counts[level] = counts.get(level, 0) + 1
    return counts


def _counts(snapshot: Snapshot) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    counts = snapshot.finding_counts if isinstance(snapshot.finding_counts, dict) else {}
    def part(key: str) -> dict[str, Any]:
        value = counts.get(key)
        return value if isinstance(value, dict) else {}
    return part("severity"), part("platform_severity"), part("category")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def day_of(snapshot: Snapshot) -> date:
    """Return the snapshot's calendar day in the site's time zone (as the trends page plots)."""
    return timezone.localdate(snapshot.taken_at)


def _newer(taken_at: Any, pk: int, than_taken_at: Any, than_pk: int | None) -> bool:
    """Say whether (taken_at, pk) is at or after the other: a day's last poll, ties by pk."""
    return than_taken_at is None or (taken_at, pk) >= (than_taken_at, than_pk or 0)


def _figures(snapshot: Snapshot, day: date) -> dict[str, Any]:
    """Return what the day row and the "now" row both copy from a successful snapshot."""
    severity, _, _ = _counts(snapshot)
    scores, skipped = flat_category_scores(snapshot.category_scores)
    summary = snapshot.node_summary if isinstance(snapshot.node_summary, dict) else {}
    images = summary.get("os_images") if isinstance(summary.get("os_images"), dict) else {}
    return {
        "snapshot_id": snapshot.pk,
        "score": snapshot.score,
        "grade": snapshot.grade,
        "category_scores": scores,
        "not_evaluated": skipped,
        "severity_counts": severity,
        "critical": _int(severity.get("critical")),
        "high": _int(severity.get("high")),
        "kubernetes_version": snapshot.kubernetes_version,
        "provider": snapshot.provider,
        "kubernetes_eol": kubernetes_eol(snapshot.kubernetes_version, snapshot.provider, day),
        "os_images": images,
    }


def _write_day(snapshot: Snapshot) -> None:
    day = day_of(snapshot)
    row = (ClusterDay.objects.select_for_update()
           .filter(cluster_id=snapshot.cluster_id, day=day).first())
    if row is not None and not _newer(snapshot.taken_at, snapshot.pk, row.taken_at,
                                      row.snapshot_id):
        return
    _, _, category = _counts(snapshot)
    summary = snapshot.node_summary if isinstance(snapshot.node_summary, dict) else {}
    counts = snapshot.finding_counts if isinstance(snapshot.finding_counts, dict) else {}
    values = _figures(snapshot, day) | {
        "taken_at": snapshot.taken_at,
        "category_counts": category,
        "kubernetes_minor": snapshot.kubernetes_minor,
        "nodes": snapshot.node_count or 0,
        "nodes_os_eol": _int(summary.get("eol_os_nodes")),
        "nodes_os_unknown": _int(summary.get("os_unknown_nodes")),
        "pss_levels": pss_levels(snapshot.pod_security),
        "checkset_version": snapshot.checkset_version,
        "scoring_version": str(counts.get("scoring_version") or "")[:32],
    }
    if row is None:
        ClusterDay.objects.create(cluster_id=snapshot.cluster_id, day=day, **values)
    else:
        ClusterDay.objects.filter(pk=row.pk).update(**values)


def _write_current(snapshot: Snapshot) -> None:
    row, _ = (ClusterCurrent.objects.select_for_update()
              .get_or_create(cluster_id=snapshot.cluster_id))
    changed: dict[str, Any] = {}
    if row.last_poll_at is None or snapshot.taken_at >= row.last_poll_at:
        changed |= {"last_poll_status": snapshot.status, "last_poll_at": snapshot.taken_at}
    if snapshot.succeeded and (row.snapshot_id == snapshot.pk or row.last_success_at is None
                               or snapshot.taken_at >= row.last_success_at):
        day = day_of(snapshot)
        figures = _figures(snapshot, day)
        changed |= figures | {
            "last_success_at": snapshot.taken_at,
            "platform_counts": _counts(snapshot)[1],
            "os_eol": os_eol(figures["os_images"], day),
        }
    if changed:
        ClusterCurrent.objects.filter(pk=row.pk).update(**changed)


def snapshot_saved(snapshot: Snapshot, update_fields: frozenset[str] | None = None) -> None:
    """Bring the cluster's day and "now" rows up to date with a snapshot just saved.

    A failed or running poll changes only the "now" row's last poll; a successful one the day's
    row too when it is that day's last. Polls saved out of order (history replays) leave a
    newer poll's rows alone.
    """
    if update_fields is not None and update_fields <= _IRRELEVANT:
        return
    # A savepoint when called inside ``snapshots.record``'s transaction; its own transaction
    # otherwise, since the row locks below need one.
    with transaction.atomic():
        _write_current(snapshot)
        if snapshot.succeeded:
            _write_day(snapshot)


def refresh_last_poll(cluster_id: int) -> None:
    """Set the cluster's "now" row's last poll from its newest snapshot.

    For the statuses written by a bulk UPDATE (a run marked failed after the worker or the
    database went away), which no save signal follows.
    """
    newest = (Snapshot.objects.filter(cluster_id=cluster_id).order_by("-taken_at", "-pk")
              .values("status", "taken_at").first())
    if newest is not None:
        ClusterCurrent.objects.filter(cluster_id=cluster_id).update(
            last_poll_status=newest["status"], last_poll_at=newest["taken_at"])


# --- Rebuilding from snapshots, set-based --------------------------------------------------------
# For the migration that introduced the rollups and for bulk-loaded history (synthetic fleets):
# one statement per table over every snapshot, then one UPDATE per distinct version for the
# lifecycle dates (Python's lifecycle data, not SQL's), never a statement per snapshot.

def _json_object(expression: str) -> str:
    return f"CASE WHEN jsonb_typeof({expression}) = 'object' THEN {expression} ELSE '{{}}' END"


def _json_count(expression: str) -> str:
    return (f"GREATEST(0, CASE WHEN jsonb_typeof({expression}) = 'number' "
            f"THEN ({expression} #>> '{{}}')::numeric::int ELSE 0 END)")


_CATEGORY_SCORES = f"""COALESCE((
    SELECT jsonb_object_agg(e.key, (e.value->>'score')::float)
    FROM jsonb_each({_json_object("s.category_scores")}) e
    WHERE e.key = ANY(%(categories)s) AND jsonb_typeof(e.value) = 'object'
      AND e.value->'evaluated' IS DISTINCT FROM 'false'::jsonb
      AND jsonb_typeof(e.value->'score') = 'number'), '{{}}'::jsonb)"""  # noqa: S608 (constant fragments)
_NOT_EVALUATED = f"""COALESCE((
    SELECT jsonb_agg(e.key ORDER BY e.key)
    FROM jsonb_each({_json_object("s.category_scores")}) e
    WHERE e.key = ANY(%(categories)s) AND jsonb_typeof(e.value) = 'object'
      AND e.value->'evaluated' = 'false'::jsonb), '[]'::jsonb)"""  # noqa: S608 (constant fragments)
# As ``enforced_level``: no enforce label (or a null one) is privileged, an unknown value the
# strictest level.
_PSS_LEVELS = """CASE WHEN jsonb_typeof(s.pod_security) = 'object' THEN COALESCE((
    SELECT jsonb_object_agg(level, n) FROM (
        SELECT CASE WHEN e.value->'enforce' IS NULL OR e.value->'enforce' = 'null'::jsonb
                    THEN 'privileged'
                    WHEN e.value->>'enforce' = ANY(%(levels)s) THEN e.value->>'enforce'
                    ELSE 'restricted' END AS level, count(*) AS n
        FROM jsonb_each(s.pod_security) e WHERE jsonb_typeof(e.value) = 'object'
        GROUP BY 1) levels), '{}'::jsonb) END"""
_DAY = "(s.taken_at AT TIME ZONE %(tz)s)::date"
_SUCCEEDED = "s.status IN ('ok', 'partial')"

_REBUILD_DAYS = f"""
INSERT INTO posture_clusterday (
    cluster_id, day, snapshot_id, taken_at, score, grade, category_scores, not_evaluated,
    severity_counts, category_counts, critical, high, kubernetes_version, kubernetes_minor,
    provider, kubernetes_eol, os_images, nodes, nodes_os_eol, nodes_os_unknown, pss_levels,
    checkset_version, scoring_version)
SELECT
    s.cluster_id, last.day, s.id, s.taken_at, s.score, s.grade, {_CATEGORY_SCORES},
    {_NOT_EVALUATED}, {_json_object("s.finding_counts->'severity'")},
    {_json_object("s.finding_counts->'category'")},
    {_json_count("s.finding_counts->'severity'->'critical'")},
    {_json_count("s.finding_counts->'severity'->'high'")},
    s.kubernetes_version, s.kubernetes_minor, s.provider, NULL,
    {_json_object("s.node_summary->'os_images'")}, COALESCE(s.node_count, 0),
    {_json_count("s.node_summary->'eol_os_nodes'")},
    {_json_count("s.node_summary->'os_unknown_nodes'")}, {_PSS_LEVELS},
    s.checkset_version, LEFT(COALESCE(s.finding_counts->>'scoring_version', ''), 32)
FROM (
    -- Each day's last poll first, from narrow columns: the JSON above is then taken apart for
    -- those rows only, not for every poll of the day.
    SELECT DISTINCT ON (s.cluster_id, {_DAY}) s.id, {_DAY} AS day
    FROM posture_snapshot s
    WHERE {_SUCCEEDED} AND (%(clusters)s::bigint[] IS NULL OR s.cluster_id = ANY(%(clusters)s))
    ORDER BY s.cluster_id, {_DAY}, s.taken_at DESC, s.id DESC
) last JOIN posture_snapshot s ON s.id = last.id
"""  # noqa: S608 (constant fragments)

_REBUILD_CURRENT = f"""
INSERT INTO posture_clustercurrent (
    cluster_id, snapshot_id, score, grade, category_scores, not_evaluated, severity_counts,
    platform_counts, critical, high, kubernetes_version, provider, kubernetes_eol, os_images,
    os_eol, last_poll_status, last_poll_at, last_success_at)
SELECT c.id, s.id, s.score, COALESCE(s.grade, ''),
    CASE WHEN s.id IS NULL THEN '{{}}'::jsonb ELSE {_CATEGORY_SCORES} END,
    CASE WHEN s.id IS NULL THEN '[]'::jsonb ELSE {_NOT_EVALUATED} END,
    {_json_object("s.finding_counts->'severity'")},
    {_json_object("s.finding_counts->'platform_severity'")},
    CASE WHEN s.id IS NULL THEN NULL
         ELSE {_json_count("s.finding_counts->'severity'->'critical'")} END,
    CASE WHEN s.id IS NULL THEN NULL
         ELSE {_json_count("s.finding_counts->'severity'->'high'")} END,
    COALESCE(s.kubernetes_version, ''), COALESCE(s.provider, ''), NULL,
    {_json_object("s.node_summary->'os_images'")}, NULL,
    newest.status, newest.taken_at, s.taken_at
FROM clusters_cluster c
JOIN LATERAL (SELECT n.status, n.taken_at FROM posture_snapshot n WHERE n.cluster_id = c.id
              ORDER BY n.taken_at DESC, n.id DESC LIMIT 1) newest ON true
LEFT JOIN LATERAL (SELECT * FROM posture_snapshot s WHERE s.cluster_id = c.id AND {_SUCCEEDED}
                   ORDER BY s.taken_at DESC, s.id DESC LIMIT 1) s ON true
WHERE %(clusters)s::bigint[] IS NULL OR c.id = ANY(%(clusters)s)
"""  # noqa: S608 (constant fragments)


# Every statement below is assembled from the constant fragments above; values (the time zone,
# the clusters, dates, versions) are always parameters.
_SCOPE = "(%(clusters)s::bigint[] IS NULL OR cluster_id = ANY(%(clusters)s))"
_DELETE = [f"DELETE FROM {table} WHERE {_SCOPE}"  # noqa: S608 (constant fragments)
           for table in ("posture_clusterday", "posture_clustercurrent")]
_VERSIONS = [
    (f"SELECT DISTINCT kubernetes_version, provider FROM {table} "  # noqa: S608 (constant)
     f"WHERE kubernetes_version <> '' AND {_SCOPE}",
     f"UPDATE {table} SET kubernetes_eol = %(end)s WHERE kubernetes_version = %(version)s "  # noqa: S608
     f"AND provider = %(provider)s AND {_SCOPE}")
    for table in ("posture_clusterday", "posture_clustercurrent")]
_OS_IMAGES = ("SELECT DISTINCT os_images FROM posture_clustercurrent "  # noqa: S608 (constant)
              f"WHERE os_images <> '{{}}'::jsonb AND {_SCOPE}")
_OS_EOL = ("UPDATE posture_clustercurrent SET os_eol = %(end)s "  # noqa: S608 (constant)
           f"WHERE os_images = %(images)s::jsonb AND {_SCOPE}")


def rebuild(cursor: Any, tz: str, clusters: list[int] | None = None) -> None:
    """Rewrite the rollup rows of ``clusters`` (every cluster when None) from their snapshots.

    ``cursor`` is a database cursor (a migration's, or the default connection's); ``tz`` the
    site's time zone name, whose calendar days the rollups are.
    """
    if cursor.db.vendor != "postgresql":
        _rebuild_one_by_one(clusters)
        return
    params = {"tz": tz, "clusters": clusters, "categories": [str(c) for c in Category],
              "levels": list(LEVELS)}
    for statement in (*_DELETE, _REBUILD_DAYS, _REBUILD_CURRENT):
        cursor.execute(statement, params)
    today = timezone.now().date()
    for select, update in _VERSIONS:
        cursor.execute(select, params)
        for version, provider in cursor.fetchall():
            end = kubernetes_eol(version, provider, today)
            if end is not None:
                cursor.execute(update, {**params, "end": end, "version": version,
                                        "provider": provider})
    cursor.execute(_OS_IMAGES, params)
    for (images,) in cursor.fetchall():
        decoded = images if isinstance(images, dict) else json.loads(images)
        end = os_eol(decoded, today)
        if end is not None:
            cursor.execute(_OS_EOL, {**params, "end": end, "images": json.dumps(decoded)})


def _rebuild_one_by_one(clusters: list[int] | None) -> None:
    """``rebuild`` for the embedded demo's SQLite: replay each snapshot as a poll writes it.

    The set-based statements above use PostgreSQL's JSON functions; a demo database holds a few
    thousand snapshots at most, for which writing them in order, as ``snapshot_saved`` does
    after each poll, takes seconds and gives the same rows.
    """
    scope = {} if clusters is None else {"cluster_id__in": clusters}
    ClusterDay.objects.filter(**scope).delete()
    ClusterCurrent.objects.filter(**scope).delete()
    for snapshot in Snapshot.objects.filter(**scope).order_by("taken_at", "pk").iterator():
        snapshot_saved(snapshot)
