"""Record a poll: the snapshot's aggregates and the findings' lifetimes, in one transaction
(with the images' vulnerabilities, ``posture.domain.vulnerabilities``).

Findings are diffed against the cluster's open findings by identity: a new identity inserts a
row, a vanished one is resolved, an unchanged one is left alone — so an unchanged cluster polled
again writes the snapshot row and nothing else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from posture.checks import Evaluation, Policy
from posture.checks.inventory import Inventory
from posture.checks.vocabulary import Severity
from posture.domain import scoring, vulnerabilities
from posture.domain.models import SUCCEEDED, Finding, OrgPolicy, Snapshot, SnapshotStatus
from posture.lifecycle import (
    SupportStatus,
    detect_provider,
    kubernetes_support,
    os_support,
    parse_kubernetes_version,
)


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
    unknown = sum(1 for n in nodes if _os_unknown(n, today))
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
    snapshot.checkset_version = evaluation.checkset_version
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
    snapshot.save()
    return snapshot


def latest_successful(cluster: object) -> Snapshot | None:
    return Snapshot.objects.filter(
        cluster=cluster, status__in=[SnapshotStatus.OK, SnapshotStatus.PARTIAL]
    ).order_by("-taken_at").first()


def _os_unknown(node: dict[str, str], day: date) -> bool:
    """Say whether a node's OS support cannot be established (as the node checks judge it)."""
    support = os_support(node.get("os_image") or None, day,
                         kernel_version=node.get("kernel") or None,
                         kubelet_version=node.get("kubelet") or None)
    return support.status is SupportStatus.UNKNOWN


def os_unjudged_nodes(snapshot: Snapshot, day: date) -> int:
    """Return how many of the snapshot's nodes run an OS whose support cannot be established.

    Counted when the poll is recorded (``node_summary["os_unknown_nodes"]``). Snapshots
    recorded before that was kept are judged from their node detail when it is at hand, else
    from the kept counts by OS image (with the cluster's kubelet minor when there is one).
    """
    summary = snapshot.node_summary or {}
    kept = summary.get("os_unknown_nodes")
    if isinstance(kept, int):
        return kept
    if "nodes" not in snapshot.get_deferred_fields() and isinstance(snapshot.nodes, list):
        return sum(1 for n in snapshot.nodes if isinstance(n, dict) and _os_unknown(n, day))
    minors = [m for m in summary.get("kubelet_minors") or {} if m]
    kubelet = f"v{minors[0]}.0" if len(minors) == 1 else ""
    images = summary.get("os_images") or {}
    return sum(count for image, count in images.items() if isinstance(count, int)
               and _os_unknown({"os_image": str(image), "kubelet": kubelet}, day))


# Not evaluated when the nodes could not be read or no node's OS could be judged.
_OS_CHECK = "node.os-eol"


def caps_for(snapshot: Snapshot, day: date) -> tuple[scoring.Cap, ...]:
    """Return the grade caps the snapshot's versions call for on ``day``.

    The control plane past end of life caps at D; its support unknown (version unreadable or
    not in the lifecycle data) caps at C; so does any node whose OS support is unknown, and
    nodes that could not be read at all (the OS checks not evaluated), whose support is unknown
    as much. A policy that switches the OS checks off is a choice, not an unknown: no cap.
    """
    caps = []
    support = kubernetes_support(snapshot.kubernetes_version or None, day,
                                 snapshot.provider or None)
    if support.status is SupportStatus.EOL:
        caps.append(scoring.Cap.EOL)
    elif support.status is SupportStatus.UNKNOWN:
        caps.append(scoring.Cap.CONTROL_PLANE_UNKNOWN)
    not_evaluated = (snapshot.finding_counts or {}).get("not_evaluated") or {}
    if _OS_CHECK in not_evaluated or os_unjudged_nodes(snapshot, day):
        caps.append(scoring.Cap.NODE_OS_UNKNOWN)
    return tuple(caps)


FindingKey = tuple[str, str, str, str, str]


def platform_keys(rows: Iterable[Finding], policy: Policy) -> set[FindingKey]:
    """Return the identity keys of the rows the policy calls platform-managed (to leave out).

    Empty when the policy scores platform-managed findings like any other.
    """
    return {row.identity for row in rows if policy.set_apart(row.kind, row.namespace, row.name)}


