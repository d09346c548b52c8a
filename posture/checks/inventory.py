"""The inventory: what one poll read from one cluster, as plain data.

The collector (``clusters.collector``) produces it; the rules engine
(``posture.checks.evaluate``) consumes it; ``posture scan`` builds one from manifest files.
Objects are Kubernetes objects as parsed JSON dicts, exactly as the API server sent them:
everything in here is untrusted text.

A workload's template is a dict, or (in the inventory ``posture scan`` builds) a
``PackedTemplate``: the same dict as marshal bytes, a fraction of its size, unpacked by the
engine only while it reads it.
"""

from __future__ import annotations

import marshal
from typing import Any, Literal, TypedDict

KubeObject = dict[str, Any]


class PackedTemplate(bytes):
    """A pod template as ``marshal`` bytes: ``unpack()`` returns a dict equal to the original.

    ``posture scan`` holds every workload's template until the engine runs; as dicts they
    would be most of its memory (about 5 KB each against some 800 bytes packed). marshal
    writes the built-in types the YAML and JSON loaders give exactly (refusing datetimes and
    any other object), and reads them back faster than any other format at hand.
    """

    __slots__ = ()

    @classmethod
    def pack(cls, template: KubeObject) -> KubeObject | PackedTemplate:
        """Return ``template`` packed, or itself when marshal cannot write it exactly.

        YAML timestamps (``datetime``) and nesting past marshal's depth bound stay dicts.
        """
        try:
            return cls(marshal.dumps(template))
        except ValueError:
            return template

    def unpack(self) -> KubeObject:
        """Return a new dict equal to the template that was packed."""
        # Bytes this process wrote with marshal.dumps (pack), never bytes read from input.
        template: KubeObject = marshal.loads(self)  # noqa: S302
        return template

# The resources the collector reads, by the name used in coverage and in checks' `needs`.
RESOURCES: tuple[str, ...] = (
    "nodes",
    "namespaces",
    "pods",
    "replicasets",
    "deployments",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "services",
    "networkpolicies",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "clusterroles",
    "clusterrolebindings",
    "vulnerabilityreports",
    "ingresses",
    "resourcequotas",
    "limitranges",
    # Reduced by ``posture.checks.sensitive`` as they are read: no value is ever kept.
    "configmaps",
    # Only Secrets of type kubernetes.io/service-account-token, metadata only, and only when
    # the reading is switched on (``sensitive.SECRETS_NOT_READ`` otherwise).
    "secrets",
    # Admission policies (``posture.checks.admission``), slimmed as they are read. A policy
    # engine that is not installed is ``absent``.
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "kyvernoclusterpolicies",
    "kyvernopolicies",
    "gatekeeperconstraints",
)

CoverageState = Literal["read", "forbidden", "error", "absent"]


class Coverage(TypedDict):
    """Whether one resource could be read: ``absent`` means the API does not exist there
    (e.g. no Trivy Operator CRDs), which is not an error."""

    state: CoverageState
    message: str
    count: int


class Workload(TypedDict):
    """A pod-owning workload (or a bare pod), with its pod template and its live pods' count.

    ``kind`` is the top owner: Deployment (pods via ReplicaSet), CronJob (via Job), StatefulSet,
    DaemonSet, Job, ReplicaSet, ReplicationController, or Pod for a bare pod. ``template`` is a
    Pod-shaped dict (``metadata`` + ``spec``) taken from the owner's pod template when the owner
    could be read, else from one of its pods; ``posture scan`` keeps it as a ``PackedTemplate``.
    """

    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    template: KubeObject | PackedTemplate
    pods: int


class Inventory(TypedDict):
    """Everything one poll read. ``version`` is the ``/version`` body (``gitVersion`` etc.)."""

    version: dict[str, Any]
    nodes: list[KubeObject]
    namespaces: list[KubeObject]
    workloads: list[Workload]
    services: list[KubeObject]
    networkpolicies: list[KubeObject]
    serviceaccounts: list[KubeObject]
    roles: list[KubeObject]
    rolebindings: list[KubeObject]
    clusterroles: list[KubeObject]
    clusterrolebindings: list[KubeObject]
    vulnerabilityreports: list[KubeObject]
    ingresses: list[KubeObject]
    resourcequotas: list[KubeObject]
    limitranges: list[KubeObject]
    configmaps: list[KubeObject]
    secrets: list[KubeObject]
    validatingadmissionpolicies: list[KubeObject]
    validatingadmissionpolicybindings: list[KubeObject]
    kyvernoclusterpolicies: list[KubeObject]
    kyvernopolicies: list[KubeObject]
    gatekeeperconstraints: list[KubeObject]
    coverage: dict[str, Coverage]


def empty_inventory() -> Inventory:
    """Return an inventory with nothing read (every resource ``absent``)."""
    return Inventory(
        version={},
        nodes=[],
        namespaces=[],
        workloads=[],
        services=[],
        networkpolicies=[],
        serviceaccounts=[],
        roles=[],
        rolebindings=[],
        clusterroles=[],
        clusterrolebindings=[],
        vulnerabilityreports=[],
        ingresses=[],
        resourcequotas=[],
        limitranges=[],
        configmaps=[],
        secrets=[],
        validatingadmissionpolicies=[],
        validatingadmissionpolicybindings=[],
        kyvernoclusterpolicies=[],
        kyvernopolicies=[],
        gatekeeperconstraints=[],
        coverage={r: Coverage(state="absent", message="", count=0) for r in RESOURCES},
    )
