"""Network isolation: NetworkPolicies that select pods, default deny, exposed Services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from posture.checks.base import Check, Hit
from posture.checks.context import Context, WorkloadView
from posture.checks.policy import SYSTEM_NAMESPACES
from posture.checks.safe import clip, dig, mapping, strings, text
from posture.checks.selectors import selects
from posture.checks.vocabulary import Category, Severity

_NETPOL_DOC = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
_DEFAULT_DENY_DOC = _NETPOL_DOC + "#default-deny-all-ingress-traffic"
_SERVICE_DOC = "https://kubernetes.io/docs/concepts/services-networking/service/"
_DEFAULT_DENY_EGRESS_DOC = _NETPOL_DOC + "#default-deny-all-egress-traffic"
_INGRESS_DOC = "https://kubernetes.io/docs/concepts/services-networking/ingress/"
_INGRESS_API = (
    "https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/"
)
# Listing every unselected workload would make evidence grow with the cluster.
_EVIDENCE_NAMES = 20


def _namespaced_workloads(ctx: Context) -> dict[str, list[WorkloadView]]:
    """Group workloads by namespace, leaving out the control plane's own namespaces.

    Pods on the host network are left out too: NetworkPolicy does not apply to them.
    """
    memo = ctx.memo.get("namespaced_workloads")
    if isinstance(memo, dict):
        return memo
    grouped: dict[str, list[WorkloadView]] = defaultdict(list)
    for view in ctx.workloads:
        if view.namespace and view.namespace not in SYSTEM_NAMESPACES:
            if not view.facts.host_network:
                grouped[view.namespace].append(view)
    ctx.memo["namespaced_workloads"] = grouped
    return grouped


def _policies(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for np in ctx.objects("networkpolicies"):
        grouped[text(dig(np, "metadata", "namespace"))].append(mapping(np.get("spec")))
    return grouped


def _pod_selector(spec: dict[str, Any]) -> object:
    # podSelector is required; the API server defaults a missing one to {} (all pods).
    return spec.get("podSelector", {})


def policy_types(spec: dict[str, Any]) -> tuple[str, ...]:
    """Return the policy types a NetworkPolicy spec has once the API server has defaulted it.

    Upstream defaulting (``SetDefaults_NetworkPolicy``): an absent or empty ``policyTypes``
    becomes ``[Ingress]``, plus ``Egress`` when the policy has at least one egress rule. A
    policy isolates a selected pod only for the types listed; a value of the wrong type would
    have been refused, so it isolates nothing.
    """
    types = spec.get("policyTypes")
    if types is None or types == []:
        egress = spec.get("egress")
        return ("Ingress", "Egress") if isinstance(egress, list) and egress else ("Ingress",)
    if not isinstance(types, list):
        return ()
    return tuple(t for t in ("Ingress", "Egress") if t in types)


def _unisolated(ctx: Context) -> Iterator[Hit]:
    policies = _policies(ctx)
    for ns, views in sorted(_namespaced_workloads(ctx).items()):
        specs = policies.get(ns, [])
        # A pod selected only by Egress policies still accepts every connection.
        ingress = [_pod_selector(s) for s in specs if "Ingress" in policy_types(s)]
        egress_only = [_pod_selector(s) for s in specs if "Ingress" not in policy_types(s)]
        unselected: list[str] = []
        egress_selected: list[str] = []
        for v in views:
            if any(selects(sel, v.labels) for sel in ingress):
                continue
            unselected.append(f"{v.kind}/{v.name}")
            if any(selects(sel, v.labels) for sel in egress_only):
                egress_selected.append(f"{v.kind}/{v.name}")
        if unselected:
            unselected.sort()
            message = (
                f"{len(unselected)} of {len(views)} workloads in namespace {clip(ns)} are "
                "selected by no NetworkPolicy and accept traffic from anywhere"
            )
            evidence: dict[str, Any] = {
                "unselected": [clip(u) for u in unselected[:_EVIDENCE_NAMES]],
                "unselected_count": len(unselected),
                "workloads": len(views),
            }
            if egress_selected:
                egress_selected.sort()
                message = (
                    f"{len(unselected)} of {len(views)} workloads in namespace {clip(ns)} are "
                    "selected by no NetworkPolicy that isolates ingress and accept traffic from "
                    f"anywhere ({len(egress_selected)} selected only by Egress policies)"
                )
                evidence["egress_only"] = [clip(u) for u in egress_selected[:_EVIDENCE_NAMES]]
            yield Hit("Namespace", "", ns, "", message, evidence)


def _denies_all(spec: dict[str, Any], direction: str) -> bool:
    """Say whether ``spec`` selects every pod and allows no traffic in ``direction``.

    ``direction`` is ``Ingress`` or ``Egress``; the allowed-traffic list is its lower-case name.
    """
    selector = _pod_selector(spec)
    if (
        not isinstance(selector, dict)
        or selector.get("matchLabels")
        or selector.get("matchExpressions")
    ):
        return False
    return direction in policy_types(spec) and not spec.get(direction.lower())


def _without_default_deny(direction: str, consequence: str) -> Callable[[Context], Iterator[Hit]]:
    def check(ctx: Context) -> Iterator[Hit]:
        policies = _policies(ctx)
        for ns in sorted(_namespaced_workloads(ctx)):
            if not any(_denies_all(spec, direction) for spec in policies.get(ns, [])):
                yield Hit(
                    "Namespace",
                    "",
                    ns,
                    "",
                    f"Namespace {clip(ns)} has no default-deny {direction.lower()} "
                    f"NetworkPolicy: {consequence}",
                    {},
                )

    return check


_no_default_deny = _without_default_deny(
    "Ingress", "any new pod accepts traffic from anywhere until someone writes a policy for it")
_no_default_deny_egress = _without_default_deny(
    "Egress", "its pods may open connections to any address, inside the cluster or out")


def _tls_covers(host: str, tls_hosts: list[str], unnamed: bool) -> bool:
    """Say whether a rule's ``host`` is among the TLS hosts (a wildcard covers one label)."""
    if not host:
        return unnamed
    if host in tls_hosts:
        return True
    _, dot, parent = host.partition(".")
    return bool(dot) and not host.startswith("*.") and f"*.{parent}" in tls_hosts


