"""Facts about one pod template, computed once per distinct template.

Clusters run many pods from few templates (10,000 pods, a few hundred Deployments), and many
Deployments share a template (the same chart installed per namespace), so the engine analyses each
distinct template once and reuses the result for every workload that has it.
"""

from __future__ import annotations

from functools import lru_cache
from operator import lt
from typing import Any, NamedTuple

import orjson

from posture.checks.images import ImageRef, parse_image
from posture.checks.inventory import PackedTemplate
from posture.checks.safe import MAX_TEXT, clip, integer, mapping, text
from posture.checks.secrets import looks_secret, name_looks_secret

_WINDOWS = "windows"
# The service account a pod runs as when its spec names none (upstream: the admission
# controller sets serviceAccountName to "default").
DEFAULT_ACCOUNT = "default"
_EMPTY: dict[str, Any] = {}

# A pod's container lists, in the order the checks read them (init containers run first), and
# how findings name a container of each. Ephemeral containers are the debug containers
# `kubectl debug` adds to a running pod: upstream, they may not set resources, ports or probes,
# so they are never asked for limits.
CONTAINER_LISTS: tuple[tuple[str, str], ...] = (
    ("initContainers", "Init container"),
    ("containers", "Container"),
    ("ephemeralContainers", "Ephemeral container"),
)
_NO_LIMITS_APPLY = "ephemeralContainers"
# Indexed by (cpu limit missing, memory limit missing); the same table serves requests.
_MISSING_LIMITS: dict[tuple[bool, bool], tuple[str, ...]] = {
    (False, False): (),
    (True, False): ("cpu",),
    (False, True): ("memory",),
    (True, True): ("cpu", "memory"),
}
_MISSING_REQUESTS = _MISSING_LIMITS
_MAX_SECRET_ENV = 50


# Env var names repeat across templates far more than values do (the same chart, the same
# framework's settings), so the name's verdict is kept for the next template.
_secret_name = lru_cache(maxsize=8192)(name_looks_secret)


def _secret_env(env: object) -> tuple[str, ...]:
    """Return the names of the env vars whose literal ``value`` looks like a credential.

    Only ``value`` is read: ``valueFrom`` takes the value from a Secret, a ConfigMap or a
    field, which is what the finding asks for. The values never leave this function.

    ``looks_secret`` decides, but only after a cheap test that is never false where it could
    say yes: the name's verdict (cached), or a value holding what every credential shape the
    matcher knows holds, a ``_`` (GitHub tokens, ``"private_key"``), a ``-`` (PEM armour,
    Slack tokens) or an AWS key id's ``AKIA``/``ASIA``. Most values (numbers, hosts, flags)
    fail it and skip the matcher's regular expressions, which would cost more than the rest of
    a container's facts together.
    """
    if not isinstance(env, list):
        return ()
    found: list[str] = []
    for var in env:
        if not isinstance(var, dict):
            continue
        value = var.get("value")
        if not value or not isinstance(value, str):
            continue
        name = var.get("name")
        if not isinstance(name, str):
            name = ""
        if (
            not _secret_name(name)
            and "_" not in value
            and "-" not in value
            and "AKIA" not in value
            and "ASIA" not in value
        ):
            continue
        if looks_secret(name, value):
            found.append(name if len(name) <= MAX_TEXT else clip(name))
            # Findings stay bounded however many variables a hostile template lists.
            if len(found) == _MAX_SECRET_ENV:
                break
    return tuple(found)


# Named tuples rather than frozen dataclasses: as immutable, and several times cheaper to build,
# which counts when every template of a 10,000-pod cluster is distinct.
class ContainerFacts(NamedTuple):
    """What the checks need to know about one container of a template.

    ``source`` is the list the container is in (``CONTAINER_LISTS``). ``run_as_user`` and
    ``run_as_non_root`` are the effective values, the container's own when set, else the pod's
    (upstream: a container's securityContext overrides the pod's field by field);
    ``run_as_user_from`` and ``run_as_non_root_from`` say which (``"container"``, ``"pod"``,
    or ``""`` when neither sets it). ``missing_limits`` and ``missing_requests`` are empty for
    ephemeral containers, which upstream forbids resources.
    """

    name: str
    source: str
    image: str
    ref: ImageRef
    pull_policy: str
    run_as_user: int | None
    run_as_non_root: bool | None
    read_only_root: bool
    missing_limits: tuple[str, ...]
    # Read by several checks each, so worked out once: the name and image cut for messages
    # and evidence, and the image reference's ``floating`` and ``mutable``.
    shown_name: str
    shown_image: str
    floating: bool
    mutable: bool
    run_as_user_from: str
    run_as_non_root_from: str
    # "Container app", "Init container setup", "Ephemeral container debugger".
    label: str
    # Resources with neither a request nor a limit the request would default to.
    missing_requests: tuple[str, ...]
    # Names (cut for messages) of env vars holding a literal credential-looking value.
    secret_env: tuple[str, ...]


