"""Read Kubernetes manifests from files and build the inventory ``posture scan`` evaluates.

Reads multi-document YAML and JSON, unwraps ``kind: List`` (and ``*List``) items, and walks
directories for ``.yaml``, ``.yml`` and ``.json`` files. Every object keeps its file and line
so results can point at it. A file that cannot be read or parsed becomes an error entry with
the parser's line and column; the other files are still read. When no path yields a single
Kubernetes object, each path gets a ``no-manifests`` error: a scan that checked nothing must
not pass.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml

from posture.checks import admission, yamlload
from posture.checks.inventory import (
    RESOURCES,
    Coverage,
    Inventory,
    PackedTemplate,
    Workload,
    empty_inventory,
)
from posture.checks.safe import dig, mapping, string_map, text
from posture.checks.sensitive import reduce_configmap, reduce_token_secret

EXTENSIONS = (".yaml", ".yml", ".json")
# Manifests are small; a bigger file is more likely an accident (or an attack on the parser).
MAX_FILE_BYTES = 32 * 1024 * 1024
# YAML aliases can expand a small file into a huge object graph ("billion laughs"):
# posture.checks.yamlload bounds the expanded size of every document.
MAX_NODES = yamlload.MAX_NODES

# Where each kind keeps its pod template; kinds not listed here own no pods.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}
_RESOURCE_OF_KIND = {
    "Namespace": "namespaces",
    "Service": "services",
    "NetworkPolicy": "networkpolicies",
    "ServiceAccount": "serviceaccounts",
    "Role": "roles",
    "RoleBinding": "rolebindings",
    "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
    "Ingress": "ingresses",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
}
_CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding",
                             "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
                             "ClusterPolicy"})
_ADMISSION_RESOURCES = tuple(r for rs in admission.ENGINES.values() for r in rs) + (
    "kyvernopolicies",)


def _admission(obj: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return (resource, slimmed object) for an admission policy manifest, else None."""
    group = text(obj.get("apiVersion")).partition("/")[0]
    kind = text(obj.get("kind"))
    if group == "admissionregistration.k8s.io" and kind == "ValidatingAdmissionPolicy":
        return "validatingadmissionpolicies", admission.slim_policy(obj)
    if group == "admissionregistration.k8s.io" and kind == "ValidatingAdmissionPolicyBinding":
        return "validatingadmissionpolicybindings", admission.slim_binding(obj)
    if group == "kyverno.io" and kind == "ClusterPolicy":
        return "kyvernoclusterpolicies", admission.slim_kyverno(obj)
    if group == "kyverno.io" and kind == "Policy":
        return "kyvernopolicies", admission.slim_kyverno(obj)
    if group == "constraints.gatekeeper.sh":
        return "gatekeeperconstraints", admission.slim_constraint(obj)
    return None
# What a set of manifests can tell: everything but what only a live cluster has.
_NOT_IN_MANIFESTS = frozenset({"nodes", "vulnerabilityreports"})


@dataclass(frozen=True, slots=True)
class SourcedObject:
    """A Kubernetes object with the file and line it came from."""

    source: str
    line: int
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        """Return the object's kind ("" when missing)."""
        return text(self.obj.get("kind"))

    @property
    def name(self) -> str:
        """Return ``metadata.name``."""
        return text(dig(self.obj, "metadata", "name"))

    @property
    def namespace(self) -> str:
        """Return the namespace the object would land in (``default`` when unset)."""
        if self.kind in _CLUSTER_SCOPED:
            return ""
        return text(dig(self.obj, "metadata", "namespace")) or "default"


class InputError(StrEnum):
    """Why part of the input could not be scanned; the values appear in JSON and SARIF."""

    UNREADABLE = "unreadable"
    INVALID_OBJECT = "invalid-object"
    NO_MANIFESTS = "no-manifests"

    @property
    def description(self) -> str:
        """Return what the error means, in a sentence."""
        return _INPUT_ERRORS[self]


