"""Image provenance: where images come from and whether the reference can change under you.

Every image a pod runs is checked: its init, regular and ephemeral (debug) containers'.
"""

from __future__ import annotations

from posture.checks.base import Check, NotEvaluated
from posture.checks.context import Context
from posture.checks.images import (
    HTTP_SCHEME,
    IP_ADDRESS,
    LOOPBACK,
    POLICY_LISTED,
    insecure_registry,
    is_approved,
    registry_host,
)
from posture.checks.results import FindingRow
from posture.checks.safe import clip
from posture.checks.vocabulary import Category, Severity

_NEEDS = ("pods",)
_ALL_CONTAINERS = " Init, regular and ephemeral (debug) containers are checked."
_PULL_POLICY_DOC = "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy"
_IMAGE_NAMES_DOC = "https://kubernetes.io/docs/concepts/containers/images/#image-names"
_OCI_DIGEST_DOC = "https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests"
_REFERENCE_GRAMMAR_DOC = (
    "https://github.com/distribution/reference/blob/main/reference.go"
)
_CONTAINERD_HOSTS_DOC = "https://github.com/containerd/containerd/blob/main/docs/hosts.md"


_UNAPPROVED = "image.registry-not-approved"
_FLOATING = "image.latest-tag"
_UNPINNED = "image.not-pinned-by-digest"
_STALE_PULL = "image.floating-tag-not-pulled"
_INSECURE = "image.insecure-registry"

# How each reason of ``insecure_registry`` reads in a finding, after "... runs image X, which".
_INSECURE_MESSAGES = {
    HTTP_SCHEME: "names its registry {registry} with an http:// scheme: plain HTTP, which "
    "anyone on the path can read and alter (the reference grammar has no scheme, so a runtime "
    "also refuses the reference as written)",
    POLICY_LISTED: "comes from {registry}, which the policy lists as insecure: pulled over "
    "plain HTTP or without verifying TLS, so anyone on the path can swap the image",
    IP_ADDRESS: "comes from a registry addressed by IP ({registry}): certificates rarely "
    "cover an address, so nodes are as a rule set to pull from it without TLS verification",
    LOOPBACK: "comes from the node's own loopback address ({registry}): runtimes pull from it "
    "over plain HTTP by default, from whatever listens on that port of the node",
}


def _image_rows(ctx: Context) -> dict[str, list[FindingRow]]:
    """Return the rows of every image check, from one pass over the containers.

    One pass rather than one per check: the containers' facts of a large cluster do not stay
    in the CPU's caches from one check to the next.
    """
    memo = ctx.memo.get("image_rows")
    if isinstance(memo, dict):
        return memo
    approved = ctx.policy.approved_registries
    rows = {check.id: ctx.rows_per_container() for check in CHECKS}
    unapproved, floating = rows[_UNAPPROVED], rows[_FLOATING]
    unpinned, stale_pull = rows[_UNPINNED], rows[_STALE_PULL]
    insecure, listed = rows[_INSECURE], ctx.policy.insecure_registries
    # A cluster's images come from a handful of registries: each is judged once.
    reasons: dict[str, str] = {}
    for view in ctx.workloads:
        kind, ns, name = view.kind, view.namespace, view.name
        for c in view.facts.containers:
            if not c.image:
                continue
            image = c.shown_image
            reason = reasons.get(c.ref.registry)
            if reason is None:
                reason = reasons[c.ref.registry] = insecure_registry(c.ref.registry, listed)
            if reason:
                registry = clip(registry_host(c.ref))
                detail = _INSECURE_MESSAGES[reason].format(registry=registry)
                message = f"{c.label} runs image {image}, which {detail}"
                evidence = {"image": image, "registry": registry, "reason": reason}
                insecure.append((kind, ns, name, c.name, message, evidence))
            if approved and not is_approved(c.ref, approved):
                registry = clip(c.ref.registry)
                message = f"Image {image} comes from {registry}, which is not an approved registry"
                evidence = {"image": image, "registry": registry}
                unapproved.append((kind, ns, name, c.name, message, evidence))
            if c.floating:
                tag = f":{c.ref.tag}" if c.ref.tag else "no tag"
                message = f"Image {image} uses {tag}: what runs changes whenever it is re-pushed"
                floating.append((kind, ns, name, c.name, message, {"image": image}))
                if c.pull_policy in ("IfNotPresent", "Never"):
                    message = (
                        f"Image {image} has a floating tag but imagePullPolicy "
                        f"{c.pull_policy}: nodes keep running whichever version they pulled first"
                    )
                    evidence = {"image": image, "imagePullPolicy": c.pull_policy}
                    stale_pull.append((kind, ns, name, c.name, message, evidence))
            if c.mutable:
                problem = c.ref.digest_problem
                if problem:
                    message = (
                        f"Image {image} has a malformed digest ({problem}): it pins nothing, "
                        "and a runtime that checks digests refuses to pull it"
                    )
                    evidence = {"image": image, "digest_problem": problem}
                else:
                    message = f"Image {image} is not pinned by digest"
                    evidence = {"image": image}
                unpinned.append((kind, ns, name, c.name, message, evidence))
    ctx.memo["image_rows"] = rows
    return rows


def _unapproved(ctx: Context) -> list[FindingRow]:
    if not ctx.policy.approved_registries:
        raise NotEvaluated("no approved registries are configured in the policy")
    return _image_rows(ctx)[_UNAPPROVED]


