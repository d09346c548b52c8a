"""The connection check against a real HTTPS server, through the official client."""

import os
import socket
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clusters import kube
from clusters.kubeconfig import ClusterCredentials
from emulator.tls import KeyPair, make_ca
from tests.https_server import https_server

FAST = kube.Timeouts(connect=2, read=1)


def creds(server, token="good-token", ca=None, **extra) -> ClusterCredentials:
    return ClusterCredentials(context="t", server=server.url if hasattr(server, "url") else server,
                              ca_pem=(ca or server.ca).cert_pem.decode(), token=token, **extra)


def test_ok_returns_the_version():
    with https_server() as server:
        result = kube.verify(creds(server), FAST)
    assert result.ok and result.version == "v1.35.9"


def test_wrong_token_is_401():
    with https_server() as server:
        result = kube.verify(creds(server, token="wrong"), FAST)
    assert result.failure.kind == "unauthorized"
    assert result.failure.message.startswith("401 Unauthorized")
    assert "wrong" not in result.failure.message


def test_forbidden_is_403():
    with https_server("403") as server:
        result = kube.verify(creds(server), FAST)
    assert result.failure.kind == "forbidden"
    assert result.failure.status == 403


@pytest.mark.threat("Someone in the middle impersonates a cluster's API server",
                     "TLS is always verified against the kubeconfig's CA")
@pytest.mark.threat("Someone in the middle impersonates a cluster's API server",
                     "TLS is always verified against the kubeconfig's CA")
def test_wrong_ca_is_a_tls_failure():
    other = make_ca("someone-else")
    with https_server() as server:
        result = kube.verify(creds(server, ca=other), FAST)
    assert result.failure.kind == "tls"
    assert "certificate verify failed" in result.failure.message or "verif" in \
        result.failure.message


def test_refused_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = kube.verify(ClusterCredentials(context="t", server=f"https://127.0.0.1:{port}",
                                            token="x"), FAST)
    assert result.failure.kind == "refused"


def test_unknown_host_is_dns():
    result = kube.verify(ClusterCredentials(context="t", server="https://no-such-host.invalid",
                                            token="x"), FAST)
    assert result.failure.kind == "dns"
    assert "no-such-host.invalid" in result.failure.message


def test_slow_server_times_out():
    with https_server("slow") as server:
        result = kube.verify(creds(server), FAST)
    assert result.failure.kind == "timeout"


def _client_cert(ca: KeyPair) -> tuple[str, str]:
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "posture")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _tmp_entries() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


@pytest.mark.threat('The Kubernetes client writes credentials to disk',
                     'Client built from memory; client certificates passed through memfd, never a file')
def test_client_certificate_auth_writes_no_temporary_file():
    """Certificates reach the ssl module from memory; nothing appears in the temp dir."""
    client_ca = make_ca("client-ca")
    cert_pem, key_pem = _client_cert(client_ca)
    with https_server(client_ca=client_ca) as server:
        before = _tmp_entries()
        result = kube.verify(creds(server, token=None, client_cert_pem=cert_pem,
                                   client_key_pem=key_pem), FAST)
        after = _tmp_entries()
    assert result.ok, result.failure
    assert after - before == set()


@pytest.mark.threat('The Kubernetes client writes credentials to disk',
                     'Client built from memory; client certificates passed through memfd, never a file')
def test_no_temporary_file_holds_the_ca_or_token(tmp_path, monkeypatch):
    """Even with TMPDIR pointed at an empty folder, a verified call leaves it empty."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with https_server() as server:
        assert kube.verify(creds(server), FAST).ok
    assert list(Path(tmp_path).iterdir()) == []


def test_the_in_memory_files_are_closed_after_use():
    client_ca = make_ca("client-ca")
    cert_pem, key_pem = _client_cert(client_ca)
    before = set(os.listdir("/proc/self/fd"))
    with https_server(client_ca=client_ca) as server:
        kube.verify(creds(server, token=None, client_cert_pem=cert_pem, client_key_pem=key_pem),
                    FAST)
    leaked = [fd for fd in set(os.listdir("/proc/self/fd")) - before
              if os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:posture")]
    assert leaked == []


@pytest.mark.django_db
def test_verify_button_shows_the_version(as_alice):
    from django.urls import reverse

    from tests import kubeconfigs

    with https_server(token=kubeconfigs.TOKEN) as server:
        text = kubeconfigs.text(kubeconfigs.kubeconfig(server=server.url,
                                                       ca=server.ca.cert_pem.decode()))
        page = as_alice.post(reverse("clusters:register"), {
            "name": "prod", "poll_interval_minutes": "15", "kubeconfig": text,
            "action": "verify"}).content.decode()
    assert "Connected: Kubernetes <strong><bdi>v1.35.9</bdi></strong>" in page
    assert kubeconfigs.TOKEN not in page


@pytest.mark.django_db
def test_verify_button_shows_the_exact_failure(as_alice):
    from django.urls import reverse

    from tests import kubeconfigs

    with https_server("403", token=kubeconfigs.TOKEN) as server:
        text = kubeconfigs.text(kubeconfigs.kubeconfig(server=server.url,
                                                       ca=server.ca.cert_pem.decode()))
        page = as_alice.post(reverse("clusters:register"), {
            "name": "prod", "poll_interval_minutes": "15", "kubeconfig": text,
            "action": "verify"}).content.decode()
    assert "Connection failed (forbidden): <bdi>403 Forbidden" in page
