"""A read-only Kubernetes API server over HTTPS on loopback, serving one scenario.

It speaks enough of the real protocol for the official client and ``kubectl get``: version,
discovery, get and paginated list with expiring continue tokens, bearer-token auth, and
Status bodies for every error. ``/_emulator/...`` (a path the real API never uses) lets tests
and demos move the scenario's clock, expire continue tokens and inject faults.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import yaml

from emulator.faults import (
    CertificateFault,
    Fault,
    FaultError,
    FaultKind,
    FaultSet,
    make_fault,
)
from emulator.objects import Builder
from emulator.resources import Resource, find
from emulator.scenario import Scenario, ScenarioError, load_scenario, today
from emulator.store import ContinueTokens, State, TokenExpired, TokenInvalid
from emulator.tls import (
    Identity,
    expired,
    issue_server_cert,
    make_ca,
    server_context,
)

CONTROL_PREFIX = "/_emulator/"
# ``/clusters/<name>/...`` serves the scenario as if ``<name>`` were a cluster of its own, so one
# server (one port, one accept loop, one TLS identity) stands in for a fleet of small clusters:
# a thousand emulators of their own would cost a thousand listening threads.
MOUNT_PREFIX = "/clusters/"
_MOUNT_NAME_MAX = 63
_EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)
_STATES_KEPT = 4


def status_body(code: int, reason: str, message: str,
                details: dict[str, Any] | None = None) -> bytes:
    """Return a ``Status`` failure body as the API server writes it."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return orjson.dumps(body)


