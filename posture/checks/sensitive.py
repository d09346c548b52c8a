"""Reduce ConfigMaps and Secrets to what the checks need, before anything else keeps them.

A ConfigMap's values are application configuration and, too often, credentials; a Secret's
``data`` is a credential by definition. Posture needs neither: the collector and ``posture
scan`` pass every ConfigMap and Secret through these functions as soon as it is parsed, so no
value reaches the inventory, the database, a log line or a page.

- ``reduce_configmap`` keeps the name, namespace and creation time, and the *names* of the keys
  whose name or value looks like a credential (``posture.checks.secrets.looks_secret``).
- ``reduce_token_secret`` keeps the name, namespace, creation time, type and the
  ``kubernetes.io/service-account.name`` annotation; ``data`` and everything else is dropped.

The work per ConfigMap is bounded: at most ``MAX_KEYS`` keys are looked at (in key order) and
``looks_secret`` reads only the head of a long value.
"""

from __future__ import annotations

from typing import Any

from posture.checks.safe import MAX_NAME, clip, mapping, text
from posture.checks.secrets import looks_secret

TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105  (a Secret type)
SERVICE_ACCOUNT_ANNOTATION = "kubernetes.io/service-account.name"
# Kept on a reduced ConfigMap: the key names that look secret, how many keys it has, and how
# many were looked at (fewer when it has more than MAX_KEYS).
SECRET_KEYS = "secretLikeKeys"  # noqa: S105  (a field name)
KEY_COUNT = "keyCount"
KEYS_EXAMINED = "keysExamined"
# A ConfigMap holds at most 1 MiB, which fits thousands of keys; looking at more than this
# many would let one object make a poll slow. The ones past it are counted, not judged.
MAX_KEYS = 1000
# The reason the ``secrets`` coverage gives when Secrets are not read (the default).
SECRETS_NOT_READ = (
    "reading Secrets is off; set POSTURE_READ_TOKEN_SECRETS=true to list Secrets of type "
    "kubernetes.io/service-account-token (only their names and service account are kept)"
)


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    # Annotations are dropped: kubectl's last-applied-configuration annotation holds a copy of
    # the whole object, values included.
    meta = mapping(obj.get("metadata"))
    kept: dict[str, Any] = {}
    for key in ("name", "namespace"):
        if isinstance(meta.get(key), str):
            kept[key] = meta[key]
    if isinstance(meta.get("creationTimestamp"), str):
        kept["creationTimestamp"] = clip(meta["creationTimestamp"], 64)
    return kept


def reduce_configmap(obj: object) -> dict[str, Any]:
    """Return a ConfigMap as metadata plus the names of its keys that look like credentials."""
    source = obj if isinstance(obj, dict) else {}
    data = mapping(source.get("data"))
    found: list[str] = []
    examined = 0
    for key in sorted(k for k in data if isinstance(k, str))[:MAX_KEYS]:
        examined += 1
        value = data[key]
        if isinstance(value, str) and looks_secret(key, value):
            found.append(clip(key, MAX_NAME))
    reduced: dict[str, Any] = {
        "kind": "ConfigMap",
        "metadata": _metadata(source),
        SECRET_KEYS: found,
        KEY_COUNT: len(data),
        KEYS_EXAMINED: examined,
    }
    return reduced


def reduce_token_secret(obj: object) -> dict[str, Any] | None:
    """Return a service-account token Secret's metadata only, or None for another type."""
    source = obj if isinstance(obj, dict) else {}
    if source.get("type") != TOKEN_TYPE:
        return None
    meta = _metadata(source)
    account = text(mapping(mapping(source.get("metadata")).get("annotations")).get(
        SERVICE_ACCOUNT_ANNOTATION))
    if account:
        meta["annotations"] = {SERVICE_ACCOUNT_ANNOTATION: clip(account, MAX_NAME)}
    return {"kind": "Secret", "metadata": meta, "type": TOKEN_TYPE}
