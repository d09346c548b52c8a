"""Faults the emulator can inject: what a real API server, proxy or network would do wrong."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit


class FaultKind(StrEnum):
    """The kinds of fault, each kept as simple as what it imitates."""

    DELAY = "delay"                          # answer after ``seconds``
    STALL = "stall"                          # send half the body, then go silent for ``seconds``
    RESET = "reset"                          # drop the connection with a TCP reset, no answer
    UNAUTHORIZED = "unauthorized"            # 401, as when the token expired (use ``after``)
    RATE_LIMIT = "rate_limit"                # 429 with Retry-After: ``seconds``
    SERVER_ERROR = "server_error"            # ``status`` 500 or 503
    MALFORMED_JSON = "malformed_json"        # 200 whose body is cut mid-JSON
    TRUNCATED = "truncated"                  # Content-Length promises more than is sent
    ENORMOUS = "enormous"                    # a list page of ``size`` bytes, limit ignored
    REDIRECT = "redirect"                    # 302 to another (loopback) host
    WRONG_CERTIFICATE = "wrong_certificate"  # new connections get ``certificate`` instead


class CertificateFault(StrEnum):
    """Which wrong certificate a WRONG_CERTIFICATE fault presents."""

    OTHER_CA = "other-ca"      # right names, signed by a CA the kubeconfig does not trust
    OTHER_NAME = "other-name"  # right CA, issued for another host name
    EXPIRED = "expired"        # right CA and names, but its validity ended yesterday
    SELF_SIGNED = "self-signed"  # right names, signed by itself: no CA at all


_DEFAULT_SECONDS = {FaultKind.DELAY: 2.0, FaultKind.STALL: 60.0, FaultKind.RATE_LIMIT: 1.0}


class FaultError(ValueError):
    """A fault description is invalid."""


def _check_loopback(location: str) -> None:
    host = urlsplit(location).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    # A redirect is followed by the client under test: it must never lead off this machine.
    raise FaultError(f"redirect location {location!r} must point at a loopback address")


@dataclass(frozen=True)
class Fault:
    """One fault and where it applies.

    ``resource`` (a plural such as ``pods``) or ``path`` (a URL path prefix) narrows it;
    with neither it hits every API request. It skips the first ``after`` matching requests,
    then fires ``times`` times (forever when None). Control requests are never faulted.
    """

    kind: FaultKind
    resource: str | None = None
    path: str | None = None
    after: int = 0
    times: int | None = None
    seconds: float | None = None
    status: int = 503
    size: int = 64 * 1024 * 1024
    location: str | None = None
    certificate: CertificateFault = CertificateFault.OTHER_CA

    def __post_init__(self) -> None:
        if self.after < 0 or (self.times is not None and self.times < 1):
            raise FaultError("after must be >= 0 and times >= 1")
        if self.kind is FaultKind.SERVER_ERROR and self.status not in (500, 503):
            raise FaultError("a server_error fault has status 500 or 503")
        if self.seconds is not None and self.seconds < 0:
            raise FaultError("seconds must be >= 0")
        if self.location is not None:
            _check_loopback(self.location)

    @property
    def wait(self) -> float:
        """Return the fault's duration in seconds (its default when not given)."""
        return self.seconds if self.seconds is not None else _DEFAULT_SECONDS.get(self.kind, 0.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from scenario YAML or a control request's JSON."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise FaultError(f"unknown fault fields {sorted(unknown)}")
        try:
            values = dict(data)
            values["kind"] = FaultKind(values["kind"])
            if "certificate" in values:
                values["certificate"] = CertificateFault(values["certificate"])
            return cls(**values)
        except KeyError as exc:
            raise FaultError("a fault needs a kind") from exc
        except (TypeError, ValueError) as exc:
            raise FaultError(str(exc)) from exc

    def to_dict(self) -> dict[str, Any]:
        """Return the fault as plain data."""
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()}

    def matches(self, path: str, resource: str | None) -> bool:
        """Return whether this fault targets a request for ``path`` / ``resource``."""
        if self.resource is not None and self.resource != resource:
            return False
        return self.path is None or path.startswith(self.path)


@dataclass
class _Armed:
    fault: Fault
    seen: int = 0
    fired: int = 0


@dataclass
class FaultSet:
    """The active faults of one emulator, safe to use from many request threads."""

    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        """Activate ``fault`` (after any already active)."""
        with self._lock:
            self._armed.append(_Armed(fault))

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._armed.clear()

    def active(self) -> list[Fault]:
        """Return the active faults."""
        with self._lock:
            return [a.fault for a in self._armed]

    def _fire(self, armed: _Armed) -> bool:
        armed.seen += 1
        if armed.seen <= armed.fault.after:
            return False
        if armed.fault.times is not None and armed.fired >= armed.fault.times:
            return False
        armed.fired += 1
        return True

    def for_request(self, path: str, resource: str | None) -> list[Fault]:
        """Return the faults that fire for this request, in the order they were added."""
        with self._lock:
            return [a.fault for a in self._armed
                    if a.fault.kind is not FaultKind.WRONG_CERTIFICATE
                    and a.fault.matches(path, resource) and self._fire(a)]

    def for_connection(self) -> Fault | None:
        """Return the certificate fault that fires for a new connection, if any."""
        with self._lock:
            for armed in self._armed:
                if armed.fault.kind is FaultKind.WRONG_CERTIFICATE and self._fire(armed):
                    return armed.fault
        return None

    def has_certificate_fault(self) -> bool:
        """Return whether a certificate fault is active."""
        with self._lock:
            return any(a.fault.kind is FaultKind.WRONG_CERTIFICATE for a in self._armed)


def make_fault(kind: FaultKind | str | Fault, **params: Any) -> Fault:
    """Return a fault from a kind and parameters (or a ready-made fault)."""
    if isinstance(kind, Fault):
        return replace(kind, **params) if params else kind
    return Fault.from_dict({"kind": kind, **params})
