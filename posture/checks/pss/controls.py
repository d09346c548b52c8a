"""The Pod Security Standards controls, one function per upstream check revision.

Each function reads one pod (``PodView``) and returns ``None`` when the pod is allowed, or the
upstream forbidden reason and detail. The behaviour, the revision versions and the wording follow
the Kubernetes Pod Security Admission library (``k8s.io/pod-security-admission/policy``), so a
denial here reads like the message an API server would send.

``CHECKS`` declares every check once: its id, its level and its revisions (the first policy minor
each revision applies to, and the baseline checks it overrides at the restricted level).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

KubeMap = Mapping[str, Any]
Denial = tuple[str, str]
CheckFn = Callable[["PodView"], Denial | None]
CheckLevel = Literal["baseline", "restricted"]

_EMPTY: Final[KubeMap] = MappingProxyType({})


class PodView:
    """The parts of one pod that the checks read, looked up once per evaluation.

    ``containers`` holds init, regular and ephemeral containers in that order, as upstream visits
    them; ``contexts`` pairs each container's name with its security context (empty when unset).
    ``fields`` holds the fields some check reads (``Revision.reads``) that the pod sets in its
    spec, its security context, a container or a container's security context (``ANNOTATIONS``
    when it has annotations), so that checks whose fields are all absent can be skipped. It is
    None when some part is not a plain dict, and then every check runs (and raises on the
    malformed part exactly as it would have).
    """

    __slots__ = (
        "annotations",
        "containers",
        "contexts",
        "fields",
        "security_context",
        "spec",
        "user_namespace",
        "windows",
    )

    def __init__(self, metadata: KubeMap, spec: KubeMap) -> None:
        self.annotations: KubeMap = metadata.get("annotations") or _EMPTY
        self.spec = spec
        pod_context: KubeMap = spec.get("securityContext") or _EMPTY
        self.security_context = pod_context
        self.containers: tuple[KubeMap, ...] = (
            *(spec.get("initContainers") or ()),
            *(spec.get("containers") or ()),
            *(spec.get("ephemeralContainers") or ()),
        )
        plain = type(spec) is dict and (pod_context is _EMPTY or type(pod_context) is dict)
        fields: set[Any] | None = {*spec, *pod_context} if plain else None
        contexts = []
        for c in self.containers:
            context = (c.get("name", ""), c.get("securityContext") or _EMPTY)
            contexts.append(context)
            if fields is not None:
                if type(c) is dict and (context[1] is _EMPTY or type(context[1]) is dict):
                    fields.update(c)
                    fields.update(context[1])
                else:
                    fields = None
        self.contexts: tuple[tuple[Any, KubeMap], ...] = tuple(contexts)
        self.windows: bool = (spec.get("os") or _EMPTY).get("name") == "windows"
        self.user_namespace: bool = spec.get("hostUsers") is False
        self.fields: frozenset[Any] | None = None
        if fields is not None:
            if self.annotations:
                fields.add(ANNOTATIONS)
            self.fields = TRIGGERS.intersection(fields)


# A token for "the pod has annotations" in ``PodView.fields``; no Kubernetes field has this name,
# and a collision would only make a check run that could have been skipped.
ANNOTATIONS: Final = "metadata.annotations"


# --- wording helpers (upstream's joinQuote / pluralize) ---------------------------------------


def _join_quote(items: Iterable[Any]) -> str:
    """Return items as ``"a", "b"`` without escaping, as upstream does."""
    return ", ".join([f'"{item}"' for item in items])


def _plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _containers(names: Sequence[Any]) -> str:
    # _join_quote without a comprehension: it words nearly every denial. str(name) is what an
    # f-string would give for any name a manifest can hold.
    quoted = '"' + '", "'.join(map(str, names)) + '"' if names else ""
    return f"container {quoted}" if len(names) == 1 else f"containers {quoted}"


def _go_quote(value: Any) -> str:
    """Return a double-quoted, escaped string like Go's ``%q``."""
    return json.dumps(str(value), ensure_ascii=False)


# --- baseline ---------------------------------------------------------------------------------


def privileged_1_0(pod: PodView) -> Denial | None:
    """Forbid privileged containers."""
    bad = []
    for name, sc in pod.contexts:
        if sc.get("privileged") is True:
            bad.append(name)
    if not bad:
        return None
    return "privileged", f"{_containers(bad)} must not set securityContext.privileged=true"


