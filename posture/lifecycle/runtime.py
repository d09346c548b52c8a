"""Container runtimes: parse ``nodeInfo.containerRuntimeVersion`` and judge its support."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from posture.lifecycle.data import catalog
from posture.lifecycle.kubernetes import parse_kubernetes_version
from posture.lifecycle.support import Support, Window, clean, judge, unknown
from posture.lifecycle.vocabulary import Runtime

# containerd://1.7.22-1, containerd://1.6.18+azure-1, docker://20.10.25, cri-o://1.30.7-2.rhaos…
# Vendor suffixes after the version are ignored.
_RUNTIME = re.compile(
    r"(?P<runtime>containerd|cri-o|docker)://v?(?P<major>[0-9]{1,4})\.(?P<minor>[0-9]{1,4})"
    r"(?:\.(?P<patch>[0-9]{1,6}))?(?P<suffix>[-+.~][\x21-\x7e]*)?",
    re.ASCII,
)
_PATCH = re.compile(r"[0-9]+\.[0-9]+\.(?P<patch>[0-9]+)", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeSupport(Support):
    """How a container runtime stands: ``cycle`` is the release line judged (``"1.7"``)."""

    runtime: Runtime | None = None
    version: str | None = None
    cycle: str | None = None
    latest_patch: str | None = None
    patches_behind: int | None = None


def runtime_support(
    container_runtime_version: str | None, today: date, *, kubelet_version: str | None = None
) -> RuntimeSupport:
    """Judge a node's ``containerRuntimeVersion`` on ``today``; unknown text gives ``unknown``.

    ``kubelet_version`` tells dockershim (kubelet before 1.24) from cri-dockerd in the note.
    """
    text = clean(container_runtime_version)
    if text is None:
        return RuntimeSupport(**unknown(note="no container runtime version"))
    return _runtime_support(text, today, clean(kubelet_version))


@lru_cache(maxsize=1024)
def _runtime_support(text: str, today: date, kubelet: str | None) -> RuntimeSupport:
    match = _RUNTIME.fullmatch(text)
    if match is None:
        return RuntimeSupport(**unknown(note="container runtime not recognised"))
    runtime = Runtime(match["runtime"])
    major, minor, patch = match["major"], match["minor"], match["patch"]
    version = f"{int(major)}.{int(minor)}" + ("" if patch is None else f".{int(patch)}")
    if runtime is Runtime.CRI_O:
        return _cri_o(runtime, version, int(major), int(minor), today)
    product = catalog().product(runtime.value)
    cycle = f"{int(major)}.{int(minor)}"
    if runtime is Runtime.DOCKER and product.cycle(cycle) is None and int(major) >= 27:
        # From Docker Engine 27 each major is one release line.
        cycle = str(int(major))
    result = judge(
        product, cycle, today, _docker_note(kubelet) if runtime is Runtime.DOCKER else ""
    )
    listed = product.cycle(cycle)
    latest = listed.latest if listed is not None else None
    return RuntimeSupport(
        **result,
        runtime=runtime,
        version=version,
        cycle=cycle,
        latest_patch=latest,
        patches_behind=_patches_behind(latest, patch),
    )


def _cri_o(runtime: Runtime, version: str, major: int, minor: int, today: date) -> RuntimeSupport:
    product = catalog().product(runtime.value)
    cycle = f"{major}.{minor}"
    note = f"CRI-O {cycle} is supported as long as Kubernetes {cycle} is"
    result: Window = judge(catalog().product("kubernetes"), cycle, today)
    # Kubernetes' own notes (patches after EOL and the like) do not apply to CRI-O.
    result["note"] = note
    result["source"] = product.policy_value("source", str)
    return RuntimeSupport(**result, runtime=runtime, version=version, cycle=cycle)


def _docker_note(kubelet: str | None) -> str:
    removed_in = catalog().product(Runtime.DOCKER.value).policy_value("dockershim_removed_in", str)
    parsed = parse_kubernetes_version(kubelet)
    if parsed is None:
        return f"dockershim (kubelet before {removed_in}) or cri-dockerd"
    if (parsed.major, parsed.minor) < tuple(int(p) for p in removed_in.split(".")):
        return f"dockershim, removed from the kubelet in {removed_in}"
    return "cri-dockerd"


def _patches_behind(latest: str | None, patch: str | None) -> int | None:
    match = _PATCH.fullmatch(latest or "")
    if match is None or patch is None:
        return None
    return max(0, int(match["patch"]) - int(patch))
