"""Read untrusted Kubernetes objects without raising.

Every field of an object from a cluster or a manifest may be missing, of the wrong type or
huge. Checks read through these helpers so that a wrong type reads as "absent".
"""

from __future__ import annotations

from typing import Any

# Long enough for any real Kubernetes name or image reference, short enough to keep evidence small.
MAX_TEXT = 512


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
