"""Evaluate a pod, or a workload's pod template, against a Pod Security Standards level.

Versions resolve as upstream's check registry does: ``latest`` and any ``v1.N`` newer than the
newest policy revision evaluate as that newest revision; each check runs the revision registered
for the greatest version not above the one asked for; at the restricted level a restricted check
replaces the baseline checks it overrides. The check list of every level and minor is built
once, at import.

``evaluate_levels`` gives the baseline and the restricted verdict of one pod in one pass: every
check the two levels share runs once. Checks whose fields the pod does not set are skipped
(``Revision.reads``): they would allow it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple

from posture.checks.pss.controls import CHECKS, CheckFn, PodView, Revision
from posture.checks.pss.verdicts import Level, PSSResult, Violation

LEVELS: Final[tuple[Level, ...]] = ("privileged", "baseline", "restricted")
CONTROLS: Final[tuple[str, ...]] = tuple(check.id for check in CHECKS)

# The newest policy version any check defines; "latest" and newer versions evaluate as this one.
NEWEST_MINOR: Final[int] = max(check.revisions[-1].since for check in CHECKS)
NEWEST_VERSION: Final[str] = f"v1.{NEWEST_MINOR}"

# Upstream parses the minor as a 64-bit integer; 18 digits always fit.
_VERSION = re.compile(r"v1\.(0|[1-9][0-9]{0,17})")

# Where each workload kind keeps its pod template.
_TEMPLATE_PATHS: Final[Mapping[str, tuple[str, ...]]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "PodTemplate": ("template",),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


class _Step(NamedTuple):
    """One check in a plan, and which of the two levels its verdict counts for."""

    control: str
    check: CheckFn
    reads: frozenset[str] | None
    baseline: bool
    restricted: bool


class _Plan:
    """The checks of one level (or both) at one minor, and which of them each pod needs."""

    __slots__ = ("_runnable", "steps")

    # Pods set few distinct combinations of the fields checks read; the bound only guards
    # against input crafted to make a new one every time.
    _MAX_COMBINATIONS = 1024

    def __init__(self, steps: tuple[_Step, ...]) -> None:
        self.steps = steps
        self._runnable: dict[frozenset[Any], tuple[_Step, ...]] = {}

    def runnable(self, fields: frozenset[Any] | None) -> tuple[_Step, ...]:
        """Return the steps a pod that sets ``fields`` needs (all of them for None)."""
        if fields is None:
            return self.steps
        steps = self._runnable.get(fields)
        if steps is None:
            steps = tuple(
                s for s in self.steps if s.reads is None or not s.reads.isdisjoint(fields)
            )
            if len(self._runnable) < self._MAX_COMBINATIONS:
                self._runnable[fields] = steps
        return steps


# (control, reason with detail): a violation before it becomes a ``Violation``.
Denied = tuple[str, str]


class Levels(NamedTuple):
    """The baseline and restricted violations of one pod at one effective version.

    A level is None when the pod is too malformed to judge at that level (upstream's API server
    would have refused it).
    """

    version: str
    baseline: tuple[Denied, ...] | None
    restricted: tuple[Denied, ...] | None


def effective_version(version: str) -> str:
    """Return the policy version that ``version`` evaluates as, e.g. ``v1.37`` for ``latest``.

    Raise ValueError for anything that is not ``latest`` or ``v1.<minor>``.
    """
    return f"v1.{_minor(version)}"


def controls(level: str, version: str) -> tuple[str, ...]:
    """Return the ids of the checks that run for ``level`` at ``version``, in evaluation order."""
    return tuple(step.control for step in _plan(level, version)[2].steps)


def evaluate(obj: Mapping[str, Any], level: str, version: str) -> PSSResult:
    """Evaluate a Pod, a pod-owning workload or a bare pod-shaped dict against a PSS level.

    Raise ValueError for an unknown level, a malformed version, an unsupported kind, or an object
    whose pod spec does not have the Kubernetes shape.
    """
    known_level, effective, plan = _plan(level, version)
    metadata, spec = pod_template(obj)
    if not plan.steps:
        return PSSResult(allowed=True, level=known_level, version=effective, violations=())
    try:
        pod = PodView(metadata, spec)
        violations = []
        for control, check, _, _, _ in plan.runnable(pod.fields):
            denial = check(pod)
            if denial is not None:
                reason, detail = denial
                violations.append(Violation(control, f"{reason} ({detail})" if detail else reason))
    except (AttributeError, TypeError) as exc:
        # A field of the wrong type (a list where a mapping belongs, ...): the API server would
        # have refused the object, so there is no upstream verdict to reproduce.
        raise ValueError(f"malformed pod spec: {exc}") from exc
    return PSSResult(
        allowed=not violations,
        level=known_level,
        version=effective,
        violations=tuple(violations),
    )


def evaluate_levels(obj: Mapping[str, Any], version: str) -> Levels:
    """Return ``obj``'s baseline and restricted violations at ``version``, in one pass.

    Each level's violations are exactly ``evaluate(obj, level, version)``'s, as (control,
    detail) pairs, or None where ``evaluate`` would raise for a malformed pod. Raise ValueError
    for a malformed version or an object with no pod spec at all.
    """
    minor = _minor(version)
    effective = f"v1.{minor}"
    metadata, spec = pod_template(obj)
    try:
        pod = PodView(metadata, spec)
    except (AttributeError, TypeError):
        return Levels(effective, None, None)
    baseline: list[Denied] | None = []
    restricted: list[Denied] | None = []
    for control, check, _, at_baseline, at_restricted in _BOTH[minor].runnable(pod.fields):
        try:
            denial = check(pod)
        except (AttributeError, TypeError):
            # Only the levels that run this check are left without a verdict.
            if at_baseline:
                baseline = None
            if at_restricted:
                restricted = None
            continue
        if denial is not None:
            reason, detail = denial
            found = (control, f"{reason} ({detail})" if detail else reason)
            if at_baseline and baseline is not None:
                baseline.append(found)
            if at_restricted and restricted is not None:
                restricted.append(found)
    verdict = (
        effective,
        None if baseline is None else tuple(baseline),
        None if restricted is None else tuple(restricted),
    )
    # The named tuple's own __new__ is a Python function; tuple.__new__ builds the same.
    return tuple.__new__(Levels, verdict)


def pod_template(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Return the pod ``metadata`` and ``spec`` of a Pod, a workload or a bare pod-shaped dict."""
    if not _is_mapping(obj):
        raise ValueError(f"expected a Kubernetes object, got {type(obj).__name__}")
    kind = obj.get("kind")
    pod: Any = obj
    if kind is not None and kind != "Pod":
        path = _TEMPLATE_PATHS.get(kind) if isinstance(kind, str) else None
        if path is None:
            raise ValueError(f"kind {kind!r} has no pod template")
        for key in path:
            pod = pod.get(key) if _is_mapping(pod) else None
        if pod is None:
            raise ValueError(f"{kind} has no pod template at {'.'.join(path)}")
    if not _is_mapping(pod):
        raise ValueError("pod template is not a mapping")
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec")
    if not _is_mapping(metadata) or not _is_mapping(spec):
        raise ValueError("a pod needs a metadata mapping and a spec mapping")
    return metadata, spec


