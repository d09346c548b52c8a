"""A tiny real HTTPS server answering ``/version`` for connection-check tests.

It answers like an API server would for one behaviour at a time (ok, 401, 403, slow), and can
demand a client certificate signed by its CA. The full cluster emulator lives in
``emulator``; this exists to test the client's failure paths in isolation.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator.tls import KeyPair, issue_server_cert, make_ca, server_context

VERSION = {
    "major": "1", "minor": "35", "gitVersion": "v1.35.9", "gitCommit": "0" * 40,
    "gitTreeState": "clean", "buildDate": "2026-09-15T00:00:00Z", "goVersion": "go1.25.1",
    "compiler": "gc", "platform": "linux/amd64",
}


@dataclass
class Server:
    url: str
    ca: KeyPair
    token: str
    behaviour: str = "ok"


def _status(code: int, reason: str, message: str) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code}).encode()


@contextmanager
def https_server(
    behaviour: str = "ok", token: str = "good-token", client_ca: KeyPair | None = None
) -> Iterator[Server]:
    """Serve on 127.0.0.1 with a fresh CA; ``behaviour`` is ok, 401, 403 or slow."""
    ca = make_ca("test-apiserver-ca")
    context = server_context(issue_server_cert(ca), ca)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca.cert_pem.decode())
    state = Server(url="", ca=ca, token=token, behaviour=behaviour)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if state.behaviour == "slow":
                time.sleep(3)
            authorized = client_ca is not None or (
                self.headers.get("Authorization") == f"Bearer {state.token}")
            if not authorized or state.behaviour == "401":
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            elif state.behaviour == "403":
                self._send(403, _status(403, "Forbidden", 'forbidden: User "x" cannot get path '
                                        '"/version"'))
            elif self.path.rstrip("/") == "/version":
                self._send(200, json.dumps(VERSION).encode())
            else:
                self._send(404, _status(404, "NotFound", "the server could not find it"))

        def _send(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
