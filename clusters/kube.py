"""The one place Posture talks to Kubernetes API servers.

Builds the official client from inline credentials held in memory. The client's own kubeconfig
loader writes CA and client-certificate data to temporary files; this module never calls it. The CA
goes to urllib3 as data; client certificates, which the ``ssl`` module only loads from a path, are
handed over through an anonymous in-memory file (``memfd_create``) that never touches a disk.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters.kubeconfig import ClusterCredentials


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float

    def as_request_timeout(self) -> tuple[float, float]:
        return (self.connect, self.read)


def _memfile(name: str, content: str) -> tuple[int, str]:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, content.encode("ascii"))
    return fd, f"/proc/self/fd/{fd}"


@contextmanager
def api_client(creds: ClusterCredentials) -> Iterator[k8s.ApiClient]:
    """Yield an ``ApiClient`` for ``creds``; close it and its in-memory files afterwards."""
    cfg = k8s.Configuration(host=creds.server)
    cfg.verify_ssl = True
    if creds.ca_pem:
        cfg.ca_cert_data = creds.ca_pem
    if creds.token:
        cfg.api_key = {"BearerToken": creds.token}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    if creds.tls_server_name:
        cfg.tls_server_name = creds.tls_server_name
    # No retries and no redirects: a failure is reported as it happened, and a redirect to
    # another host never receives the bearer token.
    cfg.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, raise_on_redirect=False)
    cfg.proxy = None
    fds: list[int] = []
    try:
        if creds.client_cert_pem and creds.client_key_pem:
            cert_fd, cfg.cert_file = _memfile("posture-client-cert", creds.client_cert_pem)
            fds.append(cert_fd)
            key_fd, cfg.key_file = _memfile("posture-client-key", creds.client_key_pem)
            fds.append(key_fd)
        api = k8s.ApiClient(cfg)
        try:
            yield api
        finally:
            api.close()
    finally:
        for fd in fds:
            with suppress(OSError):
                os.close(fd)


@dataclass(frozen=True)
class Failure:
    """Why a call to a cluster failed: a stable ``kind`` and one line for people."""

    kind: str  # dns, refused, tls, timeout, unauthorized, forbidden, http, protocol, network
    message: str
    status: int | None = None

    @property
    def permanent(self) -> bool:
        """A retry will not help without a new kubeconfig."""
        return self.kind in ("unauthorized", "tls", "dns")


def describe_failure(exc: BaseException, server: str = "") -> Failure:
    """Classify an exception raised while calling a cluster. Never includes credentials."""
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        reason = (exc.reason or "").strip()
        if status == 401:
            return Failure("unauthorized", "401 Unauthorized: the cluster refused the token "
                           "or certificate (expired or revoked?).", status)
        if status == 403:
            return Failure("forbidden", "403 Forbidden: the service account may not read this; "
                           "apply the posture-reader ClusterRole.", status)
        if 300 <= status < 400:
            return Failure("http", f"{status} redirect refused: the server tried to send the "
                           "client elsewhere.", status)
        return Failure("http", f"HTTP {status} {reason}".strip(), status)
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return Failure("dns", f"DNS lookup failed for the server {_host(server)}.")
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or "certificate verify failed"
            return Failure("tls", f"TLS verification failed: {detail}.")
        if isinstance(cause, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return Failure("tls", f"TLS handshake failed: {_short(cause)}.")
    # Before timeouts: urllib3's NewConnectionError subclasses ConnectTimeoutError.
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return Failure("refused", f"Connection refused by {_host(server)}: nothing listens "
                           "on that port.")
    for cause in chain:
        if isinstance(cause, (urllib3.exceptions.ConnectTimeoutError, TimeoutError,
                              urllib3.exceptions.ReadTimeoutError, socket.timeout)):
            return Failure("timeout", f"Timed out talking to {_host(server)}.")
    for cause in chain:
        if isinstance(cause, urllib3.exceptions.ProtocolError | ConnectionError):
            return Failure("network", f"The connection broke: {_short(cause)}.")
    return Failure("protocol", f"Unexpected answer: {_short(exc)}.")


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        item = pending.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None)
                        if isinstance(getattr(item, "reason", None), BaseException) else None])
        pending.extend(a for a in item.args if isinstance(a, BaseException))
    return seen


def _host(server: str) -> str:
    return server or "the server"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    version: str = ""
    failure: Failure | None = None


def verify(creds: ClusterCredentials, timeouts: Timeouts) -> VerifyResult:
    """Call ``/version`` and return the version or the exact failure."""
    try:
        with api_client(creds) as api:
            info: Any = k8s.VersionApi(api).get_code(
                _request_timeout=timeouts.as_request_timeout()
            )
    except Exception as exc:  # noqa: BLE001 — every failure becomes a described result
        return VerifyResult(ok=False, failure=describe_failure(exc, creds.server))
    return VerifyResult(ok=True, version=str(info.git_version))
