"""Per-container checks: every container list, and run-as settings read with their inheritance.

Upstream: a Pod's ``initContainers``, ``containers`` and ``ephemeralContainers`` all run images
with a securityContext; ephemeral containers have no ``resources`` (nor ports or probes), so
limits do not apply to them. A container's securityContext overrides the pod's field by field
(https://kubernetes.io/docs/tasks/configure-pod-container/security-context/).
"""

from __future__ import annotations

from typing import Any

import pytest

from posture.checks import Policy, evaluate
from tests.checks.builders import TODAY, clean_inventory, container, pod_spec, workload

POLICY = Policy(approved_registries=("registry.example.com",))


def _findings(spec: dict[str, Any], check: str) -> list[Any]:
    inv = clean_inventory(workloads=[workload(kind="Pod", spec=spec)])
    return [f for f in evaluate(inv, POLICY, TODAY).findings if f.check == check]


def _debugger(**fields: Any) -> dict[str, Any]:
    # What `kubectl debug -it web --image=busybox` adds: no securityContext, a floating tag.
    debug: dict[str, Any] = {"name": "debugger", "image": "busybox", "stdin": True, "tty": True}
    debug.update(fields)
    return debug


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("workload.runs-as-root", "Ephemeral container debugger may run as root"),
        ("workload.root-filesystem-writable",
         "Ephemeral container debugger can write to its root filesystem"),
        ("image.latest-tag", "Image busybox uses no tag"),
        ("image.not-pinned-by-digest", "Image busybox is not pinned by digest"),
        ("image.registry-not-approved", "Image busybox comes from docker.io"),
    ],
)
def test_ephemeral_containers_are_checked_like_the_others(check: str, message: str) -> None:
    spec = pod_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
                    ephemeralContainers=[_debugger()])
    (hit,) = _findings(spec, check)
    assert hit.container == "debugger"
    assert hit.message.startswith(message)


def test_ephemeral_containers_are_not_asked_for_limits() -> None:
    spec = pod_spec(ephemeralContainers=[_debugger()])
    assert _findings(spec, "workload.no-resource-limits") == []


def test_init_container_findings_say_so() -> None:
    init = container("setup", securityContext={"runAsNonRoot": True})
    spec = pod_spec(initContainers=[init])
    (hit,) = _findings(spec, "workload.root-filesystem-writable")
    assert hit.message == "Init container setup can write to its root filesystem"


def test_a_hardened_ephemeral_container_passes() -> None:
    hardened = _debugger(
        image="registry.example.com/tools/debug:1.0@sha256:" + "b" * 64,
        securityContext={"runAsNonRoot": True, "readOnlyRootFilesystem": True},
    )
    spec = pod_spec(ephemeralContainers=[hardened])
    for check in ("workload.runs-as-root", "workload.root-filesystem-writable",
                  "image.latest-tag", "image.not-pinned-by-digest"):
        assert _findings(spec, check) == [], check


def _run_as(pod: dict[str, Any], own: dict[str, Any]) -> list[Any]:
    sc = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
          "capabilities": {"drop": ["ALL"]}, **own}
    spec = pod_spec(securityContext={"seccompProfile": {"type": "RuntimeDefault"}, **pod},
                    containers=[container(securityContext=sc)])
    return _findings(spec, "workload.runs-as-root")


def test_non_zero_run_as_user_without_run_as_non_root_says_exactly_that() -> None:
    (hit,) = _run_as({}, {"runAsUser": 1000})
    assert hit.message == (
        "Container app runs as UID 1000 (runAsUser, set on the container) but runAsNonRoot is "
        "not set: nothing makes Kubernetes refuse root if runAsUser is removed or set to 0"
    )
    assert hit.evidence == {"runAsUser": 1000, "runAsNonRoot": None,
                            "runAsUserFrom": "container", "runAsNonRootFrom": None}


def test_run_as_user_inherited_from_the_pod_says_where_it_comes_from() -> None:
    (hit,) = _run_as({"runAsUser": 1000}, {})
    assert "runs as UID 1000 (runAsUser, set on the pod)" in hit.message
    assert hit.evidence["runAsUserFrom"] == "pod"


def test_container_run_as_non_root_false_overrides_the_pods_true() -> None:
    (hit,) = _run_as({"runAsNonRoot": True, "runAsUser": 1000}, {"runAsNonRoot": False})
    assert hit.message == (
        "Container app runs as UID 1000 (runAsUser, set on the pod) but runAsNonRoot is false "
        "(set on the container): nothing makes Kubernetes refuse root if runAsUser is removed "
        "or set to 0"
    )


def test_container_run_as_user_overrides_the_pods() -> None:
    (hit,) = _run_as({"runAsUser": 1000, "runAsNonRoot": True}, {"runAsUser": 0})
    assert hit.message == "Container app runs as root (runAsUser: 0, set on the container)"
    assert _run_as({"runAsUser": 0, "runAsNonRoot": True}, {"runAsUser": 1000}) == []


def test_run_as_non_root_from_the_pod_covers_the_container() -> None:
    assert _run_as({"runAsNonRoot": True}, {}) == []
    assert _run_as({"runAsNonRoot": True}, {"runAsUser": 1000}) == []


def test_no_run_as_settings_leave_the_image_to_decide() -> None:
    (hit,) = _run_as({}, {})
    assert hit.message == (
        "Container app may run as root: runAsNonRoot is not set and no runAsUser is, so the "
        "image's user decides"
    )
