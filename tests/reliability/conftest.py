"""Fixtures of the reliability tests: the results store, a network guard, helper servers."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from emulator.tls import KeyPair, issue_server_cert, server_context
from tests.reliability.results import Results, results_path

_SESSION_RESULTS: list[Results] = []
_REPORT_TEST = "tests/reliability/test_report.py::test_the_page_is_rendered_from_this_runs_results"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the page check after every test that records a result."""
    last = [item for item in items if item.nodeid == _REPORT_TEST]
    items[:] = [item for item in items if item.nodeid != _REPORT_TEST] + last


@pytest.fixture(scope="session")
def results() -> Results:
    """The run's results, written to the var dir; earlier runs' rows are dropped first."""
    if not _SESSION_RESULTS:
        from django.conf import settings

        _SESSION_RESULTS.append(Results(results_path(Path(settings.VAR_DIR))).reset())
    return _SESSION_RESULTS[0]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch) -> list[tuple[str, int]]:
    """Refuse, in this process, any client connection that would leave this machine.

    Tests aim clients at metadata and private addresses to see them refused; should a guard
    fail, no packet may go there. Returns every address a connection was attempted to.
    """
    import urllib3.util.connection

    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def guarded(address, *args, **kwargs):
        host, port = address
        attempts.append((host, port))
        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise AssertionError(f"a test tried to connect to {host}:{port}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    return attempts


@dataclass
class Listener:
    """A TLS listener that records every connection and request it receives."""

    url: str
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


@contextmanager
def listen(ca: KeyPair, host: str = "127.0.0.2") -> Iterator[Listener]:
    """Serve TLS on ``host`` with a certificate from ``ca``, recording whatever arrives.

    It trusts the same CA as the cluster, so a client that followed a redirect here would
    complete the handshake and send its request — and its bearer token — to be recorded.
    """
    context = server_context(issue_server_cert(ca, (host,)), ca)
    server = socket.create_server((host, 0))
    server.settimeout(0.1)
    state = Listener(url=f"https://{host}:{server.getsockname()[1]}")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            state.connections += 1
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    request = tls.recv(65536)
                    state.requests.append(request)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
        server.close()
