"""Hostile kubeconfigs and endpoints: no field makes a worker read a file, run a command, go
through a proxy, act as someone else or reach a metadata address."""

from __future__ import annotations

import gzip
import io
import ipaddress
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from clusters import collector, kube
from clusters.kubeconfig import AddressPolicy, KubeconfigError, credentials
from clusters.models import Cluster
from posture.domain.models import SnapshotStatus
from posture.domain.polling import poll

FAST = collector.Options(timeouts=kube.Timeouts(connect=2, read=3), deadline_seconds=15)


class _Watch:
    """An audit hook (installed once, never removable) recording, while active, files opened
    under ``root`` and every attempt to start a process."""

    PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                      "os.fork", "os.forkpty", "pty.spawn")

    def __init__(self) -> None:
        self.root: str | None = None
        self.events: list[tuple[str, str]] = []
        sys.addaudithook(self)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        root = self.root
        if root is None:
            return
        if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
            path = os.fsdecode(args[0])
            if path.startswith(root):
                self.events.append((event, path))
        elif event in self.PROCESS_EVENTS:
            self.events.append((event, repr(args)[:200]))

    @contextmanager
    def watching(self, root: Path) -> Iterator[list[tuple[str, str]]]:
        self.events = []
        self.root = str(root)
        try:
            yield self.events
        finally:
            self.root = None


_WATCH: list[_Watch] = []


@pytest.fixture
def bait(tmp_path: Path) -> Iterator[Bait]:
    """A FIFO that would block any reader, a marker a command would create, and a watch."""
    if not _WATCH:
        _WATCH.append(_Watch())
    fifo = tmp_path / "bait.fifo"
    os.mkfifo(fifo)
    yield Bait(tmp_path, fifo, tmp_path / "a-command-ran", _WATCH[0])


@dataclass
class Bait:
    root: Path
    fifo: Path
    marker: Path
    watch: _Watch

    @property
    def command(self) -> str:
        return f"touch {self.marker}"

    def untouched(self, events: list[tuple[str, str]]) -> str:
        """Check nothing took the bait; return the proof in words."""
        assert events == [], events
        assert not self.marker.exists()
        # With a reader blocked on it, a non-blocking open for writing would succeed.
        with pytest.raises(OSError) as no_reader:
            os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        assert no_reader.value.errno == 6  # ENXIO: nobody has the FIFO open for reading
        return "no file under the test's directory was opened, no process was started"