def host_namespaces_1_0(pod: PodView) -> Denial | None:
    """Forbid sharing the host's network, PID or IPC namespace."""
    spec = pod.spec
    shared = [
        f"{field}=true"
        for field in ("hostNetwork", "hostPID", "hostIPC")
        if spec.get(field) is True
    ]
    if not shared:
        return None
    return "host namespaces", ", ".join(shared)


def host_ports_1_0(pod: PodView) -> Denial | None:
    """Forbid host ports on every container."""
    bad: list[Any] = []
    ports: set[str] = set()
    for container in pod.containers:
        uses = False
        for port in container.get("ports") or ():
            host_port = port.get("hostPort")
            if host_port not in (None, 0):
                uses = True
                ports.add(str(host_port))
        if uses:
            bad.append(container.get("name", ""))
    if not bad:
        return None
    # Upstream lists the ports as sorted strings, so "8080" sorts before "80801" and "9".
    return "hostPort", (
        f"{_containers(bad)} {_plural('uses', 'use', len(bad))} "
        f"{_plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}"
    )


def host_path_volumes_1_0(pod: PodView) -> Denial | None:
    """Forbid hostPath volumes."""
    bad = [
        volume.get("name", "")
        for volume in pod.spec.get("volumes") or ()
        if volume.get("hostPath") is not None
    ]
    if not bad:
        return None
    return "hostPath volumes", f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)}"


_BASELINE_CAPABILITIES: Final = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def capabilities_baseline_1_0(pod: PodView) -> Denial | None:
    """Forbid adding capabilities beyond the container runtime's default set."""
    bad: list[Any] = []
    added: set[str] = set()
    for name, sc in pod.contexts:
        capabilities = sc.get("capabilities")
        if capabilities is None:
            continue
        added_here = capabilities.get("add")
        if not added_here:
            continue
        extra = [c for c in added_here if c not in _BASELINE_CAPABILITIES]
        if extra:
            bad.append(name)
            added.update(str(c) for c in extra)
    if not bad:
        return None
    return "non-default capabilities", (
        f"{_containers(bad)} must not include {_join_quote(sorted(added))} "
        "in securityContext.capabilities.add"
    )


_APPARMOR_ANNOTATION_PREFIX: Final = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def app_armor_profile_1_0(pod: PodView) -> Denial | None:
    """Forbid an unconfined AppArmor profile, in the field (pod, containers) or the annotation."""
    setters: list[str] = []
    values: set[str] = set()
    profile = pod.security_context.get("appArmorProfile")
    if profile is not None and profile.get("type") not in _APPARMOR_TYPES:
        setters.append("pod")
        values.add(str(profile.get("type") or ""))
    bad: list[Any] = []
    for name, sc in pod.contexts:
        profile = sc.get("appArmorProfile")
        if profile is not None and profile.get("type") not in _APPARMOR_TYPES:
            bad.append(name)
            values.add(str(profile.get("type") or ""))
    if bad:
        setters.append(_containers(bad))
    annotations = sorted(
        f"{key}={_go_quote(value)}"
        for key, value in pod.annotations.items()
        if key.startswith(_APPARMOR_ANNOTATION_PREFIX)
        and value
        and value != "runtime/default"
        and not value.startswith("localhost/")
    )
    if annotations:
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    listed = [*sorted(values), *annotations]
    return _plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed)), (
        f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(listed)}"
    )


def _se_linux_options(allowed_types: frozenset[str]) -> CheckFn:
    def check(pod: PodView) -> Denial | None:
        pod_options = pod.security_context.get("seLinuxOptions")
        found = [
            (name, sc["seLinuxOptions"])
            for name, sc in pod.contexts
            if sc.get("seLinuxOptions") is not None
        ]
        if pod_options is None and not found:
            return None
        types: set[str] = set()
        user = role = False

        def valid(options: KubeMap) -> bool:
            nonlocal user, role
            kind = options.get("type") or ""
            if kind not in allowed_types:
                types.add(str(kind))
            if options.get("user"):
                user = True
            if options.get("role"):
                role = True
            return kind in allowed_types and not options.get("user") and not options.get("role")

        setters: list[str] = []
        if pod_options is not None and not valid(pod_options):
            setters.append("pod")
        bad = [name for name, options in found if not valid(options)]
        if bad:
            setters.append(_containers(bad))
        if not setters:
            return None
        problems = []
        if types:
            problems.append(f"{_plural('type', 'types', len(types))} {_join_quote(sorted(types))}")
        if user:
            problems.append("user may not be set")
        if role:
            problems.append("role may not be set")
        return "seLinuxOptions", (
            f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: "
            f"{'; '.join(problems)}"
        )

    return check


