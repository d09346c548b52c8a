"""Register emulated clusters in Posture, as registration would."""

from __future__ import annotations

from clusters.kubeconfig import credentials
from clusters.models import Cluster


def register(emulator, name: str | None = None, **fields) -> Cluster:
    cluster = Cluster(name=name or "emulated", **fields)
    cluster.store_kubeconfig(credentials(emulator.kubeconfig()))
    cluster.save()
    return cluster
