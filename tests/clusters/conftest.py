"""Emulated clusters registered in Posture, for polling tests."""

from __future__ import annotations

import pytest

from clusters.emulator import start_emulator
from clusters.kubeconfig import credentials
from clusters.models import Cluster


@pytest.fixture
def emulate():
    """Start emulators by scenario name; all are stopped after the test."""
    running = []

    def start(scenario: str, **kwargs):
        emulator = start_emulator(scenario, port=0, **kwargs)
        running.append(emulator)
        return emulator

    yield start
    for emulator in running:
        emulator.stop()


def register(emulator, name: str | None = None, **fields) -> Cluster:
    """Register ``emulator`` as a cluster, as registration would."""
    cluster = Cluster(name=name or "emulated", **fields)
    cluster.store_kubeconfig(credentials(emulator.kubeconfig()))
    cluster.save()
    return cluster