_SELINUX_TYPES_1_0: Final = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
se_linux_options_1_0 = _se_linux_options(_SELINUX_TYPES_1_0)
se_linux_options_1_31 = _se_linux_options(_SELINUX_TYPES_1_0 | {"container_engine_t"})


def proc_mount_1_0(pod: PodView) -> Denial | None:
    """Require the default /proc masks on every container."""
    bad: list[Any] = []
    kinds: set[str] = set()
    for name, sc in pod.contexts:
        proc_mount = sc.get("procMount")
        if proc_mount is not None and proc_mount != "Default":
            bad.append(name)
            kinds.add(str(proc_mount))
    if not bad:
        return None
    return "procMount", (
        f"{_containers(bad)} must not set securityContext.procMount to {_join_quote(sorted(kinds))}"
    )


def proc_mount_1_35_baseline(pod: PodView) -> Denial | None:
    """Require the default /proc masks, unless the pod runs in a user namespace."""
    if pod.user_namespace:
        return None
    return proc_mount_1_0(pod)


_SECCOMP_POD_ANNOTATION: Final = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION_PREFIX: Final = "container.seccomp.security.alpha.kubernetes.io/"
_SECCOMP_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def _seccomp_annotation_allowed(value: Any) -> bool:
    return value in ("runtime/default", "docker/default") or (
        isinstance(value, str) and value.startswith("localhost/")
    )


def seccomp_profile_baseline_1_0(pod: PodView) -> Denial | None:
    """Forbid an unconfined seccomp profile in the alpha annotations (policy before 1.19)."""
    annotations = pod.annotations
    if not annotations:
        return None
    keys = [_SECCOMP_POD_ANNOTATION]
    keys.extend(f"{_SECCOMP_CONTAINER_ANNOTATION_PREFIX}{name}" for name, _ in pod.contexts)
    forbidden = {
        f"{key}={_go_quote(annotations[key])}"
        for key in keys
        if key in annotations and not _seccomp_annotation_allowed(annotations[key])
    }
    if not forbidden:
        return None
    return "seccompProfile", (
        f"forbidden {_plural('annotation', 'annotations', len(forbidden))} "
        f"{', '.join(sorted(forbidden))}"
    )


def _explicit_seccomp(pod: PodView) -> tuple[list[str], set[str], list[Any]]:
    """Return who sets a bad seccomp type, the bad types, and the containers that set none."""
    setters: list[str] = []
    values: set[str] = set()
    pod_set = False
    profile = pod.security_context.get("seccompProfile")
    if profile is not None:
        if profile.get("type") in _SECCOMP_TYPES:
            pod_set = True
        else:
            setters.append("pod")
            values.add(str(profile.get("type") or ""))
    bad: list[Any] = []
    unset: list[Any] = []
    for name, sc in pod.contexts:
        profile = sc.get("seccompProfile")
        if profile is None:
            if not pod_set:
                unset.append(name)
        elif profile.get("type") not in _SECCOMP_TYPES:
            bad.append(name)
            values.add(str(profile.get("type") or ""))
    if bad:
        setters.append(_containers(bad))
    return setters, values, unset


def _seccomp_denial(setters: list[str], values: set[str]) -> Denial:
    return "seccompProfile", (
        f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
        f"{_join_quote(sorted(values))}"
    )


def seccomp_profile_baseline_1_19(pod: PodView) -> Denial | None:
    """Forbid an unconfined seccomp profile in the securityContext field."""
    setters, values, _ = _explicit_seccomp(pod)
    return _seccomp_denial(setters, values) if setters else None


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(pod: PodView) -> Denial | None:
        forbidden = [
            str(sysctl.get("name"))
            for sysctl in pod.security_context.get("sysctls") or ()
            if sysctl.get("name") not in allowed
        ]
        if not forbidden:
            return None
        return "forbidden sysctls", ", ".join(forbidden)

    return check


_SYSCTLS_1_0: Final = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
_SYSCTLS_1_27: Final = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29: Final = _SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
_SYSCTLS_1_32: Final = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
_SYSCTLS_1_37: Final = _SYSCTLS_1_32 | {
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
}
sysctls_1_0 = _sysctls(_SYSCTLS_1_0)
sysctls_1_27 = _sysctls(_SYSCTLS_1_27)
sysctls_1_29 = _sysctls(_SYSCTLS_1_29)
sysctls_1_32 = _sysctls(_SYSCTLS_1_32)
sysctls_1_37 = _sysctls(_SYSCTLS_1_37)


