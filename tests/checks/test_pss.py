"""Unit tests for the Pod Security Standards evaluator: shapes, versions and each control."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from posture.checks.pss import (
    CONTROLS,
    LEVELS,
    NEWEST_VERSION,
    Level,
    PSSResult,
    Violation,
    controls,
    effective_version,
    evaluate,
    pod_template,
)


def restricted_pod(**spec: Any) -> dict[str, Any]:
    """Return a pod that the restricted level allows at every version, with ``spec`` merged in."""
    hardened = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "annotations": {"team": "shop"}},
        "spec": {
            "initContainers": [
                {"name": "init", "image": "busybox", "securityContext": copy.deepcopy(hardened)}
            ],
            "containers": [
                {"name": "app", "image": "nginx", "securityContext": copy.deepcopy(hardened)}
            ],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    }
    pod["spec"].update(spec)
    return pod


def app(pod: dict[str, Any]) -> dict[str, Any]:
    """Return the ``app`` container's security context."""
    context: dict[str, Any] = pod["spec"]["containers"][0]["securityContext"]
    return context


def details(result: PSSResult) -> dict[str, str]:
    return {violation.control: violation.detail for violation in result.violations}


# --- result shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_hardened_pod_is_allowed_at_every_version(level: Level) -> None:
    for minor in range(38):
        result = evaluate(restricted_pod(), level, f"v1.{minor}")
        assert result == PSSResult(allowed=True, level=level, version=f"v1.{minor}", violations=())


def test_result_is_frozen_and_carries_the_effective_version() -> None:
    pod = restricted_pod(hostNetwork=True)
    result = evaluate(pod, "baseline", "latest")
    assert result.allowed is False
    assert result.level == "baseline"
    assert result.version == NEWEST_VERSION == "v1.37"
    assert result.violations == (Violation("hostNamespaces", "host namespaces (hostNetwork=true)"),)
    assert isinstance(result.violations, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.allowed = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.violations[0].control = "x"  # type: ignore[misc]


def test_violations_follow_upstream_order_baseline_first_then_by_id() -> None:
    pod = restricted_pod(hostPID=True, volumes=[{"name": "host", "hostPath": {"path": "/"}}])
    app(pod).update(privileged=True, runAsUser=0)
    result = evaluate(pod, "restricted", "latest")
    assert [v.control for v in result.violations] == [
        "hostNamespaces",
        "privileged",
        "restrictedVolumes",
        "runAsUser",
    ]


def test_controls_lists_the_checks_that_run() -> None:
    assert set(controls("restricted", "latest")) | {
        "hostPathVolumes",
        "seccompProfile_baseline",
        "capabilities_baseline",
        "procMount",
    } == set(CONTROLS)
    assert controls("baseline", "v1.0") == (
        "appArmorProfile",
        "capabilities_baseline",
        "hostNamespaces",
        "hostPathVolumes",
        "hostPorts",
        "privileged",
        "procMount",
        "seLinuxOptions",
        "seccompProfile_baseline",
        "sysctls",
        "windowsHostProcess",
    )
    assert controls("restricted", "v1.0")[-2:] == ("restrictedVolumes", "runAsNonRoot")
    assert "allowPrivilegeEscalation" not in controls("restricted", "v1.7")
    assert "allowPrivilegeEscalation" in controls("restricted", "v1.8")
    assert "runAsUser" in controls("restricted", "v1.23")
    assert "runAsUser" not in controls("restricted", "v1.22")
    assert "hostProbesAndHostLifecycle" not in controls("baseline", "v1.33")
    assert controls("privileged", "latest") == ()


def test_all_nineteen_upstream_controls_are_declared() -> None:
    assert len(CONTROLS) == len(set(CONTROLS)) == 19
    assert LEVELS == ("privileged", "baseline", "restricted")


def test_importing_the_evaluator_does_not_import_django() -> None:
    code = "import sys, posture.checks.pss; assert 'django' not in sys.modules"
    # From the repository root, so this checkout's package is the one imported.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# --- levels and versions ----------------------------------------------------------------------


@pytest.mark.parametrize("level", ["", "Baseline", "restricted ", "default", "none"])
def test_unknown_level_is_refused(level: str) -> None:
    with pytest.raises(ValueError, match="unknown level"):
        evaluate(restricted_pod(), level, "latest")


@pytest.mark.parametrize(
    "version",
    ["", "Latest", "1.25", "v1", "v1.", "v1.01", "v1.2.3", "v2.0", "v1.-1", " v1.25", "v1.x"],
)
def test_malformed_version_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="invalid policy version"):
        evaluate(restricted_pod(), "baseline", version)