@dataclass
class Response:
    """A complete answer, before faults bend it."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """What an API path asks for."""

    action: str  # version | discovery | list | get | missing
    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None


def _not_found() -> Response:
    return Response(404, status_body(404, "NotFound",
                                     "the server could not find the requested resource", {}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS is negotiated here, in the connection's own thread, so a slow or failing
        # handshake never holds up the accept loop.
        context, generation = self.emulator.connection_context()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
        # holds the body until the client's delayed ACK (~40 ms on Linux) for every request.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.emulator.track(tls, generation)
        try:
            _Handler(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            self.emulator.track(tls, None)
            try:
                tls.close()
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this long, as API servers do.
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet: tests and benchmarks make thousands of requests."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line and Date, without the stdlib's Server header."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        """Serve a read."""
        self.server.emulator.handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        """Serve a control request or refuse a write."""
        self.server.emulator.handle(self, "POST")

    def do_PUT(self) -> None:  # noqa: N802
        """Refuse a write."""
        self.server.emulator.handle(self, "PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        """Refuse a write."""
        self.server.emulator.handle(self, "PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        """Serve a control request or refuse a write."""
        self.server.emulator.handle(self, "DELETE")


class Emulator:
    """A running emulated cluster. Start one with :func:`start_emulator`."""

    def __init__(self, scenario: Scenario, *, host: str = "127.0.0.1", port: int = 0,
                 day: int = 0, continue_ttl: float | None = None,
                 identity: Identity | None = None, now: dt.datetime | None = None) -> None:
        self.scenario = scenario
        self.identity = identity or Identity.create(scenario.name, *scenario.service_account)
        self.now = now or today()
        self.tokens = ContinueTokens(continue_ttl if continue_ttl is not None
                                     else scenario.continue_ttl)
        self.faults = FaultSet()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._served = 0
        self._served_by_mount: dict[str, int] = {}
        self._resource_version = 51_000_000
        self._states: dict[int, State] = {}
        # Open connections, each with the certificate generation it was accepted under.
        self._connections: dict[ssl.SSLSocket, int] = {}
        self._cert_generation = 0
        self._context = server_context(self.identity.leaf, self.identity.ca)
        self._wrong_contexts: dict[CertificateFault, ssl.SSLContext] = {}
        self._state = self._build_state(day)
        for fault in scenario.faults:
            self.set_fault(Fault.from_dict(fault))
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"emulator-{scenario.name}", daemon=True)
        self._thread.start()

    # -- public API ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Return the scenario's name."""
        return self.scenario.name

    @property
    def port(self) -> int:
        """Return the port the emulator listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Return the API server URL, e.g. ``https://127.0.0.1:6443``."""
        host = self._server.server_address[0]
        return f"https://{host if isinstance(host, str) else host.decode()}:{self.port}"

    @property
    def token(self) -> str:
        """Return the bearer token the emulator accepts."""
        return self.identity.token

    @property
    def ca_pem(self) -> str:
        """Return the PEM of the CA that signed the server certificate."""
        return self.identity.ca.cert_pem.decode()

    @property
    def day(self) -> int:
        """Return the scenario day being served (0 is today)."""
        return self._state.day

    @property
    def requests_served(self) -> int:
        """Return how many API requests (not control requests) have been received."""
        with self._lock:
            return self._served

    def requests_served_by_mount(self) -> dict[str, int]:
        """Return how many API requests each mounted cluster (``MOUNT_PREFIX``) received."""
        with self._lock:
            return dict(self._served_by_mount)

    def kubeconfig(self, mount: str | None = None) -> str:
        """Return a kubeconfig for this cluster: inline CA data, bearer token, one context.

        With ``mount``, the server URL is ``<url>/clusters/<mount>``: a cluster of its own to
        its client, served from the same scenario on the same port.
        """
        name = self.name
        server = self.url
        if mount is not None:
            if not mount or len(mount) > _MOUNT_NAME_MAX or "/" in mount:
                raise ValueError(f"a mount name is 1-{_MOUNT_NAME_MAX} characters, no '/'")
            name, server = f"{self.name}-{mount}", f"{self.url}{MOUNT_PREFIX}{mount}"
        user = f"{self.scenario.service_account[1]}@{name}"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {
                "server": server,
                "certificate-authority-data": base64.b64encode(
                    self.identity.ca.cert_pem).decode(),
            }}],
            "users": [{"name": user, "user": {"token": self.token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
            "current-context": name,
            "preferences": {},
        }
        text: str = yaml.safe_dump(config, sort_keys=False)
        return text

    def write_kubeconfig(self, path: Path) -> Path:
        """Write :meth:`kubeconfig` to ``path`` with mode 0600 and return the path."""
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(self.kubeconfig())
        return path

    def set_day(self, day: int) -> None:
        """Serve the scenario as it was on ``day`` (e.g. -30); continue tokens expire."""
        state = self._build_state(day)
        with self._lock:
            self._state = state
        self.tokens.expire_all()

    def expire_continue_tokens(self) -> None:
        """Make every continue token issued so far answer 410 Gone."""
        self.tokens.expire_all()

    def set_fault(self, kind: FaultKind | str | Fault, **params: Any) -> Fault:
        """Activate a fault (see :class:`Fault` for parameters) and return it."""
        fault = make_fault(kind, **params)
        self.faults.add(fault)
        if fault.kind is FaultKind.WRONG_CERTIFICATE:
            with self._lock:
                self._cert_generation += 1
        return fault

    def clear_faults(self) -> None:
        """Deactivate every fault."""
        self.faults.clear()

    def objects(self, resource: str) -> list[dict[str, Any]]:
        """Return the currently served objects of ``resource`` (a plural), decoded."""
        listing = self._state.listings.get(resource)
        return [] if listing is None else [orjson.loads(i) for i in listing.items]

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Emulator {self.name} {self.url} day={self.day}>"

    # -- state ---------------------------------------------------------------------------

    def _build_state(self, day: int) -> State:
        with self._lock:
            cached = self._states.get(day)
            if cached is not None:
                return cached
            self._resource_version += 1000
            resource_version = self._resource_version
        view = self.scenario.view(day)
        state = State.build(view, Builder(view, self.now).build(), resource_version)
        with self._lock:
            if len(self._states) >= _STATES_KEPT:
                self._states.pop(next(iter(self._states)))
            self._states[day] = state
        return state

    # -- connections -----------------------------------------------------------------------

    def connection_context(self) -> tuple[ssl.SSLContext, int]:
        """Return the TLS context for a new connection and the certificate generation."""
        with self._lock:
            generation = self._cert_generation
        fault = self.faults.for_connection()
        if fault is None:
            return self._context, generation
        with self._lock:
            context = self._wrong_contexts.get(fault.certificate)
            if context is None:
                if fault.certificate is CertificateFault.OTHER_CA:
                    other_ca = make_ca("not-the-cluster-ca")
                    context = server_context(issue_server_cert(other_ca), other_ca)
                elif fault.certificate is CertificateFault.OTHER_NAME:
                    leaf = issue_server_cert(self.identity.ca, ("other.example.invalid",))
                    context = server_context(leaf, self.identity.ca)
                elif fault.certificate is CertificateFault.EXPIRED:
                    leaf = issue_server_cert(self.identity.ca, validity=expired())
                    context = server_context(leaf, self.identity.ca)
                else:
                    leaf = issue_server_cert(None)
                    context = server_context(leaf, None)
                self._wrong_contexts[fault.certificate] = context
        return context, generation

    def track(self, conn: ssl.SSLSocket, generation: int | None) -> None:
        """Remember an open connection (forget it when ``generation`` is None)."""
        with self._lock:
            if generation is None:
                self._connections.pop(conn, None)
            else:
                self._connections[conn] = generation

    # -- requests ------------------------------------------------------------------------

    def handle(self, handler: _Handler, method: str) -> None:
        """Answer one request."""
        split = urlsplit(handler.path)
        path, mount = _unmounted(split.path)
        path = path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            handler.close_connection = True
            self._send(handler, Response(400, status_body(400, "BadRequest",
                                                          "invalid Content-Length")))
            return
        body = handler.rfile.read(length) if length > 0 else b""
        authorized = handler.headers.get("Authorization") == f"Bearer {self.token}"
        if path.startswith(CONTROL_PREFIX.rstrip("/")):
            response = (self._control(method, path, body) if authorized
                        else self._unauthorized())
            self._send(handler, response)
            return
        with self._lock:
            self._served += 1
            if mount is not None:
                self._served_by_mount[mount] = self._served_by_mount.get(mount, 0) + 1
            stale_certificate = (self._connections.get(handler.connection)
                                 != self._cert_generation)
        if stale_certificate and self.faults.has_certificate_fault():
            # Certificates changed under a kept-alive connection: make the client reconnect.
            handler.close_connection = True
            return
        state = self._state
        route = self._route(path, state)
        faults = self.faults.for_request(path, route.resource.plural if route.resource else None)
        for fault in faults:
            if fault.kind is FaultKind.DELAY:
                self._stopped.wait(fault.wait)
                continue
            self._apply(handler, fault, method, path, query, route, state)
            return
        if not authorized:
            self._send(handler, self._unauthorized())
            return
        if method != "GET":
            self._send(handler, Response(405, status_body(
                405, "MethodNotAllowed",
                "the server does not allow this method on the requested resource", {})))
            return
        self._send(handler, self._answer(path, query, route, state))

    @staticmethod
    def _unauthorized() -> Response:
        return Response(401, status_body(401, "Unauthorized", "Unauthorized"))

    @staticmethod
    def _route(path: str, state: State) -> Route:
        if path == "/version":
            return Route("version")
        if path in state.discovery:
            return Route("discovery")
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group_version, rest = "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return Route("missing")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        resource = find(group_version, rest[0], state.resources)
        if resource is None or len(rest) > 2 or (namespace and not resource.namespaced):
            return Route("missing")
        if len(rest) == 2:
            if resource.namespaced and namespace is None:
                return Route("missing")
            return Route("get", resource, namespace, rest[1])
        return Route("list", resource, namespace)

    def _forbidden(self, route: Route, verb: str) -> Response:
        resource = route.resource
        assert resource is not None
        sa_ns, sa_name = self.scenario.service_account
        subject = (f'{resource.qualified} "{route.name}"' if route.name else resource.qualified)
        scope = (f'in the namespace "{route.namespace}"' if route.namespace
                 else "at the cluster scope")
        message = (f'{subject} is forbidden: User "system:serviceaccount:{sa_ns}:{sa_name}" '
                   f'cannot {verb} resource "{resource.plural}" in API group '
                   f'"{resource.group}" {scope}')
        details: dict[str, Any] = {}
        if route.name:
            details["name"] = route.name
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
        return Response(403, status_body(403, "Forbidden", message, details))

    def _answer(self, path: str, query: dict[str, str], route: Route, state: State) -> Response:
        match route.action:
            case "version":
                return Response(200, state.version)
            case "discovery":
                return Response(200, state.discovery[path])
            case "missing":
                return _not_found()
        resource = route.resource
        assert resource is not None
        if query.get("watch") in ("1", "true"):
            return Response(405, status_body(405, "MethodNotAllowed",
                                             "watch is not supported by the emulator", {}))
        verb = "get" if route.action == "get" else "list"
        if resource.plural in state.denied:
            return self._forbidden(route, verb)
        listing = state.listings[resource.plural]
        if route.action == "get":
            assert route.name is not None
            item = listing.get(route.namespace, route.name)
            if item is None:
                details: dict[str, Any] = {"name": route.name}
                if resource.group:
                    details["group"] = resource.group
                details["kind"] = resource.plural
                return Response(404, status_body(
                    404, "NotFound", f'{resource.qualified} "{route.name}" not found', details))
            return Response(200, item)
        return self._list(path, query, route, state)

    def _list(self, path: str, query: dict[str, str], route: Route, state: State) -> Response:
        resource = route.resource
        assert resource is not None
        listing = state.listings[resource.plural]
        start, end = listing.span(route.namespace)
        first = time.time()
        token = query.get("continue")
        if token:
            try:
                start_key, first = self.tokens.check(token, state.resource_version, path)
            except TokenExpired:
                return Response(410, status_body(410, "Expired", _EXPIRED_MESSAGE))
            except TokenInvalid as exc:
                return Response(400, status_body(400, "BadRequest", str(exc)))
            start = max(start, listing.position(start_key))
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            return Response(400, status_body(400, "BadRequest",
                                             f"invalid limit {query['limit']!r}"))
        stop = min(end, start + limit) if limit > 0 else end
        meta = f'"resourceVersion":"{state.resource_version}"'
        if stop < end:
            next_token = self.tokens.issue(state.resource_version, path,
                                           listing.keys[stop - 1] + "\x00", first)
            meta += f',"continue":"{next_token}","remainingItemCount":{end - stop}'
        head = (f'{{"kind":"{resource.list_kind}","apiVersion":"{resource.group_version}",'
                f'"metadata":{{{meta}}},"items":[').encode()
        return Response(200, head + b",".join(listing.items[start:stop]) + b"]}")

    # -- faults --------------------------------------------------------------------------

    def _apply(self, handler: _Handler, fault: Fault, method: str, path: str,
               query: dict[str, str], route: Route, state: State) -> None:
        """Answer a request the way ``fault`` says."""
        match fault.kind:
            case FaultKind.RESET:
                handler.close_connection = True
                raw = handler.connection
                # Linger 0: closing sends a TCP RST instead of a clean FIN.
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
                handler.rfile.close()
            case FaultKind.UNAUTHORIZED:
                self._send(handler, self._unauthorized())
            case FaultKind.RATE_LIMIT:
                seconds = max(1, round(fault.wait))
                self._send(handler, Response(
                    429, status_body(429, "TooManyRequests",
                                     "Too many requests, please try again later.",
                                     {"retryAfterSeconds": seconds}),
                    {"Retry-After": str(seconds)}))
            case FaultKind.SERVER_ERROR:
                if fault.status == 500:
                    body = status_body(500, "InternalError",
                                       "Internal error occurred: etcdserver: request timed out",
                                       {"causes": [{"message": "etcdserver: request timed out"}]})
                else:
                    body = status_body(503, "ServiceUnavailable",
                                       "the server is currently unable to handle the request",
                                       {})
                self._send(handler, Response(fault.status, body))
            case FaultKind.REDIRECT:
                location = fault.location or (
                    f"https://127.0.0.2:{self.port}{handler.path}")
                self._send(handler, Response(302, b"", {"Location": location}))
            case FaultKind.MALFORMED_JSON:
                response = self._answer(path, query, route, state)
                response.body = response.body[: max(1, len(response.body) // 2)]
                self._send(handler, response)
            case FaultKind.TRUNCATED:
                response = self._answer(path, query, route, state)
                self._send(handler, response, send=len(response.body) // 2)
                handler.close_connection = True
            case FaultKind.STALL:
                response = self._answer(path, query, route, state)
                self._send(handler, response, send=len(response.body) // 2)
                self._stopped.wait(fault.wait)
                handler.close_connection = True
            case FaultKind.ENORMOUS:
                self._send_enormous(handler, route, state, fault.size)

    def _send_enormous(self, handler: _Handler, route: Route, state: State, size: int) -> None:
        """Send a valid list of about ``size`` bytes, repeating the resource's objects."""
        resource = route.resource
        items = state.listings[resource.plural].items if resource else []
        if not items:
            items = [b'{"metadata":{"name":"padding","annotations":{"padding":"'
                     + b"x" * 4000 + b'"}}}']
        kind = resource.list_kind if resource else "List"
        api_version = resource.group_version if resource else "v1"
        head = (f'{{"kind":"{kind}","apiVersion":"{api_version}","metadata":'
                f'{{"resourceVersion":"{state.resource_version}"}},"items":[').encode()
        count, total = 0, len(head) + 2
        while total < size:
            total += len(items[count % len(items)]) + (1 if count else 0)
            count += 1

        def chunks() -> Iterator[bytes]:
            yield head
            for i in range(count):
                yield (b"," if i else b"") + items[i % len(items)]
            yield b"]}"

        self._write_head(handler, 200, total, {})
        try:
            for chunk in chunks():
                handler.wfile.write(chunk)
        except OSError:
            handler.close_connection = True

    # -- control -------------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """Answer ``/_emulator/...``: state, day, expire, faults."""
        action = path[len(CONTROL_PREFIX):]
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            match method, action:
                case "GET", "state":
                    pass
                case "POST", "day":
                    self.set_day(int(payload["day"]))
                case "POST", "expire-continue-tokens":
                    self.expire_continue_tokens()
                case "POST", "faults":
                    self.set_fault(Fault.from_dict(payload))
                case "DELETE", "faults":
                    self.clear_faults()
                case _:
                    return _not_found()
        except (ValueError, KeyError, TypeError, FaultError, ScenarioError) as exc:
            return Response(400, status_body(400, "BadRequest", str(exc)))
        return Response(200, orjson.dumps(self._describe()))

    def _describe(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "url": self.url,
            "day": self.day,
            "firstDay": self.scenario.first_day,
            "resourceVersion": str(self._state.resource_version),
            "continueTTL": self.tokens.ttl,
            "requestsServed": self.requests_served,
            "faults": [f.to_dict() for f in self.faults.active()],
        }

    # -- writing -------------------------------------------------------------------------

    @staticmethod
    def _write_head(handler: _Handler, status: int, length: int, headers: dict[str, str],
                    content_type: str = "application/json") -> None:
        handler.send_response(status)
        handler.send_header("Audit-Id", str(uuid.uuid4()))
        handler.send_header("Cache-Control", "no-cache, private")
        if length or status != 302:
            handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()

    def _send(self, handler: _Handler, response: Response, send: int | None = None) -> None:
        """Write ``response``; with ``send``, stop after that many body bytes."""
        try:
            self._write_head(handler, response.status, len(response.body), response.headers)
            handler.wfile.write(response.body if send is None else response.body[:send])
        except OSError:
            handler.close_connection = True


def _unmounted(path: str) -> tuple[str, str | None]:
    """Split ``/clusters/<name>/rest`` into ``(/rest, name)``; other paths have no mount."""
    if not path.startswith(MOUNT_PREFIX):
        return path, None
    mount, _, rest = path[len(MOUNT_PREFIX):].partition("/")
    if not mount or len(mount) > _MOUNT_NAME_MAX:
        return path, None
    return "/" + rest, mount


def start_emulator(scenario: str | Path | Scenario, *, port: int = 0, host: str = "127.0.0.1",
                   day: int = 0, continue_ttl: float | None = None,
                   identity_file: Path | None = None) -> Emulator:
    """Start serving ``scenario`` (a shipped name, a YAML path or a loaded scenario).

    ``port=0`` picks a free port. With ``identity_file``, the CA, certificate and token are
    read from it when it exists and written to it otherwise, so kubeconfigs survive a restart.
    """
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    identity = None
    if identity_file is not None:
        if identity_file.exists():
            identity = Identity.load(identity_file)
        else:
            identity = Identity.create(loaded.name, *loaded.service_account)
            identity.save(identity_file)
    return Emulator(loaded, host=host, port=port, day=day, continue_ttl=continue_ttl,
                    identity=identity)
