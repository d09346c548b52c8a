"""Throughput of the rules engine on pod specs, next to the cost of parsing them from JSON.

Runs on one core (the engine is single-threaded; pin it with ``taskset -c 0`` for steadier
numbers). In the first run every pod spec is distinct, so the template cache never helps; in
the second 200 templates are shared among the pods, as in real clusters. Half the specs are
hardened; the other half fail restricted-only controls and so also need the baseline verdict.
Distinct templates still fail Pod Security controls in a few identical ways, and the engine
words each distinct verdict once; the third run gives every container its own name, so that
every verdict differs too (the worst case). Usage:
``python bench/engine_throughput.py [--pods 10000] [--repeat 3] [--json]``; with
``POSTURE_PURE_PYTHON=1`` the engine's hot modules run from source even when compiled.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import orjson

from posture.checks import Policy, evaluate, native
from posture.checks.inventory import RESOURCES, Coverage, Inventory, empty_inventory

WORKLOAD_RESOURCES = ("pods", "namespaces", "serviceaccounts", "networkpolicies")


def pod_template(i: int, named: bool = False) -> dict[str, Any]:
    """Return a realistic two-container pod template, different for every ``i``.

    With ``named``, the containers' names differ for every ``i`` too.
    """
    hardened = i % 2 == 0
    suffix = f"-{i}" if named else ""
    app: dict[str, Any] = {
        "name": f"app{suffix}",
        "image": f"registry.example.com/team-{i % 40}/service:{i}.0.{i % 7}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": f"VAR_{k}", "value": str(i * k)} for k in range(6)],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"} if hardened else {"memory": "1Gi"},
        },
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/scratch"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        if hardened
        else {"privileged": i % 10 == 1},
    }
    sidecar = {
        "name": f"proxy{suffix}",
        "image": "docker.io/envoyproxy/envoy:v1.31.0",
        "args": ["--config-path", "/etc/envoy/envoy.yaml"],
        "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
        "securityContext": {"runAsUser": 101, "runAsNonRoot": True},
    }
    return {
        "metadata": {"labels": {"app": f"svc-{i}", "team": f"team-{i % 40}"}},
        "spec": {
            "serviceAccountName": f"svc-{i}",
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
            if hardened
            else {},
            "containers": [app, sidecar],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    }


def build_inventory(templates: list[dict[str, Any]]) -> Inventory:
    """Return an inventory of one workload per template, spread over 50 namespaces."""
    inv = empty_inventory()
    inv["workloads"] = [
        {
            "kind": "Deployment",
            "namespace": f"ns-{i % 50}",
            "name": f"svc-{i}",
            "labels": {},
            "template": t,
            "pods": 1,
        }
        for i, t in enumerate(templates)
    ]
    # Unlabelled namespaces, as most are: a namespace enforcing a level other than the
    # policy's target costs one more Pod Security evaluation per template.
    inv["namespaces"] = [{"metadata": {"name": f"ns-{n}"}} for n in range(50)]
    inv["coverage"] = {
        r: Coverage(state="read" if r in WORKLOAD_RESOURCES else "absent", message="", count=0)
        for r in RESOURCES
    }
    return inv


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Return the fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int = 10_000, repeat: int = 3) -> dict[str, float]:
    """Return pod specs per second: parsing JSON (the baseline) and the engine, two ways."""
    templates = [pod_template(i) for i in range(n)]
    blobs = [orjson.dumps(t) for t in templates]
    policy = Policy(pss_level="restricted", pss_version="latest")
    today = date(2026, 9, 1)

    parse = best_of(repeat, lambda: [orjson.loads(b) for b in blobs])
    distinct = build_inventory(templates)
    engine = best_of(repeat, lambda: evaluate(distinct, policy, today))
    shared = build_inventory([templates[i % 200] for i in range(n)])
    engine_shared = best_of(repeat, lambda: evaluate(shared, policy, today))
    named = build_inventory([pod_template(i, named=True) for i in range(n)])
    engine_named = best_of(repeat, lambda: evaluate(named, policy, today))
    return {"pods": n, "parse": n / parse, "engine_distinct": n / engine,
            "engine_shared": n / engine_shared, "engine_distinct_verdicts": n / engine_named}


def main() -> None:
    """Print pod specs per second for parsing and for evaluating."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the rates as JSON")
    args = parser.parse_args()
    rates = measure(args.pods, args.repeat)
    if args.json:
        rates["compiled"] = native.compiled()
        print(orjson.dumps(rates).decode())
        return
    kind = "compiled (mypyc)" if native.compiled() else "pure Python"
    print(f"engine modules: {kind}")
    print(f"pod specs: {args.pods}")
    print(f"parse JSON (orjson):                {rates['parse']:>10,.0f} specs/s")
    print(f"engine, every template distinct:    {rates['engine_distinct']:>10,.0f} specs/s")
    print(f"engine, 200 templates shared:       {rates['engine_shared']:>10,.0f} specs/s")
    worst = rates["engine_distinct_verdicts"]
    print(f"engine, every verdict distinct too: {worst:>10,.0f} specs/s")


if __name__ == "__main__":
    main()
