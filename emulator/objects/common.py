"""What every builder of emulated objects shares: the scenario's view, stable names and ids,
server-side defaults, and the builder's state and helpers (``BuilderBase``).

Every value is derived from names by hashing, so the same scenario always yields the same
objects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

Obj = dict[str, Any]

# The alphabet Kubernetes uses for generated name suffixes and pod-template hashes.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_RBAC = "rbac.authorization.k8s.io"


class Provider(StrEnum):
    """Where the emulated cluster pretends to run; it shapes names, labels and IPs."""

    EKS = "eks"
    GKE = "gke"
    AKS = "aks"
    KUBEADM = "kubeadm"


@dataclass(frozen=True)
class Entry:
    """One scenario entry as it stands at a day.

    ``created`` is the day the object was created; ``since`` the day its current form was set
    (a later timeline change to a Deployment's template is a rollout: new ReplicaSet, new pods);
    ``history`` holds earlier pod templates with the day each was set.
    """

    spec: Mapping[str, Any]
    created: int
    since: int
    history: tuple[tuple[int, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class ClusterView:
    """A scenario resolved at one day: the input of :class:`Builder`."""

    name: str
    provider: Provider
    region: str
    version: str
    version_info: Mapping[str, str]
    service_account: tuple[str, str]
    builtins: bool
    day: int
    sections: Mapping[str, list[Entry] | None]
    denied: frozenset[str] = frozenset()


def digest(*parts: object) -> bytes:
    """Return a stable SHA-256 of ``parts``."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def make_uid(*parts: object) -> str:
    """Return a stable UUID (version 4 layout) for an object."""
    return str(uuid.UUID(bytes=digest("uid", *parts)[:16], version=4))


def safe_suffix(length: int, *parts: object) -> str:
    """Return a stable suffix like the ones the API server generates (``x7k2p``)."""
    raw = digest("suffix", *parts)
    return "".join(_SAFE[b % len(_SAFE)] for b in raw[:length])


def hex_id(length: int, *parts: object) -> str:
    """Return ``length`` stable lowercase hex digits."""
    return digest("hex", *parts).hex()[:length]


def number(modulo: int, *parts: object) -> int:
    """Return a stable number in ``[0, modulo)``."""
    return int.from_bytes(digest("n", *parts)[:8], "big") % modulo


def template_hash(template: Mapping[str, Any]) -> str:
    """Return a pod-template-hash the way the Deployment controller spells it.

    The controller hashes the template (FNV-32a), prints the number in decimal and maps each
    digit through the safe alphabet. It bumps a collision count on clashes; we bump it until
    the number has ten digits so every hash has the usual ten characters.
    """
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    collision = 0
    while True:
        h = 0x811C9DC5
        for byte in data + str(collision).encode():
            h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
        if h >= 1_000_000_000:
            return "".join(_SAFE[ord(d) % len(_SAFE)] for d in str(h))
        collision += 1


def clone(value: Any) -> Any:
    """Return a deep copy of JSON-shaped data (much faster than ``copy.deepcopy``)."""
    return orjson.loads(orjson.dumps(value))


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """Split an image reference into (fully-qualified repository, tag, digest)."""
    name, _, image_digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    repo, tag = (name[:colon], name[colon + 1:]) if colon > slash else (name, None)
    first = repo.split("/", 1)[0]
    if "/" not in repo or not ("." in first or ":" in first or first == "localhost"):
        repo = "docker.io/" + (repo if "/" in repo else f"library/{repo}")
    return repo, tag, image_digest or None


def image_status(image: str) -> tuple[str, str]:
    """Return the (image, imageID) a container runtime reports for ``image``."""
    repo, tag, image_digest = split_image(image)
    resolved = image_digest or f"sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    shown = f"{repo}:{tag}" if tag else (f"{repo}@{image_digest}" if image_digest else
                                         f"{repo}:latest")
    return shown, f"{repo}@{resolved}"


def _pull_policy(image: str) -> str:
    _, tag, image_digest = split_image(image)
    return "Always" if image_digest is None and tag in (None, "latest") else "IfNotPresent"


