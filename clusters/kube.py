"""The one place Posture talks to Kubernetes API servers.

Builds the official client from inline credentials held in memory. The client's own kubeconfig
loader writes CA and client-certificate data to temporary files; this module never calls it. The CA
goes to urllib3 as data; client certificates, which the ``ssl`` module only loads from a path, are
handed over through an anonymous in-memory file (``memfd_create``) that never touches a disk.

An API server is untrusted. Every connection is made to an address checked against the address
policy *after* DNS resolution (a name that resolves to a cloud metadata address is refused), no
redirect is followed, no request is retried, every body is read in chunks up to a size limit, and
an optional deadline bounds the whole conversation, however slowly the server trickles.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s
from kubernetes.client import rest
from kubernetes.client.exceptions import ApiException

from clusters.kubeconfig import AddressPolicy, ClusterCredentials

MAX_BODY_BYTES = 32 * 1024 * 1024
# An error answer is a small Status; more than this is cut off (the status code is what counts).
MAX_ERROR_BODY_BYTES = 64 * 1024
# A server may ask for any wait; a longer one than this is not honoured, because a Celery task
# whose countdown outlives the broker's visibility timeout (one hour) is delivered twice.
MAX_RETRY_AFTER_SECONDS = 900.0
_CHUNK = 256 * 1024


class FailureKind(StrEnum):
    """Why a call to a cluster failed (stored as a snapshot's ``error_kind``)."""

    DNS = "dns"
    REFUSED = "refused"
    TLS = "tls"
    TIMEOUT = "timeout"
    DEADLINE = "deadline"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    REDIRECT = "redirect"
    HTTP = "http"
    TOO_LARGE = "too-large"
    PROTOCOL = "protocol"
    NETWORK = "network"
    BLOCKED_ADDRESS = "blocked-address"


# The cluster may well answer in a minute: worth a retry with backoff.
_RETRYABLE = frozenset({
    FailureKind.REFUSED, FailureKind.TIMEOUT, FailureKind.DEADLINE, FailureKind.RATE_LIMITED,
    FailureKind.SERVER_ERROR, FailureKind.PROTOCOL, FailureKind.NETWORK,
})
# Only a new kubeconfig (or a setting) can fix these.
_PERMANENT = frozenset({
    FailureKind.UNAUTHORIZED, FailureKind.TLS, FailureKind.DNS, FailureKind.REDIRECT,
    FailureKind.BLOCKED_ADDRESS,
})


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float

    def as_request_timeout(self) -> tuple[float, float]:
        return (self.connect, self.read)


@dataclass(frozen=True)
class Limits:
    """What Posture accepts from a cluster: answer size and server addresses."""

    max_body_bytes: int = MAX_BODY_BYTES
    addresses: AddressPolicy = field(default_factory=AddressPolicy)

    @classmethod
    def from_settings(cls) -> Limits:
        """Return the limits configured in Django settings, or the defaults outside Django."""
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        try:
            return cls(
                max_body_bytes=int(getattr(settings, "POSTURE_POLL_MAX_PAGE_BYTES",
                                           MAX_BODY_BYTES)),
                addresses=AddressPolicy(
                    link_local=bool(getattr(settings, "POSTURE_ALLOW_LINK_LOCAL", False)),
                    loopback=bool(getattr(settings, "POSTURE_ALLOW_LOOPBACK", True)),
                    private=bool(getattr(settings, "POSTURE_ALLOW_PRIVATE_NETWORKS", True)),
                ),
            )
        except ImproperlyConfigured:
            return cls()


@dataclass(frozen=True)
class Failure:
    """Why a call to a cluster failed: a stable ``kind`` and one line for people.

    ``retry_after`` is the wait in seconds a 429 answer asked for, when it said.
    """

    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def permanent(self) -> bool:
        """A retry will not help without a new kubeconfig or setting."""
        return self.kind in _PERMANENT

    @property
    def retryable(self) -> bool:
        """The cluster may answer if asked again later."""
        return self.kind in _RETRYABLE


class GuardError(Exception):
    """A limit of this module stopped a call; ``failure`` says which and why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class AddressRefused(GuardError):
    """The server's address is one the policy refuses (checked after DNS, before connecting)."""


class ResponseTooLarge(GuardError):
    """An answer was larger than the size limit; it was not read to the end."""


class DeadlineExceeded(GuardError):
    """The conversation with the cluster went on past its deadline."""


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


class _Guard:
    """The limits and deadline of one client, applied to every request and body read."""

    def __init__(self, limits: Limits, deadline_seconds: float | None) -> None:
        self.limits = limits
        self.deadline_seconds = deadline_seconds
        self.deadline = (None if deadline_seconds is None
                         else time.monotonic() + deadline_seconds)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def deadline_exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(Failure(
            FailureKind.DEADLINE,
            f"The poll did not finish within its deadline of {self.deadline_seconds:g} s: "
            "the cluster answers too slowly (POSTURE_POLL_DEADLINE_SECONDS)."))

    def check_deadline(self) -> None:
        if self.past_deadline():
            raise self.deadline_exceeded()

    def cap(self, timeout: Any) -> Any:
        """Return ``timeout`` shortened so that no wait outlasts the deadline."""
        if self.deadline is None:
            return timeout
        remaining = max(0.001, self.deadline - time.monotonic())
        if isinstance(timeout, tuple):
            return (min(timeout[0], remaining), min(timeout[1], remaining))
        if isinstance(timeout, int | float):
            return min(timeout, remaining)
        return (remaining, remaining)

    def read(self, response: urllib3.BaseHTTPResponse, limit: int, *, strict: bool) -> bytes:
        """Read the body in chunks up to ``limit`` bytes (decoded), checking the deadline.

        With ``strict`` a larger body raises ``ResponseTooLarge``; otherwise it is cut off.
        """
        declared = response.headers.get("Content-Length", "")
        if strict and declared.isdigit() and int(declared) > limit:
            _discard(response)
            raise self._too_large(limit)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                self.check_deadline()
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    _discard(response)
                    if strict:
                        raise self._too_large(limit)
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    return b"".join(chunks)
                chunks.append(chunk)
        except GuardError:
            raise
        except Exception as exc:
            if self.past_deadline():
                raise self.deadline_exceeded() from exc
            raise
        response.release_conn()
        return b"".join(chunks)

    @staticmethod
    def _too_large(limit: int) -> ResponseTooLarge:
        return ResponseTooLarge(Failure(
            FailureKind.TOO_LARGE,
            f"The answer is larger than the {_mib(limit)} limit, so it was not read "
            "(POSTURE_POLL_MAX_PAGE_BYTES)."))


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    # Closing drops the connection: reading the rest of a huge body to reuse it is the cost
    # the limit exists to avoid.
    with suppress(Exception):
        response.close()
    with suppress(Exception):
        response.release_conn()


class _LimitedBody:
    """A urllib3 response whose ``data`` is read within the guard's size limit and deadline.

    The client returns this unread when called with ``_preload_content=False``, and reads its
    ``data`` for preloaded and error answers.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, guard: _Guard) -> None:
        self._response = response
        self._guard = guard
        self._data: bytes | None = None
        self.status = response.status
        self.reason = response.reason
        self.headers = response.headers

    @property
    def data(self) -> bytes:
        if self._data is None:
            if 200 <= self.status <= 299:
                self._data = self._guard.read(self._response, self._guard.limits.max_body_bytes,
                                              strict=True)
            else:
                self._data = self._guard.read(self._response, MAX_ERROR_BODY_BYTES,
                                              strict=False)
        return self._data



def _pool_class(policy: AddressPolicy) -> type[urllib3.HTTPSConnectionPool]:
    class GuardedConnection(urllib3.connection.HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            host = self._dns_host
            try:
                addresses = _resolve(host, self.port, policy)
            except socket.gaierror as exc:
                raise urllib3.exceptions.NameResolutionError(self.host, self, exc) from exc
            error: Exception | None = None
            for address in addresses:
                # Connect to the address that was checked, not to the name: resolving again
                # could give another answer (DNS rebinding). TLS still verifies the name.
                self._dns_host = address
                try:
                    return super()._new_conn()
                except (urllib3.exceptions.NewConnectionError,
                        urllib3.exceptions.ConnectTimeoutError) as exc:
                    error = exc
                finally:
                    self._dns_host = host
            assert error is not None  # _resolve() returns at least one address
            raise error

    class GuardedPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = GuardedConnection

    return GuardedPool


def _resolve(host: str, port: int | None, policy: AddressPolicy) -> list[str]:
    """Return the addresses of ``host``; raise ``AddressRefused`` if any is refused.

    A name with one refused answer among good ones is refused whole: it was made to point there.
    """
    literal = host.strip("[]")
    try:
        answers = [str(ipaddress.ip_address(literal))]
    except ValueError:
        infos = socket.getaddrinfo(literal, port, urllib3.util.connection.allowed_gai_family(),
                                   socket.SOCK_STREAM)
        answers = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for answer in answers:
        reason = policy.refusal(ipaddress.ip_address(answer.split("%")[0]))
        if reason is not None:
            named = ("The server cannot be used" if answer == literal
                     else f"The server name {literal} resolves to {answer}")
            raise AddressRefused(Failure(FailureKind.BLOCKED_ADDRESS, f"{named}: {reason}"))
    return answers


class _RestClient(rest.RESTClientObject):
    """The client's REST layer, with guarded connections and limited bodies."""

    def __init__(self, configuration: k8s.Configuration, guard: _Guard) -> None:
        super().__init__(configuration)
        self.guard = guard
        self.pool_manager.pool_classes_by_scheme = {
            **self.pool_manager.pool_classes_by_scheme,
            "https": _pool_class(guard.limits.addresses),
        }

    def request(self, method: str, url: str, headers: Any = None, body: Any = None,
                post_params: Any = None, _request_timeout: Any = None) -> rest.RESTResponse:
        self.guard.check_deadline()
        try:
            response: rest.RESTResponse = super().request(
                method, url, headers=headers, body=body, post_params=post_params,
                _request_timeout=self.guard.cap(_request_timeout))
        except GuardError:
            raise
        except Exception as exc:
            if self.guard.past_deadline():
                raise self.guard.deadline_exceeded() from exc
            raise
        response.response = _LimitedBody(response.response, self.guard)
        return response


def _memfile(name: str, content: str) -> tuple[int, str]:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, content.encode("ascii"))
    return fd, f"/proc/self/fd/{fd}"