_INPUT_ERRORS = {
    InputError.UNREADABLE: "A file could not be read or parsed as YAML or JSON; nothing in it "
    "was checked.",
    InputError.INVALID_OBJECT: "An object is malformed (a field of the wrong type) so its pod "
    "template could not be checked; the API server would refuse it.",
    InputError.NO_MANIFESTS: "No Kubernetes object (a document with a kind) was found in this "
    "path: nothing was checked.",
}


@dataclass(frozen=True, slots=True)
class LoadError:
    """Input that could not be scanned, with the parser's position when known."""

    source: str
    message: str
    line: int | None = None
    column: int | None = None
    kind: InputError = InputError.UNREADABLE

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict."""
        return {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "kind": str(self.kind),
            "message": self.message,
        }


def files(path: Path, errors: list[LoadError]) -> Iterator[Path]:
    """Yield the files ``path`` names; a directory is walked in sorted order.

    A directory that cannot be listed is recorded in ``errors`` rather than skipped in silence.
    """
    for entry in _entries(path):
        if isinstance(entry, LoadError):
            errors.append(entry)
        else:
            yield entry


def _entries(path: Path) -> Iterator[Path | LoadError]:
    """Yield the files ``path`` names and, where they fall in the walk, unlistable directories."""
    if not path.is_dir():
        yield path
        return
    unlistable: list[LoadError] = []

    def record(exc: OSError) -> None:
        where = exc.filename if isinstance(exc.filename, str) else str(path)
        unlistable.append(LoadError(where, f"cannot list directory: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(path, onerror=record):
        yield from unlistable
        unlistable.clear()
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(EXTENSIONS):
                yield Path(root) / name
    yield from unlistable


def load(paths: Iterable[str], jobs: int = 1) -> tuple[list[SourcedObject], list[LoadError]]:
    """Read every object from ``paths``; unreadable files become errors, not exceptions."""
    errors: list[LoadError] = []
    objects = list(iter_objects(paths, errors, jobs))
    return objects, errors


def iter_objects(
    paths: Iterable[str], errors: list[LoadError], jobs: int = 1
) -> Iterator[SourcedObject]:
    """Yield every object from ``paths``, file by file, in path and walk order.

    Only one file's text and documents are held at a time (per process), so the number of
    files does not bound what can be scanned. Unreadable files and unlistable directories are
    appended to ``errors`` in the same order; when no path yielded an object, each path gets a
    ``no-manifests`` error at the end. With ``jobs`` above 1, that many processes parse the
    files, and the objects still come out in the same order as with one.
    """
    return iter_files(paths, errors, read_file, jobs)


T = TypeVar("T")


def iter_files(
    paths: Iterable[str],
    errors: list[LoadError],
    read: Callable[[str], tuple[list[T], list[LoadError]]],
    jobs: int = 1,
) -> Iterator[T]:
    """Yield what ``read`` returns for each file of ``paths``, as ``iter_objects`` does.

    ``read`` runs in the worker processes when ``jobs`` is above 1 (so it must be picklable,
    a module-level function or a ``functools.partial`` of one): work done there per object is
    spread over the processes too. An empty list from ``read`` means the file held no object.
    """
    raws = list(paths)
    # The names are listed before any file is read (cheap next to parsing, and a pool needs
    # them up front); kept as strings, a small fraction of what Path objects would hold.
    entries = [
        (i, entry if isinstance(entry, LoadError) else str(entry))
        for i, raw in enumerate(raws)
        for entry in _entries(Path(raw))
    ]
    wanted = [e for _, e in entries if isinstance(e, str)]
    examined = [0] * len(raws)
    failed = [0] * len(raws)
    found = False
    with _mapper(jobs) as mapped:
        results = mapped(read, wanted)
        for i, entry in entries:
            if isinstance(entry, LoadError):
                errors.append(entry)
                failed[i] += 1
                continue
            examined[i] += 1
            file_items, file_errors = next(results)
            errors.extend(file_errors)
            failed[i] += len(file_errors)
            if file_items:
                found = True
                yield from file_items
    if not found:
        errors.extend(
            LoadError(raw, _nothing_found(examined[i], failed[i]), kind=InputError.NO_MANIFESTS)
            for i, raw in enumerate(raws)
        )


@contextmanager
def _mapper(jobs: int) -> Iterator[Callable[[Callable[[str], Any], list[str]], Iterator[Any]]]:
    """Yield a ``map`` that runs in ``jobs`` processes and keeps the order."""
    if jobs <= 1:
        yield map
        return
    # Each file is a small task: chunks of 64 keep the per-task traffic from dominating (16
    # measured slower on 5,000 files). Results the parent has not taken yet wait in its queue;
    # it keeps what the checks need of them anyway.
    with multiprocessing.get_context().Pool(jobs, initializer=_worker_init,
                                            initargs=(yamlload.libyaml(),)) as pool:
        yield lambda read, names: pool.imap(read, names, chunksize=64)


def _worker_init(with_libyaml: bool) -> None:
    # A worker parses as its parent does, even when the parent was told to do without libyaml.
    setattr(yaml, "__with_libyaml__", with_libyaml)  # noqa: B010 (a Final to mypy)


def _nothing_found(examined: int, failed: int) -> str:
    if examined == 0 and failed:
        return "this directory could not be listed: nothing was scanned"
    if examined == 0:
        return "no .yaml, .yml or .json file in this directory: nothing was scanned"
    if failed:
        return (
            f"no Kubernetes manifest could be read here ({failed} of {_count_files(examined)} "
            "failed): nothing was scanned"
        )
    return (
        f"{_count_files(examined)} read, none holds a Kubernetes object (a document with a kind): "
        "nothing was scanned"
    )


def _count_files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"


def read_file(name: str) -> tuple[list[SourcedObject], list[LoadError]]:
    """Return the objects of one file, or the error that kept it from being read."""
    path = Path(name)
    source = name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [LoadError(source, f"larger than {MAX_FILE_BYTES} bytes")]
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [LoadError(source, f"cannot read: {exc}")]
    try:
        documents = (
            _json_documents(content) if path.suffix.lower() == ".json"
            else yamlload.documents(content)
        )
    except json.JSONDecodeError as exc:
        return [], [LoadError(source, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        return [], [LoadError(source, f"invalid YAML: {problem}", line, column)]
    except (yaml.YAMLError, yamlload.TooLarge, RecursionError) as exc:
        return [], [LoadError(source, f"invalid YAML: {exc}"[:500])]
    return [
        SourcedObject(source, ln, obj)
        for line, doc, item_lines in documents
        for ln, obj in _unwrap(doc, line, item_lines)
    ], []


def _json_documents(content: str) -> list[yamlload.Document]:
    data = json.loads(content)
    lines: list[int] = []
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        # JSON is YAML: compose it once more, only to learn the line of each List item.
        lines = yamlload.json_item_lines(content)
    return [(1, data, lines)]


def _unwrap(doc: Any, line: int, item_lines: list[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    if not isinstance(doc, dict):
        return
    kind = text(doc.get("kind"))
    items = doc.get("items")
    if kind.endswith("List") and isinstance(items, list):
        # Typed lists from the API (ServiceList, ...) leave out each item's kind.
        item_kind = kind[: -len("List")]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                if "kind" not in item and item_kind:
                    item = {"kind": item_kind, **item}
                if isinstance(item.get("kind"), str):
                    yield (item_lines[i] if i < len(item_lines) else line), item
        return
    # A document without a kind (a values file, a kustomization) is not a Kubernetes object.
    if isinstance(doc.get("kind"), str):
        yield line, doc


def pod_template(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Return the pod-shaped template (``metadata`` + ``spec``) of a pod-owning object."""
    kind = text(obj.get("kind"))
    path = TEMPLATE_PATHS.get(kind)
    if path is None:
        return None
    if kind == "Pod":
        return {"metadata": obj.get("metadata"), "spec": obj.get("spec")}
    return mapping(dig(obj, *path))