def _ingress_without_tls(ctx: Context) -> Iterator[Hit]:
    for ing in ctx.objects("ingresses"):
        meta = mapping(ing.get("metadata"))
        ns, name = text(meta.get("namespace")), text(meta.get("name"))
        spec = mapping(ing.get("spec"))
        rules = spec.get("rules")
        if not isinstance(rules, list) or not rules:
            continue
        tls_hosts: list[str] = []
        # IngressTLS.hosts defaults to the controller's wildcard host: an entry without hosts
        # serves the certificate for requests that name no host of a rule, nothing more.
        unnamed = False
        for entry in spec.get("tls") or []:
            if not isinstance(entry, dict):
                continue
            hosts = strings(entry.get("hosts"))
            tls_hosts.extend(hosts)
            unnamed = unnamed or not hosts
        uncovered = sorted({
            text(rule.get("host")) for rule in rules if isinstance(rule, dict)
            and not _tls_covers(text(rule.get("host")), tls_hosts, unnamed)
        })
        if not uncovered:
            continue
        shown = ", ".join(clip(h, 253) if h else "(any host)" for h in uncovered[:5])
        message = (
            f"Ingress {clip(name)} serves {shown} without TLS"
            if tls_hosts or unnamed else f"Ingress {clip(name)} has no TLS: {shown} over plain HTTP"
        )
        yield Hit("Ingress", ns, name, "", message,
                  {"hosts": [clip(h, 253) for h in uncovered[:_EVIDENCE_NAMES]],
                   "tls": bool(tls_hosts or unnamed)})


def _selects_nothing(ctx: Context) -> Iterator[Hit]:
    labels_by_namespace: dict[str, list[dict[str, str]]] = defaultdict(list)
    for view in ctx.workloads:
        labels_by_namespace[view.namespace].append(view.labels)
    for ns, name, spec in _services(ctx):
        # ExternalName Services and Services without a selector (their Endpoints are written
        # by hand or by another controller) select no pods by design.
        selector = spec.get("selector")
        if spec.get("type") == "ExternalName" or not isinstance(selector, dict) or not selector:
            continue
        wanted = {str(k): v for k, v in selector.items()}
        if any(
            all(labels.get(k) == v for k, v in wanted.items())
            for labels in labels_by_namespace.get(ns, [])
        ):
            continue
        pairs = sorted(wanted.items())
        shown = ", ".join(f"{clip(k, 63)}={clip(text(v), 63)}" for k, v in pairs[:5])
        yield Hit(
            "Service",
            ns,
            name,
            "",
            f"Service {clip(name)} selects {shown}, which no workload's pods carry in "
            f"namespace {clip(ns)}",
            {"selector": {clip(k, 63): clip(text(v), 63) for k, v in pairs[:_EVIDENCE_NAMES]}},
        )