@contextmanager
def api_client(creds: ClusterCredentials, limits: Limits | None = None,
               deadline_seconds: float | None = None) -> Iterator[k8s.ApiClient]:
    """Yield an ``ApiClient`` for ``creds``; close it and its in-memory files afterwards.

    ``limits`` default to the configured ones; with ``deadline_seconds`` every request and body
    read fails with ``DeadlineExceeded`` once that long has passed.
    """
    guard = _Guard(limits or Limits.from_settings(), deadline_seconds)
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
        # The REST layer the client made has not connected yet; replace it with the guarded one.
        api.rest_client.close()
        api.rest_client = _RestClient(cfg, guard)
        try:
            yield api
        finally:
            api.close()
    finally:
        for fd in fds:
            with suppress(OSError):
                os.close(fd)


def describe_failure(exc: BaseException, server: str = "", *, what: str = "",
                     kubeconfig_ca: bool = True) -> Failure:
    """Classify an exception raised while calling a cluster. Never includes credentials.

    ``what`` names the request (``"listing pods"``) in messages about an answer;
    ``kubeconfig_ca`` says whether the kubeconfig named a CA (else the system's CAs were used).
    """
    during = f" while {what}" if what else ""
    if isinstance(exc, ApiException) and exc.status:
        return _http_failure(exc, during)
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, GuardError):
            return cause.failure
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return Failure(FailureKind.DNS, f"DNS lookup failed for the server {_host(server)}.")
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return Failure(FailureKind.TLS, _verification_failure(cause, server, kubeconfig_ca))
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return Failure(FailureKind.TLS, _handshake_failure(cause))
    for cause in chain:
        if isinstance(cause, urllib3.exceptions.SSLError):
            return Failure(FailureKind.TLS, f"TLS handshake failed: {_short(cause)}.")
        if isinstance(cause, ApiException) and str(cause.reason or "").startswith("SSLError"):
            # The client turns some TLS errors into a status-less ApiException.
            return Failure(FailureKind.TLS, "TLS handshake failed.")
    # Before timeouts: urllib3's NewConnectionError subclasses ConnectTimeoutError.
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return Failure(FailureKind.REFUSED, f"Connection refused by {_host(server)}: nothing "
                           "listens on that port.")
    for cause in chain:
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError | TimeoutError
                      | urllib3.exceptions.ReadTimeoutError | socket.timeout):
            return Failure(FailureKind.TIMEOUT, f"Timed out talking to {_host(server)}{during}.")
    for cause in chain:
        if isinstance(cause, http.client.IncompleteRead):
            return Failure(FailureKind.PROTOCOL, f"The answer was cut short{during}: the server "
                           "closed the connection before sending the whole body.")
    for cause in chain:
        if isinstance(cause, ConnectionResetError):
            return Failure(FailureKind.NETWORK, f"The connection was reset{during}.")
        if isinstance(cause, http.client.RemoteDisconnected):
            return Failure(FailureKind.NETWORK, f"The server closed the connection without "
                           f"answering{during}.")
    for cause in chain:
        if isinstance(cause, urllib3.exceptions.ProtocolError | ConnectionError):
            return Failure(FailureKind.NETWORK, f"The connection broke{during}: {_short(cause)}.")
    if isinstance(exc, orjson.JSONDecodeError):
        return Failure(FailureKind.PROTOCOL, f"The answer{during} is not valid JSON "
                       f"({json_problem(exc)}).")
    return Failure(FailureKind.PROTOCOL, f"Unexpected answer{during}: {_short(exc)}.")


