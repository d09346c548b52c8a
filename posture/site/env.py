"""Typed readers for environment variables.

Each reader refuses a bad value with ``ImproperlyConfigured`` naming the variable and what was
expected, so a misconfigured deployment stops at start-up with one clear line instead of failing
later. Secrets may come from a file: ``NAME_FILE=/run/secrets/x`` is read when ``NAME`` is unset
(Docker and Kubernetes mount secrets as files).
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Return the value of ``name``, or the contents of the file named by ``NAME_FILE``."""
    environ = os.environ if environ is None else environ
    if name in environ:
        return environ[name]
    path = environ.get(f"{name}_FILE")
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}_FILE={path!r} cannot be read: {exc.strerror or exc}"
        ) from None


def string(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    value = raw(name, environ)
    return default if value is None else value


def boolean(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true/false, 1/0, yes/no")


def integer(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below the minimum {minimum}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is above the maximum {maximum}")
    return number


def csv(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Read a comma-separated list; blanks around items are dropped, empty items refused."""
    value = raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name} has an empty item: {value!r}")
    return items


def time_zone(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    value = string(name, default, environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a time zone name (e.g. UTC, Europe/Berlin)"
        ) from None
    return value


def url(
    name: str,
    default: str,
    schemes: tuple[str, ...],
    environ: Mapping[str, str] | None = None,
) -> str:
    """Read a URL and refuse one whose scheme is not among ``schemes``."""
    value = string(name, default, environ).strip()
    scheme, sep, _ = value.partition("://")
    if not sep or scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with one of {', '.join(s + '://' for s in schemes)}"
        )
    return value


def fernet_keys(name: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Read comma-separated Fernet keys (the first encrypts, all decrypt)."""
    from cryptography.fernet import Fernet

    keys = csv(name, [], environ)
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"{name}: key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None
    return keys
