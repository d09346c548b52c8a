"""Read one cluster into an ``Inventory`` through the official client.

Lists are paged (``limit=500``) and read as raw JSON (``_preload_content=False``) parsed with
orjson: building the client's pydantic models for 10,000 pods costs several times the time and
memory (see BENCHMARKS.md). Pods are folded into their workloads page by page and never held.

A resource the service account may not read (403), or whose answer is unusable (not JSON, not a
list, over the size limit), is recorded in the coverage and the poll goes on (a *partial*
snapshot). A failure that concerns the whole cluster — unreachable, TLS, 401, a redirect, the
server overloaded (429, 5xx), a broken connection, the poll's deadline — ends the poll with
``ClusterUnavailable``. The deadline is checked before every request (so between pages) and
while bodies stream in.

Everything a cluster sends is untrusted. Strings are made storable as pages are parsed: NUL
characters, which PostgreSQL refuses in text and jsonb, are dropped, and names that become a
finding's identity are shortened (with a hash, so they stay distinct) when longer than
Kubernetes allows. Trivy reports are kept only in the parts Posture reads
(``posture.checks.trivy.slim_report``), with a limit on vulnerability entries per report and
per poll. ConfigMaps and Secrets are reduced as each page is parsed, before anything else sees
them (``posture.checks.sensitive``): no value and no Secret data is kept. Secrets are listed
only when ``Options.read_token_secrets`` is on. Admission policies are slimmed the same way
(``posture.checks.admission``); an add-on API that answers 404 is ``absent``.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters import kube
from clusters.kubeconfig import ClusterCredentials
from clusters.workloads import WorkloadIndex
from posture.checks import admission, sensitive, trivy
from posture.checks.inventory import Coverage, Inventory, KubeObject, empty_inventory

PAGE_SIZE = 500
TRIVY = ("aquasecurity.github.io", "v1alpha1", "vulnerabilityreports")
KYVERNO = ("kyverno.io", "v1")
GATEKEEPER_TEMPLATES = ("templates.gatekeeper.sh", "v1", "constrainttemplates")
GATEKEEPER_CONSTRAINTS = ("constraints.gatekeeper.sh", "v1beta1")
# Gatekeeper's constraints are listed per kind, under this prefix plus the kind.
_CONSTRAINTS = "constraints:"
# APIs a cluster serves only when an add-on is installed (or, for ValidatingAdmissionPolicy,
# from Kubernetes 1.30): a 404 on them means "not there", not an error.
_OPTIONAL = {
    "vulnerabilityreports": "Trivy Operator is not installed (no VulnerabilityReport API)",
    "validatingadmissionpolicies": "the ValidatingAdmissionPolicy API is not served "
    "(admissionregistration.k8s.io/v1, Kubernetes 1.30 and later)",
    "validatingadmissionpolicybindings": "the ValidatingAdmissionPolicy API is not served "
    "(admissionregistration.k8s.io/v1, Kubernetes 1.30 and later)",
    "kyvernoclusterpolicies": "Kyverno is not installed (no kyverno.io/v1 API)",
    "kyvernopolicies": "Kyverno is not installed (no kyverno.io/v1 API)",
    "constrainttemplates": "Gatekeeper is not installed (no templates.gatekeeper.sh/v1 API)",
}

# Keys that can be large and that no check reads.
_DROP_META = ("managedFields",)
# Longest names a finding's identity can hold; the API server allows no longer ones.
_NAME_LIMIT = 253
_KIND_LIMIT = 64
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
# A JSON escape for NUL, not itself escaped (an even run of backslashes before it).
_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
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
    admission_api = k8s.AdmissionregistrationV1Api(api)
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
        "ingresses": net.list_ingress_for_all_namespaces,
        "resourcequotas": core.list_resource_quota_for_all_namespaces,
        "limitranges": core.list_limit_range_for_all_namespaces,
        "configmaps": core.list_config_map_for_all_namespaces,
        # The server filters by type; the reducer filters again, whatever the server sent.
        "secrets": partial(core.list_secret_for_all_namespaces,
                           field_selector=f"type={sensitive.TOKEN_TYPE}"),
        "validatingadmissionpolicies": admission_api.list_validating_admission_policy,
        "validatingadmissionpolicybindings":
            admission_api.list_validating_admission_policy_binding,
        "kyvernoclusterpolicies": partial(custom.list_cluster_custom_object, *KYVERNO,
                                          "clusterpolicies"),
        "kyvernopolicies": partial(custom.list_cluster_custom_object, *KYVERNO, "policies"),
        "constrainttemplates": partial(custom.list_cluster_custom_object,
                                       *GATEKEEPER_TEMPLATES),
    }


def _template_kind(obj: Any) -> KubeObject | None:
    # A ConstraintTemplate defines the constraint kind named in spec.crd.spec.names.kind.
    kind = _dig(obj, "spec", "crd", "spec", "names", "kind")
    if not isinstance(kind, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,62}", kind):
        return None
    return {"kind": kind}


def _reduce_secret(obj: Any) -> KubeObject | None:
    return sensitive.reduce_token_secret(obj)


# Resources whose items are reduced as soon as a page is parsed, in place of ``_trim``: their
# values (ConfigMap data, Secret data) must not reach anything else. None drops the item.
_REDUCERS: dict[str, Callable[[Any], KubeObject | None]] = {
    "configmaps": sensitive.reduce_configmap,
    "secrets": _reduce_secret,
    # Admission policies keep only what recognising their guardrails reads.
    "validatingadmissionpolicies": admission.slim_policy,
    "validatingadmissionpolicybindings": admission.slim_binding,
    "kyvernoclusterpolicies": admission.slim_kyverno,
    "kyvernopolicies": admission.slim_kyverno,
    "constrainttemplates": _template_kind,
}
# Resources parsed only as raw JSON, even in the "models" benchmark mode: models would hold
# every value of every ConfigMap and Secret in memory, and custom resources have none.
_RAW_ONLY = frozenset({"vulnerabilityreports", "configmaps", "secrets", "kyvernoclusterpolicies",
                       "kyvernopolicies", "constrainttemplates"})


@dataclass(frozen=True)
class Options:
    timeouts: kube.Timeouts
    page_size: int = PAGE_SIZE
    # "raw": orjson on the response bytes; "models": the client's pydantic models (for
    # benchmarks only — it is what the client does by default).
    parse: str = "raw"
    # Size and address limits (the configured ones when None) and the whole read's deadline.
    limits: kube.Limits | None = None
    deadline_seconds: float | None = None
    # Vulnerability entries kept per Trivy report and per poll (the most urgent of each report).
    report_entries: int = trivy.REPORT_ENTRIES
    cluster_entries: int = trivy.CLUSTER_ENTRIES
    # List service-account token Secrets (metadata only); off, their coverage says how to
    # switch it on (POSTURE_READ_TOKEN_SECRETS).
    read_token_secrets: bool = False


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


def parse(data: bytes) -> Any:
    """Parse an API answer, dropping NUL characters (PostgreSQL cannot store them)."""
    if b"\\u0000" in data:
        data = _NUL_ESCAPE.sub(rb"\1", data)
    return orjson.loads(data)


def _shorten(value: str, limit: int) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{value[: limit - 13]}~{digest}"


def _clip(entry: dict[str, Any], key: str, limit: int) -> None:
    value = entry.get(key)
    if isinstance(value, str) and len(value) > limit:
        entry[key] = _shorten(value, limit)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _trim(obj: Any) -> KubeObject:
    if not isinstance(obj, dict):
        return {}
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in _DROP_META:
            meta.pop(key, None)
        _clip(meta, "name", _NAME_LIMIT)
        _clip(meta, "namespace", _NAME_LIMIT)
        for ref in _dicts(meta.get("ownerReferences")):
            _clip(ref, "name", _NAME_LIMIT)
            _clip(ref, "kind", _KIND_LIMIT)
    # A pod's spec, a workload's pod template, a CronJob's job template.
    for spec in (_dig(obj, "spec"), _dig(obj, "spec", "template", "spec"),
                 _dig(obj, "spec", "jobTemplate", "spec", "template", "spec")):
        if not isinstance(spec, dict):
            continue
        for key in _CONTAINER_LISTS:
            for container in _dicts(spec.get(key)):
                _clip(container, "name", _NAME_LIMIT)
    return obj


class Collector:
    def __init__(self, api: k8s.ApiClient, options: Options) -> None:
        self.api = api
        self.options = options
        self.listers = _listers(api)
        self._custom = k8s.CustomObjectsApi(api)

    def version(self) -> dict[str, Any]:
        try:
            if self.options.parse == "models":
                info = k8s.VersionApi(self.api).get_code(
                    _request_timeout=self.options.timeouts.as_request_timeout())
                return dict(self.api.sanitize_for_serialization(info))
            response = k8s.VersionApi(self.api).get_code(
                _preload_content=False,
                _request_timeout=self.options.timeouts.as_request_timeout())
            body = parse(response.data)  # type: ignore[attr-defined]  # a urllib3 response: _preload_content=False
        except Exception as exc:  # noqa: BLE001 — classified, never swallowed
            raise ClusterUnavailable(kube.describe_failure(
                exc, self.api.configuration.host, what="reading /version",
                kubeconfig_ca=bool(self.api.configuration.ca_cert_data))) from None
        if not isinstance(body, dict) or not isinstance(body.get("gitVersion"), str):
            raise ClusterUnavailable(kube.Failure(kube.FailureKind.PROTOCOL, "/version did not "
                                                  "answer with a Kubernetes version object."))
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
        if self.options.parse == "models" and resource not in _RAW_ONLY and not (
                resource.startswith(_CONSTRAINTS)):
            result = lister(**kwargs)
            body = self.api.sanitize_for_serialization(result)
        else:
            response = lister(_preload_content=False, **kwargs)
            try:
                body = parse(response.data)
            except orjson.JSONDecodeError as exc:
                raise ResourceUnreadable(Coverage(
                    state="error", count=0, message="the API server's answer is not valid JSON "
                    f"({kube.json_problem(exc)})")) from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ResourceUnreadable(Coverage(state="error", count=0,
                                              message="the API server's answer is not a list"))
        meta = body.get("metadata")
        token = (meta.get("continue") if isinstance(meta, dict) else None) or None
        reduce = (admission.slim_constraint if resource.startswith(_CONSTRAINTS)
                  else _REDUCERS.get(resource))
        if reduce is None:
            items = [_trim(item) for item in body.get("items") or []]
        else:
            # The page's full objects are released with ``body`` right after this.
            items = [_trim(r) for r in map(reduce, body.get("items") or []) if r is not None]
        return items, (token if isinstance(token, str) else None)

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
            except kube.ResponseTooLarge as exc:
                return Coverage(state="error", count=0, message=exc.failure.message)
            except ApiException as exc:
                return self._api_failure(resource, exc)
            except Exception as exc:  # noqa: BLE001 — classified below
                raise ClusterUnavailable(kube.describe_failure(
                    exc, self.api.configuration.host, what=f"listing {resource}",
                    kubeconfig_ca=bool(self.api.configuration.ca_cert_data))) from None
            return Coverage(state="read", count=count, message="")
        raise AssertionError("unreachable")

    def constraints(self, items: list[KubeObject]) -> Coverage:
        """Read Gatekeeper's constraints: the templates name the kinds, each recognised kind
        (``admission.GATEKEEPER_KINDS``) is listed.

        The coverage is the templates' when they cannot be read (``absent`` when Gatekeeper
        is not installed), else the first constraint kind that cannot be read, else ``read``.
        """
        templates: list[KubeObject] = []
        read = self.read_all("constrainttemplates", templates.append, templates.clear)
        if read["state"] != "read":
            return read
        # Only kinds whose constraints the checks recognise: the others would cost a request
        # each and tell nothing (and the reader role names only these).
        kinds = sorted({kind for t in templates if isinstance(kind := t.get("kind"), str)
                        and kind.lower() in admission.GATEKEEPER_KINDS})
        worst: Coverage | None = None
        for kind in kinds:
            resource = _CONSTRAINTS + kind
            self.listers[resource] = partial(self._custom.list_cluster_custom_object,
                                             *GATEKEEPER_CONSTRAINTS, kind.lower())
            got: list[KubeObject] = []
            state = self.read_all(resource, got.append, got.clear)
            if state["state"] == "read":
                items.extend(got)
            elif state["state"] != "absent" and worst is None:
                worst = Coverage(state=state["state"], count=0,
                                 message=f"{kind} constraints: {state['message']}")
        return worst or Coverage(state="read", count=len(items), message="")

    def _api_failure(self, resource: str, exc: ApiException) -> Coverage:
        """Return the coverage of a resource the server refused; raise if the whole cluster
        is concerned (401, a redirect, 429 and 5xx: the server is overloaded or unwell)."""
        status = int(exc.status or 0)
        if not 400 <= status < 500 or status in (401, 429):
            raise ClusterUnavailable(kube.describe_failure(
                exc, self.api.configuration.host, what=f"listing {resource}"))
        message = kube.status_message(exc)
        if status == 403:
            return Coverage(state="forbidden", count=0, message=message or "403 Forbidden")
        if status == 404 and resource in _OPTIONAL:
            return Coverage(state="absent", count=0, message=_OPTIONAL[resource])
        if status == 404 and resource.startswith(_CONSTRAINTS):
            # The template exists but Gatekeeper has not created its constraint CRD yet.
            return Coverage(state="absent", count=0, message="")
        if status == 404:
            return Coverage(state="error", count=0, message=message or "404 Not Found")
        return Coverage(state="error", count=0, message=f"HTTP {status}: {message}".strip(": "))


class _Restart(Exception):
    pass


class _Reports:
    """Keeps Trivy reports as they stream in: only what Posture reads (``trivy.slim_report``),
    at most ``per_report`` vulnerability entries of each and ``budget`` over the whole poll."""

    def __init__(self, items: list[KubeObject], budget: int = trivy.CLUSTER_ENTRIES,
                 per_report: int = trivy.REPORT_ENTRIES) -> None:
        self.items = items
        self.budget = budget
        self.per_report = per_report
        self.left = budget
        self.dropped = 0

    def add(self, obj: KubeObject) -> None:
        slim, dropped = trivy.slim_report(obj, min(self.per_report, self.left))
        self.left -= len(slim["report"]["vulnerabilities"])
        self.dropped += dropped
        self.items.append(slim)

    def reset(self) -> None:
        self.items.clear()
        self.left, self.dropped = self.budget, 0

    def coverage(self, read: Coverage) -> Coverage:
        """Return ``read`` noting, if any were, how many entries were left out."""
        if not self.dropped or read["state"] != "read":
            return read
        return Coverage(state="read", count=read["count"], message=(
            f"{self.dropped:,} vulnerability entries past the limits (at most "
            f"{self.per_report:,} per report, {self.budget:,} per poll) were not read; "
            "the most urgent of each report were kept"))


def collect(creds: ClusterCredentials, options: Options) -> Inventory:
    """Read the whole cluster. Raise ``ClusterUnavailable`` when it cannot be read at all."""
    inventory = empty_inventory()
    index = WorkloadIndex()
    with kube.api_client(creds, options.limits, options.deadline_seconds) as api, _gc_paused():
        collector = Collector(api, options)
        inventory["version"] = collector.version()
        coverage = inventory["coverage"]
        for resource in ("nodes", "namespaces"):
            items = inventory[resource]
            coverage[resource] = collector.read_all(resource, items.append, items.clear)
        for resource, kind in _CONTROLLERS.items():
            coverage[resource] = collector.read_all(
                resource, partial(index.add_controller, kind),
                partial(index.forget_controllers, kind))
        coverage["pods"] = collector.read_all("pods", index.add_pod, index.forget_pods)
        for resource in ("services", "serviceaccounts", "networkpolicies", "roles",
                         "rolebindings", "clusterroles", "clusterrolebindings", "ingresses",
                         "resourcequotas", "limitranges", "configmaps"):
            items = inventory[resource]  # type: ignore[literal-required]  # one of the two keys above
            coverage[resource] = collector.read_all(resource, items.append, items.clear)
        if options.read_token_secrets:
            secrets = inventory["secrets"]
            coverage["secrets"] = collector.read_all("secrets", secrets.append, secrets.clear)
        else:
            coverage["secrets"] = Coverage(state="absent", count=0,
                                           message=sensitive.SECRETS_NOT_READ)
        for resource in ("validatingadmissionpolicies", "validatingadmissionpolicybindings",
                         "kyvernoclusterpolicies", "kyvernopolicies"):
            items = inventory[resource]  # type: ignore[literal-required]  # one of the keys above
            coverage[resource] = collector.read_all(resource, items.append, items.clear)
        coverage["gatekeeperconstraints"] = collector.constraints(
            inventory["gatekeeperconstraints"])
        reports = _Reports(inventory["vulnerabilityreports"], options.cluster_entries,
                           options.report_entries)
        coverage["vulnerabilityreports"] = reports.coverage(
            collector.read_all("vulnerabilityreports", reports.add, reports.reset))
        for node in inventory["nodes"]:
            status = node.get("status")
            if isinstance(status, dict):
                status.pop("images", None)  # large, and nothing reads it
        inventory["workloads"] = index.workloads()
    return inventory
