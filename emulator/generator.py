"""Generate large scenarios (``generate:`` in a scenario file) deterministically from a seed.

The output is scenario data, the same shape as a hand-written file, so generated clusters go
through exactly the same object builder as the others.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from emulator.objects import hex_id

_BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

_TEAMS = ("checkout", "catalog", "search", "payments", "identity", "billing", "ledger", "orders",
          "shipping", "inventory", "pricing", "reviews", "media", "notify", "analytics",
          "reporting", "fraud", "support", "partners", "loyalty", "ads", "gateway", "mobile-bff",
          "web", "data", "ml", "etl", "audit", "tax", "risk", "crm", "cms", "growth", "docs",
          "sre", "observability", "ci", "backstage", "vault", "mesh")

_COMPONENTS = ("api", "worker", "web", "consumer", "scheduler", "gateway", "cache", "indexer",
               "sync", "export", "ingest", "render", "admin", "events", "graphql", "grpc")

_IMAGES = (
    "{ecr}/{team}/{component}:{version}",
    "{ecr}/{team}/{component}:{version}@sha256:{digest}",
    "ghcr.io/acme-corp/{team}-{component}:{version}",
    "docker.io/library/nginx:1.27.2",
    "docker.io/library/redis:7.4.1",
    "quay.io/prometheus/node-exporter:v1.8.2",
    "registry.k8s.io/ingress-nginx/controller:v1.11.2@sha256:{digest}",
    "docker.io/{team}dev/{component}:latest",
)

_SIDECARS = (
    ("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.1.9"),
    ("envoy", "docker.io/envoyproxy/envoy:v1.31.2"),
    ("oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1"),
)

# (pool, count share, osImage, kernel, runtime, kubelet, instance type, created day)
_POOLS = (
    ("general-al2023", 0.5, "Amazon Linux 2023.6.20241031", "6.1.112-124.190.amzn2023.x86_64",
     "containerd://1.7.22", "v1.31.2-eks-7f9249a", "m6i.xlarge", -60),
    ("compute-bottlerocket", 0.3, "Bottlerocket OS 1.26.1 (aws-k8s-1.31)", "6.1.112",
     "containerd://1.7.22+bottlerocket", "v1.31.1-eks-1b3e656", "m7i.2xlarge", -40),
    ("legacy-al2", 0.2, "Amazon Linux 2", "5.10.226-214.880.amzn2.x86_64",
     "containerd://1.7.11", "v1.29.8-eks-a737599", "m5.xlarge", -420),
)


def _split(total: int, parts: int, rng: random.Random, minimum: int = 1) -> list[int]:
    """Split ``total`` into ``parts`` uneven positive integers that add up exactly."""
    weights = [rng.paretovariate(1.6) for _ in range(parts)]
    spare = total - minimum * parts
    raw = [spare * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    # Hand the rounding remainder to the largest fractions so the sum is exact.
    for i in sorted(range(parts), key=lambda i: raw[i] - counts[i], reverse=True)[
        : spare - sum(counts)
    ]:
        counts[i] += 1
    return [c + minimum for c in counts]


def _container(name: str, image: str, rng: random.Random, *, hardened: bool,
               privileged: bool, port: int) -> dict[str, Any]:
    security: dict[str, Any] = (
        {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
         "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
        if hardened else {"runAsUser": 0}
    )
    if privileged:
        security = {"privileged": True, "runAsUser": 0,
                    "capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}
    cpu = rng.choice((50, 100, 200, 250, 500))
    memory = rng.choice((64, 128, 256, 512, 1024))
    return {
        "name": name,
        "image": image,
        "ports": [{"name": "http", "containerPort": port}],
        "env": [
            {"name": "LOG_LEVEL", "value": rng.choice(("info", "warn", "debug"))},
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT",
             "value": "http://otel-collector.observability.svc:4317"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE",
             "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
        "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
                      "limits": {"cpu": f"{cpu * 2}m", "memory": f"{memory * 2}Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": port},
                          "initialDelaySeconds": 10, "periodSeconds": 20},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}, "periodSeconds": 5},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - a pod's path
        "securityContext": security,
    }


def _sidecar(name: str, image: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "args": ["--config=/etc/app/sidecar.yaml"],
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"},
                      "limits": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }


def generate(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return scenario sections for ``params`` (nodes, namespaces, workloads, pods, seed).

    ``namespaces`` counts every namespace the cluster will list, the built-in ones included;
    ``workloads`` counts top-level owners; ``pods`` counts every pod.
    """
    # Seeded on purpose: the same scenario must always give the same cluster.
    rng = random.Random(int(params.get("seed", 1)))  # noqa: S311
    node_count = int(params["nodes"])
    ns_count = int(params["namespaces"])
    workload_count = int(params["workloads"])
    pod_count = int(params["pods"])
    ecr = f"{rng.randrange(10**11, 10**12)}.dkr.ecr.eu-west-1.amazonaws.com"
    reader_ns = str(params.get("readerNamespace", "posture"))
    nodes = []
    remaining = node_count
    for i, (pool, share, os_image, kernel, runtime, kubelet, instance, created) in enumerate(
        _POOLS
    ):
        count = remaining if i == len(_POOLS) - 1 else round(node_count * share)
        remaining -= count
        nodes.append({"pool": pool, "count": count, "osImage": os_image,
                      "kernelVersion": kernel, "containerRuntimeVersion": runtime,
                      "kubeletVersion": kubelet, "instanceType": instance, "created": created})

    fixed = [*_BUILTIN_NAMESPACES, reader_ns]
    app_namespaces = [(_TEAMS[i % len(_TEAMS)] + ("" if i < len(_TEAMS) else f"-{i}"))
                      for i in range(ns_count - len(fixed))]
    namespaces: list[dict[str, Any]] = [{"name": n, "created": -700} for n in fixed]
    for i, ns in enumerate(app_namespaces):
        labels = {"team": ns}
        if i % 3 == 0:
            labels["pod-security.kubernetes.io/enforce"] = "restricted"
            labels["pod-security.kubernetes.io/enforce-version"] = "latest"
        elif i % 3 == 1:
            labels["pod-security.kubernetes.io/warn"] = "baseline"
        namespaces.append({"name": ns, "labels": labels, "created": -rng.randrange(30, 700)})

    workloads: list[dict[str, Any]] = []
    daemon_pods = 0
    for ds_name, image in (("kube-proxy", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/"
                                         "kube-proxy:v1.31.2-minimal-eksbuild.3"),
                           ("aws-node", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/"
                                        "amazon-k8s-cni:v1.18.5-eksbuild.1")):
        container = _container(ds_name, image, rng, hardened=False, privileged=True, port=61678)
        workloads.append({
            "kind": "DaemonSet", "namespace": "kube-system", "name": ds_name, "created": -700,
            "template": {"metadata": {"labels": {"k8s-app": ds_name}},
                         "spec": {"hostNetwork": True, "priorityClassName":
                                  "system-node-critical",
                                  "tolerations": [{"operator": "Exists"}],
                                  "containers": [container],
                                  "volumes": [{"name": "config", "configMap": {"name": ds_name}},
                                              {"name": "tmp", "emptyDir": {}}]}},
        })
        daemon_pods += node_count

    cronjobs = min(20, max(0, (workload_count - len(workloads)) // 15))
    statefulsets = min(20, max(0, (workload_count - len(workloads)) // 15))
    deployments = workload_count - len(workloads) - cronjobs - statefulsets
    replicated = pod_count - daemon_pods - cronjobs
    if deployments + statefulsets < 1 or replicated < deployments + statefulsets:
        raise ValueError(f"{name}: cannot fit {pod_count} pods in {workload_count} workloads "
                         f"on {node_count} nodes")
    replicas = _split(replicated, deployments + statefulsets, rng)
    services, policies, accounts = [], [], []
    for i in range(workload_count - len(workloads)):
        ns = app_namespaces[i % len(app_namespaces)]
        component = _COMPONENTS[(i // len(app_namespaces)) % len(_COMPONENTS)]
        kind = ("CronJob" if i < cronjobs else
                "StatefulSet" if i < cronjobs + statefulsets else "Deployment")
        workload_name = f"{ns}-{component}" if kind != "CronJob" else f"{ns}-{component}-report"
        version = f"v{rng.randrange(1, 5)}.{rng.randrange(0, 30)}.{rng.randrange(0, 10)}"
        image = rng.choice(_IMAGES).format(ecr=ecr, team=ns, component=component,
                                           version=version, digest=hex_id(64, ns, component))
        hardened = rng.random() < 0.6
        privileged = rng.random() < 0.03
        sidecar_name, sidecar_image = _SIDECARS[i % len(_SIDECARS)]
        pod_security: dict[str, Any] = {"fsGroup": 2000}
        if hardened:
            pod_security.update(runAsNonRoot=True, runAsUser=10001,
                                seccompProfile={"type": "RuntimeDefault"})
        spec: dict[str, Any] = {
            "serviceAccountName": f"{ns}-app",
            "securityContext": pod_security,
            "containers": [
                _container("app", image, rng, hardened=hardened, privileged=privileged,
                           port=8080),
                _sidecar(sidecar_name, sidecar_image),
            ],
            "volumes": [{"name": "config", "configMap": {"name": f"{workload_name}-config"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        }
        labels = {"app.kubernetes.io/name": workload_name, "app.kubernetes.io/part-of": ns,
                  "app.kubernetes.io/version": version}
        workload: dict[str, Any] = {
            "kind": kind, "namespace": ns, "name": workload_name,
            "labels": labels, "created": -rng.randrange(20, 600),
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": workload_name},
                                      "annotations": {"prometheus.io/scrape": "true",
                                                      "prometheus.io/port": "8080"}},
                         "spec": spec},
        }
        if kind == "CronJob":
            workload["schedule"] = f"{rng.randrange(60)} */6 * * *"
        else:
            workload["replicas"] = replicas[i - cronjobs]
            services.append({
                "namespace": ns, "name": workload_name,
                "type": "LoadBalancer" if rng.random() < 0.02 else "ClusterIP",
                "selector": {"app.kubernetes.io/name": workload_name},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                "created": workload["created"]})
        workloads.append(workload)
    for i, ns in enumerate(app_namespaces):
        accounts.append({"namespace": ns, "name": f"{ns}-app", "created": -500})
        if i % 2 == 0:
            policies.append({"namespace": ns, "name": "default-deny", "created": -200,
                             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
    return {"nodes": nodes, "namespaces": namespaces, "workloads": workloads,
            "services": services, "networkpolicies": policies, "serviceaccounts": accounts}