def _is_mapping(value: object) -> bool:
    # The plain dict first: the Mapping ABC check costs several times as much.
    return type(value) is dict or isinstance(value, Mapping)


def _minor(version: str) -> int:
    if not isinstance(version, str):
        raise ValueError(f"invalid policy version {version!r}: expected 'latest' or 'v1.<minor>'")
    return _parsed_minor(version)


@lru_cache(maxsize=256)
def _parsed_minor(version: str) -> int:
    if version == "latest":
        return NEWEST_MINOR
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"invalid policy version {version!r}: expected 'latest' or 'v1.<minor>'")
    return min(int(match.group(1)), NEWEST_MINOR)


def _checks_at(level: Level, minor: int, overriding: bool = True) -> tuple[_Step, ...]:
    """Return the checks of ``level`` at ``v1.<minor>``, ordered like upstream.

    Upstream runs baseline checks first, then restricted ones, each group sorted by id. With
    ``overriding`` off, the baseline checks a restricted check replaces stay in (marked as not
    counting at restricted), so that one plan serves both levels.
    """
    active: list[tuple[str, str, Revision]] = []
    for check in CHECKS:
        revisions = [r for r in check.revisions if r.since <= minor]
        if revisions and (level == "restricted" or check.level == "baseline"):
            active.append((check.level, check.id, revisions[-1]))
    overridden = {check_id for _, _, revision in active for check_id in revision.overrides}
    active.sort(key=lambda item: (item[0] != "baseline", item[1]))
    return tuple(
        _Step(
            check_id,
            revision.check,
            revision.reads,
            baseline=check_level == "baseline",
            restricted=level == "restricted" and check_id not in overridden,
        )
        for check_level, check_id, revision in active
        if not (overriding and check_id in overridden)
    )


_PLANS: Final[Mapping[tuple[Level, int], _Plan]] = {
    (level, minor): _Plan(_checks_at(level, minor))
    for level in ("baseline", "restricted")
    for minor in range(NEWEST_MINOR + 1)
}
_BOTH: Final[Mapping[int, _Plan]] = {
    minor: _Plan(_checks_at("restricted", minor, overriding=False))
    for minor in range(NEWEST_MINOR + 1)
}
_NOTHING: Final = _Plan(())


@lru_cache(maxsize=256)
def _plan(level: str, version: str) -> tuple[Level, str, _Plan]:
    """Return the level, the effective version and the checks to run; cached, versions are few."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    minor = _minor(version)
    plan = _NOTHING if level == "privileged" else _PLANS[(level, minor)]
    return level, f"v1.{minor}", plan
