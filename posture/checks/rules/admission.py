"""Admission guardrails: whether the cluster refuses, not only reports, what the checks find."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks import admission
from posture.checks.base import Check, Hit, NotEvaluated
from posture.checks.context import Context
from posture.checks.policy import SYSTEM_NAMESPACES
from posture.checks.safe import clip
from posture.checks.vocabulary import Category, Severity

_VAP_DOC = "https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/"
_PSA_DOC = "https://kubernetes.io/docs/concepts/security/pod-security-admission/"
_KYVERNO_DOC = "https://kyverno.io/policies/"
_GATEKEEPER_DOC = "https://open-policy-agent.github.io/gatekeeper-library/website/"


def _psa_refuses_privileged(ctx: Context) -> bool:
    """Say whether Pod Security Admission refuses privileged pods in every workload namespace.

    Both the baseline and the restricted level forbid ``privileged: true``.
    """
    spaces = {v.namespace for v in ctx.workloads if v.namespace not in SYSTEM_NAMESPACES}
    return bool(spaces) and all(
        ctx.enforcement(ns)[0] in ("baseline", "restricted") for ns in spaces)


def _missing_guardrails(ctx: Context) -> Iterator[Hit]:
    states = {engine: [ctx.coverage(r) for r in resources]
              for engine, resources in admission.ENGINES.items()}
    every = [state for listed in states.values() for state in listed]
    if every and all(message == admission.NOT_IN_MANIFESTS for _, message in every):
        raise NotEvaluated(admission.NOT_IN_MANIFESTS)
    objects = {r: ctx.objects(r) for resources in admission.ENGINES.values() for r in resources}
    found = admission.enforced(objects)
    psa_known = ctx.coverage("namespaces")[0] == "read" and ctx.coverage("pods")[0] == "read"
    if admission.PRIVILEGED not in found and psa_known and _psa_refuses_privileged(ctx):
        found[admission.PRIVILEGED] = "Pod Security Admission (every namespace)"
    if len(found) == len(admission.GUARDRAILS):
        return
    unreadable = sorted(engine for engine, listed in states.items()
                        if any(state in ("forbidden", "error") for state, _ in listed))
    if unreadable:
        # The missing guardrail may live in the engine that could not be read.
        raise NotEvaluated(f"the policies of {', '.join(unreadable)} could not be read")
    # The collector says why an engine is absent (its API is not served); an absence without
    # a reason is an inventory that never asked (one from before these reads, or empty).
    unasked = sorted(engine for engine, listed in states.items()
                     if any(state == "absent" and not message for state, message in listed))
    if unasked:
        raise NotEvaluated(f"the policies of {', '.join(unasked)} were not read")
    if admission.PRIVILEGED not in found and not psa_known:
        # Pod Security Admission may refuse them: which namespaces run workloads and what they
        # enforce is unknown.
        raise NotEvaluated("namespaces or pods could not be read, so whether Pod Security "
                           "Admission refuses privileged containers is unknown")
    missing = [g for g in admission.GUARDRAILS if g not in found]
    present = sorted(engine for engine, listed in states.items()
                     if all(state == "read" for state, _ in listed) and any(
                         objects[r] for r in admission.ENGINES[engine]))
    evidence: dict[str, object] = {
        "engines_with_policies": present,
        "enforced": {g: clip(w) for g, w in sorted(found.items())},
    }
    namespaced = len(ctx.objects("kyvernopolicies"))
    if namespaced:
        # Read so that owners see them; each guards one namespace, not the cluster.
        evidence["namespaced_kyverno_policies"] = namespaced
    for guardrail in missing:
        yield Hit("Cluster", "", "", guardrail,
                  f"No admission policy refuses {admission.GUARDRAILS[guardrail]}: such a "
                  "workload is reported after it runs, never stopped before",
                  {**evidence, "guardrail": guardrail})


CHECKS: tuple[Check, ...] = (
    Check(
        id="admission.no-guardrails",
        category=Category.WORKLOADS,
        severity=Severity.MEDIUM,
        title="Admission does not enforce the workload guardrails",
        why="Posture's checks find a privileged container, an image from an unapproved "
        "registry or a `:latest` tag after the workload runs; only admission control refuses "
        "them before. This check reports each of the three guardrails that no policy "
        "enforces, even when every workload is clean today. A policy counts when it *denies*: "
        "a ValidatingAdmissionPolicy only with a binding whose `validationActions` include "
        "`Deny`; a Kyverno ClusterPolicy rule only with `failureAction` (or the policy's "
        "`validationFailureAction`) `Enforce`, Kyverno's default being `Audit`; a Gatekeeper "
        "constraint only with `enforcementAction` `deny` or unset. What a policy enforces is "
        "recognised heuristically: Kyverno library names (`disallow-privileged-containers`, "
        "`restrict-image-registries`, `disallow-latest-tag`), rule text naming "
        "`privileged`, `latest` or image registries, and `podSecurity` rules at baseline or "
        "restricted; Gatekeeper library kinds "
        "(`K8sPSPPrivilegedContainer`, `K8sAllowedRepos`, `K8sDisallowedTags` with `latest` "
        "among its tags, `K8sImageDigests`); CEL expressions mentioning `privileged`, "
        "`latest`, or an image with `startsWith`/`matches`. Pod Security Admission at "
        "baseline or restricted in every namespace that runs workloads refuses privileged "
        "containers too. Limits: a policy's match rules, exclusions and namespaced Kyverno "
        "Policies are not weighed, and a policy of another name or engine is not recognised. "
        "An engine whose API is not served is not installed; one whose policies cannot be "
        "read makes the check not evaluated. `posture scan` judges this only when the "
        "manifests include admission policies.",
        fix="Enforce each guardrail with the policy engine the cluster runs: a "
        "ValidatingAdmissionPolicy and a binding with `validationActions: [Deny]`, a Kyverno "
        "ClusterPolicy with `validationFailureAction: Enforce`, or a Gatekeeper constraint.",
        snippet="apiVersion: admissionregistration.k8s.io/v1\n"
        "kind: ValidatingAdmissionPolicy\nmetadata:\n  name: disallow-privileged\nspec:\n"
        "  matchConstraints:\n    resourceRules:\n      - apiGroups: [\"\"]\n"
        "        apiVersions: [v1]\n        operations: [CREATE, UPDATE]\n"
        "        resources: [pods]\n  validations:\n"
        "    - expression: >-\n        object.spec.containers.all(c,\n"
        "          !has(c.securityContext) || !has(c.securityContext.privileged) ||\n"
        "          !c.securityContext.privileged)\n---\n"
        "apiVersion: admissionregistration.k8s.io/v1\n"
        "kind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: disallow-privileged\n"
        "spec:\n  policyName: disallow-privileged\n  validationActions: [Deny]",
        references=(_VAP_DOC, _PSA_DOC, _KYVERNO_DOC, _GATEKEEPER_DOC),
        needs=(),
        run=_missing_guardrails,
    ),
)
