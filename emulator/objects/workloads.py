"""Build the Kubernetes objects of a scenario at one day, as the API server would return them.

The scenario says what exists (node pools, workloads with pod templates, services, RBAC …);
this module derives what a real cluster would also hold and show: server-side defaults,
ReplicaSets and pods with realistic names, owner references, the service-account token
volume, node and pod status. Every value is derived from names by hashing, so the same
scenario always yields the same objects.
"""

from __future__ import annotations

import datetime as dt
import gc
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
class _Node:
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


class Builder:
    """Turn a :class:`ClusterView` into API objects."""

    def __init__(self, view: ClusterView, now: dt.datetime) -> None:
        self.view = view
        self.now = now
        self.out = Built()
        self.nodes: list[_Node] = []
        self.rs_by_workload: dict[tuple[str, str], Obj] = {}
        self.sa_automount: dict[tuple[str, str], bool] = {}
        self._eligible: dict[bytes, list[_Node]] = {}

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

    # -- build ---------------------------------------------------------------------------

    def build(self) -> dict[str, list[Obj]]:
        """Build every object of the view."""
        # Building allocates millions of small containers and frees none: the cyclic GC
        # would rescan them over and over (three times slower for ``big``) and find nothing.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build_all()
        finally:
            if was_enabled:
                gc.enable()
        return self.out.objects

    def _build_all(self) -> None:
        self.build_nodes()
        self.build_namespaces()
        self.build_service_accounts()
        self.build_workloads()
        self.build_bare_pods()
        self.build_services()
        self.build_network_policies()
        self.build_rbac()
        if self.view.sections.get("vulnerabilityreports") is not None:
            self.out.objects.setdefault("vulnerabilityreports", [])
            self.build_vulnerability_reports()

    # -- nodes ---------------------------------------------------------------------------

    def _zones(self, pool: Mapping[str, Any]) -> list[str]:
        if pool.get("zones"):
            return list(pool["zones"])
        region = self.view.region
        if self.view.provider is Provider.AKS:
            return [f"{region}-{i}" for i in (1, 2, 3)]
        return [f"{region}{s}" for s in "abc"]

    def _node_name(self, pool: Mapping[str, Any], i: int, ip: str) -> str:
        names = pool.get("names")
        if names:
            return str(names[i])
        pool_name = pool["pool"]
        match self.view.provider:
            case Provider.EKS:
                return f"ip-{ip.replace('.', '-')}.{self.view.region}.compute.internal"
            case Provider.GKE:
                group = hex_id(8, self.view.name, pool_name, "group")
                return (f"gke-{self.view.name}-{pool_name}-{group}-"
                        f"{safe_suffix(4, pool_name, i)}")
            case Provider.AKS:
                ordinal = number(10**8, self.view.name, pool_name)
                return f"aks-{pool_name}-{ordinal:08d}-vmss{i:06x}"
            case _:
                return f"{pool_name}-{i + 1}"

    def _provider_labels(self, pool: Mapping[str, Any], zone: str, name: str) -> dict[str, str]:
        pool_name = pool["pool"]
        os_image = str(pool["osImage"])
        match self.view.provider:
            case Provider.EKS:
                return {
                    "eks.amazonaws.com/nodegroup": pool_name,
                    "eks.amazonaws.com/nodegroup-image": f"ami-0{hex_id(16, pool_name, os_image)}",
                    "eks.amazonaws.com/capacityType": pool.get("capacityType", "ON_DEMAND"),
                    "k8s.io/cloud-provider-aws": hex_id(32, self.view.name),
                    "topology.k8s.aws/zone-id": f"{self.view.region[:2]}{zone[-2:]}",
                }
            case Provider.GKE:
                distro = "cos" if os_image.startswith("Container-Optimized") else "ubuntu"
                return {
                    "cloud.google.com/gke-nodepool": pool_name,
                    "cloud.google.com/gke-os-distribution": distro,
                    "cloud.google.com/gke-boot-disk": "pd-balanced",
                    "cloud.google.com/gke-container-runtime": "containerd",
                    "cloud.google.com/machine-family": str(pool.get("instanceType", "e2"))
                    .split("-")[0],
                    "cloud.google.com/gke-netd-ready": "true",
                }
            case Provider.AKS:
                sku = "AzureLinux" if "Azure Linux" in os_image or "Mariner" in os_image \
                    else "Ubuntu"
                return {
                    "kubernetes.azure.com/cluster":
                        f"MC_rg-{self.view.name}_{self.view.name}_{self.view.region}",
                    "kubernetes.azure.com/agentpool": pool_name,
                    "agentpool": pool_name,
                    "kubernetes.azure.com/mode": pool.get("mode", "user"),
                    "kubernetes.azure.com/os-sku": sku,
                    "kubernetes.azure.com/role": "agent",
                    "kubernetes.azure.com/node-image-version":
                        pool.get("nodeImageVersion", f"AKS{sku}-2204gen2containerd-202410.15.0"),
                }
            case _:
                labels = {}
                if pool.get("role") == "control-plane":
                    labels["node-role.kubernetes.io/control-plane"] = ""
                return labels

    def _provider_id(self, name: str, zone: str, i: int, pool_name: str) -> str:
        match self.view.provider:
            case Provider.EKS:
                return f"aws:///{zone}/i-0{hex_id(16, name)}"
            case Provider.GKE:
                return f"gce://posture-demo-{hex_id(6, self.view.name)}/{zone}/{name}"
            case Provider.AKS:
                sub = make_uid("subscription", self.view.name)
                return (f"azure:///subscriptions/{sub}/resourceGroups/mc_rg-{self.view.name}_"
                        f"{self.view.name}_{self.view.region}/providers/Microsoft.Compute/"
                        f"virtualMachineScaleSets/{name.rsplit('-vmss', 1)[0]}-vmss/"
                        f"virtualMachines/{i}")
            case _:
                return ""

    def build_nodes(self) -> None:
        """Build every node of every node pool."""
        index = 0
        provider = self.view.provider
        for entry in self.entries("nodes"):
            pool = entry.spec
            count = len(pool["names"]) if pool.get("names") else int(pool.get("count", 1))
            zones = self._zones(pool)
            instance = str(pool.get("instanceType", _DEFAULT_INSTANCE[provider]))
            cpu, mem_gib, max_pods = _INSTANCE_TYPES.get(instance, (4, 16, 110))
            arch = str(pool.get("architecture", "amd64"))
            kubelet = str(pool.get("kubeletVersion", self.view.version))
            for i in range(count):
                ip = f"10.20.{32 + index // 250}.{10 + index % 250}"
                name = self._node_name(pool, i, ip)
                zone = zones[i % len(zones)]
                created = self.ts(entry.created, minutes=3 * i + number(60, name))
                labels = {
                    "beta.kubernetes.io/arch": arch,
                    "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": arch,
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                }
                if instance:
                    labels["node.kubernetes.io/instance-type"] = instance
                    labels["beta.kubernetes.io/instance-type"] = instance
                if provider is not Provider.KUBEADM:
                    labels["topology.kubernetes.io/region"] = self.view.region
                    labels["topology.kubernetes.io/zone"] = zone
                    labels["failure-domain.beta.kubernetes.io/region"] = self.view.region
                    labels["failure-domain.beta.kubernetes.io/zone"] = zone
                labels.update(self._provider_labels(pool, zone, name))
                labels.update(pool.get("labels", {}))
                taints = [dict(t) for t in pool.get("taints", [])]
                if pool.get("role") == "control-plane":
                    taints.append(dict(_CONTROL_PLANE_TAINT))
                annotations = {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                }
                spec: Obj = {}
                if provider in (Provider.GKE, Provider.KUBEADM):
                    spec["podCIDR"] = f"10.{100 + index // 256}.{index % 256}.0/24"
                    spec["podCIDRs"] = [spec["podCIDR"]]
                provider_id = self._provider_id(name, zone, i, pool["pool"])
                if provider_id:
                    spec["providerID"] = provider_id
                if taints:
                    spec["taints"] = taints
                heartbeat = self.ts(self.view.day, minutes=-number(5, name, "hb") - 0.5)
                conditions = [
                    {"type": t, "status": "False", "lastHeartbeatTime": heartbeat,
                     "lastTransitionTime": created, "reason": reason, "message": message}
                    for t, reason, message in (
                        ("MemoryPressure", "KubeletHasSufficientMemory",
                         "kubelet has sufficient memory available"),
                        ("DiskPressure", "KubeletHasNoDiskPressure",
                         "kubelet has no disk pressure"),
                        ("PIDPressure", "KubeletHasSufficientPID",
                         "kubelet has sufficient PID available"),
                    )
                ]
                conditions.append({
                    "type": "Ready", "status": "True", "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": self.ts(entry.created, minutes=3 * i + 2),
                    "reason": "KubeletReady", "message": "kubelet is posting ready status",
                })
                addresses = [{"type": "InternalIP", "address": ip}]
                if provider is Provider.EKS:
                    addresses.append({"type": "InternalDNS", "address": name})
                addresses.append({"type": "Hostname", "address": name})
                memory_ki = mem_gib * 1024 * 1024 - 400_000
                node = {
                    "metadata": self.meta("Node", name, None, created, labels, annotations),
                    "spec": spec,
                    "status": {
                        "capacity": {
                            "cpu": str(cpu), "ephemeral-storage": "83873772Ki",
                            "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                            "memory": f"{memory_ki}Ki", "pods": str(max_pods),
                        },
                        "allocatable": {
                            "cpu": f"{cpu * 1000 - 80 - 10 * cpu}m",
                            "ephemeral-storage": "76224326324",
                            "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                            "memory": f"{memory_ki - 1_000_000}Ki", "pods": str(max_pods),
                        },
                        "conditions": conditions,
                        "addresses": addresses,
                        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                        "nodeInfo": {
                            "machineID": hex_id(32, name, "machine"),
                            "systemUUID": make_uid(name, "system").upper()
                            if provider is Provider.AKS else make_uid(name, "system"),
                            "bootID": make_uid(name, "boot", entry.since),
                            "kernelVersion": str(pool["kernelVersion"]),
                            "osImage": str(pool["osImage"]),
                            "containerRuntimeVersion": str(pool["containerRuntimeVersion"]),
                            "kubeletVersion": kubelet,
                            "kubeProxyVersion": str(pool.get("kubeProxyVersion", kubelet)),
                            "operatingSystem": "linux",
                            "architecture": arch,
                        },
                    },
                }
                self.out.add("nodes", node)
                self.nodes.append(_Node(name, ip, index, labels, taints,
                                        entry.created + (3 * i + 5) / 1440))
                index += 1

    # -- namespaces, service accounts ------------------------------------------------------

    def _namespace_entries(self) -> list[tuple[str, Mapping[str, Any], int]]:
        seen: dict[str, tuple[str, Mapping[str, Any], int]] = {}
        if self.view.builtins:
            base = min([e.created for e in self.entries("nodes")] + [self.view.day])
            for name in ("default", "kube-node-lease", "kube-public", "kube-system",
                         self.view.service_account[0]):
                seen[name] = (name, {}, base)
        for entry in self.entries("namespaces"):
            seen[entry.spec["name"]] = (entry.spec["name"], entry.spec, entry.created)
        return list(seen.values())

    def build_namespaces(self) -> None:
        """Build namespaces (with their Pod Security Admission labels)."""
        for name, spec, created in self._namespace_entries():
            labels = {"kubernetes.io/metadata.name": name, **spec.get("labels", {})}
            self.out.add("namespaces", {
                "metadata": self.meta("Namespace", name, None, self.ts(created), labels,
                                      spec.get("annotations")),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            })

    def build_service_accounts(self) -> None:
        """Build service accounts: ``default`` in each namespace plus the scenario's."""
        accounts: dict[tuple[str, str], tuple[Mapping[str, Any], int]] = {}
        if self.view.builtins:
            for ns_obj in self.out.objects.get("namespaces", []):
                ns = ns_obj["metadata"]["name"]
                created = self._day_of(ns_obj["metadata"]["creationTimestamp"])
                accounts[(ns, "default")] = ({"namespace": ns, "name": "default"}, created)
            sa_ns, sa_name = self.view.service_account
            accounts[(sa_ns, sa_name)] = ({"namespace": sa_ns, "name": sa_name},
                                          accounts[(sa_ns, "default")][1])
        for entry in self.entries("serviceaccounts"):
            accounts[(entry.spec["namespace"], entry.spec["name"])] = (entry.spec, entry.created)
        for (ns, name), (spec, created) in accounts.items():
            obj: Obj = {"metadata": self.meta("ServiceAccount", name, ns, self.ts(created),
                                              spec.get("labels"), spec.get("annotations"))}
            if "automountServiceAccountToken" in spec:
                obj["automountServiceAccountToken"] = bool(spec["automountServiceAccountToken"])
                self.sa_automount[(ns, name)] = obj["automountServiceAccountToken"]
            self.out.add("serviceaccounts", obj)

    def _day_of(self, timestamp: str) -> int:
        moment = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        return (moment - self.now).days

    # -- workloads and pods ----------------------------------------------------------------

    def _template(self, spec: Mapping[str, Any], restart_policy: str = "Always") -> Obj:
        template: Obj = clone(dict(spec["template"]))
        template.setdefault("metadata", {})
        template["metadata"].setdefault("labels", {"app": spec["name"]})
        template["metadata"].setdefault("creationTimestamp", None)
        default_pod_spec(template["spec"], restart_policy=restart_policy)
        return template

    def _selector(self, spec: Mapping[str, Any], template: Obj) -> Obj:
        if "selector" in spec:
            selector: Obj = clone(dict(spec["selector"]))
            return selector
        return {"matchLabels": dict(template["metadata"]["labels"])}

    def build_workloads(self) -> None:
        """Build every workload, its intermediate owners (ReplicaSets, Jobs) and its pods."""
        for entry in self.entries("workloads"):
            kind = entry.spec["kind"]
            builder = {
                "Deployment": self._deployment,
                "StatefulSet": self._statefulset,
                "DaemonSet": self._daemonset,
                "CronJob": self._cronjob,
                "Job": self._job,
                "ReplicaSet": self._replicaset,
            }[kind]
            builder(entry)

    def _workload_meta(self, kind: str, entry: Entry, generation: int) -> Obj:
        spec = entry.spec
        meta = self.meta(kind, spec["name"], spec["namespace"], self.ts(entry.created),
                         spec.get("labels", {"app": spec["name"]}), spec.get("annotations"))
        meta["generation"] = generation
        return meta

    def _deployment(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        revisions = [(since, self._template({**spec, "template": t}))
                     for since, t in entry.history] + [(entry.since, template)]
        meta = self._workload_meta("Deployment", entry, len(revisions))
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(
            len(revisions))
        selector = self._selector(spec, template)
        deployment = {
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": selector,
                "template": template,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": {
                "observedGeneration": len(revisions),
                "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True",
                     "lastUpdateTime": self.ts(entry.since, 2),
                     "lastTransitionTime": self.ts(entry.since, 2),
                     "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True",
                     "lastUpdateTime": self.ts(entry.since, 3),
                     "lastTransitionTime": self.ts(entry.created, 1),
                     "reason": "NewReplicaSetAvailable",
                     "message": f'ReplicaSet "{spec["name"]}-{template_hash(template)}" '
                                "has successfully progressed."},
                ],
            },
        }
        if replicas == 0:
            del deployment["status"]["readyReplicas"], deployment["status"]["availableReplicas"]
        self.out.add("deployments", deployment)
        owner = self.owner("Deployment", "apps/v1", meta)
        # Old ReplicaSets stay, scaled to zero, as with the default revisionHistoryLimit.
        for revision, (since, rev_template) in enumerate(revisions, start=1):
            current = revision == len(revisions)
            rs = self._replicaset_object(spec, rev_template, selector, since,
                                         replicas if current else 0, owner, revision)
            if current:
                self.rs_by_workload[(spec["namespace"], spec["name"])] = rs
                self._pods_for(spec, rs["spec"]["template"], "ReplicaSet", "apps/v1",
                               rs["metadata"], replicas, since, style="replicaset")

    def _replicaset_object(self, spec: Mapping[str, Any], template: Obj, selector: Obj,
                           since: int, replicas: int, owner: Obj, revision: int) -> Obj:
        pod_hash = template_hash(template)
        rs_template = clone(template)
        rs_template["metadata"]["labels"]["pod-template-hash"] = pod_hash
        rs_selector = clone(selector)
        rs_selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
        name = f"{spec['name']}-{pod_hash}"
        meta = self.meta("ReplicaSet", name, spec["namespace"], self.ts(since),
                         rs_template["metadata"]["labels"],
                         {"deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                          "deployment.kubernetes.io/max-replicas":
                              str(int(spec.get("replicas", 1)) + 1),
                          "deployment.kubernetes.io/revision": str(revision)})
        meta["generation"] = 1 if replicas else 2
        meta["ownerReferences"] = [owner]
        status: Obj = {"replicas": replicas, "observedGeneration": meta["generation"]}
        if replicas:
            status.update(fullyLabeledReplicas=replicas, readyReplicas=replicas,
                          availableReplicas=replicas)
        rs = {"metadata": meta,
              "spec": {"replicas": replicas, "selector": rs_selector, "template": rs_template},
              "status": status}
        self.out.add("replicasets", rs)
        return rs

    def _replicaset(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        meta = self._workload_meta("ReplicaSet", entry, 1)
        rs = {"metadata": meta,
              "spec": {"replicas": replicas, "selector": self._selector(spec, template),
                       "template": template},
              "status": {"replicas": replicas, "fullyLabeledReplicas": replicas,
                         "readyReplicas": replicas, "availableReplicas": replicas,
                         "observedGeneration": 1}}
        self.out.add("replicasets", rs)
        self.rs_by_workload[(spec["namespace"], spec["name"])] = rs
        self._pods_for(spec, template, "ReplicaSet", "apps/v1", meta, replicas, entry.since,
                       style="replicaset")

    def _statefulset(self, entry: Entry) -> None:
        spec = entry.spec
        replicas = int(spec.get("replicas", 1))
        template = self._template(spec)
        meta = self._workload_meta("StatefulSet", entry, 1 + len(entry.history))
        revision = f"{spec['name']}-{template_hash(template)}"
        sts: Obj = {
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": self._selector(spec, template),
                "template": template,
                "serviceName": spec.get("serviceName", spec["name"]),
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                         "whenScaled": "Retain"},
            },
            "status": {
                "observedGeneration": meta["generation"], "replicas": replicas,
                "readyReplicas": replicas, "currentReplicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": revision, "updateRevision": revision,
                "collisionCount": 0,
            },
        }
        if "volumeClaimTemplates" in spec:
            sts["spec"]["volumeClaimTemplates"] = clone(spec["volumeClaimTemplates"])
        self.out.add("statefulsets", sts)
        template = clone(template)
        template["metadata"]["labels"]["controller-revision-hash"] = revision
        self._pods_for(spec, template, "StatefulSet", "apps/v1", meta, replicas, entry.since,
                       style="ordinal")

    def _eligible_nodes(self, pod_spec: Mapping[str, Any]) -> list[_Node]:
        selector = pod_spec.get("nodeSelector", {})
        tolerations = pod_spec.get("tolerations", [])
        # Thousands of pods share a handful of selector/toleration sets: compute each once.
        cache_key = orjson.dumps([selector, tolerations])
        if cache_key in self._eligible:
            return self._eligible[cache_key]
        eligible = self._eligible[cache_key] = []
        for node in self.nodes:
            if any(node.labels.get(k) != v for k, v in selector.items()):
                continue
            if any(t["effect"] in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, t)
                   for t in node.taints):
                continue
            eligible.append(node)
        return eligible

    def _daemonset(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec)
        nodes = self._eligible_nodes(template["spec"])
        meta = self._workload_meta("DaemonSet", entry, 1 + len(entry.history))
        count = len(nodes)
        ds = {
            "metadata": meta,
            "spec": {
                "selector": self._selector(spec, template),
                "template": template,
                "updateStrategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                "revisionHistoryLimit": 10,
            },
            "status": {
                "currentNumberScheduled": count, "numberMisscheduled": 0,
                "desiredNumberScheduled": count, "numberReady": count,
                "observedGeneration": meta["generation"], "updatedNumberScheduled": count,
                "numberAvailable": count,
            },
        }
        self.out.add("daemonsets", ds)
        template = clone(template)
        template["metadata"]["labels"]["controller-revision-hash"] = template_hash(template)[:10]
        template["metadata"]["labels"]["pod-template-generation"] = str(meta["generation"])
        for i, node in enumerate(nodes):
            self._pod(spec["namespace"], f"{spec['name']}-{safe_suffix(5, meta['uid'], node.name)}",
                      template, self.owner("DaemonSet", "apps/v1", meta), entry.since, i,
                      node=node, generate_name=f"{spec['name']}-")

    def _job_object(self, name: str, spec: Mapping[str, Any], template: Obj, created_day: float,
                    owner: Obj | None, labels: Mapping[str, str] | None) -> Obj:
        job_uid = make_uid(self.view.name, "Job", spec["namespace"], name)
        job_labels = {"batch.kubernetes.io/controller-uid": job_uid,
                      "batch.kubernetes.io/job-name": name,
                      "controller-uid": job_uid, "job-name": name}
        created = self.ts(created_day)
        meta = self.meta("Job", name, spec["namespace"], created, {**(labels or {}),
                                                                    **job_labels})
        meta["generation"] = 1
        if owner:
            meta["ownerReferences"] = [owner]
        template = clone(template)
        template["metadata"]["labels"] = {**template["metadata"]["labels"], **job_labels}
        parallelism = int(spec.get("parallelism", 1))
        job = {
            "metadata": meta,
            "spec": {
                "parallelism": parallelism,
                "completions": int(spec.get("completions", 1)),
                "backoffLimit": 6,
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
                "manualSelector": False,
                "template": template,
                "completionMode": "NonIndexed",
                "suspend": False,
                "podReplacementPolicy": "TerminatingOrFailed",
            },
            "status": {"startTime": created, "active": parallelism, "ready": parallelism,
                       "terminating": 0, "uncountedTerminatedPods": {}},
        }
        self.out.add("jobs", job)
        return job

    def _job(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec, restart_policy="Never")
        job = self._job_object(spec["name"], spec, template, entry.since, None,
                               spec.get("labels"))
        self._pods_for(spec, job["spec"]["template"], "Job", "batch/v1", job["metadata"],
                       job["spec"]["parallelism"], entry.since, style="replicaset",
                       pod_prefix=spec["name"])

    def _cronjob(self, entry: Entry) -> None:
        spec = entry.spec
        template = self._template(spec, restart_policy="OnFailure")
        meta = self._workload_meta("CronJob", entry, 1 + len(entry.history))
        # The last run started a little while before "now" on the scenario's clock.
        run_minutes = -(10 + number(50, meta["uid"]))
        run_moment = self.now + dt.timedelta(days=self.view.day, minutes=run_minutes)
        scheduled = int(run_moment.timestamp() // 60)
        cronjob = {
            "metadata": meta,
            "spec": {
                "schedule": spec["schedule"],
                "concurrencyPolicy": spec.get("concurrencyPolicy", "Forbid"),
                "suspend": bool(spec.get("suspend", False)),
                "jobTemplate": {"metadata": {"creationTimestamp": None},
                                "spec": {"template": template, "backoffLimit": 6}},
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
            },
            "status": {"lastScheduleTime": self.ts(self.view.day, run_minutes)},
        }
        self.out.add("cronjobs", cronjob)
        job_name = f"{spec['name']}-{scheduled}"
        job = self._job_object(job_name, spec, template, self.view.day + run_minutes / 1440,
                               self.owner("CronJob", "batch/v1", meta), None)
        self._pods_for(spec, job["spec"]["template"], "Job", "batch/v1", job["metadata"], 1,
                       self.view.day + run_minutes / 1440, style="replicaset",
                       pod_prefix=job_name)

    def _pods_for(self, spec: Mapping[str, Any], template: Obj, owner_kind: str,
                  owner_api: str, owner_meta: Obj, count: int, since: float, *, style: str,
                  pod_prefix: str | None = None) -> None:
        prefix = pod_prefix or owner_meta["name"]
        owner = self.owner(owner_kind, owner_api, owner_meta)
        for i in range(count):
            if style == "ordinal":
                name, generate = f"{prefix}-{i}", None
                labels_extra = {"statefulset.kubernetes.io/pod-name": name,
                                "apps.kubernetes.io/pod-index": str(i)}
            else:
                name = f"{prefix}-{safe_suffix(5, owner_meta['uid'], i)}"
                generate, labels_extra = f"{prefix}-", {}
            pod_template = template
            if labels_extra:
                pod_template = clone(template)
                pod_template["metadata"]["labels"].update(labels_extra)
            self._pod(spec["namespace"], name, pod_template, owner, since, i,
                      generate_name=generate,
                      hostname=name if style == "ordinal" else None,
                      subdomain=spec.get("serviceName", spec["name"])
                      if style == "ordinal" else None)

    def build_bare_pods(self) -> None:
        """Build pods that no controller owns."""
        for entry in self.entries("pods"):
            spec = entry.spec
            template = {"metadata": {"labels": dict(spec.get("labels", {"run": spec["name"]})),
                                     "annotations": dict(spec.get("annotations", {}))},
                        "spec": clone(dict(spec["spec"]))}
            if not template["metadata"]["annotations"]:
                del template["metadata"]["annotations"]
            default_pod_spec(template["spec"])
            self._pod(spec["namespace"], spec["name"], template, None, entry.since, 0)

    def _automount(self, namespace: str, pod_spec: Mapping[str, Any]) -> bool:
        if "automountServiceAccountToken" in pod_spec:
            return bool(pod_spec["automountServiceAccountToken"])
        account = pod_spec.get("serviceAccountName", "default")
        return self.sa_automount.get((namespace, account), True)

    def _pick_node(self, pod_spec: Mapping[str, Any], key: str) -> _Node | None:
        if "nodeName" in pod_spec:
            return next((n for n in self.nodes if n.name == pod_spec["nodeName"]), None)
        candidates = self._eligible_nodes(pod_spec)
        if not candidates:
            return None
        return candidates[number(len(candidates), key)]

    def _pod(self, namespace: str, name: str, template: Obj, owner: Obj | None, since: float,
             ordinal: int, *, node: _Node | None = None, generate_name: str | None = None,
             hostname: str | None = None, subdomain: str | None = None) -> None:
        spec = clone(template["spec"])
        key = f"{namespace}/{name}"
        node = node or self._pick_node(spec, key)
        # Pods are younger than their owner's current form: some were rescheduled since.
        age_days = max(0.0, self.view.day - since)
        created_day = since + (age_days * number(1000, key, "age") / 4000 if age_days > 1 else 0)
        if node is not None:
            # No pod is older than the node it runs on: replaced nodes got fresh pods.
            created_day = max(created_day, node.created)
        created_minutes = 1 + ordinal * 0.2 + number(30, key) / 10
        created_day = min(created_day, self.view.day - (created_minutes + 1) / 1440)
        created = self.ts(created_day, created_minutes)
        started = self.ts(created_day, created_minutes + 0.05)
        meta = self.meta("Pod", name, namespace, created,
                         template["metadata"].get("labels"),
                         template["metadata"].get("annotations"))
        if generate_name:
            meta = {"name": name, "generateName": generate_name,
                    **{k: v for k, v in meta.items() if k != "name"}}
        if owner:
            meta["ownerReferences"] = [owner]
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = account
        spec["serviceAccount"] = account
        if self._automount(namespace, spec):
            volume = f"kube-api-access-{safe_suffix(5, key, 'token')}"
            spec.setdefault("volumes", []).append({
                "name": volume,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ],
                },
            })
            for container in spec.get("initContainers", []) + spec["containers"]:
                container.setdefault("volumeMounts", []).append({
                    "name": volume, "readOnly": True,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        if hostname:
            spec["hostname"] = hostname
        if subdomain:
            spec["subdomain"] = subdomain
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        spec["tolerations"] = list(spec.get("tolerations", [])) + [
            t for t in _NOT_READY_TOLERATIONS
            if not any(x.get("key") == t["key"] for x in spec.get("tolerations", []))
        ]
        pod = {"metadata": meta, "spec": spec}
        if node is None:
            pod["status"] = {
                "phase": "Pending", "qosClass": qos_class(spec),
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": created, "reason": "Unschedulable",
                    "message": f"0/{len(self.nodes)} nodes are available: no node matches the "
                               "pod's node selector and tolerations.",
                }],
            }
            self.out.add("pods", pod)
            return
        spec["nodeName"] = node.name
        node.pods += 1
        if spec.get("hostNetwork"):
            pod_ip = node.ip
        else:
            pod_ip = f"10.{100 + node.index // 256}.{node.index % 256}.{1 + node.pods % 254}"
        statuses = []
        for container in spec["containers"]:
            image, image_id = image_status(container["image"])
            restarts = 0 if number(5, key, container["name"]) else number(4, key, "r") + 1
            statuses.append({
                "name": container["name"],
                "state": {"running": {"startedAt": started}},
                "lastState": {},
                "ready": True,
                "restartCount": restarts,
                "image": image,
                "imageID": image_id,
                "containerID": f"containerd://{hex_id(64, key, container['name'])}",
                "started": True,
            })
        status: Obj = {
            "phase": "Running",
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": when}
                for t, when in (("PodReadyToStartContainers", started), ("Initialized", started),
                                ("Ready", started), ("ContainersReady", started),
                                ("PodScheduled", created))
            ],
            "hostIP": node.ip,
            "hostIPs": [{"ip": node.ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": created,
        }
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                {"name": c["name"], "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed", "startedAt": created,
                    "finishedAt": started, "containerID":
                        f"containerd://{hex_id(64, key, 'init', c['name'])}"}},
                 "lastState": {}, "ready": True, "restartCount": 0,
                 "image": image_status(c["image"])[0], "imageID": image_status(c["image"])[1],
                 "containerID": f"containerd://{hex_id(64, key, 'init', c['name'])}",
                 "started": False}
                for c in spec["initContainers"]
            ]
        status["containerStatuses"] = statuses
        status["qosClass"] = qos_class(spec)
        pod["status"] = status
        self.out.add("pods", pod)

    # -- services and network policies -----------------------------------------------------

    def _cluster_ip(self, key: str) -> str:
        base = "172.20" if self.view.provider is Provider.EKS else "10.96"
        n = 10 + number(65000, key)
        return f"{base}.{n // 256}.{n % 256}"

    def build_services(self) -> None:
        """Build services, with the ``kubernetes`` one every cluster has."""
        entries = list(self.entries("services"))
        if self.view.builtins:
            base = min([e.created for e in self.entries("nodes")] + [self.view.day])
            kubernetes = {"namespace": "default", "name": "kubernetes", "type": "ClusterIP",
                          "ports": [{"name": "https", "port": 443, "targetPort": 443}],
                          "labels": {"component": "apiserver", "provider": "kubernetes"}}
            entries.insert(0, Entry(kubernetes, base, base))
        for entry in entries:
            spec = entry.spec
            key = f"{spec['namespace']}/{spec['name']}"
            kind = spec.get("type", "ClusterIP")
            cluster_ip = spec.get("clusterIP") or (
                ("172.20.0.1" if self.view.provider is Provider.EKS else "10.96.0.1")
                if spec["name"] == "kubernetes" and spec["namespace"] == "default"
                else self._cluster_ip(key))
            ports = []
            for i, port in enumerate(spec.get("ports", [])):
                p = {"protocol": "TCP", **port}
                p.setdefault("targetPort", p["port"])
                if kind in ("NodePort", "LoadBalancer"):
                    p.setdefault("nodePort", 30000 + number(2767, key, i))
                ports.append(p)
            svc_spec: Obj = {
                "type": kind,
                "clusterIP": cluster_ip,
                "clusterIPs": [cluster_ip],
                "ports": ports,
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            }
            if "selector" in spec:
                svc_spec["selector"] = dict(spec["selector"])
            if spec.get("externalIPs"):
                svc_spec["externalIPs"] = list(spec["externalIPs"])
            if kind in ("NodePort", "LoadBalancer"):
                svc_spec["externalTrafficPolicy"] = spec.get("externalTrafficPolicy", "Cluster")
            if spec.get("loadBalancerSourceRanges"):
                svc_spec["loadBalancerSourceRanges"] = list(spec["loadBalancerSourceRanges"])
            status: Obj = {"loadBalancer": {}}
            if kind == "LoadBalancer":
                svc_spec["allocateLoadBalancerNodePorts"] = True
                status["loadBalancer"] = self._lb_status(key)
            self.out.add("services", {
                "metadata": self.meta("Service", spec["name"], spec["namespace"],
                                      self.ts(entry.created), spec.get("labels"),
                                      spec.get("annotations")),
                "spec": svc_spec,
                "status": status,
            })

    def _lb_status(self, key: str) -> Obj:
        match self.view.provider:
            case Provider.EKS:
                host = (f"a{hex_id(32, key)}-{number(10**10, key)}.{self.view.region}"
                        ".elb.amazonaws.com")
                return {"ingress": [{"hostname": host}]}
            case Provider.KUBEADM:
                return {}
            case _:
                # Documentation range (RFC 5737): looks public, reaches nobody.
                return {"ingress": [{"ip": f"203.0.113.{1 + number(250, key)}",
                                     "ipMode": "VIP"}]}

    def build_network_policies(self) -> None:
        """Build network policies with the API server's defaulted ``policyTypes``."""
        for entry in self.entries("networkpolicies"):
            spec = entry.spec
            np_spec = clone(dict(spec.get("spec", {})))
            np_spec.setdefault("podSelector", {})
            if "policyTypes" not in np_spec:
                np_spec["policyTypes"] = ["Ingress"] + (["Egress"] if "egress" in np_spec else [])
            self.out.add("networkpolicies", {
                "metadata": self.meta("NetworkPolicy", spec["name"], spec["namespace"],
                                      self.ts(entry.created), spec.get("labels"),
                                      spec.get("annotations")),
                "spec": np_spec,
            })

    # -- RBAC ----------------------------------------------------------------------------

    def build_rbac(self) -> None:
        """Build roles, cluster roles and their bindings (with Kubernetes' defaults)."""
        base = min([e.created for e in self.entries("nodes")] + [self.view.day])
        cluster_roles = [Entry(spec, base, base) for spec in _builtin_cluster_roles(
            self.view.service_account)] if self.view.builtins else []
        bindings = [Entry(spec, base, base) for spec in _builtin_cluster_role_bindings(
            self.view.service_account)] if self.view.builtins else []
        for plural, kind, entries in (
            ("clusterroles", "ClusterRole", _merge(cluster_roles, self.entries("clusterroles"))),
            ("roles", "Role", self.entries("roles")),
        ):
            for entry in entries:
                spec = entry.spec
                obj: Obj = {"metadata": self.meta(kind, spec["name"], spec.get("namespace"),
                                                  self.ts(entry.created), spec.get("labels"),
                                                  spec.get("annotations"))}
                if "aggregationRule" in spec:
                    obj["aggregationRule"] = clone(spec["aggregationRule"])
                obj["rules"] = clone(list(spec.get("rules", [])))
                self.out.add(plural, obj)
        for plural, kind, entries in (
            ("clusterrolebindings", "ClusterRoleBinding",
             _merge(bindings, self.entries("clusterrolebindings"))),
            ("rolebindings", "RoleBinding", self.entries("rolebindings")),
        ):
            for entry in entries:
                spec = entry.spec
                subjects = []
                for subject in spec.get("subjects", []):
                    s = dict(subject)
                    if s["kind"] in ("User", "Group"):
                        s.setdefault("apiGroup", _RBAC)
                    subjects.append(s)
                obj = {"metadata": self.meta(kind, spec["name"], spec.get("namespace"),
                                             self.ts(entry.created), spec.get("labels"),
                                             spec.get("annotations")),
                       "roleRef": {"apiGroup": _RBAC, **spec["roleRef"]}}
                if subjects:
                    obj["subjects"] = subjects
                self.out.add(plural, obj)

    # -- Trivy Operator ------------------------------------------------------------------

    def build_vulnerability_reports(self) -> None:
        """Build Trivy Operator VulnerabilityReports for the scenario's scanned containers."""
        for entry in self.entries("vulnerabilityreports"):
            spec = entry.spec
            namespace = spec["namespace"]
            kind, _, name = str(spec["workload"]).partition("/")
            owner_kind, owner_name, owner_api = kind, name, "apps/v1"
            template: Mapping[str, Any] | None = None
            if kind == "Deployment":
                rs = self.rs_by_workload.get((namespace, name))
                if rs is None:
                    continue
                owner_kind, owner_name = "ReplicaSet", rs["metadata"]["name"]
                template = rs["spec"]["template"]
            else:
                for plural in ("statefulsets", "daemonsets", "cronjobs", "jobs", "replicasets"):
                    for obj in self.out.objects.get(plural, []):
                        m = obj["metadata"]
                        if m["namespace"] == namespace and m["name"] == name:
                            template = (obj["spec"]["jobTemplate"]["spec"]["template"]
                                        if plural == "cronjobs" else obj["spec"]["template"])
                            owner_api = "batch/v1" if plural in ("cronjobs", "jobs") \
                                else "apps/v1"
            if template is None:
                continue
            container = spec["container"]
            image = next((c["image"] for c in template["spec"]["containers"]
                          if c["name"] == container), None)
            if image is None:
                continue
            self.out.add("vulnerabilityreports", self._report(
                namespace, owner_kind, owner_name, owner_api, container, image, spec, entry))

    def _report(self, namespace: str, owner_kind: str, owner_name: str, owner_api: str,
                container: str, image: str, spec: Mapping[str, Any], entry: Entry) -> Obj:
        repo, tag, image_digest = split_image(image)
        registry, _, repository = repo.partition("/")
        if registry == "docker.io":
            registry = "index.docker.io"
        vulns = [dict(v) for v in spec.get("vulnerabilities", [])]
        counts = {s: sum(1 for v in vulns if v.get("severity") == s.upper())
                  for s in ("critical", "high", "medium", "low", "unknown")}
        counts.update({s: int(spec[s]) for s in counts if s in spec})
        name = f"{owner_kind.lower()}-{owner_name}-{container}"
        owner_meta = self.meta(owner_kind, owner_name, namespace, "")
        meta = self.meta("VulnerabilityReport", name, namespace, self.ts(entry.since, 5), {
            "trivy-operator.container.name": container,
            "trivy-operator.resource.kind": owner_kind,
            "trivy-operator.resource.name": owner_name,
            "trivy-operator.resource.namespace": namespace,
            "resource-spec-hash": safe_suffix(10, owner_name, image),
        })
        meta["generation"] = 1
        meta["ownerReferences"] = [{"apiVersion": owner_api, "kind": owner_kind,
                                    "name": owner_name, "uid": owner_meta["uid"],
                                    "controller": True, "blockOwnerDeletion": False}]
        artifact: Obj = {"repository": repository, "tag": tag or "latest"}
        if image_digest:
            artifact["digest"] = image_digest
        return {
            "apiVersion": "aquasecurity.github.io/v1alpha1",
            "kind": "VulnerabilityReport",
            "metadata": meta,
            "report": {
                "updateTimestamp": self.ts(self.view.day, -60 - number(600, name)),
                "scanner": {"name": "Trivy", "vendor": "Aqua Security",
                            "version": spec.get("scannerVersion", "0.58.1")},
                "registry": {"server": registry},
                "artifact": artifact,
                "os": {"family": spec.get("osFamily", "debian"),
                       "name": str(spec.get("osName", "12.8"))},
                "summary": {"criticalCount": counts["critical"], "highCount": counts["high"],
                            "mediumCount": counts["medium"], "lowCount": counts["low"],
                            "unknownCount": counts["unknown"], "noneCount": 0},
                "vulnerabilities": vulns,
            },
        }


