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
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from posture.checks import admission
from posture.checks.inventory import RESOURCES, Coverage, Inventory, Workload, empty_inventory
from posture.checks.safe import dig, mapping, string_map, text
from posture.checks.sensitive import reduce_configmap, reduce_token_secret

EXTENSIONS = (".yaml", ".yml", ".json")
# Manifests are small; a bigger file is more likely an accident (or an attack on the parser).
MAX_FILE_BYTES = 32 * 1024 * 1024
# YAML aliases can expand a small file into a huge object graph ("billion laughs"); the
# engine walks objects in full, so the expanded size is what must stay bounded.
MAX_NODES = 1_000_000

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


class _TooLarge(Exception):
    pass


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past ``MAX_NODES`` (or into a cycle)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _TooLarge("a YAML alias refers to a node that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_NODES:
            raise _TooLarge(f"the document expands to more than {MAX_NODES} YAML nodes")
        sizes[key] = total
        return total

    size(root)


def files(path: Path, errors: list[LoadError]) -> Iterator[Path]:
    """Yield the files ``path`` names; a directory is walked in sorted order.

    A directory that cannot be listed is recorded in ``errors`` rather than skipped in silence.
    """
    if not path.is_dir():
        yield path
        return

    def unlistable(exc: OSError) -> None:
        where = exc.filename if isinstance(exc.filename, str) else str(path)
        errors.append(LoadError(where, f"cannot list directory: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(path, onerror=unlistable):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(EXTENSIONS):
                yield Path(root) / name


def load(paths: Iterable[str]) -> tuple[list[SourcedObject], list[LoadError]]:
    """Read every object from ``paths``; unreadable files become errors, not exceptions."""
    objects: list[SourcedObject] = []
    errors: list[LoadError] = []
    looked_at: list[tuple[str, int, int]] = []
    for raw in paths:
        examined = 0
        failed_before = len(errors)
        for path in files(Path(raw), errors):
            examined += 1
            _load_file(path, objects, errors)
        looked_at.append((raw, examined, len(errors) - failed_before))
    if not objects:
        errors.extend(
            LoadError(raw, _nothing_found(examined, failed), kind=InputError.NO_MANIFESTS)
            for raw, examined, failed in looked_at
        )
    return objects, errors


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


def _load_file(path: Path, objects: list[SourcedObject], errors: list[LoadError]) -> None:
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            errors.append(LoadError(source, f"larger than {MAX_FILE_BYTES} bytes"))
            return
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(LoadError(source, f"cannot read: {exc}"))
        return
    try:
        documents = (
            _json_documents(content) if path.suffix.lower() == ".json" else _yaml_documents(content)
        )
    except json.JSONDecodeError as exc:
        errors.append(LoadError(source, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno))
        return
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        errors.append(LoadError(source, f"invalid YAML: {problem}", line, column))
        return
    except (yaml.YAMLError, _TooLarge, RecursionError) as exc:
        errors.append(LoadError(source, f"invalid YAML: {exc}"[:500]))
        return
    for line, doc, item_lines in documents:
        objects.extend(SourcedObject(source, ln, obj) for ln, obj in _unwrap(doc, line, item_lines))


_Document = tuple[int, Any, list[int]]


def _yaml_documents(content: str) -> list[_Document]:
    """Parse every document: (line, data, line of each List item)."""
    loader = yaml.SafeLoader(content)
    docs: list[_Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said a document follows; never None here
                break
            _check_size(node)
            data = loader.construct_document(node)
            docs.append((node.start_mark.line + 1, data, _item_lines(node)))
    finally:
        loader.dispose()
    return docs


def _item_lines(node: Any) -> list[int]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def _json_documents(content: str) -> list[_Document]:
    data = json.loads(content)
    lines: list[int] = []
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        # JSON is YAML: compose it once more, only to learn the line of each List item.
        loader = yaml.SafeLoader(content)
        try:
            lines = _item_lines(loader.get_single_node())
        except (yaml.YAMLError, _TooLarge, RecursionError):
            lines = []
        finally:
            loader.dispose()
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
    lists: dict[str, list[dict[str, Any]]] = {r: [] for r in _RESOURCE_OF_KIND.values()}
    policies: dict[str, list[dict[str, Any]]] = {r: [] for r in _ADMISSION_RESOURCES}
    workloads: list[Workload] = []
    for o in objects:
        policy = _admission(o.obj)
        if policy is not None:
            policies[policy[0]].append(policy[1])
            continue
        template = pod_template(o.obj)
        if template is not None:
            workloads.append(
                Workload(
                    kind=o.kind,
                    namespace=o.namespace,
                    name=o.name,
                    labels=string_map(dig(template, "metadata", "labels")),
                    template=template,
                    pods=0,
                )
            )
            continue
        resource = _RESOURCE_OF_KIND.get(o.kind)
        if resource is None:
            continue
        obj = o.obj
        # Values are dropped here as the collector drops them: a scan's output, like a poll's,
        # must never repeat a ConfigMap's values or a Secret's data.
        if o.kind == "ConfigMap":
            obj = reduce_configmap(obj)
        elif o.kind == "Secret":
            reduced = reduce_token_secret(obj)
            if reduced is None:
                continue
            obj = reduced
        if o.kind not in _CLUSTER_SCOPED:
            obj = {**obj, "metadata": {**mapping(obj.get("metadata")), "namespace": o.namespace}}
        lists[resource].append(obj)
    inventory = empty_inventory()
    inventory["workloads"] = workloads
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
        r: Coverage(state="absent" if r in _NOT_IN_MANIFESTS else "read", message="", count=0)
        for r in RESOURCES
    }
    if any(policies.values()):
        for resource, items in policies.items():
            inventory[resource] = items  # type: ignore[literal-required]  # an admission resource
    else:
        # An application's manifests say nothing about the cluster's admission control.
        for resource in _ADMISSION_RESOURCES:
            inventory["coverage"][resource] = Coverage(
                state="absent", message=admission.NOT_IN_MANIFESTS, count=0)
    return inventory