def windows_host_process_1_0(pod: PodView) -> Denial | None:
    """Forbid Windows HostProcess pods and containers."""
    setters: list[str] = []
    if (pod.security_context.get("windowsOptions") or _EMPTY).get("hostProcess") is True:
        setters.append("pod")
    bad = [
        name
        for name, sc in pod.contexts
        if (sc.get("windowsOptions") or _EMPTY).get("hostProcess") is True
    ]
    if bad:
        setters.append(_containers(bad))
    if not setters:
        return None
    return "hostProcess", (
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"
    )


def _add_hosts(handler: KubeMap | None, found: list[Any]) -> None:
    if handler:
        for action in (handler.get("httpGet"), handler.get("tcpSocket")):
            if action and action.get("host"):
                found.append(action["host"])


def host_probes_and_host_lifecycle_1_34(pod: PodView) -> Denial | None:
    """Forbid a host on probes and lifecycle handlers, which would reach the node's network."""
    bad: set[str] = set()
    hosts: set[str] = set()
    for container in pod.containers:
        found: list[Any] = []
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            # _add_hosts written out: most containers have probes, and a call per probe would
            # double the cost of this check.
            handler = container.get(probe)
            if handler:
                for action in (handler.get("httpGet"), handler.get("tcpSocket")):
                    if action and action.get("host"):
                        found.append(action["host"])
        lifecycle = container.get("lifecycle")
        if lifecycle:
            _add_hosts(lifecycle.get("postStart"), found)
            _add_hosts(lifecycle.get("preStop"), found)
        if found:
            bad.add(str(container.get("name", "")))
            hosts.update(str(host) for host in found)
    if not bad:
        return None
    return "probe or lifecycle host", (
        f"{_containers(sorted(bad))} {_plural('uses', 'use', len(bad))} "
        f"{_plural('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{_join_quote(sorted(hosts))}"
    )


# --- restricted -------------------------------------------------------------------------------

_ALLOWED_VOLUME_SOURCES: Final = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
# In upstream's order of precedence, for the rare volume that sets several sources.
_RESTRICTED_VOLUME_SOURCES: Final = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)


def _restricted_volume_type(volume: KubeMap) -> str | None:
    """Return the restricted source a volume uses, or None when it is allowed.

    A volume that names no source at all is allowed: the API server defaults it to ``emptyDir``
    before admission, so upstream never sees it sourceless.
    """
    has_source = False
    for key, value in volume.items():
        if value is not None and key != "name":
            if key in _ALLOWED_VOLUME_SOURCES:
                return None
            has_source = True
    if not has_source:
        return None
    for key in _RESTRICTED_VOLUME_SOURCES:
        if volume.get(key) is not None:
            return key
    return None


def restricted_volumes_1_0(pod: PodView) -> Denial | None:
    """Allow only volume types that do not reach the node or the network directly."""
    bad: list[Any] = []
    types: set[str] = set()
    for volume in pod.spec.get("volumes") or ():
        kind = _restricted_volume_type(volume)
        if kind is not None:
            bad.append(volume.get("name", ""))
            types.add(kind)
    if not bad:
        return None
    return "restricted volume types", (
        f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)} "
        f"{_plural('uses', 'use', len(bad))} "
        f"{_plural('restricted volume type', 'restricted volume types', len(types))} "
        f"{_join_quote(sorted(types))}"
    )


def allow_privilege_escalation_1_8(pod: PodView) -> Denial | None:
    """Require allowPrivilegeEscalation=false on every container."""
    bad = []
    for name, sc in pod.contexts:
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(name)
    if not bad:
        return None
    return "allowPrivilegeEscalation != false", (
        f"{_containers(bad)} must set securityContext.allowPrivilegeEscalation=false"
    )


def allow_privilege_escalation_1_25(pod: PodView) -> Denial | None:
    """Require allowPrivilegeEscalation=false, except on Windows pods."""
    return None if pod.windows else allow_privilege_escalation_1_8(pod)


