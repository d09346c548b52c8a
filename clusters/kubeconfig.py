"""Validate an uploaded kubeconfig and reduce it to the credentials of one context.

A kubeconfig can make a client run commands (``exec``, ``auth-provider``) or read files
(``certificate-authority``, ``client-key``, ``tokenFile``…). Posture runs it on shared workers, so
only inline credentials are accepted and every refusal says exactly which field was the problem.
The result, ``ClusterCredentials``, never shows its secrets in ``repr`` or ``str``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography import x509

MAX_BYTES = 1024 * 1024

# Fields that name a file on the machine that reads the kubeconfig.
_CLUSTER_FILE_FIELDS = ("certificate-authority",)
_USER_FILE_FIELDS = ("client-certificate", "client-key", "tokenFile", "token-file")
# Impersonation: requests would act as someone other than the credentials' own identity.
_IMPERSONATION_FIELDS = ("as", "as-uid", "as-groups", "as-user-extra")

# Cloud metadata services: a kubeconfig aimed there would make the worker fetch credentials.
_METADATA_NETWORKS = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
_PRIVATE_NETWORKS = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT, used inside clouds
    ipaddress.ip_network("fc00::/7"),
)
# One label of a DNS name: letters, digits, '-' and '_' (some private zones use it).
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(StrEnum):
    """Where a server address points, as far as the address policy cares."""

    LINK_LOCAL = "link-local"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    PUBLIC = "public"
    UNUSABLE = "unusable"  # unspecified, multicast, reserved: no API server listens there


def classify(address: Address) -> AddressClass:
    """Return the class of ``address`` (an IPv4-mapped IPv6 address counts as its IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or any(address in net for net in _METADATA_NETWORKS
                                    if net.version == address.version):
        return AddressClass.LINK_LOCAL
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return AddressClass.UNUSABLE
    if any(address in net for net in _PRIVATE_NETWORKS if net.version == address.version):
        return AddressClass.PRIVATE
    return AddressClass.PUBLIC


@dataclass(frozen=True)
class AddressPolicy:
    """Which kinds of server address Posture may connect to (see the POSTURE_ALLOW_* settings).

    Link-local addresses are refused by default: cloud metadata services answer there and would
    hand the worker's cloud credentials to whoever registered the cluster.
    """

    link_local: bool = False
    loopback: bool = True
    private: bool = True

    def refusal(self, address: Address) -> str | None:
        """Return why ``address`` is refused, or None when it may be used."""
        kind = classify(address)
        shown = str(address)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            shown = f"::ffff:{address.ipv4_mapped}"  # as written, not as ::ffff:a9fe:a9fe
        if kind is AddressClass.LINK_LOCAL and not self.link_local:
            return (f"the server address {shown} is link-local (cloud metadata services live "
                    "there); set POSTURE_ALLOW_LINK_LOCAL=true if a cluster really listens "
                    "there.")
        if kind is AddressClass.LOOPBACK and not self.loopback:
            return (f"the server address {shown} is a loopback address (this machine); set "
                    "POSTURE_ALLOW_LOOPBACK=true to allow it.")
        if kind is AddressClass.PRIVATE and not self.private:
            return (f"the server address {shown} is in a private network; set "
                    "POSTURE_ALLOW_PRIVATE_NETWORKS=true to allow it.")
        if kind is AddressClass.UNUSABLE:
            return f"the server address {shown} cannot be a cluster's address."
        return None


class KubeconfigError(ValueError):
    """A kubeconfig was refused; ``str(error)`` is the one line to show the user.

    ``field`` says which input to fix: the kubeconfig itself, or the choice of context.
    """

    def __init__(self, message: str, field: str = "kubeconfig") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ClusterCredentials:
    """How to reach one cluster: inline credentials only, secrets hidden from repr."""

    context: str
    server: str
    ca_pem: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)
    tls_server_name: str | None = None

    def to_kubeconfig(self) -> str:
        """Return a minimal kubeconfig holding only this context (what the vault stores)."""
        cluster: dict[str, Any] = {"server": self.server}
        if self.ca_pem:
            cluster["certificate-authority-data"] = _b64(self.ca_pem)
        if self.tls_server_name:
            cluster["tls-server-name"] = self.tls_server_name
        user: dict[str, Any] = {}
        if self.token:
            user["token"] = self.token
        if self.client_cert_pem and self.client_key_pem:
            user["client-certificate-data"] = _b64(self.client_cert_pem)
            user["client-key-data"] = _b64(self.client_key_pem)
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": self.context, "cluster": cluster}],
            "users": [{"name": self.context, "user": user}],
            "contexts": [
                {"name": self.context, "context": {"cluster": self.context, "user": self.context}}
            ],
            "current-context": self.context,
        }
        return yaml.safe_dump(document, sort_keys=False)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def load(text: str | bytes) -> dict[str, Any]:
    """Parse kubeconfig text into a dict, refusing anything that is not a plain kubeconfig."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise KubeconfigError(too_large(len(text)))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise KubeconfigError("The kubeconfig is not UTF-8 text.") from None
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise KubeconfigError(too_large(len(text.encode("utf-8"))))
    if not text.strip():
        raise KubeconfigError("The kubeconfig is empty.")
    try:
        # Anchors and aliases can expand a small file into a huge document ("billion laughs");
        # kubeconfigs never need them, so any alias is refused before construction.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise KubeconfigError(
                    "The kubeconfig uses YAML aliases (*name); write the values out in full."
                )
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise KubeconfigError(f"The kubeconfig is not valid YAML{where}: {problem}.") from None
    if not isinstance(document, dict) or not (
        document.get("kind") == "Config"
        or isinstance(document.get("contexts"), list)
        or isinstance(document.get("clusters"), list)
    ):
        raise KubeconfigError(
            "This is YAML but not a kubeconfig (expected kind: Config with clusters, users "
            "and contexts)."
        )
    for key in ("clusters", "users", "contexts"):
        if not isinstance(document.get(key) or [], list):
            raise KubeconfigError(f"This is not a kubeconfig: '{key}' must be a list.")
    return document


def too_large(size: int | None = None) -> str:
    """Return the message for a kubeconfig over ``MAX_BYTES`` (of ``size`` bytes, if known)."""
    what = f" ({size:,} bytes)" if size is not None else ""
    return (f"The kubeconfig is larger than 1 MiB{what}; the limit is {MAX_BYTES:,} bytes. A "
            "service account's kubeconfig is a few kilobytes: paste only its context.")


def context_names(document: dict[str, Any]) -> list[str]:
    """Return the names of the contexts in a loaded kubeconfig, in file order."""
    return [
        str(entry["name"])
        for entry in document.get("contexts") or []
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    ]


def _named(document: dict[str, Any], key: str, name: str, inner: str) -> dict[str, Any] | None:
    for entry in document.get(key) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(inner)
            return value if isinstance(value, dict) else {}
    return None


def choose_context(document: dict[str, Any], context: str | None) -> str:
    """Return the context to use: the one asked for, else current-context, else the only one."""
    names = context_names(document)
    if not names:
        raise KubeconfigError("The kubeconfig has no contexts.")
    if context:
        if context not in names:
            raise KubeconfigError(
                f"The kubeconfig has no context named {context!r}; it has: {', '.join(names)}.",
                "context",
            )
        return context
    current = document.get("current-context")
    if isinstance(current, str) and current in names:
        return current
    if len(names) == 1:
        return names[0]
    raise KubeconfigError(
        f"The kubeconfig has {len(names)} contexts and no current-context; choose one of: "
        f"{', '.join(names)}.",
        "context",
    )


def credentials(
    text: str | bytes,
    context: str | None = None,
    *,
    allow_link_local: bool = False,
    addresses: AddressPolicy | None = None,
) -> ClusterCredentials:
    """Validate ``text`` and return the inline credentials of the chosen context.

    A literal server address is checked against ``addresses`` (by default: link-local refused
    unless ``allow_link_local``); a name is checked when it is resolved, at connection time.
    Fields that would need a file, a command, a proxy or another identity are refused; others
    that change nothing Posture does (``extensions``, ``disable-compression``…) are ignored.
    """
    document = load(text)
    name = choose_context(document, context)
    ctx = _named(document, "contexts", name, "context") or {}
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    cluster = _named(document, "clusters", str(cluster_name), "cluster")
    if cluster is None:
        raise KubeconfigError(f"Context {name!r} names cluster {cluster_name!r}, which is missing.")
    user = _named(document, "users", str(user_name), "user")
    if user is None:
        raise KubeconfigError(f"Context {name!r} names user {user_name!r}, which is missing.")

    if "exec" in user:
        raise KubeconfigError(
            "The user uses an exec credential plugin, which would run a command on Posture's "
            "workers. Use a service-account token kubeconfig instead (see the read-only "
            "ServiceAccount manifest on this page)."
        )
    if "auth-provider" in user:
        raise KubeconfigError(
            "The user uses an auth-provider plugin, which Posture does not run. Use a "
            "service-account token kubeconfig instead."
        )
    for key in _CLUSTER_FILE_FIELDS:
        if cluster.get(key):
            raise KubeconfigError(
                f"The cluster entry refers to a file ({key}); paste the data inline as "
                f"{key}-data instead."
            )
    for key in _USER_FILE_FIELDS:
        if user.get(key):
            inline = "token" if key in ("tokenFile", "token-file") else f"{key}-data"
            raise KubeconfigError(
                f"The user entry refers to a file ({key}); put the value inline as {inline}."
            )
    # Anything but absent or false: a string "true" must not slip through as "not True".
    if cluster.get("insecure-skip-tls-verify") not in (None, False):
        raise KubeconfigError(
            "The cluster sets insecure-skip-tls-verify. Posture always verifies TLS; include "
            "certificate-authority-data instead."
        )
    if cluster.get("proxy-url"):
        raise KubeconfigError("The cluster sets proxy-url; Posture connects to clusters directly.")
    for key in _IMPERSONATION_FIELDS:
        if user.get(key):
            raise KubeconfigError(
                f"The user entry impersonates someone ({key}); Posture reads as the credentials' "
                "own identity. Give the read-only service account's token instead."
            )
    if user.get("username") or user.get("password"):
        raise KubeconfigError(
            "The user entry uses a username and password (basic authentication, removed from "
            "Kubernetes); use a service-account token instead."
        )

    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise KubeconfigError("The cluster entry has no server URL.")
    _check_server(server, addresses or AddressPolicy(link_local=allow_link_local))

    ca_pem = _pem(cluster.get("certificate-authority-data"), "certificate-authority-data")
    if ca_pem is not None:
        _check_certificates(ca_pem, "certificate-authority-data")
    token = user.get("token")
    if token is not None and (not isinstance(token, str) or not token.strip()):
        raise KubeconfigError("The user's token is empty.")
    cert = _pem(user.get("client-certificate-data"), "client-certificate-data")
    client_key = _pem(user.get("client-key-data"), "client-key-data")
    if bool(cert) != bool(client_key):
        raise KubeconfigError(
            "The user has only one of client-certificate-data and client-key-data; both are needed."
        )
    if not token and not cert:
        raise KubeconfigError(
            "The user has no credentials: a bearer token or client-certificate-data with "
            "client-key-data is required."
        )
    tls_server_name = cluster.get("tls-server-name")
    return ClusterCredentials(
        context=name,
        server=server.rstrip("/"),
        ca_pem=ca_pem,
        token=token.strip() if token else None,
        client_cert_pem=cert,
        client_key_pem=client_key,
        tls_server_name=tls_server_name if isinstance(tls_server_name, str) else None,
    )


def _check_server(server: str, policy: AddressPolicy) -> None:
    try:
        parts = urlsplit(server)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise KubeconfigError(f"The server URL {server!r} cannot be parsed.") from None
    if parts.scheme != "https":
        raise KubeconfigError(
            f"The server URL must use https:// (got {parts.scheme or 'no scheme'}://); Posture "
            "never sends credentials in clear text."
        )
    if not host:
        raise KubeconfigError(f"The server URL {server!r} has no host.")
    if parts.username or parts.password:
        raise KubeconfigError("The server URL must not carry a user name or password.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if len(host) > 253 or not all(_LABEL.fullmatch(label)
                                      for label in host.removesuffix(".").split(".")):
            raise KubeconfigError(
                f"The server host {host[:100]!r} is not a valid host name (international "
                "names must be given in their xn-- form)."
            ) from None
        return
    reason = policy.refusal(address)
    if reason is not None:
        raise KubeconfigError(f"The server cannot be used: {reason}")


def _check_certificates(pem: str, name: str) -> None:
    """Refuse PEM text that holds no readable certificate: TLS would fail on every poll."""
    try:
        x509.load_pem_x509_certificates(pem.encode("ascii"))
    except ValueError:
        raise KubeconfigError(
            f"{name} does not hold a readable PEM certificate (was it cut short or changed?)."
        ) from None


def _pem(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise KubeconfigError(f"{name} must be base64 text.")
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise KubeconfigError(f"{name} is not valid base64.") from None
    if "-----BEGIN " not in decoded:
        raise KubeconfigError(f"{name} does not hold a PEM certificate or key.")
    return decoded