# OpenSSL's certificate verification results (X509_V_ERR_*), as ``verify_code`` reports them.
_NOT_SIGNED_BY_CA = frozenset({
    2,   # unable to get issuer certificate
    7,   # certificate signature failure
    19,  # self-signed certificate in certificate chain: the chain ends at another CA
    20,  # unable to get local issuer certificate
    21,  # unable to verify the first certificate
    24,  # invalid CA certificate
})
_SELF_SIGNED = 18
_NOT_YET_VALID, _EXPIRED = 9, 10
_NAME_MISMATCH = frozenset({62, 64})  # host name, IP address
_MISMATCHED_NAME = re.compile(r"not valid for '([^']{1,253})'")
# Handshakes that fail because the other end does not speak TLS at all.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST",
                      "PACKET_LENGTH_TOO_LONG", "UNEXPECTED_EOF_WHILE_READING"})


def _verification_failure(exc: ssl.SSLCertVerificationError, server: str,
                          kubeconfig_ca: bool) -> str:
    """Say, in the kubeconfig's terms, why the server's certificate was not trusted."""
    code = exc.verify_code
    if code in _NOT_SIGNED_BY_CA:
        if kubeconfig_ca:
            return ("TLS verification failed: the server's certificate is not signed by the CA "
                    "in the kubeconfig (certificate-authority-data). Use the cluster's own CA "
                    "certificate, or check that the server address is the cluster's.")
        return ("TLS verification failed: the server's certificate is not signed by a CA this "
                "machine trusts, and the kubeconfig names none: add the cluster's CA as "
                "certificate-authority-data.")
    if code == _SELF_SIGNED:
        if kubeconfig_ca:
            return ("TLS verification failed: the server presents a self-signed certificate, "
                    "not one signed by the CA in the kubeconfig (certificate-authority-data).")
        return ("TLS verification failed: the server's certificate is self-signed and the "
                "kubeconfig names no CA to trust it: add that certificate (or the cluster's CA) "
                "as certificate-authority-data.")
    if code == _EXPIRED:
        return ("TLS verification failed: the server's certificate has expired. The cluster's "
                "API server certificate must be renewed (or this machine's clock is wrong).")
    if code == _NOT_YET_VALID:
        return ("TLS verification failed: the server's certificate is not valid yet: this "
                "machine's clock or the certificate's start date is wrong.")
    if code in _NAME_MISMATCH:
        named = _MISMATCHED_NAME.search(exc.verify_message or "")
        host = named[1] if named else _host(urllib3.util.parse_url(server).host or server)
        return (f"TLS verification failed: the server's certificate is not valid for {host} "
                "(host name mismatch): connect by a name the certificate was issued for, or "
                "set tls-server-name in the kubeconfig.")
    detail = (exc.verify_message or "certificate verify failed").rstrip(".")
    return f"TLS verification failed: {detail}."