def _default_probe(probe: Obj) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        probe.setdefault(key, value)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec: Obj, *, restart_policy: str = "Always") -> None:
    """Apply the API server's defaults to a pod spec (in place), as it does on admission."""
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("imagePullPolicy", _pull_policy(container.get("image", "")))
        for port in container.get("ports", []):
            port.setdefault("protocol", "TCP")
        for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe_key in container:
                _default_probe(container[probe_key])
        for env in container.get("env", []):
            field_ref = env.get("valueFrom", {}).get("fieldRef")
            if field_ref is not None:
                field_ref.setdefault("apiVersion", "v1")


def _tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") == taint["key"] and (
            t.get("operator") == "Exists" or t.get("value") == taint.get("value")
        ):
            return True
    return False


def _quantity_milli(value: str) -> float:
    """Return a CPU or memory quantity as a float (only to compare requests with limits)."""
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3,
                "M": 1e6, "G": 1e9}
    for suffix, factor in suffixes.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def qos_class(spec: Mapping[str, Any]) -> str:
    """Return the pod's QoS class as the kubelet computes it."""
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    resources = [c.get("resources", {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits", {}), r.get("requests", {})
        for name in ("cpu", "memory"):
            if name not in limits:
                return "Burstable"
            if name in requests and _quantity_milli(requests[name]) != _quantity_milli(
                limits[name]
            ):
                return "Burstable"
    return "Guaranteed"


# Capacity by instance type, for the few types the shipped scenarios use; others get 4/16Gi.
_INSTANCE_TYPES: dict[str, tuple[int, int, int]] = {
    # type: (cpu, memory GiB, max pods)
    "m5.large": (2, 8, 29),
    "m5.xlarge": (4, 16, 58),
    "m6i.xlarge": (4, 16, 58),
    "m7g.xlarge": (4, 16, 58),
    "m7i.2xlarge": (8, 32, 58),
    "t3.medium": (2, 4, 17),
    "e2-standard-4": (4, 16, 110),
    "n2-standard-8": (8, 32, 110),
    "Standard_D4s_v5": (4, 16, 110),
    "Standard_DS2_v2": (2, 7, 110),
}

_DEFAULT_INSTANCE = {
    Provider.EKS: "m6i.xlarge",
    Provider.GKE: "e2-standard-4",
    Provider.AKS: "Standard_D4s_v5",
    Provider.KUBEADM: "",
}

_CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}

_NOT_READY_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
     "tolerationSeconds": 300},
]


@dataclass
class Node:
    """A built node, as the scheduler of the emulated pods sees it."""

    name: str
    ip: str
    index: int
    labels: dict[str, str]
    taints: list[Obj]
    created: float
    pods: int = 0


@dataclass
class Built:
    """The objects of one cluster at one day, by resource plural."""

    objects: dict[str, list[Obj]] = field(default_factory=dict)

    def add(self, plural: str, obj: Obj) -> None:
        """Append an object to its resource's list."""
        self.objects.setdefault(plural, []).append(obj)



class BuilderBase:
    """The state and helpers every resource family's builder uses."""

    def __init__(self, view: ClusterView, now: dt.datetime) -> None:
        self.view = view
        self.now = now
        self.out = Built()
        self.nodes: list[Node] = []
        self.rs_by_workload: dict[tuple[str, str], Obj] = {}
        self.sa_automount: dict[tuple[str, str], bool] = {}
        self._eligible: dict[bytes, list[Node]] = {}

    # -- helpers -------------------------------------------------------------------------

    def ts(self, day: float, minutes: float = 0) -> str:
        """Return the RFC 3339 time of ``day`` (relative to today) plus ``minutes``."""
        moment = self.now + dt.timedelta(days=day, minutes=minutes)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def meta(self, kind: str, name: str, namespace: str | None, created: str,
             labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None) -> Obj:
        """Return object metadata with a stable uid and resourceVersion."""
        meta: Obj = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace
        meta["uid"] = make_uid(self.view.name, kind, namespace, name)
        meta["resourceVersion"] = str(1_000_000 + number(80_000_000, self.view.name, kind,
                                                         namespace, name, created))
        meta["creationTimestamp"] = created
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    @staticmethod
    def owner(kind: str, api_version: str, meta: Mapping[str, Any]) -> Obj:
        """Return a controller owner reference to the object with ``meta``."""
        return {"apiVersion": api_version, "kind": kind, "name": meta["name"],
                "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}

    def entries(self, section: str) -> list[Entry]:
        """Return the section's entries (empty when absent)."""
        return self.view.sections.get(section) or []
