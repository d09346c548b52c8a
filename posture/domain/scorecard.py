"""Score a cluster now: from its stored open findings, the accepted risks and the policy.

The one home of "what is this cluster's score": recording a poll (``snapshots.record``),
accepting or revoking a risk, saving the policy and every page that shows a score ask here.
Changes nothing unless the function says it saves (``rescore``, ``rescore_latest``,
``rescore_fleet``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from clusters.models import Cluster
from posture.checks import Policy
from posture.checks.vocabulary import Severity
from posture.domain import scoring
from posture.domain.models import Finding, OrgPolicy, Snapshot
from posture.domain.waivers import FindingKey, active_acceptances, waived_keys
from posture.lifecycle import SupportStatus, kubernetes_support, os_support


def os_unknown(node: dict[str, str], day: date) -> bool:
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
        return sum(1 for n in snapshot.nodes if isinstance(n, dict) and os_unknown(n, day))
    minors = [m for m in summary.get("kubelet_minors") or {} if m]
    kubelet = f"v{minors[0]}.0" if len(minors) == 1 else ""
    images = summary.get("os_images") or {}
    return sum(count for image, count in images.items() if isinstance(count, int)
               and os_unknown({"os_image": str(image), "kubelet": kubelet}, day))


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
    policy = policy or OrgPolicy.load().policy()
    newest = Snapshot.objects.successful_of(OuterRef("pk")).values("pk")[:1]
    ids = [pk for pk in Cluster.objects.annotate(newest=Subquery(newest))
           .values_list("newest", flat=True) if pk is not None]
    done = 0
    for snapshot in Snapshot.objects.filter(pk__in=ids).select_related("cluster"):
        rescore(snapshot, now, policy)
        done += 1
    return done


def rescore_latest(cluster: Cluster, now: datetime | None = None) -> None:
    """Recompute the newest successful snapshot's score with today's acceptances."""
    snapshot = Snapshot.objects.latest_successful(cluster)
    if snapshot is not None:
        rescore(snapshot, now or timezone.now())


def current(snapshot: Snapshot, cluster: Cluster, now: datetime,
            policy: Policy | None = None) -> Scored:
    """Score the cluster's open findings now, as its newest snapshot was scored.

    Changes nothing: the snapshot keeps the score it was stored with.
    """
    snapshot.cluster = cluster
    return score_snapshot(snapshot, now, policy)
