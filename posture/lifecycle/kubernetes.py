"""Kubernetes versions: parse what clusters report, judge support per provider, check skew.

Version strings come from the cluster (``/version``'s ``gitVersion``, nodes'
``kubeletVersion``) and are untrusted: parsers return None for anything that is not a version
rather than raising, and queries report ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from posture.lifecycle.data import Product, catalog
from posture.lifecycle.support import Support, Window, clean, judge, newer_than_all, unknown
from posture.lifecycle.vocabulary import Provider

# v1.31.4-eks-2d5f260, v1.30.3-gke.1969001, v1.30.0+k3s1, v1.23.5+012e945, 1.33, v1.34.0-rc.1
_VERSION = re.compile(
    r"v?(?P<major>[0-9]{1,3})\.(?P<minor>[0-9]{1,4})(?:\.(?P<patch>[0-9]{1,6}))?"
    r"(?P<suffix>[-+][0-9A-Za-z.+_-]{0,200})?",
    re.ASCII,
)
_SUFFIX_PROVIDERS = (("-eks-", Provider.EKS), ("-gke.", Provider.GKE))
_LABEL_PREFIXES = (
    ("eks.amazonaws.com/", Provider.EKS),
    ("cloud.google.com/gke-", Provider.GKE),
    ("kubernetes.azure.com/", Provider.AKS),
)
# kubelets older than this may only trail the apiserver by two minors; from it, by three
# (https://kubernetes.io/releases/version-skew-policy/#kubelet).
_WIDER_SKEW_FROM = (1, 25)


@dataclass(frozen=True, slots=True)
class KubeVersion:
    """A parsed Kubernetes version; ``provider`` comes from a vendor suffix, if any."""

    major: int
    minor: int
    patch: int | None
    provider: Provider | None
    suffix: str
    raw: str

    @property
    def cycle(self) -> str:
        """Return the release cycle, e.g. ``"1.31"``."""
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeSupport(Support):
    """How a Kubernetes version stands with its provider (or upstream when there is none).

    ``latest_patch`` is upstream's newest known patch of the minor, ``newest_minor`` the newest
    minor available on the provider that day; both counts are clamped at 0, since data older
    than the cluster cannot say it is behind.
    """

    version: KubeVersion | None = None
    cycle: str | None = None
    provider: Provider | None = None
    latest_patch: str | None = None
    patches_behind: int | None = None
    newest_minor: str | None = None
    minors_behind: int | None = None


@dataclass(frozen=True, slots=True)
class SkewCheck:
    """A kubelet's minor skew against its apiserver under the upstream skew policy.

    ``skew`` is how many minors the kubelet trails (negative when it is newer, which is never
    allowed); ``at_limit`` means it trails by the most allowed, so the control plane cannot be
    upgraded before the kubelet is.
    """

    skew: int
    max_skew: int
    allowed: bool
    at_limit: bool


def parse_kubernetes_version(text: str | None) -> KubeVersion | None:
    """Parse a Kubernetes version string; return None for anything else (never raise)."""
    cleaned = clean(text)
    return None if cleaned is None else _parse(cleaned)


@lru_cache(maxsize=2048)
def _parse(text: str) -> KubeVersion | None:
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    suffix = match["suffix"] or ""
    provider = next((p for marker, p in _SUFFIX_PROVIDERS if suffix.startswith(marker)), None)
    patch = match["patch"]
    return KubeVersion(
        major=int(match["major"]),
        minor=int(match["minor"]),
        patch=None if patch is None else int(patch),
        provider=provider,
        suffix=suffix,
        raw=text,
    )


def coerce_provider(value: Provider | str | None) -> Provider | None:
    """Return ``value`` as a Provider (``"EKS"``, ``"eks"``, Provider.EKS), else None."""
    if isinstance(value, Provider) or value is None:
        return value
    if not isinstance(value, str):
        return None
    try:
        return Provider(value.strip().lower())
    except ValueError:
        return None


def detect_provider(
    version: str | None, node_labels: Iterable[Mapping[str, str]] = ()
) -> Provider | None:
    """Return the managed provider shown by a version suffix or, failing that, node labels.

    AKS versions carry no suffix, so AKS is only recognised from ``kubernetes.azure.com/*``
    labels; EKS and GKE also from ``eks.amazonaws.com/*`` and ``cloud.google.com/gke-*``.
    """
    parsed = parse_kubernetes_version(version)
    if parsed is not None and parsed.provider is not None:
        return parsed.provider
    try:
        for labels in node_labels:
            if not isinstance(labels, Mapping):
                continue
            for key in labels:
                if not isinstance(key, str):
                    continue
                for prefix, provider in _LABEL_PREFIXES:
                    if key.startswith(prefix):
                        return provider
    except TypeError:
        # Not iterable after all: the labels came from a malformed object.
        return None
    return None


def kubernetes_support(
    version: str | None, today: date, provider: Provider | str | None = None
) -> KubeSupport:
    """Judge a Kubernetes version on ``today`` against its provider's windows (or upstream's).

    ``provider`` wins over a vendor suffix in ``version``; pass it for AKS, whose versions have
    none. A minor the provider's table does not list yet but upstream does is judged by
    upstream's dates, with a note.
    """
    parsed = parse_kubernetes_version(version)
    chosen = coerce_provider(provider) if provider is not None else None
    if parsed is None:
        return KubeSupport(**unknown(note="not a Kubernetes version"), provider=chosen)
    return _kubernetes_support(parsed, today, chosen or parsed.provider)


@lru_cache(maxsize=1024)
def _kubernetes_support(parsed: KubeVersion, today: date, provider: Provider | None) -> KubeSupport:
    data = catalog()
    upstream = data.product("kubernetes")
    table = upstream if provider is None else data.product(provider.value)
    result = _window(table, upstream, parsed.cycle, today)
    latest = upstream.cycle(parsed.cycle)
    latest_patch = latest.latest if latest is not None else None
    latest_parsed = parse_kubernetes_version(latest_patch)
    patches_behind = None
    if latest_parsed is not None and latest_parsed.patch is not None and parsed.patch is not None:
        patches_behind = max(0, latest_parsed.patch - parsed.patch)
    newest = _newest_minor(table, today)
    minors_behind = None
    if newest is not None and newest[0] == parsed.major:
        minors_behind = max(0, newest[1] - parsed.minor)
    return KubeSupport(
        **result,
        version=parsed,
        cycle=parsed.cycle,
        provider=provider,
        latest_patch=latest_patch,
        patches_behind=patches_behind,
        newest_minor=None if newest is None else f"{newest[0]}.{newest[1]}",
        minors_behind=minors_behind,
    )


def _window(table: Product, upstream: Product, cycle: str, today: date) -> Window:
    if table is not upstream and table.cycle(cycle) is None and newer_than_all(table, cycle):
        # Providers ship a minor months after upstream; until the table lists it, upstream's
        # dates are the best available (and no provider supports a minor longer than that).
        if upstream.cycle(cycle) is not None:
            return judge(upstream, cycle, today, f"no {table.label} dates for {cycle} yet")
        return unknown(table.source, f"{table.label} {cycle} is not in the lifecycle data")
    return judge(table, cycle, today)


def _newest_minor(table: Product, today: date) -> tuple[int, int] | None:
    released = [
        c.key
        for c in table.cycles
        if c.key is not None and len(c.key) == 2 and c.release is not None and c.release <= today
    ]
    if not released:
        return None
    major, minor = max(released)
    return major, minor


def max_kubelet_skew(kubelet: KubeVersion) -> int:
    """Return how many minors ``kubelet`` may trail its apiserver."""
    return 3 if (kubelet.major, kubelet.minor) >= _WIDER_SKEW_FROM else 2


def kubelet_skew(apiserver: str | None, kubelet: str | None) -> int | None:
    """Return how many minors the kubelet trails the apiserver (negative: newer), or None."""
    check = kubelet_skew_check(apiserver, kubelet)
    return None if check is None else check.skew


def kubelet_skew_check(apiserver: str | None, kubelet: str | None) -> SkewCheck | None:
    """Check a kubelet against its apiserver under the skew policy; None if unparseable."""
    server = parse_kubernetes_version(apiserver)
    node = parse_kubernetes_version(kubelet)
    if server is None or node is None or server.major != node.major:
        return None
    skew = server.minor - node.minor
    limit = max_kubelet_skew(node)
    allowed = 0 <= skew <= limit
    return SkewCheck(skew=skew, max_skew=limit, allowed=allowed, at_limit=allowed and skew == limit)
