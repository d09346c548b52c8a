"""Group pods into the workloads that own them.

Findings are keyed by workload, so a Deployment's pods (owned through a ReplicaSet) count as one
Deployment, a CronJob's pods (through a Job) as one CronJob, and only a pod with no controller is
its own workload. Pods stream through page by page; only a count and, when its owner could not
be read, one representative pod template are kept per workload.
"""

from __future__ import annotations

from typing import Any

from posture.checks.inventory import KubeObject, Workload

Key = tuple[str, str, str]  # (kind, namespace, name)

# Owners that own pods through an intermediate object, and how to find the top owner's name
# when the intermediate object could not be read: the label the controller puts on pods.
_HASH_LABEL = "pod-template-hash"


def _meta(obj: KubeObject) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _controller(meta: dict[str, Any]) -> tuple[str, str] | None:
    refs = meta.get("ownerReferences")
    if not isinstance(refs, list):
        return None
    fallback = None
    for ref in refs:
        if not isinstance(ref, dict):
            continue
        pair = (_str(ref.get("kind")), _str(ref.get("name")))
        if ref.get("controller") is True:
            return pair
        fallback = fallback or pair
    return fallback


def _labels(meta: dict[str, Any]) -> dict[str, str]:
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def pod_template_of(obj: KubeObject) -> KubeObject:
    """Return the Pod-shaped template of a workload object (metadata + spec)."""
    spec: Any = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if obj.get("kind") == "CronJob":
        job: Any = spec.get("jobTemplate") if isinstance(spec.get("jobTemplate"), dict) else {}
        spec = job.get("spec") if isinstance(job.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    if not isinstance(template, dict):
        return {"metadata": {}, "spec": {}}
    meta = dict(_meta(template))
    meta["namespace"] = _meta(obj).get("namespace", "")
    return {"metadata": meta, "spec": template.get("spec") if isinstance(
        template.get("spec"), dict) else {}}


def _pod_as_template(pod: KubeObject) -> KubeObject:
    meta = _meta(pod)
    keep = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if k in meta}
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    return {"metadata": keep, "spec": spec}


class WorkloadIndex:
    """Collects controllers and pods, then yields one ``Workload`` per top owner."""

    def __init__(self) -> None:
        self._objects: dict[Key, KubeObject] = {}
        # ReplicaSet → Deployment and Job → CronJob, from the intermediate objects when read.
        self._parent: dict[Key, Key] = {}
        self._pods: dict[Key, int] = {}
        self._sample: dict[Key, KubeObject] = {}

    def add_controller(self, kind: str, obj: KubeObject) -> None:
        """Add a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob."""
        meta = _meta(obj)
        key = (kind, _str(meta.get("namespace")), _str(meta.get("name")))
        owner = _controller(meta)
        if kind in ("ReplicaSet", "Job") and owner and owner[0] in ("Deployment", "CronJob"):
            self._parent[key] = (owner[0], key[1], owner[1])
            return
        self._objects[key] = {"kind": kind, "metadata": meta, "spec": obj.get("spec")}

    def forget_controllers(self, kind: str) -> None:
        """Drop what was added for ``kind`` (its list is being read again)."""
        for key in [k for k in self._objects if k[0] == kind]:
            del self._objects[key]
        for key in [k for k in self._parent if k[0] == kind]:
            del self._parent[key]

    def forget_pods(self) -> None:
        """Drop every pod added so far (the pod list is being read again)."""
        self._pods.clear()
        self._sample.clear()

    def add_pod(self, pod: KubeObject) -> None:
        meta = _meta(pod)
        namespace = _str(meta.get("namespace"))
        owner = _controller(meta)
        if owner is None or not owner[0] or not owner[1]:
            key: Key = ("Pod", namespace, _str(meta.get("name")))
        else:
            key = (owner[0], namespace, owner[1])
            key = self._parent.get(key) or self._guess_parent(key, meta)
        self._pods[key] = self._pods.get(key, 0) + 1
        if key not in self._sample:
            self._sample[key] = _pod_as_template(pod)

    def _guess_parent(self, key: Key, meta: dict[str, Any]) -> Key:
        """Find a Deployment / CronJob when the ReplicaSet / Job itself could not be read."""
        kind, namespace, name = key
        if kind == "ReplicaSet":
            suffix = "-" + _labels(meta).get(_HASH_LABEL, "\0")
            if name.endswith(suffix) and ("Deployment", namespace, name[: -len(suffix)]) in \
                    self._objects:
                return ("Deployment", namespace, name[: -len(suffix)])
        if kind == "Job":
            base, _, stamp = name.rpartition("-")
            if stamp.isdigit() and ("CronJob", namespace, base) in self._objects:
                return ("CronJob", namespace, base)
        return key

    def workloads(self) -> list[Workload]:
        """Return every workload: controllers (with or without pods) and pod-only owners."""
        result: list[Workload] = []
        for key, obj in self._objects.items():
            result.append(Workload(
                kind=key[0], namespace=key[1], name=key[2], labels=_labels(_meta(obj)),
                template=pod_template_of(obj), pods=self._pods.get(key, 0)))
        for key, count in self._pods.items():
            if key in self._objects:
                continue
            sample = self._sample[key]
            result.append(Workload(kind=key[0], namespace=key[1], name=key[2],
                                   labels=_labels(_meta(sample)), template=sample, pods=count))
        result.sort(key=lambda w: (w["namespace"], w["kind"], w["name"]))
        return result
