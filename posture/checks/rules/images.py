"""Image provenance: where images come from and whether the reference can change under you."""

from __future__ import annotations

from posture.checks.base import Check, NotEvaluated
from posture.checks.context import Context
from posture.checks.images import is_approved
from posture.checks.pod import ContainerFacts
from posture.checks.results import FindingRow
from posture.checks.safe import clip
from posture.checks.vocabulary import Category, Severity

_NEEDS = ("pods",)
_PULL_POLICY_DOC = "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy"
_IMAGE_NAMES_DOC = "https://kubernetes.io/docs/concepts/containers/images/#image-names"


def _containers(ctx: Context) -> list[tuple[str, str, str, ContainerFacts]]:
    """Return (kind, namespace, name, container) for every container with an image."""
    memo = ctx.memo.get("image_containers")
    if isinstance(memo, list):
        return memo
    found = [
        (view.kind, view.namespace, view.name, c)
        for view in ctx.workloads
        for c in view.facts.containers
        if c.image
    ]
    ctx.memo["image_containers"] = found
    return found


def _unapproved(ctx: Context) -> list[FindingRow]:
    approved = ctx.policy.approved_registries
    if not approved:
        raise NotEvaluated("no approved registries are configured in the policy")
    hits = ctx.rows_per_container()
    for kind, ns, name, c in _containers(ctx):
        if not is_approved(c.ref, approved):
            image, registry = c.shown_image, clip(c.ref.registry)
            message = f"Image {image} comes from {registry}, which is not an approved registry"
            evidence = {"image": image, "registry": registry}
            hits.append((kind, ns, name, c.name, message, evidence))
    return hits


def _floating(ctx: Context) -> list[FindingRow]:
    hits = ctx.rows_per_container()
    for kind, ns, name, c in _containers(ctx):
        if c.floating:
            tag = f":{c.ref.tag}" if c.ref.tag else "no tag"
            image = c.shown_image
            message = f"Image {image} uses {tag}: what runs changes whenever it is re-pushed"
            hits.append((kind, ns, name, c.name, message, {"image": image}))
    return hits


def _unpinned(ctx: Context) -> list[FindingRow]:
    hits = ctx.rows_per_container()
    for kind, ns, name, c in _containers(ctx):
        if c.mutable:
            image = c.shown_image
            message = f"Image {image} is not pinned by digest"
            hits.append((kind, ns, name, c.name, message, {"image": image}))
    return hits


def _stale_pull(ctx: Context) -> list[FindingRow]:
    hits = ctx.rows_per_container()
    for kind, ns, name, c in _containers(ctx):
        if c.floating and c.pull_policy in ("IfNotPresent", "Never"):
            image = c.shown_image
            message = (
                f"Image {image} has a floating tag but imagePullPolicy "
                f"{c.pull_policy}: nodes keep running whichever version they pulled first"
            )
            evidence = {"image": image, "imagePullPolicy": c.pull_policy}
            hits.append((kind, ns, name, c.name, message, evidence))
    return hits


CHECKS: tuple[Check, ...] = (
    Check(
        id="image.registry-not-approved",
        category=Category.IMAGES,
        severity=Severity.MEDIUM,
        title="Image from a registry that is not approved",
        why="Images from unvetted registries bypass the scanning, signing and retention your "
        "approved registries give; a typo-squatted public image can run in the cluster.",
        fix="Mirror the image into an approved registry and reference it from there, or add the "
        "registry to the policy's approved list if it is trusted. Names without a registry are "
        "read as Docker Hub (`nginx` is `docker.io/library/nginx`).",
        snippet="containers:\n  - name: web\n    image: registry.example.com/mirror/nginx:1.27.3",
        references=(_IMAGE_NAMES_DOC,),
        needs=_NEEDS,
        run=_unapproved,
    ),
    Check(
        id="image.latest-tag",
        category=Category.IMAGES,
        severity=Severity.MEDIUM,
        title="Image uses the latest tag or no tag",
        why="`:latest` (or no tag, which means latest) changes meaning with every push: "
        "rollbacks do not roll back, and nodes may run different code for the same workload.",
        fix="Reference a specific version tag, ideally with its digest.",
        snippet="image: docker.io/library/nginx:1.27.3",
        references=(_IMAGE_NAMES_DOC,),
        needs=_NEEDS,
        run=_floating,
    ),
    Check(
        id="image.not-pinned-by-digest",
        category=Category.IMAGES,
        severity=Severity.LOW,
        title="Image not pinned by digest",
        why="A tag can be moved to other content by anyone who can push to the repository; "
        "a digest names exactly one image.",
        fix="Append the image digest to the reference (your CI or a tool such as "
        "`crane digest` prints it).",
        snippet="image: docker.io/library/nginx:1.27.3@sha256:<digest>",
        references=(_IMAGE_NAMES_DOC,),
        needs=_NEEDS,
        run=_unpinned,
    ),
    Check(
        id="image.floating-tag-not-pulled",
        category=Category.IMAGES,
        severity=Severity.LOW,
        title="Floating tag with imagePullPolicy IfNotPresent or Never",
        why="With a floating tag and no pull on start, each node keeps whatever version it pulled "
        "first: replicas silently differ and security fixes never arrive.",
        fix="Pin a version tag or digest; if the tag must float, use `imagePullPolicy: Always`.",
        snippet="containers:\n  - name: web\n    image: docker.io/library/nginx:1.27.3\n"
        "    imagePullPolicy: IfNotPresent",
        references=(_PULL_POLICY_DOC,),
        needs=_NEEDS,
        run=_stale_pull,
    ),
)