def run_as_non_root_1_0(pod: PodView) -> Denial | None:
    """Require runAsNonRoot=true on the pod or on every container."""
    setters: list[str] = []
    pod_value = pod.security_context.get("runAsNonRoot")
    if pod_value is not None and pod_value is not True:
        setters.append("pod")
    pod_non_root = pod_value is True
    bad: list[Any] = []
    unset: list[Any] = []
    for name, sc in pod.contexts:
        value = sc.get("runAsNonRoot")
        if value is None:
            if not pod_non_root:
                unset.append(name)
        elif value is not True:
            bad.append(name)
    if bad:
        setters.append(_containers(bad))
    if setters:
        return "runAsNonRoot != true", (
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
        )
    if unset:
        return "runAsNonRoot != true", (
            f"pod or {_containers(unset)} must set securityContext.runAsNonRoot=true"
        )
    return None


def run_as_non_root_1_35(pod: PodView) -> Denial | None:
    """Require runAsNonRoot=true, unless the pod runs in a user namespace."""
    return None if pod.user_namespace else run_as_non_root_1_0(pod)


def _is_root(value: Any) -> bool:
    # False == 0 in Python; a boolean is not a user id.
    return value == 0 and value is not False


def run_as_user_1_23(pod: PodView) -> Denial | None:
    """Forbid runAsUser=0 on the pod and on every container."""
    setters: list[str] = []
    if _is_root(pod.security_context.get("runAsUser")):
        setters.append("pod")
    bad = []
    for name, sc in pod.contexts:
        user = sc.get("runAsUser")
        # _is_root written out: this runs for every container that sets a user.
        if user == 0 and user is not False:
            bad.append(name)
    if bad:
        setters.append(_containers(bad))
    if not setters:
        return None
    return "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0"


def run_as_user_1_35(pod: PodView) -> Denial | None:
    """Forbid runAsUser=0, unless the pod runs in a user namespace."""
    return None if pod.user_namespace else run_as_user_1_23(pod)


def seccomp_profile_restricted_1_19(pod: PodView) -> Denial | None:
    """Require RuntimeDefault or Localhost seccomp on the pod or on every container."""
    setters, values, unset = _explicit_seccomp(pod)
    if setters:
        return _seccomp_denial(setters, values)
    if unset:
        return "seccompProfile", (
            f"pod or {_containers(unset)} must set securityContext.seccompProfile.type to "
            '"RuntimeDefault" or "Localhost"'
        )
    return None


def seccomp_profile_restricted_1_25(pod: PodView) -> Denial | None:
    """Require a confining seccomp profile, except on Windows pods."""
    return None if pod.windows else seccomp_profile_restricted_1_19(pod)