@dataclass(frozen=True)
class Scored:
    """A snapshot scored now: the scorecard, and the open findings it was computed from.

    ``rows`` are the open findings of checks that were evaluated; ``platform`` and ``waived``
    the identity keys among them that left the score as platform-managed or accepted.
    """

    card: scoring.Scorecard
    rows: list[Finding]
    platform: set[FindingKey]
    waived: set[FindingKey]

    def severity_counts(self) -> dict[str, dict[str, int]]:
        """Return open findings by severity: counted ("severity") and platform-managed ones.

        Accepted risks stay in "severity": the pages show them apart, as accepted.
        """
        counted: Counter[str] = Counter()
        managed: Counter[str] = Counter()
        for row in self.rows:
            (managed if row.identity in self.platform else counted)[row.severity] += 1
        return {
            "severity": {str(s): counted.get(str(s), 0) for s in Severity.ordered()},
            "platform_severity": {str(s): managed.get(str(s), 0) for s in Severity.ordered()},
        }


def score_snapshot(snapshot: Snapshot, now: datetime, policy: Policy | None = None) -> Scored:
    """Score ``snapshot`` from the cluster's open findings as of ``now``; change nothing.

    Findings of checks that could not run this time are left out (their rows stay open, but
    the score is only about what was seen; coverage is shown beside the score), and so are
    accepted risks and platform-managed findings, unless ``policy`` (the organisation's when
    not given) counts those.
    """
    from posture.domain.waivers import active_acceptances, waived_keys

    policy = policy or OrgPolicy.load().policy()
    rows = list(Finding.objects.filter(cluster_id=snapshot.cluster_id, resolved_at__isnull=True)
                .only("check_id", "severity", "category", "kind", "namespace", "name",
                      "container"))
    counts = snapshot.finding_counts or {}
    skipped = {*(counts.get("not_evaluated") or {}), *(counts.get("disabled") or ())}
    seen = [row for row in rows if row.check_id not in skipped]
    managed = platform_keys(seen, policy)
    waived = waived_keys(seen, active_acceptances(snapshot.cluster, now))
    card = scoring.score(
        scoring.from_stored(seen),
        scoring.Size(workloads=snapshot.workload_count or 0, nodes=snapshot.node_count or 0,
                     namespaces=snapshot.namespace_count or 0),
        caps=caps_for(snapshot, snapshot.taken_at.date()),
        waived=waived, platform=managed, not_evaluated=sorted(skipped))
    return Scored(card, seen, managed, waived)


def apply_score(snapshot: Snapshot, now: datetime, policy: Policy | None = None
                ) -> scoring.Scorecard:
    """Score ``snapshot`` (``score_snapshot``) and keep the result on it (not saved).

    The headline counts by severity are recomputed with the score, by the same rule, so the
    counts a page shows always agree with the score beside them.
    """
    scored = score_snapshot(snapshot, now, policy)
    card = scored.card
    snapshot.score = card.score
    snapshot.grade = str(card.grade) if card.grade else ""
    snapshot.category_scores = card.to_dict()["categories"]
    snapshot.finding_counts = {**(snapshot.finding_counts or {}), **scored.severity_counts(),
                               "scoring_version": scoring.SCORING_VERSION}
    return card


RESCORED_FIELDS = ("score", "grade", "category_scores", "finding_counts")


def rescore(snapshot: Snapshot, now: datetime, policy: Policy | None = None) -> None:
    """Score ``snapshot`` again with today's acceptances and policy, and save the result."""
    apply_score(snapshot, now, policy)
    snapshot.save(update_fields=list(RESCORED_FIELDS))


def rescore_fleet(now: datetime, policy: Policy | None = None) -> int:
    """Rescore every cluster's newest successful snapshot (after a policy change).

    Returns how many snapshots were rescored.
    """
    from clusters.models import Cluster

    policy = policy or OrgPolicy.load().policy()
    newest = (Snapshot.objects.filter(cluster=OuterRef("pk"), status__in=SUCCEEDED)
              .order_by("-taken_at").values("pk")[:1])
    ids = [pk for pk in Cluster.objects.annotate(newest=Subquery(newest))
           .values_list("newest", flat=True) if pk is not None]
    done = 0
    for snapshot in Snapshot.objects.filter(pk__in=ids).select_related("cluster"):
        rescore(snapshot, now, policy)
        done += 1
    return done


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