def run_bounded(fn, timeout: float = 15.0) -> Any:
    """Run ``fn`` in a thread; fail if it blocks (as a read of the FIFO would)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 — handed back to the test
            box["error"] = exc
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked: something opened the FIFO for reading"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _document(emulator) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(emulator.kubeconfig())
    return document


def _set(document: dict[str, Any], where: str, key: str, value: Any) -> dict[str, Any]:
    entry = document[f"{where}s"][0][where]
    if value is None:
        entry.pop(key, None)
    else:
        entry[key] = value
    return document


# (id, where, field, value — "{fifo}" and "{command}" filled in —, message part when refused)
FIELDS: list[tuple[str, str, str, Any, str | None]] = [
    ("exec", "user", "exec", {"apiVersion": "client.authentication.k8s.io/v1",
                              "command": "/bin/sh", "args": ["-c", "{command}"]},
     "exec credential plugin"),
    ("auth-provider", "user", "auth-provider", {"name": "gcp", "config": {
        "cmd-path": "/bin/sh", "cmd-args": "-c '{command}'"}}, "auth-provider"),
    ("tokenFile", "user", "tokenFile", "{fifo}", "refers to a file (tokenFile)"),
    ("token-file", "user", "token-file", "{fifo}", "refers to a file (token-file)"),
    ("client-certificate", "user", "client-certificate", "{fifo}",
     "refers to a file (client-certificate)"),
    ("client-key", "user", "client-key", "{fifo}", "refers to a file (client-key)"),
    ("certificate-authority", "cluster", "certificate-authority", "{fifo}",
     "refers to a file (certificate-authority)"),
    ("env-var-path", "cluster", "certificate-authority", "$HOME/.kube/ca.crt",
     "refers to a file (certificate-authority)"),
    ("proxy-url", "cluster", "proxy-url", "http://127.0.0.1:3128", "sets proxy-url"),
    ("socks5", "cluster", "proxy-url", "socks5://127.0.0.1:1080", "sets proxy-url"),
    ("as", "user", "as", "system:admin", "impersonates someone (as)"),
    ("as-groups", "user", "as-groups", ["system:masters"], "impersonates someone (as-groups)"),
    ("as-uid", "user", "as-uid", "0", "impersonates someone (as-uid)"),
    ("as-user-extra", "user", "as-user-extra", {"scopes": ["all"]},
     "impersonates someone (as-user-extra)"),
    ("username-password", "user", "username", "admin", "username and password"),
    ("insecure-string", "cluster", "insecure-skip-tls-verify", "true",
     "insecure-skip-tls-verify"),
    ("file-url", "cluster", "server", "file:///etc/passwd", "must use https://"),
    ("unix-url", "cluster", "server", "unix:///var/run/docker.sock", "must use https://"),
    ("env-var-server", "cluster", "server", "https://${KUBE_HOST}:6443",
     "not a valid host name"),
    ("extensions", "cluster", "extensions", [{"name": "evil", "extension": {
        "path": "{fifo}", "command": "{command}"}}], None),
    ("user-extensions", "user", "extensions", [{"name": "evil", "extension": {
        "tokenFile": "{fifo}", "exec": "{command}"}}], None),
    ("disable-compression", "cluster", "disable-compression", True, None),
    ("env-var-token", "user", "token", "${HOME}", None),
]


ORDER = {f[0]: i for i, f in enumerate(FIELDS)}


def _fill(value: Any, bait: Bait) -> Any:
    if isinstance(value, str):
        return value.replace("{fifo}", str(bait.fifo)).replace("{command}", bait.command)
    if isinstance(value, list):
        return [_fill(v, bait) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, bait) for k, v in value.items()}
    return value


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int):
        return json.dumps(value)
    return yaml.safe_dump(value, default_flow_style=True, width=200).strip()


@pytest.mark.threat('A kubeconfig field makes the worker read a file or run a command',
                     'Every known way is tried under an audit hook on file opens and process starts; none is honoured')
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("key", "where", "field", "value", "refusal"), FIELDS,
                         ids=[f[0] for f in FIELDS])
def test_kubeconfig_field(emulate, bait, results, key, where, field, value, refusal):
    emulator = emulate("well-kept")
    value = _fill(value, bait)
    document = _set(_document(emulator), where, field, value)
    if field == "username":
        _set(document, "user", "password", "hunter2")
    text = yaml.safe_dump(document)
    shown = _shown(value).replace(str(bait.root), "<tmp>")
    with bait.watch.watching(bait.root) as events:
        if refusal is not None:
            with pytest.raises(KubeconfigError) as refused:
                run_bounded(lambda: credentials(text))
            message = str(refused.value)
            assert refusal in message
            bait.untouched(events)
            results.add("kubeconfig", key, ORDER[key], field=f"{where}.{field}", value=shown,
                        outcome="refused",
                        message=message.replace(str(bait.root), "<tmp>"))
            return
        creds = run_bounded(lambda: credentials(text))
        cluster = Cluster(name="hostile")
        cluster.store_kubeconfig(creds)
        cluster.save()
        snapshot = run_bounded(lambda: poll(cluster.pk, opts=FAST).snapshot)
    proof = bait.untouched(events)
    if key == "env-var-token":
        assert creds.token == "${HOME}"  # taken literally, never expanded
        assert snapshot.error_kind == "unauthorized"
        outcome = "accepted, taken literally (the cluster refused the token `${HOME}`: 401)"
    else:
        assert snapshot.status == SnapshotStatus.OK, snapshot.error
        assert field not in creds.to_kubeconfig()
        outcome = "accepted and ignored (not kept); the poll succeeded"
    results.add("kubeconfig", key, ORDER[key], field=f"{where}.{field}", value=shown,
                outcome=outcome, message=proof)


@pytest.mark.threat('A kubeconfig field makes the worker read a file or run a command',
                     'Every known way is tried under an audit hook on file opens and process starts; none is honoured')
def test_yaml_tags_cannot_construct_objects(bait, results):
    """A python/object tag would run a command if the YAML were loaded unsafely."""
    text = (f'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: '
            f'!!python/object/apply:os.system ["{bait.command}"]\n')
    with bait.watch.watching(bait.root) as events, pytest.raises(KubeconfigError) as refused:
        credentials(text)
    assert "not valid YAML" in str(refused.value)
    bait.untouched(events)
    results.add("kubeconfig", "yaml-tag", len(FIELDS), field="any value",
                value="!!python/object/apply:os.system [...]", outcome="refused",
                message=str(refused.value))


def test_the_watch_sees_what_it_must(bait):
    """The proof can fail: the watch records a file opened under the root and a process."""
    import subprocess

    with bait.watch.watching(bait.root) as events:
        (bait.root / "x").write_text("x")
        subprocess.run(["/bin/true"], check=True)
    assert ("open", str(bait.root / "x")) in events
    assert any(event == "subprocess.Popen" for event, _ in events)


# -- endpoints -------------------------------------------------------------------------------

FAKE_DNS = {
    "metadata.posture.test": ["169.254.169.254"],
    "mixed.posture.test": ["127.0.0.1", "169.254.169.254"],
    "mapped.posture.test": ["::ffff:169.254.169.254"],
    "private.posture.test": ["10.20.30.40"],
    "cluster.posture.test": ["127.0.0.1"],
}


@pytest.fixture
def fake_dns(monkeypatch) -> None:
    """Resolve the test's names as ``FAKE_DNS`` says; everything else as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
        if isinstance(host, str) and host in FAKE_DNS:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port or 443) if ":" not in a else (a, port or 443, 0, 0))
                    for a in FAKE_DNS[host]]
        return real(host, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _register_at(emulator, server: str, name: str = "hostile") -> Cluster:
    document = _document(emulator)
    _set(document, "cluster", "server", server)
    # The emulator's certificate names 127.0.0.1 and localhost; a test name needs this.
    _set(document, "cluster", "tls-server-name", "localhost")
    cluster = Cluster(name=name)
    cluster.store_kubeconfig(credentials(yaml.safe_dump(document)))
    cluster.save()
    return cluster


LITERALS = [
    ("metadata-v4", "https://169.254.169.254", "169.254.169.254"),
    ("metadata-v6", "https://[fd00:ec2::254]", "fd00:ec2::254"),
    ("link-local-v6", "https://[fe80::1]:6443", "fe80::1"),
    ("mapped-v4", "https://[::ffff:169.254.169.254]", "::ffff:169.254.169.254"),
    ("unspecified", "https://0.0.0.0:6443", "0.0.0.0"),  # noqa: S104 — a server URL, not a bind
]


@pytest.mark.threat('A kubeconfig aims the worker at a cloud metadata service or an internal address (SSRF)',
                     'Addresses checked after DNS at every connection; link-local refused, loopback and private ranges configurable')
@pytest.mark.parametrize(("key", "server", "host"), LITERALS, ids=[c[0] for c in LITERALS])
def test_literal_addresses_are_refused_when_read(results, key, server, host):
    text = yaml.safe_dump(_minimal(server))
    with pytest.raises(KubeconfigError) as refused:
        credentials(text)
    if key == "unspecified":
        assert "cannot be a cluster's address" in str(refused.value)
        with pytest.raises(KubeconfigError):
            credentials(text, allow_link_local=True)
        allowed = "refused with any setting"
    else:
        assert "POSTURE_ALLOW_LINK_LOCAL=true" in str(refused.value)
        # Allowed on request; not connected to here (no test traffic leaves this machine).
        assert credentials(text, allow_link_local=True).server == server
        assert AddressPolicy(link_local=True).refusal(ipaddress.ip_address(host)) is None
        allowed = "accepted with POSTURE_ALLOW_LINK_LOCAL=true"
    results.add("endpoint", key, LITERALS.index((key, server, host)), server=server,
                setting="", outcome=f"refused when the kubeconfig is read; {allowed}",
                message=str(refused.value))


def _minimal(server: str) -> dict[str, Any]:
    from tests import kubeconfigs

    return kubeconfigs.kubeconfig(server=server)


NAMES = [
    ("name-to-metadata", "https://metadata.posture.test:{port}", {}, "169.254.169.254"),
    ("name-to-mixed", "https://mixed.posture.test:{port}", {}, "169.254.169.254"),
    ("name-to-mapped", "https://mapped.posture.test:{port}", {}, "::ffff:169.254.169.254"),
    ("name-to-private", "https://private.posture.test:{port}",
     {"POSTURE_ALLOW_PRIVATE_NETWORKS": False}, "10.20.30.40"),
    ("name-to-loopback", "https://cluster.posture.test:{port}",
     {"POSTURE_ALLOW_LOOPBACK": False}, "127.0.0.1"),
    ("loopback-literal", "https://127.0.0.1:{port}", {"POSTURE_ALLOW_LOOPBACK": False},
     "127.0.0.1"),
]


@pytest.mark.threat('A kubeconfig aims the worker at a cloud metadata service or an internal address (SSRF)',
                     'Addresses checked after DNS at every connection; link-local refused, loopback and private ranges configurable')
@pytest.mark.django_db
@pytest.mark.parametrize(("key", "server", "overrides", "address"), NAMES,
                         ids=[c[0] for c in NAMES])
def test_addresses_are_checked_at_connection_time(emulate, fake_dns, loopback_only, settings,
                                                   results, key, server, overrides, address):
    emulator = emulate("well-kept")
    cluster = _register_at(emulator, server.format(port=emulator.port))
    for name, value in overrides.items():
        setattr(settings, name, value)
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.FAILED
    assert snapshot.error_kind == "blocked-address"
    assert address in snapshot.error
    assert loopback_only == []  # refused before any connection was attempted
    setting = ", ".join(f"{k}={str(v).lower()}" for k, v in overrides.items())
    results.add("endpoint", key, len(LITERALS) + NAMES.index(
        (key, server, overrides, address)), server=server.format(port="PORT"),
        setting=setting, outcome="poll failed (`blocked-address`), no connection attempted",
        message=snapshot.error.replace(f":{emulator.port}", ":PORT"))


@pytest.mark.django_db
def test_a_name_resolving_to_an_allowed_address_polls(emulate, fake_dns, loopback_only,
                                                       results):
    """The check is no blanket refusal: the same name polls when loopback is allowed."""
    emulator = emulate("well-kept")
    cluster = _register_at(emulator, f"https://cluster.posture.test:{emulator.port}")
    snapshot = poll(cluster.pk, opts=FAST).snapshot
    assert snapshot.status == SnapshotStatus.OK, snapshot.error
    assert {host for host, _ in loopback_only} == {"127.0.0.1"}
    results.add("endpoint", "name-allowed", len(LITERALS) + len(NAMES),
                server="https://cluster.posture.test:PORT", setting="",
                outcome="poll ok, connected to the checked address 127.0.0.1", message="")


# -- answer size -------------------------------------------------------------------------------

def _response(body: bytes, headers: dict[str, str]) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=200,
                                preload_content=False, decode_content=True)


