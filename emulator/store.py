"""The served state of an emulated cluster, serialised once so requests only join bytes."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.objects import ClusterView
from emulator.resources import (
    Resource,
    api_group,
    api_group_list,
    api_resource_list,
    api_versions,
    groups,
    served,
)


def _key(namespace: str | None, name: str) -> str:
    # The API server lists in etcd key order: namespace, "/", name, compared bytewise.
    return f"{namespace}/{name}" if namespace is not None else name


@dataclass(frozen=True)
class Listing:
    """One resource's objects, sorted as the API server lists them, each pre-serialised."""

    resource: Resource
    keys: list[str]
    items: list[bytes]
    get_prefix: bytes

    @classmethod
    def build(cls, resource: Resource, objects: list[dict[str, Any]]) -> Listing:
        """Serialise ``objects`` of ``resource``."""
        pairs = sorted(
            (_key(o["metadata"].get("namespace"), o["metadata"]["name"]), o) for o in objects
        )
        # Built-in list items carry no kind/apiVersion (the list does); custom resources do.
        prefix = orjson.dumps({"kind": resource.kind, "apiVersion": resource.group_version})
        return cls(
            resource=resource,
            keys=[k for k, _ in pairs],
            items=[orjson.dumps(o) for _, o in pairs],
            get_prefix=b"" if resource.custom else prefix[:-1] + b",",
        )

    def span(self, namespace: str | None) -> tuple[int, int]:
        """Return the index range of the objects in ``namespace`` (all when None)."""
        if namespace is None:
            return 0, len(self.keys)
        # "/" is followed by "0" in byte order, so [ns + "/", ns + "0") is the namespace.
        return (bisect.bisect_left(self.keys, f"{namespace}/"),
                bisect.bisect_left(self.keys, f"{namespace}0"))

    def get(self, namespace: str | None, name: str) -> bytes | None:
        """Return the serialised object, with kind and apiVersion, or None."""
        key = _key(namespace, name)
        i = bisect.bisect_left(self.keys, key)
        if i == len(self.keys) or self.keys[i] != key:
            return None
        item = self.items[i]
        return self.get_prefix + item[1:] if self.get_prefix else item

    def position(self, start_key: str) -> int:
        """Return the index of the first object at or after ``start_key``."""
        return bisect.bisect_left(self.keys, start_key)


@dataclass(frozen=True)
class State:
    """Everything served at one day of the scenario; never mutated once built."""

    day: int
    resource_version: int
    version: bytes
    resources: tuple[Resource, ...]
    listings: Mapping[str, Listing]
    denied: frozenset[str]
    discovery: Mapping[str, bytes]

    @classmethod
    def build(cls, view: ClusterView, objects: Mapping[str, list[dict[str, Any]]],
              resource_version: int) -> State:
        """Serialise a built cluster."""
        resources = served(objects)
        listings = {r.plural: Listing.build(r, list(objects.get(r.plural) or []))
                    for r in resources}
        discovery: dict[str, bytes] = {
            "/api": orjson.dumps(api_versions()),
            "/apis": orjson.dumps(api_group_list(resources)),
            "/api/v1": orjson.dumps(api_resource_list("v1", resources)),
        }
        for group, versions in groups(resources).items():
            discovery[f"/apis/{group}"] = orjson.dumps(api_group(group, versions))
            for version in versions:
                gv = f"{group}/{version}"
                discovery[f"/apis/{gv}"] = orjson.dumps(api_resource_list(gv, resources))
        return cls(
            day=view.day,
            resource_version=resource_version,
            version=orjson.dumps(dict(view.version_info)),
            resources=resources,
            listings=listings,
            denied=view.denied,
            discovery=discovery,
        )


class TokenExpired(Exception):
    """A continue token is too old, or the state it paged has changed."""


class TokenInvalid(Exception):
    """A continue token cannot be decoded, or belongs to another list."""


class ContinueTokens:
    """Issue and check opaque continue tokens that expire like the API server's do.

    A real token names the resourceVersion it paged; once etcd compacts that revision (every
    five minutes by default) the token answers 410. Here a token expires after ``ttl``
    seconds from the list's first page, when the served state changes, or on demand.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._epoch = secrets.token_hex(4)
        self._lock = threading.Lock()

    def expire_all(self) -> None:
        """Make every token issued so far answer 410."""
        with self._lock:
            self._epoch = secrets.token_hex(4)

    def issue(self, resource_version: int, list_path: str, start: str, first: float) -> str:
        """Return a token to continue ``list_path`` at key ``start``."""
        with self._lock:
            epoch = self._epoch
        payload = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start,
                   "p": list_path, "t": first, "e": epoch}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    def check(self, token: str, resource_version: int, list_path: str) -> tuple[str, float]:
        """Return (start key, first-page time) of a valid token, or raise."""
        try:
            payload = json.loads(base64.urlsafe_b64decode(token.encode()))
            start, first, epoch, path = (str(payload["start"]), float(payload["t"]),
                                         str(payload["e"]), str(payload["p"]))
            rv = int(payload["rv"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise TokenInvalid("continue key is not valid: cannot decode the token") from exc
        if path != list_path:
            raise TokenInvalid(f"continue key is not valid: key {start!r} is not in the list")
        with self._lock:
            current_epoch = self._epoch
        if epoch != current_epoch or rv != resource_version or time.time() - first > self.ttl:
            raise TokenExpired()
        return start, first
