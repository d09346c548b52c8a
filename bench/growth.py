"""How cost grows: polls of 1,000 → 10,000 → 50,000 pods, and pages for 10 → 50 → 200 clusters.

Pods: the ``big`` scenario's generator at three sizes (nodes and workloads scaled with the pods),
one run each of the fetch baseline, a first poll and an unchanged re-poll. Clusters: synthetic
clusters with 30 days of history, and owners who see 10, 50 or 200 of them; the overview and
the API list are timed for each owner. Linear or better is the expectation; the ratios say.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posture.site.settings")

POD_SIZES = (1_000, 10_000, 50_000)
CLUSTER_SIZES = (10, 50, 200)


def pods_growth() -> dict[int, dict[str, Any]]:
    import poll_big

    base = yaml.safe_load((ROOT / "clusters/emulator/scenarios/big.yaml").read_text())
    results = {}
    with tempfile.TemporaryDirectory(prefix="posture-growth-") as tmp:
        for pods in POD_SIZES:
            scenario = dict(base, name=f"big-{pods}")
            scenario["generate"] = dict(base["generate"], pods=pods,
                                        nodes=max(10, pods // 20),
                                        workloads=max(10, pods * 3 // 100),
                                        namespaces=min(40, max(12, pods // 250)))
            path = Path(tmp) / f"big-{pods}.yaml"
            path.write_text(yaml.safe_dump(scenario))
            results[pods] = poll_big.measure(1, ("fetch", "poll", "repoll"), str(path))
    return results


def clusters_growth(rounds: int = 15) -> dict[int, dict[str, Any]]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from clusters.models import Cluster
    from posture.devtools.synthetic import seed

    Cluster.objects.filter(name__startswith="growth-").delete()
    made = seed(max(CLUSTER_SIZES), 30, 4, prefix="growth", seed_value=11)
    results = {}
    try:
        for size in CLUSTER_SIZES:
            owner, _ = get_user_model().objects.get_or_create(username=f"growth-owner-{size}")
            owner.owned_clusters.set(made[:size])
            client = Client(HTTP_HOST="localhost")
            client.force_login(owner)
            figures = {}
            for page, url in (("overview", reverse("home")),
                              ("API list", reverse("api:clusters"))):
                assert client.get(url).status_code == 200
                timings = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    client.get(url)
                    timings.append((time.perf_counter() - start) * 1000)
                figures[page] = {"median_ms": statistics.median(timings)}
            results[size] = figures
    finally:
        Cluster.objects.filter(name__startswith="growth-").delete()
    return results


if __name__ == "__main__":
    print(pods_growth())
    print(clusters_growth())
