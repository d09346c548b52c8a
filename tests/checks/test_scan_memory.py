"""What ``posture scan`` holds per object: packed templates, and findings that share values.

A scan keeps every workload's template until the engine runs and every finding until its
output is written, so what each costs decides its memory on a large repository. These tests
pin the compact forms to the exact results of the plain ones, and bound what the inventory
holds per workload.
"""

from __future__ import annotations

import datetime
import tracemalloc
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from posture.checks import evaluate
from posture.checks.inventory import PackedTemplate
from posture.checks.manifests import InventoryBuilder, build_inventory, load, read_file
from tests.checks.builders import TODAY
from tests.checks.generated import POLICIES, generated_inventory
from tests.checks.test_corpus import FILES, POLICY


def _results(evaluation: Any) -> dict[str, Any]:
    out = asdict(evaluation)
    # Evidence is left out of a Finding's equality: compare it too, and the order.
    out["findings"] = [f.to_dict() for f in evaluation.findings]
    return out


def _packed(inventory: Any) -> Any:
    # The generated cluster has malformed workloads too, whose template is not a dict.
    workloads = [
        {**w, "template": PackedTemplate.pack(w["template"])}
        if isinstance(w["template"], dict) else w
        for w in inventory["workloads"]
    ]
    assert sum(isinstance(w["template"], PackedTemplate) for w in workloads) > 100
    return {**inventory, "workloads": workloads}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_packed_templates_and_compact_findings_give_the_plain_results(name: str) -> None:
    inventory = generated_inventory()
    plain = evaluate(inventory, POLICIES[name], TODAY)
    compact = evaluate(_packed(inventory), POLICIES[name], TODAY, compact=True)
    assert _results(compact) == _results(plain)
    assert len(plain.findings) > 1000


def test_the_corpus_gives_the_same_results_compact() -> None:
    objects, errors = load([str(f) for f in FILES])
    assert not errors
    inventory = build_inventory(objects)
    assert any(isinstance(w["template"], PackedTemplate) for w in inventory["workloads"])
    plain = {**inventory, "workloads": [
        {**w, "template": w["template"].unpack()} if isinstance(w["template"], PackedTemplate)
        else w for w in inventory["workloads"]]}
    assert _results(evaluate(inventory, POLICY, TODAY, compact=True)) == _results(
        evaluate(plain, POLICY, TODAY))


def test_a_packed_template_unpacks_to_the_same_values_and_types() -> None:
    template = {
        "metadata": {"labels": {"app": "web"}, "annotations": None},
        "spec": {
            "containers": [{"name": "a", "image": "x", "args": ["1", 1, 1.0, True, None]}],
            "hostNetwork": False, "runAsUser": 10**30, "ratio": float("-inf"), "zero": -0.0,
            "binary": b"\x00\x01", "set": {1, 2},
        },
    }
    packed = PackedTemplate.pack(template)
    assert isinstance(packed, PackedTemplate)
    # repr tells apart what == does not: 1, 1.0 and True, 0.0 and -0.0.
    assert repr(packed.unpack()) == repr(template)
    assert packed.unpack() is not packed.unpack()


def test_a_template_marshal_cannot_write_stays_a_dict() -> None:
    template = {"metadata": {"annotations": {"when": datetime.date(2026, 1, 1)}}, "spec": {}}
    assert PackedTemplate.pack(template) is template


def _deployment(i: int) -> str:
    env = "".join(f"            - name: VAR_{k}\n              value: \"{i * k}\"\n"
                  for k in range(6))
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n"
        f"  namespace: team-{i % 7}\nspec:\n  template:\n    metadata:\n      labels:\n"
        f"        app: app-{i}\n    spec:\n      containers:\n        - name: app\n"
        f"          image: registry.example.com/app:{i}\n          env:\n{env}"
        "          resources:\n            limits: {cpu: 500m, memory: 256Mi}\n"
        "          securityContext:\n            runAsNonRoot: true\n"
        "        - name: proxy\n          image: docker.io/envoyproxy/envoy:v1.31.0\n"
    )


def test_the_inventory_holds_each_workload_in_little_more_than_its_packed_bytes(
    tmp_path: Path,
) -> None:
    count = 400
    for i in range(count):
        (tmp_path / f"{i:04d}.yaml").write_text(_deployment(i), encoding="utf-8")
    names = sorted(str(p) for p in tmp_path.iterdir())
    builder = InventoryBuilder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for name in names:
            objects, errors = read_file(name)
            assert not errors
            for o in objects:
                builder.add(o)
            del objects
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    workloads = builder.inventory()["workloads"]
    assert len(workloads) == count
    packed = sum(len(w["template"]) for w in workloads) / count
    # Besides its packed template, a workload is its inventory entry, its labels and names
    # (about 1 KB); held as a dict tree, its template would take some 2.5 KB more.
    assert held / count < packed + 1500, (held / count, packed)
