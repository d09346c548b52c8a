"""Services (cluster IPs, load balancers) and network policies."""

from __future__ import annotations

from emulator.objects.common import (
    Entry,
    Obj,
    Provider,
    clone,
    hex_id,
    number,
)
from emulator.objects.workloads import Workloads


class Network(Workloads):

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