def _handshake_failure(exc: ssl.SSLError) -> str:
    """Say why a TLS connection could not be set up, without OpenSSL's source locations."""
    reason = str(exc.reason or "")
    if exc.library in ("PEM", "X509") or "cadata" in str(exc):
        return ("The CA in the kubeconfig (certificate-authority-data) is not a readable PEM "
                "certificate.")
    if reason in _NOT_TLS:
        return ("TLS handshake failed: the server does not answer TLS on this port; is the "
                "address the cluster's HTTPS API server?")
    if "ALERT" in reason:
        alert = reason.split("ALERT_", 1)[-1].replace("_", " ").lower()
        return (f"TLS handshake failed: the server refused the connection ({alert}); it may "
                "require a client certificate it trusts.")
    return f"TLS handshake failed: {reason.replace('_', ' ').lower() or _short(exc)}."


def _http_failure(exc: ApiException, during: str) -> Failure:
    status = int(exc.status or 0)
    reason = (exc.reason or "").strip()
    if status == 401:
        return Failure(FailureKind.UNAUTHORIZED, "401 Unauthorized: the cluster refused the token "
                       "or certificate (expired or revoked?).", status)
    if status == 403:
        return Failure(FailureKind.FORBIDDEN, "403 Forbidden: the service account may not read "
                       "this; apply the posture-reader ClusterRole.", status)
    if 300 <= status < 400:
        return Failure(FailureKind.REDIRECT, f"{status} redirect refused{during}: the server tried "
                       "to send the client elsewhere, and Posture never follows redirects.", status)
    if status == 429:
        wait = retry_after(exc)
        asked = f" and asked to wait {wait:g} s" if wait is not None else ""
        return Failure(FailureKind.RATE_LIMITED, f"429 Too Many Requests{during}: the API server "
                       f"is rate-limiting Posture{asked}.", status, wait)
    detail = status_message(exc)
    if status >= 500:
        return Failure(FailureKind.SERVER_ERROR, f"HTTP {status} {reason}{during}"
                       + (f": {detail}" if detail and detail != reason else "."), status)
    return Failure(FailureKind.HTTP, f"HTTP {status} {reason}{during}".strip()
                   + (f": {detail}" if detail and detail != reason else ""), status)


