"""Namespace configuration: quotas and limit ranges, credentials in ConfigMaps, token Secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from posture.checks.base import Check, Hit, NotEvaluated
from posture.checks.context import Context
from posture.checks.policy import SYSTEM_NAMESPACES
from posture.checks.safe import MAX_NAME, clip, dig, integer, mapping, strings, text
from posture.checks.sensitive import (
    KEY_COUNT,
    KEYS_EXAMINED,
    SECRET_KEYS,
    SERVICE_ACCOUNT_ANNOTATION,
    TOKEN_TYPE,
)
from posture.checks.vocabulary import Category, Severity

_QUOTA_DOC = "https://kubernetes.io/docs/concepts/policy/resource-quotas/"
_LIMITRANGE_DOC = "https://kubernetes.io/docs/concepts/policy/limit-range/"
_CONFIGMAP_DOC = "https://kubernetes.io/docs/concepts/configuration/configmap/"
# Addresses of documentation pages (ruff takes a "SECRET" name for a password).
_SECRET_DOC = "https://kubernetes.io/docs/concepts/configuration/secret/"  # noqa: S105
_SA_DOC = (
    "https://kubernetes.io/docs/concepts/security/service-accounts/#get-a-token"
)
_LEGACY_SA_DOC = (
    "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/"
    "#legacy-serviceaccount-token-cleaner"
)
# Key names listed in a finding's message; the evidence keeps up to this many more.
_MESSAGE_KEYS = 5
_EVIDENCE_KEYS = 50


def _workload_namespaces(ctx: Context) -> list[str]:
    """Return the namespaces that run at least one workload, control-plane ones left out.

    Platform namespaces (the policy's ``platform_namespaces``) stay in: their findings are
    marked platform-managed when scored, like every other finding about them.
    """
    found = {v.namespace for v in ctx.workloads if v.namespace}
    return sorted(found.difference(SYSTEM_NAMESPACES))


def _namespaces_with(ctx: Context, resource: str) -> set[str]:
    return {text(dig(o, "metadata", "namespace")) for o in ctx.objects(resource)}


def _namespaces_without(resource: str, kind: str, consequence: str,
                        ) -> Callable[[Context], Iterator[Hit]]:
    def check(ctx: Context) -> Iterator[Hit]:
        have = _namespaces_with(ctx, resource)
        for ns in _workload_namespaces(ctx):
            if ns not in have:
                yield Hit("Namespace", "", ns, "",
                          f"Namespace {clip(ns)} runs workloads and has no {kind}: {consequence}",
                          {})

    return check


_without_quota = _namespaces_without(
    "resourcequotas", "ResourceQuota",
    "nothing caps what its workloads may request or how many objects they create")
_without_limitrange = _namespaces_without(
    "limitranges", "LimitRange", "a container that sets no requests or limits gets none")


def _secret_in_configmap(ctx: Context) -> Iterator[Hit]:
    for cm in ctx.objects("configmaps"):
        keys = [clip(k, MAX_NAME) for k in strings(cm.get(SECRET_KEYS))]
        if not keys:
            continue
        meta = mapping(cm.get("metadata"))
        ns, name = text(meta.get("namespace")), text(meta.get("name"))
        shown = ", ".join(keys[:_MESSAGE_KEYS])
        more = f" and {len(keys) - _MESSAGE_KEYS} more" if len(keys) > _MESSAGE_KEYS else ""
        evidence: dict[str, object] = {"keys": keys[:_EVIDENCE_KEYS], "key_count": len(keys)}
        total, examined = integer(cm.get(KEY_COUNT)), integer(cm.get(KEYS_EXAMINED))
        if total is not None and examined is not None and examined < total:
            evidence["keys_not_examined"] = total - examined
        yield Hit("ConfigMap", ns, name, "",
                  f"ConfigMap {clip(name)} holds what looks like a credential under "
                  f"{shown}{more}", evidence)


def _token_secrets(ctx: Context) -> Iterator[Hit]:
    state, message = ctx.coverage("secrets")
    if state != "read":
        # The reading is opt-in, so "absent" here usually means "switched off": say how.
        raise NotEvaluated(f"secrets not read: {clip(message, 300)}" if message
                           else f"secrets not read ({state})")
    for secret in ctx.objects("secrets"):
        if secret.get("type") != TOKEN_TYPE:
            continue
        meta = mapping(secret.get("metadata"))
        ns, name = text(meta.get("namespace")), text(meta.get("name"))
        account = text(mapping(meta.get("annotations")).get(SERVICE_ACCOUNT_ANNOTATION))
        evidence: dict[str, object] = {"service_account": clip(account, MAX_NAME)}
        created = text(meta.get("creationTimestamp"))
        if created:
            evidence["created"] = clip(created, 64)
        yield Hit("Secret", ns, name, "",
                  f"Secret {clip(name)} holds a long-lived token of service account "
                  f"{clip(account) or '(not named)'} that never expires", evidence)


CHECKS: tuple[Check, ...] = (
    Check(
        id="workload.namespace-without-quota",
        category=Category.WORKLOADS,
        severity=Severity.LOW,
        title="Namespace without a ResourceQuota",
        why="Without a ResourceQuota, one namespace's workloads can request all of the "
        "cluster's CPU, memory, storage or object counts, through a bug, a runaway autoscaler "
        "or an attacker, and starve every other team. Quotas are enforced per namespace at "
        "admission: a namespace has one when any ResourceQuota object lives in it. Namespaces "
        "that run no workload, and kube-system, kube-public and kube-node-lease, are not "
        "judged; findings in platform namespaces are marked platform-managed.",
        fix="Create a ResourceQuota sized for the namespace.",
        snippet="apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: compute\n"
        "  namespace: shop\nspec:\n  hard:\n    requests.cpu: \"8\"\n    requests.memory: 16Gi\n"
        "    limits.memory: 32Gi\n    pods: \"50\"",
        references=(_QUOTA_DOC,),
        needs=("pods", "resourcequotas"),
        run=_without_quota,
    ),
    Check(
        id="workload.namespace-without-limitrange",
        category=Category.WORKLOADS,
        severity=Severity.LOW,
        title="Namespace without a LimitRange",
        why="A LimitRange gives containers that set no requests or limits a default and "
        "refuses ones past a maximum, at admission. Without one, a container deployed without "
        "limits may use a whole node's memory and CPU. A namespace has one when any "
        "LimitRange object lives in it. Namespaces that run no workload, and kube-system, "
        "kube-public and kube-node-lease, are not judged; findings in platform namespaces are "
        "marked platform-managed.",
        fix="Create a LimitRange with default requests and limits for containers.",
        snippet="apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: defaults\n"
        "  namespace: shop\nspec:\n  limits:\n    - type: Container\n"
        "      defaultRequest: {cpu: 100m, memory: 128Mi}\n"
        "      default: {cpu: 500m, memory: 512Mi}",
        references=(_LIMITRANGE_DOC,),
        needs=("pods", "limitranges"),
        run=_without_limitrange,
    ),
    Check(
        id="workload.secret-in-configmap",
        category=Category.WORKLOADS,
        severity=Severity.HIGH,
        title="Credential stored in a ConfigMap",
        why="ConfigMaps are not meant for confidential data: anyone who may read ConfigMaps in "
        "the namespace (many roles allow it, `view` included) reads the value, and it is "
        "neither encrypted at rest by a Secrets encryption provider nor kept out of logs and "
        "dumps. A key is reported when its name says it holds a credential (`PASSWORD`, "
        "`PASSWD`, `TOKEN`, `SECRET`, `CREDENTIAL`, `API_KEY`, a name ending in `_KEY`) and "
        "its value is not empty, or when its value has the shape of a well-known credential "
        "(an AWS access key id, a PEM private key, a GCP service-account key file, a GitHub or "
        "Slack token). Names that point at a secret (`PASSWORD_FILE`, `TOKEN_URL`) or a public "
        "key are not. Only key names are reported: values are never read past this test, "
        "and never kept. `binaryData` is not looked at; at most 1,000 keys per ConfigMap are.",
        fix="Move the value into a Secret (or an external secret store) and refer to it from "
        "the pod; rotate the credential, since it has been readable.",
        snippet="kubectl create secret generic db-credentials -n NAMESPACE "
        "--from-literal=DB_PASSWORD=...\n# then in the pod:\nenvFrom:\n  - secretRef:\n"
        "      name: db-credentials",
        references=(_CONFIGMAP_DOC, _SECRET_DOC),
        needs=("configmaps",),
        run=_secret_in_configmap,
    ),
    Check(
        id="access.service-account-token-secret",
        category=Category.ACCESS,
        severity=Severity.MEDIUM,
        title="Long-lived service account token in a Secret",
        why="A Secret of type `kubernetes.io/service-account-token` holds a token that never "
        "expires and stays valid until the Secret is deleted: whoever copies it once keeps the "
        "service account's rights. Upstream recommends short-lived tokens from the "
        "TokenRequest API (projected volumes, `kubectl create token`) and cleans up unused "
        "legacy tokens. Reading Secrets is sensitive, so Posture lists them only when "
        "POSTURE_READ_TOKEN_SECRETS is on, asks the API server for this type only, and keeps "
        "only the name, namespace, creation time and service account; otherwise this check "
        "is not evaluated. `posture scan` judges Secret manifests of this type directly.",
        fix="Delete the Secret once nothing uses its token; have clients use projected "
        "service account tokens or `kubectl create token` instead.",
        snippet="kubectl delete secret NAME -n NAMESPACE\n"
        "# a short-lived token when one is needed by hand:\n"
        "kubectl create token SERVICE_ACCOUNT -n NAMESPACE --duration=1h",
        references=(_SA_DOC, _LEGACY_SA_DOC,
                    _SECRET_DOC + "#serviceaccount-token-secrets"),
        needs=(),
        run=_token_secrets,
    ),
)