class PodFacts(NamedTuple):
    """What the checks need to know about one pod template."""

    containers: tuple[ContainerFacts, ...]
    # The containers' names are distinct and ascending, as their findings are ordered.
    names_ascending: bool
    windows: bool
    host_network: bool
    user_namespace: bool
    automount_token: bool | None
    service_account: str


class TemplateIndex:
    """Number the distinct templates (by spec and annotations) and read each one's facts once.

    Canonical JSON tells equal templates apart exactly but costs as much as reading the facts,
    so it is computed only for templates that look alike: the same object again, or the same
    number of containers with the same first image. A template unlike any other is numbered
    without it (in a cluster of distinct templates, that is every one).
    """

    def __init__(self) -> None:
        self.facts: list[PodFacts] = []
        self._by_identity: dict[int, int] = {}
        # Every template numbered by its id, kept so that the id cannot be reused meanwhile.
        self._seen: list[object] = []
        # Look-alike summary -> the number of the one template that has it, or None once a
        # second has come (all of them are then in _by_content).
        self._lookalikes: dict[object, int | None] = {}
        self._by_content: dict[bytes, int] = {}
        # The first template of each number, packed when it came packed (see ``number``).
        self._templates: list[object] = []

    def number(self, template: object, packed: PackedTemplate | None = None) -> int:
        """Return the number of ``template``'s class of equal templates, a new one if unseen.

        ``packed`` is the ``PackedTemplate`` that ``template`` was just unpacked from: then
        the packed bytes, not the dict, are what the index keeps (and knows by identity), so
        that the dict can be dropped as soon as the caller is done with it.
        """
        held: object = template if packed is None else packed
        number = self._by_identity.get(id(held))
        if number is not None:
            return number
        summary = _lookalike(template)
        alone = self._lookalikes.get(summary, _UNSEEN)
        if alone is _UNSEEN:
            number = self._lookalikes[summary] = self._add(template, held)
        else:
            if alone is not None:
                first = self._templates[alone]
                if isinstance(first, PackedTemplate):
                    first = first.unpack()
                self._by_content[template_key(first)] = alone
                self._lookalikes[summary] = None
            key = template_key(template)
            number = self._by_content.get(key)
            if number is None:
                number = self._by_content[key] = self._add(template, held)
        self._by_identity[id(held)] = number
        self._seen.append(held)
        return number

    def _add(self, template: object, held: object) -> int:
        self._templates.append(held)
        self.facts.append(pod_facts(template))
        return len(self.facts) - 1


_UNSEEN: Any = object()