def _merge(defaults: list[Entry], entries: list[Entry]) -> list[Entry]:
    """Return defaults overridden by the scenario's entries of the same name."""
    names = {e.spec["name"] for e in entries}
    return [d for d in defaults if d.spec["name"] not in names] + list(entries)


_BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_READ = ["get", "list", "watch"]


def _builtin_cluster_roles(service_account: tuple[str, str]) -> list[Obj]:
    """Return the default cluster roles every cluster has, plus the reader's role."""
    def role(name: str, rules: list[Obj], **extra: Any) -> Obj:
        return {"name": name, "labels": _BOOTSTRAP_LABELS, "annotations": _AUTOUPDATE,
                "rules": rules, **extra}

    roles = [
        role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                               {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        role("admin", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                          "secrets", "serviceaccounts"],
                        "verbs": ["create", "delete", "deletecollection", "get", "list",
                                  "patch", "update", "watch"]}]),
        role("edit", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                         "secrets"],
                       "verbs": ["create", "delete", "deletecollection", "patch", "update"]}]),
        role("view", [{"apiGroups": [""], "resources": ["pods", "services", "configmaps",
                                                         "endpoints",
                                                         "persistentvolumeclaims"],
                       "verbs": _READ}]),
        role("system:basic-user", [{"apiGroups": ["authorization.k8s.io"],
                                    "resources": ["selfsubjectaccessreviews",
                                                  "selfsubjectrulesreviews"],
                                    "verbs": ["create"]}]),
        role("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*",
                                                       "/healthz", "/livez", "/openapi",
                                                       "/openapi/*", "/readyz", "/version",
                                                       "/version/"],
                                   "verbs": ["get"]}]),
        role("system:public-info-viewer", [{"nonResourceURLs": ["/healthz", "/livez",
                                                                "/readyz", "/version",
                                                                "/version/"],
                                            "verbs": ["get"]}]),
        role("system:node-proxier", [{"apiGroups": [""], "resources": ["endpoints", "services"],
                                      "verbs": ["list", "watch"]}]),
        role("system:kube-scheduler", [{"apiGroups": [""], "resources": ["pods", "nodes"],
                                        "verbs": _READ}]),
        role("system:kube-controller-manager", [{"apiGroups": ["*"], "resources": ["*"],
                                                 "verbs": ["list", "watch"]}]),
    ]
    for name in ("admin", "edit", "view"):
        aggregated = next(r for r in roles if r["name"] == name)
        aggregated["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{name}": "true"}}]}
    reader_rules = [
        {"apiGroups": [""], "resources": ["nodes", "namespaces", "pods", "services",
                                          "serviceaccounts"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": ["replicasets", "deployments", "statefulsets",
                                              "daemonsets"], "verbs": _READ},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _READ},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": _READ},
        {"apiGroups": [_RBAC], "resources": ["roles", "rolebindings", "clusterroles",
                                             "clusterrolebindings"], "verbs": _READ},
        {"apiGroups": ["aquasecurity.github.io"], "resources": ["vulnerabilityreports"],
         "verbs": _READ},
    ]
    roles.append({"name": service_account[1], "labels": {"app.kubernetes.io/name": "posture"},
                  "rules": reader_rules})
    return roles