@pytest.mark.parametrize(
    ("version", "effective"),
    [
        ("v1.0", "v1.0"),
        ("v1.25", "v1.25"),
        ("v1.37", "v1.37"),
        ("latest", "v1.37"),
        ("v1.38", "v1.37"),
        ("v1.999999", "v1.37"),
    ],
)
def test_effective_version(version: str, effective: str) -> None:
    assert effective_version(version) == effective
    assert evaluate(restricted_pod(), "privileged", version).version == effective


def test_privileged_level_allows_everything() -> None:
    pod = restricted_pod(
        hostNetwork=True,
        hostPID=True,
        volumes=[{"name": "root", "hostPath": {"path": "/"}}],
        securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
    )
    app(pod).update(privileged=True, capabilities={"add": ["SYS_ADMIN"]}, runAsUser=0)
    assert evaluate(pod, "privileged", "latest") == PSSResult(
        allowed=True, level="privileged", version="v1.37", violations=()
    )
    assert not evaluate(pod, "baseline", "latest").allowed


# --- workloads --------------------------------------------------------------------------------


def _template(pod: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": pod["metadata"], "spec": pod["spec"]}


Wrapper = Callable[[dict[str, Any]], dict[str, Any]]


def _under_spec_template(kind: str) -> Wrapper:
    return lambda pod: {"kind": kind, "spec": {"template": _template(pod)}}


WRAPPERS: dict[str, Wrapper] = {
    kind: _under_spec_template(kind)
    for kind in (
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "ReplicationController",
    )
}
WRAPPERS["PodTemplate"] = lambda pod: {"kind": "PodTemplate", "template": _template(pod)}
WRAPPERS["CronJob"] = lambda pod: {
    "kind": "CronJob",
    "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": _template(pod)}}},
}
WRAPPERS["bare pod-shaped dict"] = _template


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_workload_is_judged_by_its_pod_template(kind: str) -> None:
    pod = restricted_pod()
    app(pod)["privileged"] = True
    pod["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/app"] = (
        "unconfined"
    )
    wrapped = WRAPPERS[kind](pod)
    result = evaluate(wrapped, "baseline", "v1.30")
    assert result == evaluate(pod, "baseline", "v1.30")
    assert {v.control for v in result.violations} == {"privileged", "appArmorProfile"}
    assert pod_template(wrapped) == (pod["metadata"], pod["spec"])


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"kind": "Service", "spec": {}}, "has no pod template"),
        ({"kind": "Deployment", "spec": {}}, "Deployment has no pod template at spec.template"),
        ({"kind": "CronJob", "spec": {"jobTemplate": {}}}, "CronJob has no pod template"),
        ({"kind": "Pod", "metadata": {"name": "x"}}, "spec mapping"),
        ({"kind": "Pod", "spec": []}, "spec mapping"),
        ({"kind": "Pod", "metadata": "x", "spec": {}}, "metadata mapping"),
        ({"kind": "Deployment", "spec": {"template": "x"}}, "not a mapping"),
        (["not", "an", "object"], "expected a Kubernetes object"),
    ],
)
def test_object_without_a_pod_spec_is_refused(obj: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(obj, "baseline", "latest")


@pytest.mark.parametrize(
    "spec",
    [
        {"containers": "app"},
        {"containers": [{"name": "app", "securityContext": ["privileged"]}]},
        {"securityContext": {"sysctls": "kernel.msgmax"}},
        {"volumes": [["hostPath"]]},
    ],
)
def test_malformed_spec_is_refused_not_crashing(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="malformed pod spec"):
        evaluate({"metadata": {}, "spec": spec}, "restricted", "latest")


def test_empty_spec_is_evaluated() -> None:
    assert evaluate({"kind": "Pod", "spec": {}}, "restricted", "latest").allowed
    assert evaluate({"spec": {"containers": None}}, "baseline", "v1.0").allowed


# --- baseline controls ------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set_app(**fields: Any) -> Mutation:
    return lambda pod: app(pod).update(fields)


def _set_spec(**fields: Any) -> Mutation:
    return lambda pod: pod["spec"].update(fields)


def _set_pod_context(**fields: Any) -> Mutation:
    return lambda pod: pod["spec"]["securityContext"].update(fields)


def _annotate(key: str, value: str) -> Mutation:
    return lambda pod: pod["metadata"]["annotations"].update({key: value})


def _add_container(container: dict[str, Any], field: str = "containers") -> Mutation:
    return lambda pod: pod["spec"].setdefault(field, []).append(container)


def _unset_pod_context(field: str) -> Mutation:
    return lambda pod: pod["spec"]["securityContext"].pop(field)


def _unset_app(field: str) -> Mutation:
    return lambda pod: app(pod).pop(field)


def _clear_container_contexts(pod: dict[str, Any]) -> None:
    for container in pod["spec"]["initContainers"] + pod["spec"]["containers"]:
        container["securityContext"].clear()


def _all(*mutations: Mutation) -> Mutation:
    def mutate(pod: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(pod)

    return mutate


_UNMASKED_IN_USER_NAMESPACE = _all(_set_app(procMount="Unmasked"), _set_spec(hostUsers=False))


BASELINE_CASES: list[tuple[str, str, Mutation, str, str]] = [
    (
        "v1.0",
        "privileged",
        _set_app(privileged=True),
        "privileged",
        'privileged (container "app" must not set securityContext.privileged=true)',
    ),
    (
        "v1.0",
        "privileged ephemeral container",
        _add_container(
            {"name": "debug", "securityContext": {"privileged": True}}, "ephemeralContainers"
        ),
        "privileged",
        'privileged (container "debug" must not set securityContext.privileged=true)',
    ),
    (
        "v1.0",
        "host namespaces",
        _set_spec(hostIPC=True, hostNetwork=True, hostPID=True),
        "hostNamespaces",
        "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)",
    ),
    (
        "v1.0",
        "host ports",
        _add_container({"name": "x", "ports": [{"hostPort": 9}, {"hostPort": 80}]}),
        "hostPorts",
        'hostPort (container "x" uses hostPorts 80, 9)',
    ),
    (
        "v1.0",
        "hostPath volume",
        _set_spec(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]),
        "hostPathVolumes",
        'hostPath volumes (volume "logs")',
    ),
    (
        "v1.0",
        "added capability",
        _set_app(capabilities={"add": ["NET_RAW", "CHOWN", "SYS_ADMIN"]}),
        "capabilities_baseline",
        'non-default capabilities (container "app" must not include "NET_RAW", "SYS_ADMIN" '
        "in securityContext.capabilities.add)",
    ),
    (
        "v1.0",
        "AppArmor annotation",
        _annotate("container.apparmor.security.beta.kubernetes.io/app", "unconfined"),
        "appArmorProfile",
        "forbidden AppArmor profile (annotation must not set AppArmor profile type to "
        # Upstream quotes the list without escaping, so the value's own quotes stay bare.
        '"container.apparmor.security.beta.kubernetes.io/app="unconfined"")',
    ),
    (
        "v1.0",
        "AppArmor field, checked at every version",
        _set_app(appArmorProfile={"type": "Unconfined"}),
        "appArmorProfile",
        'forbidden AppArmor profile (container "app" must not set AppArmor profile type to '
        '"Unconfined")',
    ),
    (
        "v1.0",
        "SELinux type, user and role",
        _set_pod_context(seLinuxOptions={"type": "spc_t", "user": "root", "role": "sysadm_r"}),
        "seLinuxOptions",
        "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: "
        'type "spc_t"; user may not be set; role may not be set)',
    ),
    (
        "v1.30",
        "SELinux container_engine_t before 1.31",
        _set_app(seLinuxOptions={"type": "container_engine_t"}),
        "seLinuxOptions",
        'seLinuxOptions (container "app" set forbidden securityContext.seLinuxOptions: '
        'type "container_engine_t")',
    ),
    (
        "v1.0",
        "procMount",
        _set_app(procMount="Unmasked"),
        "procMount",
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
    ),
    (
        "v1.34",
        "procMount in a user namespace before 1.35",
        _UNMASKED_IN_USER_NAMESPACE,
        "procMount",
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
    ),
    (
        "v1.18",
        "seccomp annotation before 1.19",
        _annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
        "seccompProfile_baseline",
        "seccompProfile (forbidden annotation "
        'seccomp.security.alpha.kubernetes.io/pod="unconfined")',
    ),
    (
        "v1.19",
        "seccomp field from 1.19",
        _set_app(seccompProfile={"type": "Unconfined"}),
        "seccompProfile_baseline",
        'seccompProfile (container "app" must not set securityContext.seccompProfile.type to '
        '"Unconfined")',
    ),
    (
        "v1.26",
        "sysctl added to the safe list at 1.27",
        _set_pod_context(sysctls=[{"name": "net.ipv4.ip_local_reserved_ports", "value": "80"}]),
        "sysctls",
        "forbidden sysctls (net.ipv4.ip_local_reserved_ports)",
    ),
    (
        "v1.36",
        "sysctl added to the safe list at 1.37",
        _set_pod_context(
            sysctls=[
                {"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"},
                {"name": "kernel.msgmax", "value": "65536"},
            ]
        ),
        "sysctls",
        "forbidden sysctls (net.ipv4.tcp_notsent_lowat, kernel.msgmax)",
    ),
    (
        "v1.0",
        "Windows HostProcess",
        _all(
            _set_pod_context(windowsOptions={"hostProcess": True}),
            _set_app(windowsOptions={"hostProcess": True}),
        ),
        "windowsHostProcess",
        'hostProcess (pod and container "app" must not set '
        "securityContext.windowsOptions.hostProcess=true)",
    ),
    (
        "v1.34",
        "probe and lifecycle hosts",
        lambda pod: pod["spec"]["initContainers"][0].update(
            readinessProbe={"httpGet": {"host": "10.0.0.1", "port": 80}},
            lifecycle={"preStop": {"tcpSocket": {"host": "node.local", "port": 22}}},
        ),
        "hostProbesAndHostLifecycle",
        'probe or lifecycle host (container "init" uses probe or lifecycle hosts '
        '"10.0.0.1", "node.local")',
    ),
]


@pytest.mark.parametrize(
    ("version", "mutate", "control", "detail"),
    [case[:1] + case[2:] for case in BASELINE_CASES],
    ids=[case[1] for case in BASELINE_CASES],
)
def test_baseline_control_denies(version: str, mutate: Mutation, control: str, detail: str) -> None:
    pod = restricted_pod()
    mutate(pod)
    result = evaluate(pod, "baseline", version)
    assert result.violations == (Violation(control, detail),)


BASELINE_ALLOWED: list[tuple[str, str, Mutation]] = [
    ("v1.0", "default capability", _set_app(capabilities={"add": ["NET_BIND_SERVICE", "KILL"]})),
    (
        "v1.0",
        "localhost AppArmor",
        _annotate("container.apparmor.security.beta.kubernetes.io/app", "localhost/custom"),
    ),
    ("v1.0", "runtime AppArmor field", _set_app(appArmorProfile={"type": "RuntimeDefault"})),
    (
        "v1.31",
        "container_engine_t from 1.31",
        _set_app(seLinuxOptions={"type": "container_engine_t"}),
    ),
    ("v1.0", "default procMount", _set_app(procMount="Default")),
    (
        "v1.35",
        "procMount in a user namespace from 1.35",
        _UNMASKED_IN_USER_NAMESPACE,
    ),
    (
        "v1.18",
        "seccomp field is ignored before 1.19",
        _set_app(seccompProfile={"type": "Unconfined"}),
    ),
    (
        "v1.19",
        "seccomp annotation is ignored from 1.19",
        _annotate("seccomp.security.alpha.kubernetes.io/pod", "unconfined"),
    ),
    (
        "v1.18",
        "docker/default seccomp annotation",
        _annotate("container.seccomp.security.alpha.kubernetes.io/app", "docker/default"),
    ),
    (
        "v1.37",
        "sysctls on the 1.37 safe list",
        _set_pod_context(
            sysctls=[
                {"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"},
                {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 16777216"},
            ]
        ),
    ),
    (
        "v1.0",
        "hostPort zero",
        _add_container({"name": "x", "ports": [{"containerPort": 80, "hostPort": 0}]}),
    ),
    (
        "v1.33",
        "probe host before 1.34",
        _add_container({"name": "x", "startupProbe": {"tcpSocket": {"host": "10.0.0.1"}}}),
    ),
    (
        "v1.34",
        "empty probe host",
        _add_container({"name": "x", "livenessProbe": {"httpGet": {"host": "", "port": 80}}}),
    ),
]


@pytest.mark.parametrize(
    ("version", "mutate"),
    [(case[0], case[2]) for case in BASELINE_ALLOWED],
    ids=[case[1] for case in BASELINE_ALLOWED],
)
def test_baseline_allows(version: str, mutate: Mutation) -> None:
    pod = restricted_pod()
    mutate(pod)
    assert evaluate(pod, "baseline", version).violations == ()


# --- restricted controls ----------------------------------------------------------------------

RESTRICTED_CASES: list[tuple[str, str, Mutation, str, str]] = [
    (
        "v1.0",
        "hostPath is reported as a restricted volume",
        _set_spec(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}]),
        "restrictedVolumes",
        'restricted volume types (volume "logs" uses restricted volume type "hostPath")',
    ),
    (
        "v1.0",
        "network volumes",
        _set_spec(
            volumes=[
                {"name": "a", "nfs": {"server": "nas", "path": "/"}},
                {"name": "b", "configMap": {"name": "cfg"}},
                {"name": "c", "iscsi": {"targetPortal": "t", "iqn": "i", "lun": 0}},
            ]
        ),
        "restrictedVolumes",
        'restricted volume types (volumes "a", "c" use restricted volume types "iscsi", "nfs")',
    ),
    (
        "v1.8",
        "privilege escalation",
        _unset_app("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
        'allowPrivilegeEscalation != false (container "app" must set '
        "securityContext.allowPrivilegeEscalation=false)",
    ),
    (
        "v1.0",
        "runAsNonRoot false",
        _set_app(runAsNonRoot=False),
        "runAsNonRoot",
        'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)',
    ),
    (
        "v1.0",
        "runAsNonRoot unset",
        _unset_pod_context("runAsNonRoot"),
        "runAsNonRoot",
        'runAsNonRoot != true (pod or containers "init", "app" must set '
        "securityContext.runAsNonRoot=true)",
    ),
    (
        "v1.34",
        "runAsNonRoot in a user namespace before 1.35",
        _all(_set_pod_context(runAsNonRoot=False), _set_spec(hostUsers=False)),
        "runAsNonRoot",
        "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)",
    ),
    (
        "v1.23",
        "runAsUser 0",
        _all(_set_pod_context(runAsUser=0), _set_app(runAsUser=0)),
        "runAsUser",
        'runAsUser=0 (pod and container "app" must not set runAsUser=0)',
    ),
    (
        "v1.19",
        "seccomp unset",
        _unset_pod_context("seccompProfile"),
        "seccompProfile_restricted",
        'seccompProfile (pod or containers "init", "app" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    ),
    (
        "v1.19",
        "seccomp unconfined replaces the baseline check",
        _set_app(seccompProfile={"type": "Unconfined"}),
        "seccompProfile_restricted",
        'seccompProfile (container "app" must not set securityContext.seccompProfile.type to '
        '"Unconfined")',
    ),
    (
        "v1.22",
        "capabilities not dropped and added",
        _set_app(capabilities={"drop": ["NET_RAW"], "add": ["NET_BIND_SERVICE", "NET_ADMIN"]}),
        "capabilities_restricted",
        'unrestricted capabilities (container "app" must set '
        'securityContext.capabilities.drop=["ALL"]; container "app" must not include '
        '"NET_ADMIN" in securityContext.capabilities.add)',
    ),
    (
        "v1.21",
        "capabilities before the restricted check exists",
        _set_app(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}),
        "capabilities_baseline",
        'non-default capabilities (container "app" must not include "NET_ADMIN" '
        "in securityContext.capabilities.add)",
    ),
    (
        "v1.35",
        "procMount in a user namespace is still denied",
        _UNMASKED_IN_USER_NAMESPACE,
        "procMount_restricted",
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
    ),
    (
        "v1.24",
        "Windows pods are checked before 1.25",
        _all(_set_spec(os={"name": "windows"}), _clear_container_contexts),
        "allowPrivilegeEscalation",
        'allowPrivilegeEscalation != false (containers "init", "app" must set '
        "securityContext.allowPrivilegeEscalation=false)",
    ),
]


@pytest.mark.parametrize(
    ("version", "mutate", "control", "detail"),
    [case[:1] + case[2:] for case in RESTRICTED_CASES],
    ids=[case[1] for case in RESTRICTED_CASES],
)
def test_restricted_control_denies(
    version: str, mutate: Mutation, control: str, detail: str
) -> None:
    pod = restricted_pod()
    mutate(pod)
    result = evaluate(pod, "restricted", version)
    assert not result.allowed
    assert details(result)[control] == detail


RESTRICTED_ALLOWED: list[tuple[str, str, Mutation]] = [
    (
        "v1.0",
        "allowed volume types",
        _set_spec(
            volumes=[
                {"name": "a", "emptyDir": {}},
                {"name": "b", "projected": {"sources": []}},
                {"name": "c", "image": {"reference": "example.com/data:1"}},
                {"name": "d", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                {"name": "e", "csi": {"driver": "secrets-store"}},
                {"name": "f"},
            ]
        ),
    ),
    (
        "v1.0",
        "containers opt in to runAsNonRoot",
        _all(
            _unset_pod_context("runAsNonRoot"),
            _set_app(runAsNonRoot=True),
            lambda pod: pod["spec"]["initContainers"][0]["securityContext"].update(
                runAsNonRoot=True
            ),
        ),
    ),
    ("v1.22", "runAsUser 0 before the check exists", _set_pod_context(runAsUser=0)),
    ("v1.23", "non-root user id", _set_app(runAsUser=1000)),
    (
        "v1.35",
        "runAsNonRoot and runAsUser relaxed in a user namespace",
        _all(_set_pod_context(runAsNonRoot=False, runAsUser=0), _set_spec(hostUsers=False)),
    ),
    (
        "v1.7",
        "privilege escalation before 1.8",
        _unset_app("allowPrivilegeEscalation"),
    ),
    (
        "v1.18",
        "seccomp unset before 1.19",
        _unset_pod_context("seccompProfile"),
    ),
    (
        "v1.22",
        "NET_BIND_SERVICE may be added",
        _set_app(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}),
    ),
    (
        "v1.25",
        "Windows pods skip the Linux-only checks from 1.25",
        _all(
            _set_spec(os={"name": "windows"}),
            _clear_container_contexts,
            _unset_pod_context("seccompProfile"),
        ),
    ),
]


@pytest.mark.parametrize(
    ("version", "mutate"),
    [(case[0], case[2]) for case in RESTRICTED_ALLOWED],
    ids=[case[1] for case in RESTRICTED_ALLOWED],
)
def test_restricted_allows(version: str, mutate: Mutation) -> None:
    pod = restricted_pod()
    mutate(pod)
    assert evaluate(pod, "restricted", version).violations == ()


def test_restricted_reports_the_replacing_check_not_the_baseline_one() -> None:
    pod = restricted_pod(volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    app(pod).update(
        procMount="Unmasked",
        seccompProfile={"type": "Unconfined"},
        capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]},
    )
    reported = set(details(evaluate(pod, "restricted", "latest")))
    assert reported == {
        "restrictedVolumes",
        "procMount_restricted",
        "seccompProfile_restricted",
        "capabilities_restricted",
    }
    assert set(details(evaluate(pod, "baseline", "latest"))) == {
        "hostPathVolumes",
        "procMount",
        "seccompProfile_baseline",
        "capabilities_baseline",
    }


def test_evaluation_does_not_modify_the_object() -> None:
    pod = restricted_pod(hostNetwork=True)
    before = copy.deepcopy(pod)
    evaluate(pod, "restricted", "latest")
    assert pod == before
