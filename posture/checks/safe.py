"""Read untrusted Kubernetes objects without raising.

Every field of an object from a cluster or a manifest may be missing, of the wrong type or
huge. Checks read through these helpers so that a wrong type reads as "absent".
"""

from __future__ import annotations

import hashlib
from typing import Any

# Long enough for any real Kubernetes name or image reference, short enough to keep evidence small.
MAX_TEXT = 512
# The longest name a finding's identity holds (a Kubernetes object name's limit).
MAX_NAME = 253


def mapping(value: object) -> dict[str, Any]:
    """Return ``value`` if it is a dict, else an empty dict."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list[Any]:
    """Return ``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def dicts(value: object) -> list[dict[str, Any]]:
    """Return the dict elements of ``value`` if it is a list."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text(value: object) -> str:
    """Return ``value`` if it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


def strings(value: object) -> list[str]:
    """Return the string elements of ``value`` if it is a list."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def string_map(value: object) -> dict[str, str]:
    """Return the string-to-string entries of ``value`` (labels, annotations)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def dig(value: object, *path: str) -> Any:
    """Follow ``path`` through nested dicts; return None where a step is missing."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def integer(value: object) -> int | None:
    """Return ``value`` if it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def clip(value: str, limit: int = MAX_TEXT) -> str:
    """Cut ``value`` to ``limit`` characters, marking the cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def identity_name(value: str, limit: int = MAX_NAME) -> str:
    """Return ``value`` fit for a finding's identity: a longer one is cut and ends in a hash.

    The same scheme as the collector's for object names (``…~`` and 12 hex digits of SHA-256),
    so two long names stay two identities, and a name keeps its identity from poll to poll.
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{value[: limit - 13]}~{digest}"