def _builtin_cluster_role_bindings(service_account: tuple[str, str]) -> list[Obj]:
    """Return the default cluster role bindings, plus the reader's binding."""
    def binding(name: str, subjects: list[Obj], role: str | None = None) -> Obj:
        return {"name": name, "labels": _BOOTSTRAP_LABELS, "annotations": _AUTOUPDATE,
                "roleRef": {"kind": "ClusterRole", "name": role or name}, "subjects": subjects}

    authenticated = {"kind": "Group", "name": "system:authenticated"}
    return [
        binding("cluster-admin", [{"kind": "Group", "name": "system:masters"}]),
        binding("system:basic-user", [authenticated]),
        binding("system:discovery", [authenticated]),
        # Kubernetes really does bind this one to unauthenticated users: /version, /healthz.
        binding("system:public-info-viewer",
                [authenticated, {"kind": "Group", "name": "system:unauthenticated"}]),
        binding("system:node-proxier", [{"kind": "User", "name": "system:kube-proxy"}]),
        binding("system:kube-scheduler", [{"kind": "User", "name": "system:kube-scheduler"}]),
        binding("system:kube-controller-manager",
                [{"kind": "User", "name": "system:kube-controller-manager"}]),
        {"name": service_account[1], "labels": {"app.kubernetes.io/name": "posture"},
         "roleRef": {"kind": "ClusterRole", "name": service_account[1]},
         "subjects": [{"kind": "ServiceAccount", "name": service_account[1],
                       "namespace": service_account[0]}]},
    ]