def _lookalike(template: object) -> object:
    # Equal templates always give equal summaries; different ones mostly do not.
    spec = template.get("spec") if isinstance(template, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list) or not containers:
        return None
    first = containers[0]
    image = first.get("image") if isinstance(first, dict) else None
    return len(containers), image if isinstance(image, str) else None


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
    if annotations is None:
        # No annotations and null ones read the same to every check; and a null would send
        # every template without annotations down the repr path below.
        annotations = {}
    try:
        blob = orjson.dumps([spec, annotations], option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        blob = b"null"
    if b"null" not in blob:
        return blob
    # Keys that are not strings, integers over 64 bits, odd YAML types; and null, because
    # orjson writes YAML's .nan and .inf as null too, though the checks tell them apart. repr
    # is exact, and starts with "(" where JSON starts with "[", so the two never collide.
    return repr((spec, annotations)).encode("utf-8", "replace")


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def pod_facts(template: object) -> PodFacts:
    """Read the container facts of a pod-shaped dict (``metadata`` + ``spec``)."""
    spec = mapping(mapping(template).get("spec"))
    pod_sc = mapping(spec.get("securityContext"))
    pod_user = integer(pod_sc.get("runAsUser"))
    pod_user_from = "" if pod_user is None else "pod"
    pod_non_root = _bool(pod_sc.get("runAsNonRoot"))
    pod_non_root_from = "" if pod_non_root is None else "pod"
    # Pod-level resources (spec.resources): a pod-level request, or a pod-level limit it
    # defaults to, reserves the resource for every container that sets none of its own.
    pod_requests_cpu = pod_requests_memory = False
    pod_resources = spec.get("resources")
    if pod_resources:
        pod_requests = mapping(mapping(pod_resources).get("requests"))
        pod_limits = mapping(mapping(pod_resources).get("limits"))
        pod_requests_cpu = bool(pod_requests.get("cpu") or pod_limits.get("cpu"))
        pod_requests_memory = bool(pod_requests.get("memory") or pod_limits.get("memory"))
    containers: list[ContainerFacts] = []
    # The type tests below are written out rather than calling the helpers of safe.py: this runs
    # for every container of every distinct template, and the calls would double its cost.
    for field, kind in CONTAINER_LISTS:
        listed = spec.get(field)
        if not isinstance(listed, list):
            continue
        for c in listed:
            if not isinstance(c, dict):
                continue
            sc = c.get("securityContext")
            if not isinstance(sc, dict):
                sc = _EMPTY
            user = sc.get("runAsUser")
            if not isinstance(user, int) or isinstance(user, bool):
                user, user_from = pod_user, pod_user_from
            else:
                user_from = "container"
            non_root = sc.get("runAsNonRoot")
            if not isinstance(non_root, bool):
                non_root, non_root_from = pod_non_root, pod_non_root_from
            else:
                non_root_from = "container"
            name = c.get("name")
            if not isinstance(name, str):
                name = ""
            image = c.get("image")
            if not isinstance(image, str):
                image = ""
            pull_policy = c.get("imagePullPolicy")
            resources = c.get("resources")
            if not isinstance(resources, dict):
                resources = _EMPTY
            limits = resources.get("limits")
            if not isinstance(limits, dict):
                limits = _EMPTY
            missing_limits: tuple[str, ...] = ()
            missing_requests: tuple[str, ...] = ()
            # Both limits set (the common case) means both requests are, by default.
            if field != _NO_LIMITS_APPLY and not (limits.get("cpu") and limits.get("memory")):
                no_cpu, no_memory = not limits.get("cpu"), not limits.get("memory")
                missing_limits = _MISSING_LIMITS[(no_cpu, no_memory)]
                requests = resources.get("requests")
                if not isinstance(requests, dict):
                    requests = _EMPTY
                # Upstream: a limit without a request makes the request default to the
                # limit, so only a resource with neither lacks a request.
                missing_requests = _MISSING_REQUESTS[(
                    no_cpu and not requests.get("cpu") and not pod_requests_cpu,
                    no_memory and not requests.get("memory") and not pod_requests_memory,
                )]
            env = c.get("env")
            ref = parse_image(image)
            shown_name = name if len(name) <= MAX_TEXT else clip(name)
            facts = (
                name,
                field,
                image,
                ref,
                pull_policy if isinstance(pull_policy, str) else "",
                user,
                non_root,
                sc.get("readOnlyRootFilesystem") is True,
                missing_limits,
                shown_name,
                image if len(image) <= MAX_TEXT else clip(image),
                ref.floating,
                ref.mutable,
                user_from,
                non_root_from,
                f"{kind} {shown_name}",
                missing_requests,
                _secret_env(env) if env else (),
            )
            # The named tuple's own __new__ is a Python function; tuple.__new__ builds the same.
            containers.append(tuple.__new__(ContainerFacts, facts))
    # serviceAccount is the deprecated alias of serviceAccountName, read when the latter is unset.
    sa = (
        text(spec.get("serviceAccountName")) or text(spec.get("serviceAccount")) or DEFAULT_ACCOUNT
    )
    names = [c.name for c in containers]
    pod = (
        tuple(containers),
        all(map(lt, names, names[1:])),
        text(mapping(spec.get("os")).get("name")).lower() == _WINDOWS,
        spec.get("hostNetwork") is True,
        spec.get("hostUsers") is False,
        _bool(spec.get("automountServiceAccountToken")),
        sa,
    )
    return tuple.__new__(PodFacts, pod)
