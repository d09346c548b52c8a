"""Certificates and the bearer token of one emulated cluster.

Each running scenario gets its own CA (EC P-256) and a server certificate signed by it, so a
kubeconfig for one emulated cluster never verifies against another.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import ssl
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _validity() -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    # Backdated so a client whose clock is a little behind still accepts the certificate.
    return now - dt.timedelta(hours=1), now + dt.timedelta(days=3650)


def make_ca(common_name: str) -> KeyPair:
    """Create a self-signed CA certificate (CA:TRUE, keyCertSign)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before, not_after = _validity()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def _san(names: tuple[str, ...]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return entries


def expired() -> tuple[dt.datetime, dt.datetime]:
    """Return a validity period that ended yesterday, for an expired certificate."""
    now = dt.datetime.now(dt.UTC)
    return now - dt.timedelta(days=366), now - dt.timedelta(days=1)


def issue_server_cert(ca: KeyPair | None, names: tuple[str, ...] = LOOPBACK_NAMES, *,
                      validity: tuple[dt.datetime, dt.datetime] | None = None) -> KeyPair:
    """Issue a TLS server certificate for ``names`` (IPs or DNS names), signed by ``ca``.

    Without ``ca`` the certificate signs itself (as a self-signed server certificate does).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    if ca is None:
        ca_key, issuer = key, subject
    else:
        loaded = serialization.load_pem_private_key(ca.key_pem, password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TypeError("the emulator's CA key must be an EC key")
        ca_key, issuer = loaded, x509.load_pem_x509_certificate(ca.cert_pem).subject
    not_before, not_after = validity or _validity()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(_san(names)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def server_context(leaf: KeyPair, ca: KeyPair | None) -> ssl.SSLContext:
    """Return a server-side TLS context presenting ``leaf`` with its chain (``ca``, if any)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain only reads files; the files live just long enough to be loaded.
    with tempfile.TemporaryDirectory(prefix="posture-emulator-") as tmp:
        chain = Path(tmp, "chain.pem")
        key = Path(tmp, "key.pem")
        chain.write_bytes(leaf.cert_pem + (ca.cert_pem if ca else b""))
        key.touch(mode=0o600)
        key.write_bytes(leaf.key_pem)
        context.load_cert_chain(chain, key)
    return context


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_token(ca: KeyPair, namespace: str, name: str) -> str:
    """Return a JWT shaped like a legacy (non-expiring) service-account token, signed ES256.

    The emulator compares tokens byte for byte; the JWT shape is there so that code handling
    kubeconfigs sees what a real cluster hands out.
    """
    key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the emulator's CA key must be an EC key")
    header = {"alg": "ES256", "kid": secrets.token_hex(16)}
    claims = {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": f"{name}-token",
        "kubernetes.io/serviceaccount/service-account.name": name,
        "kubernetes.io/serviceaccount/service-account.uid": str(uuid.uuid4()),
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "jti": secrets.token_hex(16),
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass(frozen=True)
class Identity:
    """Everything secret about one emulated cluster: its CA, server certificate and token."""

    ca: KeyPair
    leaf: KeyPair
    token: str

    @classmethod
    def create(cls, cluster: str, namespace: str, service_account: str) -> Identity:
        """Create a fresh CA, server certificate and token for ``cluster``."""
        ca = make_ca(f"{cluster}-ca")
        return cls(ca, issue_server_cert(ca), service_account_token(ca, namespace, service_account))

    def save(self, path: Path) -> None:
        """Write this identity to ``path`` (mode 0600), so a restart keeps kubeconfigs valid."""
        data = {
            "ca_cert": self.ca.cert_pem.decode(),
            "ca_key": self.ca.key_pem.decode(),
            "cert": self.leaf.cert_pem.decode(),
            "key": self.leaf.key_pem.decode(),
            "token": self.token,
        }
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(data, indent=1))

    @classmethod
    def load(cls, path: Path) -> Identity:
        """Read an identity written by :meth:`save`."""
        data = json.loads(path.read_text())
        return cls(
            KeyPair(data["ca_cert"].encode(), data["ca_key"].encode()),
            KeyPair(data["cert"].encode(), data["key"].encode()),
            data["token"],
        )
