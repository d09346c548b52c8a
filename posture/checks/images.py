"""Parse container image references the way the container runtime resolves them."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

DEFAULT_REGISTRY = "docker.io"
# Docker Hub answers under several names; findings and policy speak of one.
_REGISTRY_ALIASES = {"index.docker.io": DEFAULT_REGISTRY, "registry-1.docker.io": DEFAULT_REGISTRY}

# The OCI image spec's digest grammar (descriptor.md, "Digests"):
#   digest := algorithm ":" encoded; algorithm := component (separator component)*;
#   component := [a-z0-9]+; separator := [+._-]; encoded := [a-zA-Z0-9=_-]+
_DIGEST_ALGORITHM = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*")
_DIGEST_ENCODED = re.compile(r"[a-zA-Z0-9=_-]+")
# The algorithms the spec registers, each with the one encoding it allows (lower-case hex of
# the hash's length). Any other algorithm is "unsupported" there: it cannot be relied on to pin.
_REGISTERED_DIGESTS: dict[str, tuple[re.Pattern[str], str]] = {
    "sha256": (re.compile(r"[a-f0-9]{64}"), "64"),
    "sha512": (re.compile(r"[a-f0-9]{128}"), "128"),
}


def digest_problem(digest: str) -> str:
    """Return why ``digest`` is not a valid OCI digest of a registered algorithm, or ``""``."""
    algorithm, colon, encoded = digest.partition(":")
    registered = _REGISTERED_DIGESTS.get(algorithm)
    if colon and registered is not None:
        pattern, length = registered
        if pattern.fullmatch(encoded):
            return ""
        return f"{algorithm} digests are {length} lower-case hexadecimal characters"
    grammatical = _DIGEST_ALGORITHM.fullmatch(algorithm) and _DIGEST_ENCODED.fullmatch(encoded)
    if not (colon and grammatical):
        return "a digest is algorithm:encoded"
    return f"the OCI image spec registers no digest algorithm {algorithm}"


class ImageRef(NamedTuple):
    """A parsed image reference; ``tag`` and ``digest`` are "" when absent.

    ``digest_problem`` says why a digest given after ``@`` is not a valid OCI digest (``""``
    when it is, or when there is none): such a digest pins nothing. A named tuple: immutable
    like a frozen dataclass, and cheaper to build for each of the thousands of distinct images
    a cluster can run.
    """

    registry: str
    repository: str
    tag: str
    digest: str
    digest_problem: str = ""

    @property
    def name(self) -> str:
        """Return ``registry/repository``, e.g. ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> bool:
        """Say whether a valid digest names exactly one image."""
        return bool(self.digest) and not self.digest_problem

    @property
    def mutable(self) -> bool:
        """Say whether the reference can point at different content tomorrow (no valid digest)."""
        return not self.pinned

    @property
    def floating(self) -> bool:
        """Say whether the tag is ``latest`` or missing, with no valid digest pin."""
        return not self.pinned and self.tag in ("", "latest")


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
    problem = digest_problem(digest) if "@" in reference else ""
    # The named tuple's own __new__ is a Python function; tuple.__new__ builds the same.
    return tuple.__new__(ImageRef, (registry, repository, tag, digest, problem))


def is_approved(image: ImageRef, approved: tuple[str, ...]) -> bool:
    """Say whether the image's registry (or registry/path prefix) is in ``approved``."""
    full = image.name.lower()
    for entry in approved:
        entry = _REGISTRY_ALIASES.get(entry, entry)
        if image.registry == entry or full.startswith(entry + "/"):
            return True
    return False


# Why a registry's images may travel unprotected (``insecure_registry``).
HTTP_SCHEME = "http-scheme"
POLICY_LISTED = "policy"
IP_ADDRESS = "ip-address"
LOOPBACK = "loopback"
# What parse_image makes of "http://host/repo": the scheme, colon and all, as first component.
_HTTP_REGISTRY = "http:"


def split_host(registry: str) -> tuple[str, str]:
    """Split a reference's registry into (host, port); an IPv6 host keeps its brackets."""
    if registry.startswith("["):
        host, bracket, rest = registry.partition("]")
        return host + bracket, rest[1:] if rest.startswith(":") else ""
    host, _, port = registry.partition(":")
    return host, port


def registry_host(ref: ImageRef) -> str:
    """Return the registry of ``ref`` as written, without an ``http://`` scheme's residue."""
    if ref.registry == _HTTP_REGISTRY:
        return ref.repository.lstrip("/").partition("/")[0].lower()
    return ref.registry


# Keyed by registry, not by reference: a cluster's thousands of images come from a few
# registries.
@lru_cache(maxsize=1024)
def insecure_registry(registry: str, listed: tuple[str, ...]) -> str:
    """Return why images from ``registry`` (an ``ImageRef.registry``) may come without TLS.

    ``""`` when nothing says so. Per the distribution reference grammar a first component is a
    registry only if it holds a ``.`` or ``:`` or is ``localhost`` (``parse_image`` follows
    it). Reasons, first match wins: an ``http://`` scheme written into the reference (which
    ``parse_image`` reads as the registry ``http:``); a host (any port) or host:port that
    ``listed`` names; the node's loopback (``localhost``, 127.0.0.0/8, ``[::1]``), which
    containerd and Docker reach over plain HTTP by default; any other IP address, which a
    certificate rarely covers, so such registries are as a rule set up as insecure in the
    runtime.
    """
    if registry == _HTTP_REGISTRY:
        return HTTP_SCHEME
    host, port = split_host(registry)
    if registry in listed or (host in listed and port):
        return POLICY_LISTED
    if host == "localhost":
        return LOOPBACK
    bracketed = host.startswith("[")
    # Most hosts are names; only what could be an address is handed to the parser.
    if not bracketed and not _IPV4_CHARS.issuperset(host):
        return ""
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        return ""
    if bracketed != (address.version == 6):
        # "[10.0.0.1]": the grammar brackets IPv6 addresses only.
        return ""
    return LOOPBACK if address.is_loopback else IP_ADDRESS


_IPV4_CHARS = frozenset("0123456789.")
