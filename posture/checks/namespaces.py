"""Pod Security Admission per namespace: the labels it carries and the level its workloads meet.

``pod_security(inventory)`` returns, for every namespace the poll read, its Pod Security
Admission labels (only those present, values as the cluster sent them, clipped) and the
strictest level all of its workloads pass, evaluated as upstream admission would at the
namespace's enforce-version (``latest`` when it has none or one the rules do not know). That
level is the one the namespace could enforce today without refusing any pod it runs now.

The shape is small on purpose — it is kept on every snapshot::

    {"web": {"enforce": "baseline", "enforce-version": "v1.30", "meets": "restricted",
             "version": "v1.30", "workloads": 3}}

``meets`` is absent when the pods could not be read (nothing is known about the workloads),
or when a workload's template could not be evaluated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from posture.checks import pss
from posture.checks.context import Context
from posture.checks.policy import Policy
from posture.checks.safe import clip, dig, string_map, text

LABEL_PREFIX = "pod-security.kubernetes.io/"
# The six labels of Pod Security Admission, by the suffix they are stored under.
LABELS: tuple[str, ...] = (
    "enforce", "enforce-version", "audit", "audit-version", "warn", "warn-version",
)
LEVEL_ORDER: tuple[str, ...] = ("privileged", "baseline", "restricted")
# Label values are at most 63 characters in a valid object; keep stored text bounded anyway.
_VALUE_LIMIT = 100


def pod_security(inventory: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """Return every read namespace's PSA labels and the level its workloads meet."""
    return pod_security_of(Context(inventory, Policy(), today or date.today()))


def pod_security_of(ctx: Context) -> dict[str, Any]:
    """Return ``pod_security`` from an evaluation's context, sharing its templates' verdicts."""
    pods_read = ctx.coverage("pods")[0] == "read"
    out: dict[str, dict[str, Any]] = {}
    for name, ns in sorted(ctx.namespaces.items()):
        if not name:
            continue
        labels = string_map(dig(ns, "metadata", "labels"))
        entry: dict[str, Any] = {}
        for suffix in LABELS:
            value = labels.get(LABEL_PREFIX + suffix)
            if value is not None:
                entry[suffix] = clip(value, _VALUE_LIMIT)
        out[clip(name, 253)] = entry
    if not pods_read:
        return out
    met: dict[str, int] = defaultdict(lambda: 2)
    counts: dict[str, int] = defaultdict(int)
    unknown: set[str] = set()
    for view in ctx.workloads:
        if view.namespace not in out:
            continue
        version = text(out[view.namespace].get("enforce-version")) or "latest"
        try:
            levels = ctx.pod_security(view, version)
        except Exception:
            # The Pod Security checks report the same failure as not evaluated; here the
            # namespace's level is left unknown rather than guessed.
            unknown.add(view.namespace)
            continue
        counts[view.namespace] += 1
        if levels is None or levels.baseline is None or levels.baseline:
            # A template admission could not judge would be refused at any level but privileged.
            met[view.namespace] = 0
        elif levels.restricted is None or levels.restricted:
            met[view.namespace] = min(met[view.namespace], 1)
    for name, entry in out.items():
        version = text(entry.get("enforce-version")) or "latest"
        try:
            entry["version"] = pss.effective_version(version)
        except ValueError:
            entry["version"] = pss.effective_version("latest")
        if name not in unknown:
            entry["meets"] = LEVEL_ORDER[met[name]] if counts[name] else "restricted"
            entry["workloads"] = counts[name]
    return out


def enforced_level(entry: Mapping[str, Any]) -> str:
    """Return the level admission enforces for a stored entry: privileged without a label,
    restricted for a value it does not know (admission's strictest reading)."""
    value = entry.get("enforce")
    if value is None:
        return "privileged"
    return value if value in pss.LEVELS else "restricted"