def _services(ctx: Context) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for svc in ctx.objects("services"):
        meta = mapping(svc.get("metadata"))
        yield text(meta.get("namespace")), text(meta.get("name")), mapping(svc.get("spec"))


def _exposed(ctx: Context) -> Iterator[Hit]:
    for ns, name, spec in _services(ctx):
        kind = spec.get("type")
        if kind in ("LoadBalancer", "NodePort"):
            where = "a cloud load balancer" if kind == "LoadBalancer" else "every node's address"
            yield Hit(
                "Service",
                ns,
                name,
                "",
                f"Service {clip(name)} is of type {kind}, reachable through {where}",
                {"type": kind},
            )


def _external_ips(ctx: Context) -> Iterator[Hit]:
    for ns, name, spec in _services(ctx):
        ips = strings(spec.get("externalIPs"))
        if ips:
            yield Hit(
                "Service",
                ns,
                name,
                "",
                f"Service {clip(name)} sets externalIPs "
                f"{', '.join(clip(ip, 64) for ip in ips[:5])}",
                {"externalIPs": [clip(ip, 64) for ip in ips[:_EVIDENCE_NAMES]]},
            )


CHECKS: tuple[Check, ...] = (
    Check(
        id="network.namespace-not-isolated",
        category=Category.NETWORK,
        severity=Severity.MEDIUM,
        title="Workloads that no NetworkPolicy selects",
        why="A pod that no NetworkPolicy selects accepts connections from every pod in the "
        "cluster: one compromised workload can reach all the others. Only policies whose "
        "`policyTypes` include `Ingress` isolate a pod for incoming traffic (a policy without "
        "`policyTypes` is an Ingress policy, and an Egress one too when it has egress rules): "
        "a pod selected only by Egress policies still accepts every connection. Pods on the "
        "host network and the kube-system, kube-public and kube-node-lease namespaces are not "
        "counted.",
        fix="Add NetworkPolicies that select the namespace's pods and allow only the traffic "
        "they need; a default-deny policy selects every pod at once.",
        snippet="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        "  name: web-allow-frontend\n  namespace: shop\nspec:\n  podSelector:\n"
        "    matchLabels: {app: web}\n  policyTypes: [Ingress]\n  ingress:\n"
        "    - from:\n        - podSelector:\n            matchLabels: {app: frontend}",
        references=(_NETPOL_DOC,),
        needs=("pods", "networkpolicies"),
        run=_unisolated,
        # 2: only policies whose defaulted policyTypes include Ingress isolate a pod.
        revision=2,
    ),
    Check(
        id="network.no-default-deny-ingress",
        category=Category.NETWORK,
        severity=Severity.LOW,
        title="Namespace without a default-deny ingress policy",
        why="Without a default deny, isolation depends on every new workload getting its own "
        "policy; the first one that does not is open to the whole cluster.",
        fix="Add a policy that selects all pods and allows no ingress, then allow traffic "
        "per workload.",
        snippet="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        "  name: default-deny-ingress\n  namespace: shop\nspec:\n  podSelector: {}\n"
        "  policyTypes: [Ingress]",
        references=(_DEFAULT_DENY_DOC,),
        needs=("pods", "networkpolicies"),
        run=_no_default_deny,
        # 2: an empty policyTypes defaults to Ingress, as an absent one does.
        revision=2,
    ),
    Check(
        id="network.service-exposed",
        category=Category.NETWORK,
        severity=Severity.MEDIUM,
        title="Service exposed as LoadBalancer or NodePort",
        why="LoadBalancer and NodePort Services are reachable from outside the cluster network, "
        "often from the internet, bypassing the ingress controller's TLS, authentication and "
        "logging.",
        fix="Use a ClusterIP Service behind an Ingress or Gateway; if the Service must be "
        "external, restrict it with `loadBalancerSourceRanges` or an internal load balancer.",
        snippet="spec:\n  type: ClusterIP",
        references=(_SERVICE_DOC + "#publishing-services-service-types",),
        needs=("services",),
        run=_exposed,
    ),
    Check(
        id="network.service-external-ips",
        category=Category.NETWORK,
        severity=Severity.HIGH,
        title="Service with externalIPs",
        why="Anyone who may create a Service with externalIPs can intercept traffic to those "
        "addresses from inside the cluster (CVE-2020-8554).",
        fix="Remove `externalIPs`; block the field cluster-wide with an admission policy "
        "(e.g. the DenyServiceExternalIPs admission plugin).",
        snippet="kubectl patch service NAME -n NAMESPACE --type=json "
        '-p=\'[{"op":"remove","path":"/spec/externalIPs"}]\'',
        references=(
            _SERVICE_DOC + "#external-ips",
            "https://github.com/kubernetes/kubernetes/issues/97076",
        ),
        needs=("services",),
        run=_external_ips,
    ),
    Check(
        id="network.no-default-deny-egress",
        category=Category.NETWORK,
        severity=Severity.INFO,
        title="Namespace without a default-deny egress policy",
        why="Without a default deny for egress, a compromised pod can reach every other pod, "
        "the cloud's metadata endpoint and the internet: exfiltration and lateral movement "
        "meet no network barrier. A policy counts when it selects all pods (`podSelector: "
        "{}`), has `Egress` among its `policyTypes` and allows no egress rule. The API server "
        "defaults an absent `policyTypes` to `Ingress`, plus `Egress` only when the policy has "
        "egress rules, so a policy that denies egress must list `Egress` explicitly. Pods on "
        "the host network and the kube-system, kube-public and kube-node-lease namespaces are "
        "not counted.",
        fix="Add a policy that selects all pods and allows no egress, then allow what each "
        "workload needs (DNS to kube-dns first).",
        snippet="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        "  name: default-deny-egress\n  namespace: shop\nspec:\n  podSelector: {}\n"
        "  policyTypes: [Egress]",
        references=(_DEFAULT_DENY_EGRESS_DOC,
                    "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/"
                    "network-policy-v1/"),
        needs=("pods", "networkpolicies"),
        run=_no_default_deny_egress,
    ),
    Check(
        id="network.ingress-without-tls",
        category=Category.NETWORK,
        severity=Severity.MEDIUM,
        title="Ingress serving hosts without TLS",
        why="An Ingress host that no `spec.tls` entry lists is served over plain HTTP: "
        "credentials and session cookies cross the network readable and alterable. A rule's "
        "host is covered when a `tls` entry lists it, or lists the wildcard `*.` of its "
        "parent domain (a wildcard certificate covers one label). A rule without a host is "
        "covered only by a `tls` entry without `hosts`, which upstream defaults to the "
        "controller's wildcard host; such an entry is not taken to cover named hosts, since "
        "what it serves for them depends on the controller. An Ingress with only a default "
        "backend and no rules is not judged.",
        fix="List every rule's host in a `tls` entry with a Secret holding its certificate "
        "(cert-manager can issue and renew it).",
        snippet="spec:\n  tls:\n    - hosts: [shop.example.com]\n      secretName: shop-tls\n"
        "  rules:\n    - host: shop.example.com",
        references=(_INGRESS_DOC + "#tls", _INGRESS_API),
        needs=("ingresses",),
        run=_ingress_without_tls,
    ),
    Check(
        id="network.service-selects-nothing",
        category=Category.NETWORK,
        severity=Severity.LOW,
        title="Service whose selector matches no workload",
        why="A Service whose selector matches no pod template in its namespace is left over: "
        "it keeps a name, a cluster IP and often a load balancer or an Ingress route, and "
        "the first pod anyone creates with those labels receives its traffic. A Service "
        "selects pods whose labels include every key and value of its `selector`; Services "
        "without a selector (Endpoints managed by hand or by another controller) and "
        "ExternalName Services are not judged. Judged only when every kind of workload and "
        "the pods could be read, since a workload scaled to zero is known only from its "
        "controller.",
        fix="Delete the Service, or correct its selector to the labels of the pods it should "
        "reach.",
        snippet="kubectl delete service NAME -n NAMESPACE",
        references=(_SERVICE_DOC + "#defining-a-service",),
        needs=("services", "pods", "replicasets", "deployments", "statefulsets", "daemonsets",
               "jobs", "cronjobs"),
        run=_selects_nothing,
    ),
)