def build_inventory(objects: Iterable[SourcedObject]) -> Inventory:
    """Build the inventory the engine evaluates from manifest objects.

    Namespaced objects without a namespace land in ``default``, as ``kubectl apply`` with no
    namespace would put them. Nodes and vulnerability reports are not in manifests, so the
    checks that need them are not evaluated.
    """
    builder = InventoryBuilder()
    for o in objects:
        builder.add(o)
    return builder.inventory()


class InventoryBuilder:
    """Gather, one object at a time, what the engine needs of manifest objects.

    Only what the checks read is kept: of a pod-owning object, its pod template, packed
    (``PackedTemplate``: the engine unpacks one at a time, so what a scan holds per workload
    is its bytes, not a dict tree); of a ConfigMap or a token Secret, what the collector keeps
    of them (never values).
    """

    def __init__(self) -> None:
        self._lists: dict[str, list[dict[str, Any]]] = {r: [] for r in _RESOURCE_OF_KIND.values()}
        self._policies: dict[str, list[dict[str, Any]]] = {r: [] for r in _ADMISSION_RESOURCES}
        self._workloads: list[Workload] = []

    def add(self, o: SourcedObject) -> None:
        """Add one object (kinds the checks do not read are left out)."""
        policy = _admission(o.obj)
        if policy is not None:
            self._policies[policy[0]].append(policy[1])
            return
        template = pod_template(o.obj)
        if template is not None:
            self._workloads.append(
                Workload(
                    kind=o.kind,
                    namespace=o.namespace,
                    name=o.name,
                    labels=string_map(dig(template, "metadata", "labels")),
                    template=PackedTemplate.pack(template),
                    pods=0,
                )
            )
            return
        resource = _RESOURCE_OF_KIND.get(o.kind)
        if resource is None:
            return
        obj = o.obj
        # Values are dropped here as the collector drops them: a scan's output, like a poll's,
        # must never repeat a ConfigMap's values or a Secret's data.
        if o.kind == "ConfigMap":
            obj = reduce_configmap(obj)
        elif o.kind == "Secret":
            reduced = reduce_token_secret(obj)
            if reduced is None:
                return
            obj = reduced
        if o.kind not in _CLUSTER_SCOPED:
            obj = {**obj, "metadata": {**mapping(obj.get("metadata")), "namespace": o.namespace}}
        self._lists[resource].append(obj)

    def inventory(self) -> Inventory:
        """Return the inventory of every object added so far."""
        lists = self._lists
        inventory = empty_inventory()
        inventory["workloads"] = self._workloads
        inventory["namespaces"] = lists["namespaces"]
        inventory["services"] = lists["services"]
        inventory["networkpolicies"] = lists["networkpolicies"]
        inventory["serviceaccounts"] = lists["serviceaccounts"]
        inventory["roles"] = lists["roles"]
        inventory["rolebindings"] = lists["rolebindings"]
        inventory["clusterroles"] = lists["clusterroles"]
        inventory["clusterrolebindings"] = lists["clusterrolebindings"]
        inventory["ingresses"] = lists["ingresses"]
        inventory["resourcequotas"] = lists["resourcequotas"]
        inventory["limitranges"] = lists["limitranges"]
        inventory["configmaps"] = lists["configmaps"]
        inventory["secrets"] = lists["secrets"]
        inventory["coverage"] = {
            r: Coverage(state="absent" if r in _NOT_IN_MANIFESTS else "read", message="",
                        count=0)
            for r in RESOURCES
        }
        if any(self._policies.values()):
            for resource, items in self._policies.items():
                inventory[resource] = items  # type: ignore[literal-required]  # an admission resource
        else:
            # An application's manifests say nothing about the cluster's admission control.
            for resource in _ADMISSION_RESOURCES:
                inventory["coverage"][resource] = Coverage(
                    state="absent", message=admission.NOT_IN_MANIFESTS, count=0)
        return inventory
