"""Record a poll: the snapshot's aggregates and the findings' lifetimes, in one transaction
(with the images' vulnerabilities, ``posture.vulnerabilities``).

Findings are diffed against the cluster's open findings by identity: a new identity inserts a
row, a vanished one is resolved, an unchanged one is left alone — so an unchanged cluster polled
again writes the snapshot row and nothing else.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from posture import scoring, vulnerabilities
from posture.checks import Evaluation
from posture.checks.inventory import Inventory
from posture.lifecycle import (
    SupportStatus,
    detect_provider,
    kubernetes_support,
    os_support,
    parse_kubernetes_version,
)
from posture.models import Finding, Snapshot, SnapshotStatus


def _node_info(node: dict[str, Any]) -> dict[str, str]:
    status = node.get("status") if isinstance(node.get("status"), dict) else {}
    info = status.get("nodeInfo") if isinstance(status.get("nodeInfo"), dict) else {}
    meta = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
    return {
        "name": str(meta.get("name", ""))[:253],
        "created": str(meta.get("creationTimestamp", ""))[:40],
        "os_image": str(info.get("osImage", ""))[:200],
        "kernel": str(info.get("kernelVersion", ""))[:200],
        "kubelet": str(info.get("kubeletVersion", ""))[:100],
        "runtime": str(info.get("containerRuntimeVersion", ""))[:200],
        "arch": str(info.get("architecture", ""))[:40],
    }


def _minor(version: str) -> str:
    parsed = parse_kubernetes_version(version)
    return f"{parsed.major}.{parsed.minor}" if parsed else ""


def node_summary(inventory: Inventory, today: date) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Return compact node rows and the aggregates kept forever (counts, oldest, EOL nodes)."""
    nodes = [_node_info(n) for n in inventory["nodes"] if isinstance(n, dict)]
    os_images = Counter(n["os_image"] for n in nodes)
    eol_nodes = sum(count for image, count in os_images.items()
                    if os_support(image, today).status == SupportStatus.EOL)
    created = sorted(n["created"] for n in nodes if n["created"])
    return nodes, {
        "os_images": dict(os_images.most_common()),
        "kubelet_minors": dict(Counter(_minor(n["kubelet"]) for n in nodes).most_common()),
        "runtimes": dict(Counter(n["runtime"] for n in nodes).most_common()),
        "oldest_node_created": created[0] if created else None,
        "eol_os_nodes": eol_nodes,
    }


def _status(inventory: Inventory) -> tuple[str, str]:
    unread = {name: c for name, c in inventory["coverage"].items()
              if c["state"] in ("forbidden", "error")}
    if not unread:
        return SnapshotStatus.OK, ""
    detail = "; ".join(f"{name}: {c['state']}" for name, c in sorted(unread.items()))
    return SnapshotStatus.PARTIAL, f"Some resources could not be read ({detail})."


@transaction.atomic
def record(snapshot: Snapshot, inventory: Inventory, evaluation: Evaluation,
           finished_at: datetime | None = None) -> Snapshot:
    """Complete ``snapshot`` from a successful read and update the findings' lifetimes."""
    finished_at = finished_at or timezone.now()
    version = str(inventory["version"].get("gitVersion", ""))[:128]
    nodes, summary = node_summary(inventory, snapshot.taken_at.date())
    labels = [(n.get("metadata") or {}).get("labels") or {} for n in inventory["nodes"]
              if isinstance(n, dict)]
    snapshot.status, snapshot.error = _status(inventory)
    snapshot.finished_at = finished_at
    snapshot.duration_ms = max(0, int((finished_at - snapshot.taken_at).total_seconds() * 1000))
    snapshot.kubernetes_version = version
    snapshot.kubernetes_minor = _minor(version)
    snapshot.provider = str(detect_provider(version, labels) or "")
    snapshot.coverage = dict(inventory["coverage"])
    snapshot.node_count = len(inventory["nodes"])
    snapshot.namespace_count = len(inventory["namespaces"])
    snapshot.workload_count = len(inventory["workloads"])
    snapshot.pod_count = sum(w["pods"] for w in inventory["workloads"])
    snapshot.node_summary = summary
    snapshot.nodes = nodes
    snapshot.checkset_version = evaluation.checkset_version
    snapshot.finding_counts = {
        "severity": evaluation.counts_by_severity,
        "category": evaluation.counts_by_category,
        "not_evaluated": evaluation.not_evaluated,
    }
    snapshot.open_findings = len(evaluation.findings)
    _update_findings(snapshot, evaluation)
    vulnerabilities.record(snapshot, evaluation.vulnerabilities)
    apply_score(snapshot, snapshot.taken_at)
    snapshot.save()
    return snapshot


