"""Who can: for each dangerous permission, the subjects of a cluster that hold it.

Read from the open findings of the access checks (``posture.checks.rbac``): each is one
subject, and its evidence keeps what the page shows — the binding → role → rule paths, the
scope and the workloads that run as the subject — compactly and without any secret value
(names only). Subjects of Kubernetes or the provider (``Policy.set_apart``) are listed last and
marked, as everywhere else; findings covered by an accepted risk are marked accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clusters.models import Cluster
from posture.checks import CATALOG, Policy, rbac
from posture.checks.base import Check
from posture.domain.models import Finding, RiskAcceptance, Snapshot
from posture.domain.waivers import accepting

# The cluster-admin check first (it holds every other permission), then the permissions in
# the index's order.
CHECK_IDS: tuple[str, ...] = (
    "access.cluster-admin-binding",
    *(f"access.{p.id}" for p in rbac.PERMISSIONS),
)
RESOURCES = ("clusterroles", "roles", "clusterrolebindings", "rolebindings")


class State:
    """Whether the cluster's RBAC is known."""

    NOT_POLLED = "not-polled"
    EVALUATED = "evaluated"


@dataclass(frozen=True)
class PathRow:
    """One binding → role → rule path, as the evidence keeps it."""

    binding: str
    role: str
    rule: str
    grants: str
    names: tuple[str, ...]

    @classmethod
    def from_evidence(cls, raw: object) -> PathRow | None:
        if not isinstance(raw, dict):
            return None
        namespace = _text(raw.get("binding_namespace"))
        binding = f"{_text(raw.get('binding_kind'))} "
        binding += f"{namespace}/{_text(raw.get('binding_name'))}" if namespace else _text(
            raw.get("binding_name"))
        role = f"{_text(raw.get('role_kind'))} {_text(raw.get('role_name'))}"
        rule = f"rule {raw.get('rule')}"
        if raw.get("rule_role"):
            rule += f" of {_text(raw.get('rule_role'))}"
        verbs, resources = _texts(raw.get("verbs")), _texts(raw.get("resources"))
        grants = "every verb on everything" if verbs == ("*",) and resources == ("*",) else (
            f"{', '.join(verbs)} {', '.join(resources)}")
        return cls(binding, role, rule, grants, _texts(raw.get("resourceNames")))


@dataclass
class Holder:
    """One subject holding a permission, from its finding."""

    finding: Finding
    paths: list[PathRow]
    path_count: int
    scope: str
    workloads: list[str]
    workload_count: int | None
    token_mounted: int | None
    platform: bool
    accepted: bool

    @property
    def subject(self) -> str:
        if self.finding.kind == "ServiceAccount":
            return f"ServiceAccount {self.finding.namespace}/{self.finding.name}"
        return f"{self.finding.kind} {self.finding.name}"

    @property
    def more_paths(self) -> int:
        return max(self.path_count - len(self.paths), 0)

    @property
    def more_workloads(self) -> int:
        return max((self.workload_count or 0) - len(self.workloads), 0)


@dataclass
class Permission:
    """One access check: its catalog entry, its holders, or why it did not run."""

    check_id: str
    check: Check
    holders: list[Holder] = field(default_factory=list)
    not_evaluated: str = ""

    @property
    def slug(self) -> str:
        return self.check_id.replace(".", "-")

    @property
    def platform_holders(self) -> int:
        return sum(1 for h in self.holders if h.platform)


@dataclass
class WhoCanPage:
    """The page's content."""

    state: str
    snapshot: Snapshot | None
    permissions: list[Permission]


def build(cluster: Cluster, now: datetime, policy: Policy) -> WhoCanPage:
    """Return who holds each dangerous permission in ``cluster``, from its open findings."""
    snapshot = Snapshot.objects.latest_successful(cluster, detail=False)
    permissions = [Permission(c, CATALOG[c]) for c in CHECK_IDS if c in CATALOG]
    if snapshot is None:
        return WhoCanPage(State.NOT_POLLED, None, permissions)
    skipped = (snapshot.finding_counts or {}).get("not_evaluated") or {}
    by_id = {p.check_id: p for p in permissions}
    active = [a for a in RiskAcceptance.objects.filter(cluster=cluster) if a.is_active(now)]
    rows = Finding.objects.filter(cluster=cluster, resolved_at__isnull=True,
                                  check_id__in=list(by_id))
    for finding in rows:
        by_id[finding.check_id].holders.append(_holder(finding, policy, active))
    for permission in permissions:
        reason = skipped.get(permission.check_id) if isinstance(skipped, dict) else None
        if isinstance(reason, str) and reason:
            permission.not_evaluated = reason
        permission.holders.sort(key=lambda h: (h.platform, h.finding.kind, h.finding.namespace,
                                               h.finding.name))
    return WhoCanPage(State.EVALUATED, snapshot, permissions)


def _holder(finding: Finding, policy: Policy, active: list[RiskAcceptance]) -> Holder:
    evidence: dict[str, Any] = finding.evidence if isinstance(finding.evidence, dict) else {}
    stored = evidence.get("paths")
    raw_paths: list[Any] = stored if isinstance(stored, list) else []
    paths = [p for p in map(PathRow.from_evidence, raw_paths) if p is not None]
    if evidence.get("cluster_wide") is True:
        scope = "cluster-wide"
    else:
        namespaces = _texts(evidence.get("namespaces"))
        scope = ("in " + ", ".join(namespaces)) if namespaces else ""
    count = evidence.get("path_count")
    return Holder(
        finding=finding,
        paths=paths,
        path_count=count if isinstance(count, int) else len(paths),
        scope=scope,
        workloads=list(_texts(evidence.get("workloads"))),
        workload_count=_int(evidence.get("workload_count")),
        token_mounted=_int(evidence.get("token_mounted")),
        platform=policy.set_apart(finding.kind, finding.namespace, finding.name),
        accepted=accepting(finding, active) is not None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