SIZES = [
    ("chunked", "an answer without Content-Length, 4 MiB", b"x" * (4 * 1024 * 1024), {}),
    ("gzip-bomb", "a small gzip body that inflates to 64 MiB",
     gzip.compress(b"\0" * (64 * 1024 * 1024)), {"Content-Encoding": "gzip"}),
]


@pytest.mark.threat("A hostile API server exhausts the worker's memory",
                     'Answers streamed with a size limit; polls have a deadline')
@pytest.mark.parametrize(("key", "what", "body", "headers"), SIZES, ids=[s[0] for s in SIZES])
def test_answers_are_limited_while_they_stream(results, key, what, body, headers):
    from clusters.kube import _Guard, _LimitedBody

    limit = 1024 * 1024
    raw = _response(body, headers)
    limited = _LimitedBody(raw, _Guard(kube.Limits(max_body_bytes=limit), None))
    with pytest.raises(kube.ResponseTooLarge) as refused:
        limited.data  # noqa: B018 — reading is the point
    # What was taken off the wire: the limit and at most one more chunk.
    assert raw.tell() <= limit + 256 * 1024
    outcome = "refused after reading at most the limit and one chunk"
    message = refused.value.failure.message
    results.add("endpoint", key, len(LITERALS) + len(NAMES) + 1 + SIZES.index(
        (key, what, body, headers)), server=what, setting="POSTURE_POLL_MAX_PAGE_BYTES=1048576",
        outcome=outcome, message=message)