def capabilities_restricted_1_22(pod: PodView) -> Denial | None:
    """Require dropping ALL capabilities and adding none but NET_BIND_SERVICE."""
    missing_drop: list[Any] = []
    adding: list[Any] = []
    added: set[str] = set()
    for name, sc in pod.contexts:
        capabilities = sc.get("capabilities")
        if capabilities is None:
            missing_drop.append(name)
            continue
        if "ALL" not in (capabilities.get("drop") or ()):
            missing_drop.append(name)
        added_here = capabilities.get("add")
        if not added_here:
            continue
        extra = [c for c in added_here if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(name)
            added.update(str(c) for c in extra)
    details = []
    if missing_drop:
        details.append(
            f'{_containers(missing_drop)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_containers(adding)} must not include {_join_quote(sorted(added))} "
            "in securityContext.capabilities.add"
        )
    if not details:
        return None
    return "unrestricted capabilities", "; ".join(details)


def capabilities_restricted_1_25(pod: PodView) -> Denial | None:
    """Require dropping ALL capabilities, except on Windows pods."""
    return None if pod.windows else capabilities_restricted_1_22(pod)


# --- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of a check: from policy ``v1.<since>`` on, until the next revision.

    ``reads`` names the fields (keys of the spec, of a container, or of a pod or container
    security context; ``ANNOTATIONS`` for the pod's annotations) without which the check always
    allows the pod; None means it can deny a pod that sets none of them (a field it requires).
    """

    since: int
    check: CheckFn
    reads: frozenset[str] | None
    overrides: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Check:
    """A Pod Security Standards control with its revisions, oldest first."""

    id: str
    level: CheckLevel
    revisions: tuple[Revision, ...]


def _reads(*fields: str) -> frozenset[str]:
    return frozenset(fields)


def _overrides(*checks: str) -> frozenset[str]:
    return frozenset(checks)


# Checks that deny a pod unless it sets a field run on every pod (``reads`` None).
_ALWAYS = None

CHECKS: Final[tuple[Check, ...]] = (
    Check(
        "appArmorProfile",
        "baseline",
        (Revision(0, app_armor_profile_1_0, _reads("appArmorProfile", ANNOTATIONS)),),
    ),
    Check(
        "capabilities_baseline",
        "baseline",
        (Revision(0, capabilities_baseline_1_0, _reads("capabilities")),),
    ),
    Check(
        "hostNamespaces",
        "baseline",
        (Revision(0, host_namespaces_1_0, _reads("hostNetwork", "hostPID", "hostIPC")),),
    ),
    Check("hostPathVolumes", "baseline", (Revision(0, host_path_volumes_1_0, _reads("volumes")),)),
    Check("hostPorts", "baseline", (Revision(0, host_ports_1_0, _reads("ports")),)),
    Check(
        "hostProbesAndHostLifecycle",
        "baseline",
        (
            Revision(
                34,
                host_probes_and_host_lifecycle_1_34,
                _reads("livenessProbe", "readinessProbe", "startupProbe", "lifecycle"),
            ),
        ),
    ),
    Check("privileged", "baseline", (Revision(0, privileged_1_0, _reads("privileged")),)),
    Check(
        "procMount",
        "baseline",
        (
            Revision(0, proc_mount_1_0, _reads("procMount")),
            Revision(35, proc_mount_1_35_baseline, _reads("procMount")),
        ),
    ),
    Check(
        "seLinuxOptions",
        "baseline",
        (
            Revision(0, se_linux_options_1_0, _reads("seLinuxOptions")),
            Revision(31, se_linux_options_1_31, _reads("seLinuxOptions")),
        ),
    ),
    Check(
        "seccompProfile_baseline",
        "baseline",
        (
            Revision(0, seccomp_profile_baseline_1_0, _reads(ANNOTATIONS)),
            Revision(19, seccomp_profile_baseline_1_19, _reads("seccompProfile")),
        ),
    ),
    Check(
        "sysctls",
        "baseline",
        (
            Revision(0, sysctls_1_0, _reads("sysctls")),
            Revision(27, sysctls_1_27, _reads("sysctls")),
            Revision(29, sysctls_1_29, _reads("sysctls")),
            Revision(32, sysctls_1_32, _reads("sysctls")),
            Revision(37, sysctls_1_37, _reads("sysctls")),
        ),
    ),
    Check(
        "windowsHostProcess",
        "baseline",
        (Revision(0, windows_host_process_1_0, _reads("windowsOptions")),),
    ),
    Check(
        "allowPrivilegeEscalation",
        "restricted",
        (
            Revision(8, allow_privilege_escalation_1_8, _ALWAYS),
            Revision(25, allow_privilege_escalation_1_25, _ALWAYS),
        ),
    ),
    Check(
        "capabilities_restricted",
        "restricted",
        (
            Revision(
                22, capabilities_restricted_1_22, _ALWAYS, _overrides("capabilities_baseline")
            ),
            Revision(
                25, capabilities_restricted_1_25, _ALWAYS, _overrides("capabilities_baseline")
            ),
        ),
    ),
    Check(
        "procMount_restricted",
        "restricted",
        (Revision(35, proc_mount_1_0, _reads("procMount"), _overrides("procMount")),),
    ),
    Check(
        "restrictedVolumes",
        "restricted",
        (Revision(0, restricted_volumes_1_0, _reads("volumes"), _overrides("hostPathVolumes")),),
    ),
    Check(
        "runAsNonRoot",
        "restricted",
        (
            Revision(0, run_as_non_root_1_0, _ALWAYS),
            Revision(35, run_as_non_root_1_35, _ALWAYS),
        ),
    ),
    Check(
        "runAsUser",
        "restricted",
        (
            Revision(23, run_as_user_1_23, _reads("runAsUser")),
            Revision(35, run_as_user_1_35, _reads("runAsUser")),
        ),
    ),
    Check(
        "seccompProfile_restricted",
        "restricted",
        (
            Revision(
                19, seccomp_profile_restricted_1_19, _ALWAYS, _overrides("seccompProfile_baseline")
            ),
            Revision(
                25, seccomp_profile_restricted_1_25, _ALWAYS, _overrides("seccompProfile_baseline")
            ),
        ),
    ),
)

# Every field some check reads: the only ones ``PodView.fields`` needs to keep.
TRIGGERS: Final[frozenset[str]] = frozenset(
    field
    for check in CHECKS
    for revision in check.revisions
    if revision.reads is not None
    for field in revision.reads
)