def _floating(ctx: Context) -> list[FindingRow]:
    return _image_rows(ctx)[_FLOATING]


def _unpinned(ctx: Context) -> list[FindingRow]:
    return _image_rows(ctx)[_UNPINNED]


def _stale_pull(ctx: Context) -> list[FindingRow]:
    return _image_rows(ctx)[_STALE_PULL]


def _insecure(ctx: Context) -> list[FindingRow]:
    return _image_rows(ctx)[_INSECURE]


CHECKS: tuple[Check, ...] = (
    Check(
        id=_UNAPPROVED,
        category=Category.IMAGES,
        severity=Severity.MEDIUM,
        title="Image from a registry that is not approved",
        why="Images from unvetted registries bypass the scanning, signing and retention your "
        "approved registries give; a typo-squatted public image can run in the cluster."
        + _ALL_CONTAINERS,
        fix="Mirror the image into an approved registry and reference it from there, or add the "
        "registry to the policy's approved list if it is trusted. Names without a registry are "
        "read as Docker Hub (`nginx` is `docker.io/library/nginx`).",
        snippet="containers:\n  - name: web\n    image: registry.example.com/mirror/nginx:1.27.3",
        references=(_IMAGE_NAMES_DOC,),
        needs=_NEEDS,
        run=_unapproved,
        # 2: ephemeral containers too.
        revision=2,
    ),
    Check(
        id=_FLOATING,
        category=Category.IMAGES,
        severity=Severity.MEDIUM,
        title="Image uses the latest tag or no tag",
        why="`:latest` (or no tag, which means latest) changes meaning with every push: "
        "rollbacks do not roll back, and nodes may run different code for the same workload."
        + _ALL_CONTAINERS,
        fix="Reference a specific version tag, ideally with its digest.",
        snippet="image: docker.io/library/nginx:1.27.3",
        references=(_IMAGE_NAMES_DOC,),
        needs=_NEEDS,
        run=_floating,
        # 2: a malformed digest pins nothing, so the tag decides; ephemeral containers too.
        revision=2,
    ),
    Check(
        id=_UNPINNED,
        category=Category.IMAGES,
        severity=Severity.LOW,
        title="Image not pinned by digest",
        why="A tag can be moved to other content by anyone who can push to the repository; "
        "a digest names exactly one image. Only a valid OCI digest pins: `algorithm:encoded` "
        "of an algorithm the OCI image spec registers, `sha256` with 64 or `sha512` with 128 "
        "lower-case hexadecimal characters. Anything else after `@` is reported as a malformed "
        "digest."
        + _ALL_CONTAINERS,
        fix="Append the image digest to the reference (your CI or a tool such as "
        "`crane digest` prints it).",
        snippet="image: docker.io/library/nginx:1.27.3@sha256:<digest>",
        references=(_IMAGE_NAMES_DOC, _OCI_DIGEST_DOC),
        needs=_NEEDS,
        run=_unpinned,
        # 2: a malformed or unregistered digest pins nothing; ephemeral containers too.
        revision=2,
    ),
    Check(
        id=_STALE_PULL,
        category=Category.IMAGES,
        severity=Severity.LOW,
        title="Floating tag with imagePullPolicy IfNotPresent or Never",
        why="With a floating tag and no pull on start, each node keeps whatever version it pulled "
        "first: replicas silently differ and security fixes never arrive."
        + _ALL_CONTAINERS,
        fix="Pin a version tag or digest; if the tag must float, use `imagePullPolicy: Always`.",
        snippet="containers:\n  - name: web\n    image: docker.io/library/nginx:1.27.3\n"
        "    imagePullPolicy: IfNotPresent",
        references=(_PULL_POLICY_DOC,),
        needs=_NEEDS,
        run=_stale_pull,
        # 2: a malformed digest pins nothing, so the tag decides; ephemeral containers too.
        revision=2,
    ),
    Check(
        id=_INSECURE,
        category=Category.IMAGES,
        severity=Severity.MEDIUM,
        title="Image from a registry reached without TLS",
        why="An image pulled over plain HTTP, or over TLS that is not verified, can be read and "
        "replaced by anyone on the network path: the node then runs their code. A reference's "
        "registry is its first component when that holds a `.` or `:` or is `localhost` (the "
        "distribution reference grammar); it is reported when it is an IP address (IPv4, or "
        "IPv6 in brackets, with or without a port), since certificates rarely cover an address "
        "and such registries are as a rule set up as insecure in the runtime; when the "
        "reference is written with an `http://` scheme; or when the policy's "
        "`insecure_registries` names it. Images from `localhost`, 127.0.0.0/8 or `[::1]` are "
        "reported too: containerd and Docker pull from the loopback over plain HTTP by default, "
        "and on a node that means from whatever process or host-network pod holds the port."
        + _ALL_CONTAINERS,
        fix="Serve the registry over TLS with a certificate for its DNS name, reference it by "
        "that name, and remove it from the runtime's insecure or skip-verify settings; or "
        "mirror the image into a registry that has one.",
        snippet="image: registry.example.com/team/app:1.4.2",
        references=(_IMAGE_NAMES_DOC, _REFERENCE_GRAMMAR_DOC, _CONTAINERD_HOSTS_DOC),
        needs=_NEEDS,
        run=_insecure,
    ),
)
