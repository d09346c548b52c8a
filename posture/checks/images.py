"""Parse container image references the way the container runtime resolves them."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

DEFAULT_REGISTRY = "docker.io"
# Docker Hub answers under several names; findings and policy speak of one.
_REGISTRY_ALIASES = {"index.docker.io": DEFAULT_REGISTRY, "registry-1.docker.io": DEFAULT_REGISTRY}


class ImageRef(NamedTuple):
    """A parsed image reference; ``tag`` and ``digest`` are "" when absent.

    A named tuple: immutable like a frozen dataclass, and cheaper to build for each of the
    thousands of distinct images a cluster can run.
    """

    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def name(self) -> str:
        """Return ``registry/repository``, e.g. ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.repository}"

    @property
    def mutable(self) -> bool:
        """Say whether the reference can point at different content tomorrow (no digest)."""
        return not self.digest

    @property
    def floating(self) -> bool:
        """Say whether the tag is ``latest`` or missing, with no digest pin."""
        return not self.digest and self.tag in ("", "latest")


@lru_cache(maxsize=8192)
def parse_image(reference: str) -> ImageRef:
    """Normalise ``reference``: ``nginx`` becomes ``docker.io/library/nginx``."""
    ref = reference.strip()
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = ""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    first, sep, rest = ref.partition("/")
    # A first component is a registry host only if it looks like one; "library/nginx" is a path.
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    else:
        registry, repository = DEFAULT_REGISTRY, ref
    registry = _REGISTRY_ALIASES.get(registry, registry)
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    # The named tuple's own __new__ is a Python function; tuple.__new__ builds the same.
    return tuple.__new__(ImageRef, (registry, repository, tag, digest))


def is_approved(image: ImageRef, approved: tuple[str, ...]) -> bool:
    """Say whether the image's registry (or registry/path prefix) is in ``approved``."""
    full = image.name.lower()
    for entry in approved:
        entry = _REGISTRY_ALIASES.get(entry, entry)
        if image.registry == entry or full.startswith(entry + "/"):
            return True
    return False
