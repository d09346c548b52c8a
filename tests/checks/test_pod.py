"""Template numbering: equal templates share a number, however they are met."""

from __future__ import annotations

import copy
from typing import Any

from posture.checks.pod import TemplateIndex, template_key
from tests.checks.builders import container, pod_spec


def _template(image: str = "nginx:1", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": pod_spec(containers=[container(image=image)], **spec),
    }


def test_equal_templates_share_a_number_and_different_ones_do_not() -> None:
    index = TemplateIndex()
    first = _template()
    look_alike = _template(hostPID=True)  # same containers and first image, another spec
    numbers = [
        index.number(first),
        index.number(_template("nginx:2")),
        index.number(look_alike),
        index.number(copy.deepcopy(first)),
        index.number(first),
        index.number(copy.deepcopy(look_alike)),
    ]
    assert numbers == [0, 1, 2, 0, 0, 2]
    assert len(index.facts) == 3
    assert index.facts[2].host_network is False


def test_labels_do_not_count_but_annotations_do() -> None:
    index = TemplateIndex()
    relabelled = _template()
    relabelled["metadata"]["labels"] = {"app": "y"}
    annotated = _template()
    annotated["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined"
    }
    assert [index.number(t) for t in (_template(), relabelled, annotated)] == [0, 0, 1]


def test_key_tells_nan_from_null_and_int_keys_from_strings() -> None:
    assert template_key({"spec": {"a": float("nan")}}) != template_key({"spec": {"a": None}})
    assert template_key({"spec": {1: "x"}}) != template_key({"spec": {"1": "x"}})
    assert template_key({"spec": {"b": 1, "a": 2}}) == template_key({"spec": {"a": 2, "b": 1}})
