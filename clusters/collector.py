"""Read one cluster into an ``Inventory`` through the official client.

Lists are paged (``limit=500``) and read as raw JSON (``_preload_content=False``) parsed with
orjson: building the client's pydantic models for 10,000 pods costs several times the time and
memory (see BENCHMARKS.md). Pods are folded into their workloads page by page and never held.

A resource the service account may not read (403) or that fails on its own is recorded in the
coverage and the poll goes on (a *partial* snapshot). A failure that concerns the whole cluster —
unreachable, TLS, 401 — ends the poll with ``ClusterUnavailable``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters import kube
from clusters.kubeconfig import ClusterCredentials
from clusters.workloads import WorkloadIndex
from posture.checks.inventory import Coverage, Inventory, KubeObject, empty_inventory

PAGE_SIZE = 500
TRIVY = ("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports")

# Keys that can be large and that no check reads.
_DROP_META = ("managedFields",)
_CONTROLLERS = {
    "replicasets": "ReplicaSet",
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
    "jobs": "Job",
    "cronjobs": "CronJob",
}


class ClusterUnavailable(Exception):
    """The cluster as a whole could not be read (network, TLS, auth, protocol)."""

    def __init__(self, failure: kube.Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class ResourceUnreadable(Exception):
    def __init__(self, coverage: Coverage) -> None:
        super().__init__(coverage["message"])
        self.coverage = coverage


Lister = Callable[..., Any]


def _listers(api: k8s.ApiClient) -> dict[str, Lister]:
    core, apps, batch = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.BatchV1Api(api)
    rbac, net = k8s.RbacAuthorizationV1Api(api), k8s.NetworkingV1Api(api)
    custom = k8s.CustomObjectsApi(api)
    return {
        "nodes": core.list_node,
        "namespaces": core.list_namespace,
        "replicasets": apps.list_replica_set_for_all_namespaces,
        "deployments": apps.list_deployment_for_all_namespaces,
        "statefulsets": apps.list_stateful_set_for_all_namespaces,
        "daemonsets": apps.list_daemon_set_for_all_namespaces,
        "jobs": batch.list_job_for_all_namespaces,
        "cronjobs": batch.list_cron_job_for_all_namespaces,
        "pods": core.list_pod_for_all_namespaces,
        "services": core.list_service_for_all_namespaces,
        "serviceaccounts": core.list_service_account_for_all_namespaces,
        "networkpolicies": net.list_network_policy_for_all_namespaces,
        "roles": rbac.list_role_for_all_namespaces,
        "rolebindings": rbac.list_role_binding_for_all_namespaces,
        "clusterroles": rbac.list_cluster_role,
        "clusterrolebindings": rbac.list_cluster_role_binding,
        "vulnerabilityreports": lambda **kw: custom.list_cluster_custom_object(*TRIVY, **kw),
    }


@dataclass(frozen=True)
class Options:
    timeouts: kube.Timeouts
    page_size: int = PAGE_SIZE
    # "raw": orjson on the response bytes; "models": the client's pydantic models (for
    # benchmarks only — it is what the client does by default).
    parse: str = "raw"


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing thousands of objects makes the cyclic GC rescan everything held so far, again and
    # again; the objects parsed here hold no cycles, so pausing it is safe and ~2x faster.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _trim(obj: Any) -> KubeObject:
    if not isinstance(obj, dict):
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in _DROP_META:
            meta.pop(key, None)
    return obj


class Collector:
    def __init__(self, api: k8s.ApiClient, options: Options) -> None:
        self.api = api
        self.options = options
        self.listers = _listers(api)

    def version(self) -> dict[str, Any]:
        try:
            if self.options.parse == "models":
                info = k8s.VersionApi(self.api).get_code(
                    _request_timeout=self.options.timeouts.as_request_timeout())
                return dict(self.api.sanitize_for_serialization(info))
            response = k8s.VersionApi(self.api).get_code(
                _preload_content=False,
                _request_timeout=self.options.timeouts.as_request_timeout())
            body = orjson.loads(response.data)
        except Exception as exc:  # noqa: BLE001 — classified, never swallowed
            raise ClusterUnavailable(kube.describe_failure(exc, self.api.configuration.host)
                                     ) from None
        if not isinstance(body, dict) or not isinstance(body.get("gitVersion"), str):
            raise ClusterUnavailable(kube.Failure("protocol", "/version did not answer with a "
                                                  "Kubernetes version object."))
        return body

    def pages(self, resource: str) -> Iterator[list[KubeObject]]:
        """Yield the items of ``resource`` page by page; ``_Restart`` on an expired token."""
        token: str | None = None
        while True:
            try:
                items, token = self._page(resource, token)
            except ApiException as exc:
                if exc.status == 410 and token:
                    # The continue token expired mid-list; the caller starts over, since
                    # resuming from the 410's token would mix two states of the cluster.
                    raise _Restart() from None
                raise
            yield items
            if not token:
                return

    def _page(self, resource: str, token: str | None) -> tuple[list[KubeObject], str | None]:
        kwargs: dict[str, Any] = {
            "limit": self.options.page_size,
            "_request_timeout": self.options.timeouts.as_request_timeout(),
        }
        if token:
            kwargs["_continue"] = token
        lister = self.listers[resource]
        if self.options.parse == "models" and resource != "vulnerabilityreports":
            result = lister(**kwargs)
            body = self.api.sanitize_for_serialization(result)
        else:
            response = lister(_preload_content=False, **kwargs)
            try:
                body = orjson.loads(response.data)
            except orjson.JSONDecodeError as exc:
                raise ResourceUnreadable(Coverage(
                    state="error", count=0,
                    message=f"malformed JSON from the API server: {exc}"[:300])) from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ResourceUnreadable(Coverage(state="error", count=0,
                                              message="the API server's answer is not a list"))
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        token = meta.get("continue") or None
        return [_trim(item) for item in body.get("items") or []], (
            token if isinstance(token, str) else None)

    def read_all(self, resource: str, sink: Callable[[KubeObject], None],
                 reset: Callable[[], None]) -> Coverage:
        """Feed every item of ``resource`` to ``sink``; return the coverage.

        When the list must start over (expired continue token), ``reset`` first forgets what
        the sink received, so no item is counted twice.
        """
        for attempt in (1, 2):
            reset()
            count = 0
            try:
                for page in self.pages(resource):
                    for item in page:
                        sink(item)
                    count += len(page)
            except _Restart:
                if attempt == 2:
                    return Coverage(state="error", count=count,
                                    message="the list's continue token expired twice (410 Gone)")
                continue
            except ResourceUnreadable as exc:
                return exc.coverage
            except ApiException as exc:
                return self._api_failure(resource, exc)
            except Exception as exc:  # noqa: BLE001 — classified below
                failure = kube.describe_failure(exc, self.api.configuration.host)
                raise ClusterUnavailable(failure) from None
            return Coverage(state="read", count=count, message="")
        raise AssertionError("unreachable")

    def _api_failure(self, resource: str, exc: ApiException) -> Coverage:
        status = int(exc.status or 0)
        message = _status_message(exc)
        if status == 401:
            raise ClusterUnavailable(kube.describe_failure(exc))
        if status == 403:
            return Coverage(state="forbidden", count=0, message=message or "403 Forbidden")
        if status == 404 and resource == "vulnerabilityreports":
            return Coverage(state="absent", count=0,
                            message="Trivy Operator is not installed (no VulnerabilityReport API)")
        if status == 404:
            return Coverage(state="error", count=0, message=message or "404 Not Found")
        return Coverage(state="error", count=0, message=f"HTTP {status}: {message}".strip(": "))


class _Restart(Exception):
    pass


def _status_message(exc: ApiException) -> str:
    """Return the Status message of an API error body (untrusted text, kept short)."""
    body = exc.body
    try:
        status = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return status["message"][:500]
    return (exc.reason or "")[:200]


def collect(creds: ClusterCredentials, options: Options) -> Inventory:
    """Read the whole cluster. Raise ``ClusterUnavailable`` when it cannot be read at all."""
    inventory = empty_inventory()
    index = WorkloadIndex()
    with kube.api_client(creds) as api, _gc_paused():
        collector = Collector(api, options)
        inventory["version"] = collector.version()
        coverage = inventory["coverage"]
        for resource in ("nodes", "namespaces"):
            items = inventory[resource]
            coverage[resource] = collector.read_all(resource, items.append, items.clear)
        for resource, kind in _CONTROLLERS.items():
            coverage[resource] = collector.read_all(
                resource, lambda obj, kind=kind: index.add_controller(kind, obj),
                lambda kind=kind: index.forget_controllers(kind))
        coverage["pods"] = collector.read_all("pods", index.add_pod, index.forget_pods)
        for resource in ("services", "serviceaccounts", "networkpolicies", "roles",
                         "rolebindings", "clusterroles", "clusterrolebindings",
                         "vulnerabilityreports"):
            items = inventory[resource]  # type: ignore[literal-required]
            coverage[resource] = collector.read_all(resource, items.append, items.clear)
        for node in inventory["nodes"]:
            status = node.get("status")
            if isinstance(status, dict):
                status.pop("images", None)  # large, and nothing reads it
        inventory["workloads"] = index.workloads()
    return inventory