def latest_successful(cluster: object) -> Snapshot | None:
    return Snapshot.objects.filter(
        cluster=cluster, status__in=[SnapshotStatus.OK, SnapshotStatus.PARTIAL]
    ).order_by("-taken_at").first()


def apply_score(snapshot: Snapshot, now: datetime) -> scoring.Scorecard:
    """Score ``snapshot`` from the cluster's open findings, leaving out accepted risks.

    Findings of checks that could not run this time are left out too (their rows stay open,
    but the score is only about what was seen); coverage is shown beside the score.
    """
    from posture.waivers import active_acceptances, waived_keys

    rows = list(Finding.objects.filter(cluster_id=snapshot.cluster_id, resolved_at__isnull=True)
                .only("check_id", "severity", "category", "kind", "namespace", "name",
                      "container"))
    waived = waived_keys(rows, active_acceptances(snapshot.cluster, now))
    support = kubernetes_support(snapshot.kubernetes_version or None, snapshot.taken_at.date(),
                                 snapshot.provider or None)
    not_evaluated = (snapshot.finding_counts or {}).get("not_evaluated") or {}
    card = scoring.score(
        scoring.from_stored(rows),
        scoring.Size(workloads=snapshot.workload_count or 0, nodes=snapshot.node_count or 0,
                     namespaces=snapshot.namespace_count or 0),
        control_plane_eol=support.status == SupportStatus.EOL,
        waived=waived, not_evaluated=list(not_evaluated))
    snapshot.score = card.score
    snapshot.grade = str(card.grade)
    snapshot.category_scores = card.to_dict()["categories"]
    return card


def _update_findings(snapshot: Snapshot, evaluation: Evaluation) -> None:
    current = {f.key: f for f in evaluation.findings}
    open_rows = {row.identity: row.pk for row in Finding.objects.filter(
        cluster_id=snapshot.cluster_id, resolved_at__isnull=True
    ).only("pk", "check_id", "kind", "namespace", "name", "container")}
    # A check that could not run this time says nothing about its findings: keep them open.
    skipped = set(evaluation.not_evaluated)
    gone = [pk for key, pk in open_rows.items() if key not in current and key[0] not in skipped]
    if gone:
        Finding.objects.filter(pk__in=gone).update(resolved_in=snapshot,
                                                   resolved_at=snapshot.taken_at)
    new = [f for key, f in current.items() if key not in open_rows]
    Finding.objects.bulk_create([
        Finding(cluster_id=snapshot.cluster_id, check_id=f.check, kind=f.kind,
                namespace=f.namespace, name=f.name, container=f.container,
                severity=str(f.severity), category=str(f.category), message=f.message,
                evidence=f.evidence, first_seen=snapshot, first_seen_at=snapshot.taken_at)
        for f in new
    ], batch_size=1000)


def record_failure(snapshot: Snapshot, kind: str, message: str,
                   finished_at: datetime | None = None) -> Snapshot:
    """Complete ``snapshot`` as failed; findings stay as they were."""
    finished_at = finished_at or timezone.now()
    snapshot.status = SnapshotStatus.FAILED
    snapshot.error_kind = kind[:32]
    snapshot.error = message[:2000]
    snapshot.finished_at = finished_at
    snapshot.duration_ms = max(0, int((finished_at - snapshot.taken_at).total_seconds() * 1000))
    snapshot.save()
    return snapshot
