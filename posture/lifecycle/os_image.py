"""Node operating systems: recognise ``nodeInfo.osImage`` and judge its support.

``osImage`` is the ``PRETTY_NAME`` of the node's os-release (Windows: the registry's product
name). It is untrusted text: anything unrecognised yields status ``unknown``, never an error.
Some images do not carry their release in that string (Container-Optimized OS, CBL-Mariner,
Windows Server Annual Channel); the node's ``kernelVersion`` and ``kubeletVersion`` refine them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

from posture.lifecycle.data import Product, catalog
from posture.lifecycle.kubernetes import kubernetes_support, parse_kubernetes_version
from posture.lifecycle.support import Support, Window, clean, judge, unknown, window, window_of
from posture.lifecycle.vocabulary import OSFamily, Provider, SupportStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class OSSupport(Support):
    """How a node OS stands: ``cycle`` is the release judged (``"22.04"``, ``"cos-121"``),
    ``version`` the full version read from the node, ``name`` a display name."""

    family: OSFamily | None = None
    cycle: str | None = None
    version: str | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class _Node:
    today: date
    kernel: str | None
    kubelet: str | None


_Handler = Callable[[re.Match[str], _Node], OSSupport]
_FLATCAR_CHANNELS = {0: "Alpha", 1: "Beta", 2: "Stable", 3: "LTS"}
_COS_KERNEL = re.compile(r"([0-9]{1,2}\.[0-9]{1,3})\.[0-9]{1,4}\+", re.ASCII)
# CBL-Mariner and Azure Linux kernels end in .cm<N> / .azl<N>, naming release N.0.
_AZURE_KERNEL = re.compile(r"\.(?:cm|azl)([0-9]{1,2})(?:\.|$)", re.ASCII)
_WINDOWS_KERNEL = re.compile(r"10\.0\.([0-9]{5})(?:\.[0-9]{1,6})?", re.ASCII)


def os_support(
    os_image: str | None,
    today: date,
    *,
    kernel_version: str | None = None,
    kubelet_version: str | None = None,
) -> OSSupport:
    """Judge a node's ``osImage`` on ``today``; unknown strings give status ``unknown``.

    ``kernel_version`` and ``kubelet_version`` (the node's ``nodeInfo`` fields) are optional:
    they identify the COS milestone (from the GKE minor, else the kernel line), the
    CBL-Mariner release and the Windows Annual Channel build.
    """
    image = clean(os_image)
    if image is None:
        return OSSupport(**unknown(note="no osImage"))
    return _os_support(image, today, clean(kernel_version), clean(kubelet_version))


@lru_cache(maxsize=4096)
def _os_support(image: str, today: date, kernel: str | None, kubelet: str | None) -> OSSupport:
    node = _Node(today=today, kernel=kernel, kubelet=kubelet)
    for pattern, handler in _RECOGNISERS:
        match = pattern.fullmatch(image)
        if match is not None:
            return handler(match, node)
    return OSSupport(**unknown(note="operating system not recognised"))


def _product(family: OSFamily) -> Product:
    return catalog().product(family.value)


def _cycle_result(
    family: OSFamily, cycle: str, version: str, node: _Node, note: str = ""
) -> OSSupport:
    product = _product(family)
    return OSSupport(
        **judge(product, cycle, node.today, note),
        family=family,
        cycle=cycle,
        version=version,
        name=f"{product.label} {version}",
    )


def _major_minor(family: OSFamily) -> _Handler:
    """Handle images named ``<name> <major>[.<minor>…]`` whose data is per major."""

    def handle(match: re.Match[str], node: _Node) -> OSSupport:
        return _cycle_result(family, match["major"], match["version"], node)

    return handle


def _ubuntu(match: re.Match[str], node: _Node) -> OSSupport:
    return _cycle_result(OSFamily.UBUNTU, match["cycle"], match["version"], node)


def _debian(match: re.Match[str], node: _Node) -> OSSupport:
    return _cycle_result(OSFamily.DEBIAN, match["major"], match["major"], node)


def _amazon_linux(match: re.Match[str], node: _Node) -> OSSupport:
    return _cycle_result(OSFamily.AMAZON_LINUX, match["major"], match["version"], node)


def _sles(match: re.Match[str], node: _Node) -> OSSupport:
    minor = match["sp"] or match["minor"] or "0"
    version = f"{match['major']} SP{minor}" if match["sp"] else f"{match['major']}.{minor}"
    return _cycle_result(OSFamily.SLES, f"{match['major']}.{int(minor)}", version, node)


def _sle_micro(match: re.Match[str], node: _Node) -> OSSupport:
    return _cycle_result(OSFamily.SLE_MICRO, match["version"], match["version"], node)


def _talos(match: re.Match[str], node: _Node) -> OSSupport:
    cycle = f"{match['major']}.{match['minor']}"
    return _cycle_result(OSFamily.TALOS, cycle, match["version"], node)


def _azure_linux(match: re.Match[str], node: _Node) -> OSSupport:
    return _cycle_result(OSFamily.AZURE_LINUX, match["version"], match["version"], node)


def _cbl_mariner(match: re.Match[str], node: _Node) -> OSSupport:
    tag = _AZURE_KERNEL.search(node.kernel or "")
    if tag is not None:
        cycle = f"{int(tag[1])}.0"
        return _cycle_result(OSFamily.AZURE_LINUX, cycle, cycle, node, "release read from kernel")
    # Both releases that print this name (1.0 and 2.0) are past their end; judge the newer.
    result = _cycle_result(OSFamily.AZURE_LINUX, "2.0", "2.0", node)
    return replace(result, note="osImage carries no release: assumed CBL-Mariner 2.0")


def _windows(match: re.Match[str], node: _Node) -> OSSupport:
    product = _product(OSFamily.WINDOWS_SERVER)
    build = _WINDOWS_KERNEL.fullmatch(node.kernel or "")
    by_build = {c.build: c for c in product.cycles if c.build}
    cycle = match["year"]
    if cycle is None and build is not None and build[1] in by_build:
        # Annual Channel releases have no year in their product name; the build names them.
        cycle = by_build[build[1]].cycle
    if cycle is None:
        return OSSupport(
            **unknown(product.source, "Windows Server release not identifiable"),
            family=OSFamily.WINDOWS_SERVER,
            name=product.label,
        )
    edition = match["edition"]
    return _cycle_result(OSFamily.WINDOWS_SERVER, cycle, f"{cycle} {edition}", node)


def _bottlerocket(match: re.Match[str], node: _Node) -> OSSupport:
    product = _product(OSFamily.BOTTLEROCKET)
    variant = match["variant"]
    base = OSSupport(
        **unknown(product.source, f"variant {variant} runs no Kubernetes"),
        family=OSFamily.BOTTLEROCKET,
        version=match["version"],
        name=f"{product.label} {match['version']} ({variant})",
    )
    minor = re.search(r"k8s-([0-9]{1,2}\.[0-9]{1,3})(?![0-9])", variant, re.ASCII)
    if minor is None:
        return base
    # aws-* variants follow EKS support, extended included; others follow upstream.
    provider = Provider.EKS if variant.startswith("aws-") else None
    kube = kubernetes_support(f"v{minor[1]}.0", node.today, provider)
    note = f"the variant is supported as long as Kubernetes {minor[1]} is on its platform"
    return replace(base, **window_of(kube, note), cycle=variant)


def _cos(match: re.Match[str], node: _Node) -> OSSupport:
    product = _product(OSFamily.COS)
    kubelet = parse_kubernetes_version(node.kubelet)
    if kubelet is not None:
        for cycle in product.cycles:
            if kubelet.cycle in cycle.kubernetes_minors:
                note = f"milestone inferred from GKE {kubelet.cycle}'s default node image"
                return _cos_result(product, cycle.cycle, window(cycle, node.today, note))
    kernel = _COS_KERNEL.fullmatch(node.kernel or "")
    candidates = [c for c in product.cycles if kernel is not None and kernel[1] in c.kernels]
    if candidates:
        windows = [window(c, node.today) for c in candidates]
        if len({w["status"] for w in windows}) == 1:
            # Several milestones share a kernel line; when they agree, report the earliest end.
            pairs = zip(candidates, windows, strict=True)
            chosen = min(pairs, key=lambda pair: pair[1]["eol"] or date.max)[0]
            names = " or ".join(c.cycle for c in candidates)
            result = window(chosen, node.today, f"milestone inferred from the kernel: {names}")
            result["estimated"] = True
            return _cos_result(product, names, result)
        names = " or ".join(c.cycle for c in candidates)
        return _cos_result(product, None, unknown(product.source, f"kernel fits {names}"))
    note = "the milestone is not in osImage; pass the node's kubelet or kernel version"
    return _cos_result(product, None, unknown(product.source, note))


def _cos_result(product: Product, cycle: str | None, result: Window) -> OSSupport:
    return OSSupport(
        **result,
        family=OSFamily.COS,
        cycle=cycle,
        version=cycle,
        name=product.label if cycle is None else f"{product.label} {cycle}",
    )


def _flatcar(match: re.Match[str], node: _Node) -> OSSupport:
    product = _product(OSFamily.FLATCAR)
    major, channel_number = int(match["major"]), int(match["minor"])
    channel = _FLATCAR_CHANNELS.get(channel_number, "Stable")
    epoch: date = product.policy_value("epoch", date)
    limit_key = "lts_support_days" if channel == "LTS" else "stable_support_days"
    limit: int = product.policy_value(limit_key, int)
    # MAJOR is the number of days from the epoch to the day its Alpha branch was cut.
    cut = epoch + timedelta(days=major)
    end = cut + timedelta(days=limit)
    status = SupportStatus.SUPPORTED if node.today <= end else SupportStatus.EOL
    return OSSupport(
        status=status,
        standard_end=end,
        eol=end,
        days_left=(end - node.today).days,
        phase_end=end if status is SupportStatus.SUPPORTED else None,
        phase_days_left=(end - node.today).days if status is SupportStatus.SUPPORTED else None,
        source=product.policy_value("source", str),
        estimated=True,
        note=f"{channel} build cut about {cut.isoformat()}; judged by age, no end is published",
        family=OSFamily.FLATCAR,
        cycle=str(major),
        version=match["version"],
        name=f"{product.label} {match['version']} ({channel})",
    )


def _rhcos(match: re.Match[str], node: _Node) -> OSSupport:
    ocp = f"4.{int(match['ocp']) - 400}" if match["ocp"].startswith("4") else match["ocp"]
    return OSSupport(
        **unknown(note="RHCOS follows the OpenShift lifecycle, which is not in the data"),
        version=match["version"],
        name=f"Red Hat Enterprise Linux CoreOS (OpenShift {ocp})",
    )


def _linux(match: re.Match[str], node: _Node) -> OSSupport:
    return OSSupport(**unknown(note="the node has no os-release PRETTY_NAME"), name="Linux")


_MAJOR_MINOR = r"(?P<version>(?P<major>[0-9]{1,2})(?:\.[0-9]{1,3}){0,2})"
_CODENAME = r"(?: \([A-Za-z0-9 ._-]{1,40}\))?"

_RECOGNISERS: tuple[tuple[re.Pattern[str], _Handler], ...] = tuple(
    (re.compile(pattern, re.ASCII), handler)
    for pattern, handler in (
        (
            r"Ubuntu (?P<version>(?P<cycle>[0-9]{2}\.[0-9]{2})(?:\.[0-9]{1,3})?)(?: LTS)?",
            _ubuntu,
        ),
        (r"Debian GNU/Linux (?P<major>[0-9]{1,2})" + _CODENAME, _debian),
        (
            r"Red Hat Enterprise Linux CoreOS (?P<version>(?P<ocp>[0-9]{3})\.[0-9]{2,3}"
            r"\.[0-9]{1,14}-[0-9]{1,3})" + _CODENAME,
            _rhcos,
        ),
        (
            r"Red Hat Enterprise Linux(?: Server)? " + _MAJOR_MINOR + _CODENAME,
            _major_minor(OSFamily.RHEL),
        ),
        (r"Rocky Linux " + _MAJOR_MINOR + _CODENAME, _major_minor(OSFamily.ROCKY)),
        (r"AlmaLinux " + _MAJOR_MINOR + _CODENAME, _major_minor(OSFamily.ALMALINUX)),
        (r"CentOS Linux " + _MAJOR_MINOR + _CODENAME, _major_minor(OSFamily.CENTOS)),
        (r"CentOS Stream " + _MAJOR_MINOR, _major_minor(OSFamily.CENTOS_STREAM)),
        (
            r"Amazon Linux (?P<version>(?P<major>2|2023)"
            r"(?:\.[0-9]{1,3}\.[0-9]{8}(?:\.[0-9]{1,3})?)?)",
            _amazon_linux,
        ),
        (
            r"Bottlerocket OS (?P<version>[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"
            r" \((?P<variant>[a-z0-9][a-z0-9.-]{0,63})\)",
            _bottlerocket,
        ),
        (r"Container-Optimized OS from Google", _cos),
        (
            r"Flatcar Container Linux by Kinvolk (?P<version>(?P<major>[0-9]{3,5})"
            r"\.(?P<minor>[0-9]{1,2})\.[0-9]{1,3})" + _CODENAME,
            _flatcar,
        ),
        (
            r"Talos \(v(?P<version>(?P<major>[0-9]{1,2})\.(?P<minor>[0-9]{1,3})\.[0-9]{1,3}"
            r"(?:-[0-9A-Za-z.]{1,32})?)\)",
            _talos,
        ),
        (
            r"SUSE Linux Enterprise Server (?P<major>[0-9]{2})"
            r"(?: SP(?P<sp>[0-9]{1,2})|\.(?P<minor>[0-9]{1,2}))?",
            _sles,
        ),
        (r"SUSE Linux (?:Enterprise )?Micro (?P<version>[0-9]{1,2}\.[0-9]{1,2})", _sle_micro),
        (r"(?:Microsoft )?Azure Linux (?P<version>[0-9]{1,2}\.[0-9]{1,2})", _azure_linux),
        (r"CBL-Mariner/Linux", _cbl_mariner),
        (
            r"Windows Server (?:(?P<year>20[0-9]{2}) )?(?P<edition>Datacenter|Standard)"
            r"(?: Evaluation)?",
            _windows,
        ),
        (r"Linux", _linux),
    )
)
