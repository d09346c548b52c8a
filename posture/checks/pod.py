"""Facts about one pod template, computed once per distinct template.

Clusters run many pods from few templates (10,000 pods, a few hundred Deployments), and many
Deployments share a template (the same chart installed per namespace), so the engine analyses each
distinct template once and reuses the result for every workload that has it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from posture.checks.images import ImageRef, parse_image
from posture.checks.safe import MAX_TEXT, clip

_WINDOWS = "windows"
_EMPTY: dict[str, Any] = {}
# Indexed by (cpu limit missing, memory limit missing).
_MISSING_LIMITS: dict[tuple[bool, bool], tuple[str, ...]] = {
    (False, False): (),
    (True, False): ("cpu",),
    (False, True): ("memory",),
    (True, True): ("cpu", "memory"),
}


# Named tuples rather than frozen dataclasses: as immutable, and several times cheaper to build,
# which counts when every template of a 10,000-pod cluster is distinct.
class ContainerFacts(NamedTuple):
    """What the checks need to know about one container of a template."""

    name: str
    init: bool
    image: str
    ref: ImageRef
    pull_policy: str
    run_as_user: int | None
    run_as_non_root: bool | None
    read_only_root: bool
    missing_limits: tuple[str, ...]
    # Name and image cut for messages and evidence, once rather than in every check.
    shown_name: str
    shown_image: str


class PodFacts(NamedTuple):
    """What the checks need to know about one pod template."""

    containers: tuple[ContainerFacts, ...]
    windows: bool
    host_network: bool
    user_namespace: bool
    automount_token: bool | None
    service_account: str


def template_key(template: object) -> bytes:
    """Return a canonical form of what the checks read from a template: spec and annotations.

    Labels are left out on purpose: they differ per workload but no pod check reads them, and
    including them would defeat sharing between workloads installed from the same chart. The
    canonical JSON itself is the key: hashing it into a digest costs more than the dict lookups
    it would save, and the keys live only as long as one evaluation.
    """
    spec = template.get("spec") if isinstance(template, dict) else None
    metadata = template.get("metadata") if isinstance(template, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    try:
        return orjson.dumps([spec, annotations], option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        # Keys that are not strings, integers over 64 bits, odd YAML types: repr is still
        # stable, and starts with "(" where JSON starts with "[", so the two never collide.
        return repr((spec, annotations)).encode("utf-8", "replace")


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def pod_facts(template: object) -> PodFacts:
    """Read the container facts of a pod-shaped dict (``metadata`` + ``spec``)."""
    spec = _mapping(_mapping(template).get("spec"))
    pod_sc = _mapping(spec.get("securityContext"))
    pod_user = _integer(pod_sc.get("runAsUser"))
    pod_non_root = _bool(pod_sc.get("runAsNonRoot"))
    containers: list[ContainerFacts] = []
    for init, field in ((True, "initContainers"), (False, "containers")):
        listed = spec.get(field)
        if not isinstance(listed, list):
            continue
        for c in listed:
            if not isinstance(c, dict):
                continue
            sc = _mapping(c.get("securityContext"))
            user = _integer(sc.get("runAsUser"))
            non_root = _bool(sc.get("runAsNonRoot"))
            name = _text(c.get("name"))
            image = _text(c.get("image"))
            limits = _mapping(_mapping(c.get("resources")).get("limits"))
            containers.append(
                ContainerFacts(
                    name,
                    init,
                    image,
                    parse_image(image),
                    _text(c.get("imagePullPolicy")),
                    user if user is not None else pod_user,
                    non_root if non_root is not None else pod_non_root,
                    sc.get("readOnlyRootFilesystem") is True,
                    _MISSING_LIMITS[(not limits.get("cpu"), not limits.get("memory"))],
                    name if len(name) <= MAX_TEXT else clip(name),
                    image if len(image) <= MAX_TEXT else clip(image),
                )
            )
    sa = _text(spec.get("serviceAccountName")) or _text(spec.get("serviceAccount")) or "default"
    return PodFacts(
        containers=tuple(containers),
        windows=_text(_mapping(spec.get("os")).get("name")).lower() == _WINDOWS,
        host_network=spec.get("hostNetwork") is True,
        user_namespace=spec.get("hostUsers") is False,
        automount_token=_bool(spec.get("automountServiceAccountToken")),
        service_account=sa,
    )
