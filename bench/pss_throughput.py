"""Print how many Pod Security Standards evaluations per second one core runs.

Usage: python bench/pss_throughput.py [--seconds N]

The pods are typical of a cluster: a restricted-compliant Deployment pod with two containers, a
projected token volume, probes and a few annotations, and a default "helm chart" pod that fails
several restricted controls. Each is evaluated at ``restricted`` / ``latest``, and at both
levels in one pass (``evaluate_levels``, what the rules engine calls).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.checks.pss import evaluate, evaluate_levels  # noqa: E402


def _container(name: str, hardened: bool) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.com/{name}:1.4.2",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "livenessProbe": {"tcpSocket": {"port": 8080}},
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
        "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets"}],
    }
    if hardened:
        container["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        }
    return container


def _pod(hardened: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [_container("app", hardened), _container("sidecar", hardened)],
        "serviceAccountName": "app",
        "volumes": [
            {"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {}}]}},
            {"name": "cache", "emptyDir": {}},
        ],
    }
    if hardened:
        spec["securityContext"] = {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    return {
        "kind": "Pod",
        "metadata": {
            "name": "app-7d4b9c8f6-x2k9p",
            "namespace": "shop",
            "labels": {"app": "shop", "pod-template-hash": "7d4b9c8f6"},
            "annotations": {"prometheus.io/scrape": "true", "checksum/config": "abc123"},
        },
        "spec": spec,
    }


def _rate(seconds: float, run: Callable[[], object]) -> float:
    """Return how many times per second ``run`` ran, over about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            run()
        count += 1000
    return count / (time.perf_counter() - start)


def main() -> None:
    """Run each pod for the given time and print evaluations per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per pod (default 2)")
    args = parser.parse_args()
    for label, pod in (("compliant", _pod(True)), ("non-compliant", _pod(False))):
        rate = _rate(args.seconds, partial(evaluate, pod, "restricted", "latest"))
        print(f"restricted/latest, {label} pod: {rate:,.0f} evaluations/second")
        rate = _rate(args.seconds, partial(evaluate_levels, pod, "latest"))
        print(f"both levels in one pass, {label} pod: {rate:,.0f} evaluations/second")


if __name__ == "__main__":
    main()
