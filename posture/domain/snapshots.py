"""Record a poll: the snapshot's aggregates and the findings' lifetimes, in one transaction
(with the images' vulnerabilities, ``posture.domain.vulnerabilities``), scored by
``posture.domain.scorecard``.

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

from posture.checks import Evaluation, Policy
from posture.checks.inventory import Inventory
from posture.domain import alerts, checksets, vulnerabilities
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.scorecard import apply_score, os_unknown
from posture.lifecycle import SupportStatus, detect_provider, os_support, parse_kubernetes_version


def _node_info(node: dict[str, Any]) -> dict[str, str]:
    status: Any = node.get("status") if isinstance(node.get("status"), dict) else {}
    info: Any = status.get("nodeInfo") if isinstance(status.get("nodeInfo"), dict) else {}
    meta: Any = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
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
    unknown = sum(1 for n in nodes if os_unknown(n, today))
    eol_nodes = sum(count for image, count in os_images.items()
                    if os_support(image, today).status == SupportStatus.EOL)
    created = sorted(n["created"] for n in nodes if n["created"])
    return nodes, {
        "os_images": dict(os_images.most_common()),
        "kubelet_minors": dict(Counter(_minor(n["kubelet"]) for n in nodes).most_common()),
        "runtimes": dict(Counter(n["runtime"] for n in nodes).most_common()),
        "oldest_node_created": created[0] if created else None,
        "eol_os_nodes": eol_nodes,
        # Nodes whose OS support cannot be established: they cap the grade (docs/scoring.md).
        "os_unknown_nodes": unknown,
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
           finished_at: datetime | None = None, policy: Policy | None = None) -> Snapshot:
    """Complete ``snapshot`` from a successful read and update the findings' lifetimes.

    ``policy`` is the one the evaluation ran with (the organisation's, when not given); it
    decides which findings are platform-managed when the snapshot is scored.
    """
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
    snapshot.pod_security = evaluation.pod_security
    snapshot.checkset_version = evaluation.checkset_version
    checksets.remember(evaluation.checkset_version)
    snapshot.finding_counts = {
        "severity": evaluation.counts_by_severity,
        "category": evaluation.counts_by_category,
        "not_evaluated": evaluation.not_evaluated,
        # Switched off by the policy: as little evaluated as a check that could not run.
        "disabled": list(evaluation.disabled),
    }
    snapshot.open_findings = len(evaluation.findings)
    _update_findings(snapshot, evaluation)
    vulnerabilities.record(snapshot, evaluation.vulnerabilities)
    apply_score(snapshot, snapshot.taken_at, policy)
    # The successful poll before this one: a grade drop and new findings are measured from it.
    previous = (Snapshot.objects.successful_of(snapshot.cluster_id)
                .filter(taken_at__lt=snapshot.taken_at).exclude(pk=snapshot.pk)
                .only("grade", "checkset_version").first())
    snapshot.save()
    # Events (a grade drop, new criticals) are written in this same transaction.
    alerts.snapshot_recorded(snapshot, previous)
    return snapshot


def _update_findings(snapshot: Snapshot, evaluation: Evaluation) -> None:
    current = {f.key: f for f in evaluation.findings}
    open_rows = {row.identity: row for row in Finding.objects.filter(
        cluster_id=snapshot.cluster_id, resolved_at__isnull=True
    ).only("pk", "check_id", "kind", "namespace", "name", "container", "message")}
    # A check that could not run this time says nothing about its findings: keep them open.
    skipped = set(evaluation.not_evaluated)
    gone = [row.pk for key, row in open_rows.items()
            if key not in current and key[0] not in skipped]
    if gone:
        Finding.objects.filter(pk__in=gone).update(resolved_in=snapshot,
                                                   resolved_at=snapshot.taken_at)
    # A finding still open says what this poll saw (a count of CVEs, a node's age), so its page
    # and the checklist agree with the rest of the scorecard; its identity, severity and first
    # sighting stay. Only rows whose message changed are written.
    described = []
    for key, row in open_rows.items():
        seen = current.get(key)
        if seen is not None and seen.message != row.message:
            row.message, row.evidence = seen.message, seen.evidence
            described.append(row)
    if described:
        Finding.objects.bulk_update(described, ["message", "evidence"], batch_size=1000)
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
