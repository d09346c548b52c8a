"""Nodes: pools spread over zones, provider labels and ids, capacity, conditions, taints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.objects.common import (
    _CONTROL_PLANE_TAINT,
    _DEFAULT_INSTANCE,
    _INSTANCE_TYPES,
    BuilderBase,
    Node,
    Obj,
    Provider,
    hex_id,
    make_uid,
    number,
    safe_suffix,
)


class Nodes(BuilderBase):

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
                self.nodes.append(Node(name, ip, index, labels, taints,
                                        entry.created + (3 * i + 5) / 1440))
                index += 1
