"""Lifecycle data: end-of-life dates for Kubernetes, node OSes and container runtimes.

Pure Python, no Django. Every query takes ``today`` so callers (and tests) fix the clock;
nothing here reads it. Inputs are untrusted text from clusters: parsers return None and queries
return status ``unknown`` for anything they do not recognise, never an exception.
"""

from __future__ import annotations

from datetime import date

from posture.lifecycle.data import DataError, catalog
from posture.lifecycle.kubernetes import (
    KubeSupport,
    KubeVersion,
    SkewCheck,
    detect_provider,
    kubelet_skew,
    kubelet_skew_check,
    kubernetes_support,
    max_kubelet_skew,
    parse_kubernetes_version,
)
from posture.lifecycle.os_image import OSSupport, os_support
from posture.lifecycle.runtime import RuntimeSupport, runtime_support
from posture.lifecycle.support import Support
from posture.lifecycle.vocabulary import OSFamily, Provider, Runtime, SupportStatus

__all__ = [
    "DATA_AS_OF",
    "DataError",
    "KubeSupport",
    "KubeVersion",
    "OSFamily",
    "OSSupport",
    "Provider",
    "Runtime",
    "RuntimeSupport",
    "SkewCheck",
    "Support",
    "SupportStatus",
    "data_age_days",
    "data_sources",
    "detect_provider",
    "kubelet_skew",
    "kubelet_skew_check",
    "kubernetes_support",
    "max_kubelet_skew",
    "os_support",
    "parse_kubernetes_version",
    "runtime_support",
]

# The day the shipped tables were last reviewed (the oldest file's as_of).
DATA_AS_OF: date = catalog().as_of


def data_age_days(today: date) -> int:
    """Return how many days before ``today`` the shipped tables were last reviewed."""
    return (today - DATA_AS_OF).days


def data_sources() -> list[tuple[str, str]]:
    """Return every (product label, URL) the shipped data cites, without duplicates."""
    seen: dict[tuple[str, str], None] = {}
    for product in catalog().products.values():
        seen[(product.label, product.source)] = None
        if product.policy:
            seen[(product.label, product.policy_value("source", str))] = None
        for cycle in product.cycles:
            seen[(product.label, cycle.source)] = None
    return list(seen)
