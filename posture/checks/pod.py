"""Facts about one pod template, computed once per distinct template.

Clusters run many pods from few templates (10,000 pods, a few hundred Deployments), and many
Deployments share a template (the same chart installed per namespace), so the engine analyses each
distinct template once and reuses the result for every workload that has it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from posture.checks.images import ImageRef, parse_image
from posture.checks.safe import dicts, dig, integer, mapping, text

_WINDOWS = "windows"


@dataclass(frozen=True, slots=True)
class ContainerFacts:
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


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the checks need to know about one pod template."""

    containers: tuple[ContainerFacts, ...]
    windows: bool
    host_network: bool
    user_namespace: bool
    automount_token: bool | None
    service_account: str


def template_key(template: object) -> bytes:
    """Return a canonical hash of what the checks read from a template: spec and annotations.

    Labels are left out on purpose: they differ per workload but no pod check reads them, and
    including them would defeat sharing between workloads installed from the same chart.
    """
    spec = mapping(template).get("spec")
    annotations = dig(template, "metadata", "annotations")
    try:
        blob = orjson.dumps(
            [spec, annotations], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        )
    except (TypeError, orjson.JSONEncodeError):
        # Values orjson refuses (integers over 64 bits, odd YAML types): repr is still stable.
        blob = repr((spec, annotations)).encode("utf-8", "replace")
    return hashlib.blake2b(blob, digest_size=16).digest()


def pod_facts(template: object) -> PodFacts:
    """Read the container facts of a pod-shaped dict (``metadata`` + ``spec``)."""
    spec = mapping(mapping(template).get("spec"))
    pod_sc = mapping(spec.get("securityContext"))
    pod_user = integer(pod_sc.get("runAsUser"))
    pod_non_root = _bool(pod_sc.get("runAsNonRoot"))
    containers: list[ContainerFacts] = []
    for init, field in ((True, "initContainers"), (False, "containers")):
        for c in dicts(spec.get(field)):
            sc = mapping(c.get("securityContext"))
            user = integer(sc.get("runAsUser"))
            non_root = _bool(sc.get("runAsNonRoot"))
            image = text(c.get("image"))
            limits = mapping(dig(c, "resources", "limits"))
            containers.append(
                ContainerFacts(
                    name=text(c.get("name")),
                    init=init,
                    image=image,
                    ref=parse_image(image),
                    pull_policy=text(c.get("imagePullPolicy")),
                    run_as_user=user if user is not None else pod_user,
                    run_as_non_root=non_root if non_root is not None else pod_non_root,
                    read_only_root=sc.get("readOnlyRootFilesystem") is True,
                    missing_limits=tuple(r for r in ("cpu", "memory") if not limits.get(r)),
                )
            )
    sa = text(spec.get("serviceAccountName")) or text(spec.get("serviceAccount")) or "default"
    return PodFacts(
        containers=tuple(containers),
        windows=text(dig(spec, "os", "name")).lower() == _WINDOWS,
        host_network=spec.get("hostNetwork") is True,
        user_namespace=spec.get("hostUsers") is False,
        automount_token=_bool(spec.get("automountServiceAccountToken")),
        service_account=sa,
    )


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
