"""Snapshot and finding rows made directly, for dashboard tests that need history.

Polling 90 days of an emulated cluster is slow; these build the same rows in milliseconds.
Defaults are a healthy, scored, successful poll; every field can be overridden.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from posture.checks import CATALOG, CHECKSET_VERSION
from posture.domain.models import Finding, Snapshot, SnapshotStatus
from posture.domain.scoring import Grade


def snapshot(cluster: Any, taken_at: datetime, *, score: float | None = 85.0,
             status: str = SnapshotStatus.OK, **fields: Any) -> Snapshot:
    """Create a snapshot; its grade follows the score unless given."""
    values: dict[str, Any] = {
        "kubernetes_version": "v1.37.1",
        "kubernetes_minor": "1.37",
        "provider": "",
        "coverage": {"pods": {"state": "read", "count": 10}},
        "node_count": 3,
        "namespace_count": 4,
        "workload_count": 10,
        "pod_count": 20,
        "node_summary": {"os_images": {"Ubuntu 22.04.3 LTS": 3}},
        "nodes": None,
        "checkset_version": CHECKSET_VERSION,
        "finding_counts": {"severity": {}, "category": {}, "not_evaluated": {}},
        "score": score,
        "grade": "" if score is None else str(Grade.for_score(score)),
        "category_scores": {},
    }
    if status == SnapshotStatus.FAILED:
        values.update(score=None, grade="", kubernetes_version="", error="refused")
    values.update(fields)
    return Snapshot.objects.create(cluster=cluster, taken_at=taken_at, finished_at=taken_at,
                                   status=status, **values)


def finding(cluster: Any, seen: Snapshot, check_id: str, *, kind: str = "Deployment",
            namespace: str = "default", name: str = "web", container: str = "",
            message: str = "", resolved: Snapshot | None = None, **fields: Any) -> Finding:
    """Create a finding of a catalog check, first seen in ``seen`` (resolved in ``resolved``)."""
    check = CATALOG[check_id]
    values: dict[str, Any] = {
        "severity": str(check.severity),
        "category": str(check.category),
        "message": message or f"{check.title} in {namespace}/{name}",
        "evidence": {},
    }
    values.update(fields)
    return Finding.objects.create(
        cluster=cluster, check_id=check_id, kind=kind, namespace=namespace, name=name,
        container=container, first_seen=seen, first_seen_at=seen.taken_at,
        resolved_in=resolved, resolved_at=resolved.taken_at if resolved else None, **values)


def saturated_workloads(cluster: Any, seen: Snapshot) -> None:
    """Add the findings of a cluster of 11 workloads whose workloads category is near 0.

    There, fixing 5 privileged workloads gains fewer points than fixing 7 ``:latest`` tags in
    the untouched images category: the case where ranking by points alone goes wrong.
    """
    spread = {"workload.privileged": 5, "workload.host-path-volumes": 6,
              "workload.host-namespaces": 5, "workload.capabilities-added": 3,
              "image.latest-tag": 7}
    for check in ("workload.runs-as-root", "workload.capabilities-not-dropped",
                  "workload.privilege-escalation", "workload.seccomp-profile",
                  "workload.no-resource-limits", "workload.root-filesystem-writable",
                  "workload.service-account-token-automounted", "image.not-pinned-by-digest"):
        spread[check] = 11
    for check, count in spread.items():
        for index in range(count):
            finding(cluster, seen, check, name=f"app-{index}", container="c")
    for index in range(5):
        finding(cluster, seen, "namespace.pss-not-enforced", kind="Namespace", namespace="",
                name=f"team-{index}")
