"""The generated ``big`` scenario: exact sizes, and served fast enough for benchmarks."""

from __future__ import annotations

import re
import time
from collections import Counter

import orjson
import pytest
from kubernetes import client

from tests.emulator.clients import api_client

_CONTINUE = re.compile(rb'"continue":"([^"]+)"')


@pytest.fixture(scope="module")
def big():
    from emulator import start_emulator

    emulator = start_emulator("big")
    yield emulator
    emulator.stop()


def read_all(api: client.ApiClient, method: str, limit: int = 500) -> list[dict]:
    items: list[dict] = []
    token = None
    while True:
        page = orjson.loads(getattr(client.CoreV1Api(api), method)(
            limit=limit, _continue=token, _preload_content=False).data)
        items += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            return items


def test_big_has_the_promised_size(big):
    api = api_client(big)
    pods = read_all(api, "list_pod_for_all_namespaces")
    assert len(pods) == 10_000
    assert len({(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pods}) == 10_000
    assert len(read_all(api, "list_node")) == 500
    assert len(read_all(api, "list_namespace")) == 40
    owners = {}
    for kind, plural in (("ReplicaSet", "replicasets"), ("Job", "jobs")):
        for obj in big.objects(plural):
            ref = obj["metadata"]["ownerReferences"][0]
            owners[(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])] = (
                ref["kind"], ref["name"])
    workloads: Counter[tuple[str, str, str]] = Counter()
    for pod in pods:
        ref = pod["metadata"]["ownerReferences"][0]
        ns = pod["metadata"]["namespace"]
        kind, name = owners.get((ref["kind"], ns, ref["name"]), (ref["kind"], ref["name"]))
        workloads[(kind, ns, name)] += 1
    assert len(workloads) == 300
    assert {k for k, _, _ in workloads} == {"Deployment", "StatefulSet", "DaemonSet", "CronJob"}
    average = sum(len(orjson.dumps(p)) for p in pods) / len(pods)
    assert 3_500 < average < 6_500


def test_big_pages_cross_the_wire_quickly(big):
    core = client.CoreV1Api(api_client(big))
    core.list_node(limit=1)  # connect first: time the transfer, not the handshake
    started = time.monotonic()
    token, pages, size = None, 0, 0
    while True:
        data = core.list_pod_for_all_namespaces(limit=500, _continue=token,
                                                _preload_content=False).data
        pages, size = pages + 1, size + len(data)
        match = _CONTINUE.search(data, 0, 400)
        if match is None:
            break
        token = match.group(1).decode()
    elapsed = time.monotonic() - started
    assert pages == 20 and size > 35_000_000
    assert elapsed < 2.0, f"20 pages of big took {elapsed:.2f}s"
