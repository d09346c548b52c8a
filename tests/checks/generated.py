"""A seeded, varied cluster for comparing the engine's findings with a recorded reference.

Every pod template mixes fields that the workload, image and Pod Security Standards checks read
(privileged, capabilities, seccomp and AppArmor in fields and annotations, SELinux, procMount,
sysctls, host namespaces, ports and probes, volumes, Windows, user namespaces, run-as settings,
limits, images in every reference form), some of them with wrong types. Templates are shared
between workloads, workload identities repeat, and namespaces enforce assorted levels and
versions, so the template cache, deduplication and sorting are exercised too.

The same seed gives the same inventory on every Python version: only ``random.Random`` methods
whose output is stable across versions are used.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from posture.checks import Policy
from posture.checks.inventory import Inventory
from posture.checks.vocabulary import Severity
from tests.checks.builders import DIGEST, inventory, namespace, node

SEED = 20261128
WORKLOADS = 600

# Policies the reference is recorded under: the default target, a baseline target, old and
# newer policy versions (different control revisions), and severity and disabling choices.
POLICIES: dict[str, Policy] = {
    "restricted-latest": Policy(approved_registries=("registry.example.com", "ghcr.io/acme")),
    "baseline-latest": Policy(pss_level="baseline"),
    "restricted-v1.24": Policy(pss_version="v1.24", approved_registries=("docker.io",)),
    "restricted-v1.34": Policy(
        pss_version="v1.34",
        disabled_checks=("image.not-pinned-by-digest",),
        severity_overrides={"workload.runs-as-root": Severity.HIGH},
    ),
    "baseline-v1.18": Policy(pss_level="baseline", pss_version="v1.18"),
}

_IMAGES = (
    "nginx",
    "nginx:latest",
    "nginx:1.27.3",
    f"nginx@{DIGEST}",
    f"registry.example.com/shop/web:1.2.3@{DIGEST}",
    "registry.example.com/shop/web:1.2.3",
    "registry.example.com/shop/web",
    "ghcr.io/acme/tool:v2",
    "ghcr.io/other/tool:latest",
    "localhost:5000/dev/app:0.1",
    "index.docker.io/library/redis:7",
    "quay.io/prometheus/node-exporter:v1.8.2",
    " docker.io/envoyproxy/envoy:v1.31.0 ",
    "",
    42,
)
_CAPABILITIES = ("NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN", "NET_RAW", "NET_ADMIN", "ALL", 7)
_SECCOMP = ("RuntimeDefault", "Localhost", "Unconfined", "", None)
_APPARMOR = ("RuntimeDefault", "Localhost", "Unconfined", "")
_SELINUX_TYPES = ("container_t", "container_init_t", "container_engine_t", "spc_t", "")
_SYSCTLS = (
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_slow_start_after_idle",
    "kernel.msgmax",
    "vm.swappiness",
)
_VOLUMES = (
    {"emptyDir": {}},
    {"configMap": {"name": "cfg"}},
    {"secret": {"secretName": "s"}},
    {"projected": {"sources": [{"serviceAccountToken": {}}]}},
    {"persistentVolumeClaim": {"claimName": "data"}},
    {"hostPath": {"path": "/var/run/docker.sock"}},
    {"nfs": {"server": "nfs.example.com", "path": "/"}},
    {"iscsi": {"targetPortal": "10.0.0.1"}},
    {"hostPath": {"path": "/"}, "emptyDir": {}},
    {},
)


def _maybe(rng: random.Random, chance: float) -> bool:
    return rng.random() < chance


def _security_context(rng: random.Random) -> Any:
    if _maybe(rng, 0.02):
        return rng.choice(("root", ["privileged"], 5))
    sc: dict[str, Any] = {}
    if _maybe(rng, 0.12):
        sc["privileged"] = rng.choice((True, False, "true"))
    if _maybe(rng, 0.6):
        sc["allowPrivilegeEscalation"] = rng.choice((False, False, True, None))
    if _maybe(rng, 0.6):
        caps: dict[str, Any] = {}
        if _maybe(rng, 0.8):
            caps["drop"] = rng.choice((["ALL"], ["ALL"], ["NET_RAW"], []))
        if _maybe(rng, 0.3):
            caps["add"] = rng.sample(_CAPABILITIES, rng.randint(1, 2))
        sc["capabilities"] = caps
    if _maybe(rng, 0.3):
        sc["runAsUser"] = rng.choice((0, 0, 1000, 65534, True))
    if _maybe(rng, 0.4):
        sc["runAsNonRoot"] = rng.choice((True, True, False))
    if _maybe(rng, 0.5):
        sc["readOnlyRootFilesystem"] = rng.choice((True, True, False, "yes"))
    if _maybe(rng, 0.2):
        sc["seccompProfile"] = {"type": rng.choice(_SECCOMP)}
    if _maybe(rng, 0.08):
        sc["seLinuxOptions"] = {"type": rng.choice(_SELINUX_TYPES)}
        if _maybe(rng, 0.3):
            sc["seLinuxOptions"]["user"] = "system_u"
        if _maybe(rng, 0.2):
            sc["seLinuxOptions"]["role"] = "sysadm_r"
    if _maybe(rng, 0.06):
        sc["procMount"] = rng.choice(("Unmasked", "Default"))
    if _maybe(rng, 0.04):
        sc["windowsOptions"] = {"hostProcess": rng.choice((True, False))}
    if _maybe(rng, 0.06):
        sc["appArmorProfile"] = {"type": rng.choice(_APPARMOR)}
    return sc


def _handler(rng: random.Random) -> dict[str, Any]:
    action: dict[str, Any] = {"port": 8080}
    if _maybe(rng, 0.1):
        action["host"] = rng.choice(("10.0.0.1", "metadata.google.internal", ""))
    return {rng.choice(("httpGet", "tcpSocket")): action}


def _container(rng: random.Random, name: str) -> Any:
    if _maybe(rng, 0.01):
        return rng.choice((None, "sidecar", 3))
    c: dict[str, Any] = {"name": name if not _maybe(rng, 0.01) else 9}
    if not _maybe(rng, 0.02):
        c["image"] = rng.choice(_IMAGES)
    if _maybe(rng, 0.5):
        c["imagePullPolicy"] = rng.choice(("Always", "IfNotPresent", "Never"))
    if _maybe(rng, 0.3):
        ports = [{"containerPort": 8080}]
        if _maybe(rng, 0.3):
            ports.append({"containerPort": 9090, "hostPort": rng.choice((9090, 0, 80))})
        c["ports"] = ports
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if _maybe(rng, 0.3):
            c[probe] = _handler(rng)
    if _maybe(rng, 0.1):
        c["lifecycle"] = {"preStop": _handler(rng), "postStart": _handler(rng)}
    if _maybe(rng, 0.85):
        limits = {}
        if _maybe(rng, 0.7):
            limits["cpu"] = "500m"
        if _maybe(rng, 0.8):
            limits["memory"] = rng.choice(("256Mi", ""))
        c["resources"] = {"limits": limits} if not _maybe(rng, 0.02) else {"limits": [1]}
    if _maybe(rng, 0.85):
        c["securityContext"] = _security_context(rng)
    if _maybe(rng, 0.3):
        c["env"] = [{"name": f"V{k}", "value": str(rng.randint(0, 9))} for k in range(3)]
    return c


def _pod_security_context(rng: random.Random) -> Any:
    if _maybe(rng, 0.02):
        return []
    sc: dict[str, Any] = {}
    if _maybe(rng, 0.5):
        sc["runAsNonRoot"] = rng.choice((True, True, False))
    if _maybe(rng, 0.2):
        sc["runAsUser"] = rng.choice((0, 1000))
    if _maybe(rng, 0.5):
        sc["seccompProfile"] = {"type": rng.choice(_SECCOMP)}
    if _maybe(rng, 0.1):
        sc["sysctls"] = [{"name": rng.choice(_SYSCTLS), "value": "1"} for _ in range(2)]
    if _maybe(rng, 0.05):
        sc["seLinuxOptions"] = {"type": rng.choice(_SELINUX_TYPES), "level": "s0:c1"}
    if _maybe(rng, 0.05):
        sc["appArmorProfile"] = {"type": rng.choice(_APPARMOR)}
    if _maybe(rng, 0.03):
        sc["windowsOptions"] = {"hostProcess": True}
    return sc


def _annotations(rng: random.Random, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"prometheus.io/scrape": "true"}
    for name in names:
        if _maybe(rng, 0.08):
            out[f"container.apparmor.security.beta.kubernetes.io/{name}"] = rng.choice(
                ("runtime/default", "unconfined", "localhost/custom", "")
            )
        if _maybe(rng, 0.06):
            out[f"container.seccomp.security.alpha.kubernetes.io/{name}"] = rng.choice(
                ("runtime/default", "unconfined", "docker/default", "localhost/p")
            )
    if _maybe(rng, 0.06):
        out["seccomp.security.alpha.kubernetes.io/pod"] = rng.choice(
            ("unconfined", "runtime/default")
        )
    return out


def _spec(rng: random.Random) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    names = ["app", "sidecar", "helper"][: rng.randint(1, 3)]
    if _maybe(rng, 0.03):
        names.append("app")  # two containers with one name
    spec["containers"] = [_container(rng, n) for n in names]
    if _maybe(rng, 0.2):
        spec["initContainers"] = [_container(rng, "init")]
    if _maybe(rng, 0.03):
        spec["ephemeralContainers"] = [_container(rng, "debug")]
    if _maybe(rng, 0.6):
        spec["securityContext"] = _pod_security_context(rng)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if _maybe(rng, 0.05):
            spec[field] = rng.choice((True, False))
    if _maybe(rng, 0.05):
        spec["hostUsers"] = rng.choice((False, True))
    if _maybe(rng, 0.05):
        spec["os"] = {"name": rng.choice(("windows", "Windows", "linux"))}
    if _maybe(rng, 0.5):
        count = rng.randint(1, 3)
        spec["volumes"] = [
            {"name": f"v{k}", **copy.deepcopy(rng.choice(_VOLUMES))} for k in range(count)
        ]
    if _maybe(rng, 0.5):
        spec["automountServiceAccountToken"] = rng.choice((True, False, False, "no"))
    if _maybe(rng, 0.7):
        spec["serviceAccountName"] = rng.choice(("default", "app", "reader", "ci"))
    return spec


def _template(rng: random.Random) -> Any:
    if _maybe(rng, 0.01):
        return rng.choice(("x", {"spec": "x"}, {"spec": {"containers": "x"}}))
    spec = _spec(rng)
    names = [c["name"] for c in spec["containers"] if isinstance(c, dict) and "name" in c]
    metadata: dict[str, Any] = {"labels": {"app": f"a{rng.randint(0, 30)}"}}
    if _maybe(rng, 0.5):
        metadata["annotations"] = _annotations(rng, [str(n) for n in names])
    return {"metadata": metadata, "spec": spec}


def _namespaces(rng: random.Random) -> list[dict[str, Any]]:
    out = [namespace(f"ns-{k}", level=None) for k in range(12)]
    levels = ("privileged", "baseline", "restricted", "strict-ish")
    versions = ("latest", "v1.22", "v1.25", "v1.30", "v9", None)
    for k in range(12, 24):
        ns = namespace(f"ns-{k}", level=rng.choice(levels))
        version = rng.choice(versions)
        if version is not None:
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] = version
        out.append(ns)
    out.append(namespace("kube-system", level=None))
    return out


def _network_policies(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for k in range(0, 24, 3):
        selector: dict[str, Any] = rng.choice(
            (
                {},
                {"matchLabels": {"app": f"a{rng.randint(0, 30)}"}},
                {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
            )
        )
        spec: dict[str, Any] = {"podSelector": selector}
        if _maybe(rng, 0.5):
            spec["policyTypes"] = ["Ingress"]
        out.append({"metadata": {"name": f"np-{k}", "namespace": f"ns-{k}"}, "spec": spec})
    return out


def generated_inventory(seed: int = SEED, workloads: int = WORKLOADS) -> Inventory:
    """Return the seeded cluster: ``workloads`` workloads over 25 namespaces, and the rest."""
    rng = random.Random(seed)
    templates = [_template(rng) for _ in range(workloads // 2)]
    kinds = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod")
    items: list[Any] = []
    for k in range(workloads):
        # Half the workloads reuse a template (a chart installed in several namespaces); some
        # reuse an equal copy, some the very same object.
        index = k if k < len(templates) else rng.randrange(len(templates))
        template = templates[index]
        if _maybe(rng, 0.5):
            template = copy.deepcopy(template)
        name = f"w{k}" if not _maybe(rng, 0.03) else f"w{k - 1}"
        items.append(
            {
                "kind": rng.choice(kinds),
                "namespace": rng.choice((f"ns-{rng.randint(0, 23)}", "kube-system")),
                "name": name,
                "labels": {"app": name},
                "template": template,
                "pods": rng.randint(0, 5),
            }
        )
    service_accounts = [
        {
            "metadata": {"name": name, "namespace": f"ns-{k}"},
            "automountServiceAccountToken": rng.choice((True, False, None)),
        }
        for k in range(24)
        for name in ("default", "app", "reader")
    ]
    return inventory(
        nodes=[node()],
        namespaces=_namespaces(rng),
        workloads=items,
        networkpolicies=_network_policies(rng),
        serviceaccounts=service_accounts,
        services=[],
        vulnerabilityreports=[],
    )
