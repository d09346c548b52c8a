"""Container runtimes: parse ``nodeInfo.containerRuntimeVersion`` and judge its support."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from posture.lifecycle.data import catalog
from posture.lifecycle.kubernetes import parse_kubernetes_version
from posture.lifecycle.os_image import OSSupport, os_support
from posture.lifecycle.support import Support, Window, clean, judge, unknown
from posture.lifecycle.vocabulary import OSFamily, Runtime

# Image-based node operating systems that build, patch and ship the container runtime as part
# of the OS image: it is updated only with the image and backported fixes keep an upstream line
# alive past its upstream end (Bottlerocket's releases patch containerd 1.7 for CVEs after
# containerd's own support ended). Such a runtime is supported exactly as long as its OS
# release. Package-based systems (Ubuntu, RHEL, Amazon Linux, Azure Linux…) are not listed:
# their runtime may come from the distribution, Docker's repository or a tarball, and the node
# does not say which, so it is judged by upstream's dates.
OS_SHIPPED_RUNTIMES: frozenset[OSFamily] = frozenset({
    OSFamily.BOTTLEROCKET,  # containerd in the dm-verity root filesystem, A/B image updates
    OSFamily.COS,           # no package manager; containerd is part of the milestone's image
    OSFamily.FLATCAR,       # containerd and Docker in the read-only /usr, atomic OS updates
    OSFamily.TALOS,         # containerd in the immutable SquashFS image of each Talos release
})
_WINDOW_FIELDS = tuple(f.name for f in dataclasses.fields(Support))

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
    # The OS that built and ships this runtime, whose support it shares (OS_SHIPPED_RUNTIMES).
    shipped_by: OSFamily | None = None


def runtime_support(
    container_runtime_version: str | None,
    today: date,
    *,
    kubelet_version: str | None = None,
    os_image: str | None = None,
    kernel_version: str | None = None,
) -> RuntimeSupport:
    """Judge a node's ``containerRuntimeVersion`` on ``today``; unknown text gives ``unknown``.

    ``kubelet_version`` tells dockershim (kubelet before 1.24) from cri-dockerd in the note.
    With the node's ``os_image`` (and ``kernel_version``), a runtime shipped by an image-based
    OS (``OS_SHIPPED_RUNTIMES``) is judged by that OS release's support, not upstream's.
    """
    text = clean(container_runtime_version)
    if text is None:
        return RuntimeSupport(**unknown(note="no container runtime version"))
    upstream = _runtime_support(text, today, clean(kubelet_version))
    if upstream.runtime is None or clean(os_image) is None:
        return upstream
    system = os_support(os_image, today, kernel_version=kernel_version,
                        kubelet_version=kubelet_version)
    if system.family not in OS_SHIPPED_RUNTIMES:
        return upstream
    return _shipped(upstream, system)


def _shipped(upstream: RuntimeSupport, system: OSSupport) -> RuntimeSupport:
    """Return ``upstream``'s runtime judged by the support of the OS release that ships it."""
    assert upstream.runtime is not None and system.family is not None
    release = " ".join(p for p in (system.family.label, system.cycle) if p)
    note = (f"{upstream.runtime.label} {upstream.cycle} is built and patched by "
            f"{system.family.label}: supported as long as {release} is")
    window = {name: getattr(system, name) for name in _WINDOW_FIELDS}
    window["note"] = note + (f" ({system.note})" if system.note else "")
    # Upstream's newest patch says nothing about the vendor's backports.
    return dataclasses.replace(upstream, **window, latest_patch=None, patches_behind=None,
                               shipped_by=system.family)


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