def retry_after(exc: ApiException) -> float | None:
    """Return the wait a 429 or 503 asked for (``Retry-After`` header or Status details)."""
    headers = exc.headers or {}
    raw = str(headers.get("Retry-After", "") or "").strip()
    seconds: float | None = None
    if raw.isdigit():
        seconds = float(raw)
    elif raw:
        with suppress(TypeError, ValueError, IndexError, OverflowError):
            when = email.utils.parsedate_to_datetime(raw)
            seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds is None:
        body = _status_body(exc)
        details = body.get("details")
        value = details.get("retryAfterSeconds") if isinstance(details, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
    if seconds is None:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _status_body(exc: ApiException) -> dict[str, Any]:
    try:
        body = orjson.loads(exc.body) if exc.body else None
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def status_message(exc: ApiException) -> str:
    """Return the Status message of an API error body (untrusted text, kept short)."""
    message = _status_body(exc).get("message")
    if isinstance(message, str):
        return message[:500]
    return (exc.reason or "")[:200]


def json_problem(exc: orjson.JSONDecodeError) -> str:
    """Return what is wrong with a JSON answer, without orjson's "line 1 column 9 (char 8)"."""
    return str(exc).split(": line ")[0][:200]


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


_SOURCE_LOCATION = re.compile(r"\s*\(_ssl\.c:[0-9]+\)")


def _short(exc: BaseException) -> str:
    # OpenSSL's source locations ("(_ssl.c:1000)") mean nothing to a reader.
    text = _SOURCE_LOCATION.sub("", str(exc)) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    version: str = ""
    failure: Failure | None = None


def verify(creds: ClusterCredentials, timeouts: Timeouts,
           limits: Limits | None = None) -> VerifyResult:
    """Call ``/version`` and return the version or the exact failure."""
    try:
        with api_client(creds, limits, deadline_seconds=timeouts.connect + timeouts.read) as api:
            info: Any = k8s.VersionApi(api).get_code(
                _request_timeout=timeouts.as_request_timeout()
            )
    except Exception as exc:  # noqa: BLE001 — every failure becomes a described result
        return VerifyResult(ok=False, failure=describe_failure(
            exc, creds.server, kubeconfig_ca=bool(creds.ca_pem)))
    return VerifyResult(ok=True, version=str(info.git_version))
