"""A real OpenID provider for the single sign-on tests.

``tests/oidc/provider.mjs`` runs panva's ``oidc-provider`` (pinned in tests/oidc/package.json,
installed by ``make setup``) on 127.0.0.1 with signing keys made here, one confidential client
and the users of a JSON file this object rewrites, so a test can change someone's groups
between two logins. The test keeps the provider's private key, and a second key the provider
never published, to craft ID tokens the provider would sign and ones it would not.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "provider.mjs"
MODULES = HERE / "node_modules" / "oidc-provider"
CLIENT_ID = "posture"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    # PyJWT marks a private key "sign" only; the provider also verifies with it (id_token_hint).
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class User:
    password: str
    groups: list[str]
    email: str = ""
    name: str = ""


@dataclass
class OpenIdProvider:
    """One running provider; ``issuer`` is its address, ``client_secret`` Posture's secret."""

    workdir: Path
    redirect_uri: str
    post_logout_redirect_uri: str
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    issuer: str = ""
    users: dict[str, User] = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(default_factory=_rsa_key)
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    # Never published by the provider: what a forger without the provider's key can sign with.
    rogue_key: rsa.RSAPrivateKey = field(default_factory=_rsa_key)
    process: subprocess.Popen[str] | None = None

    @property
    def users_file(self) -> Path:
        return self.workdir / "users.json"

    def start(self) -> None:
        node = shutil.which("node")
        if node is None or not MODULES.exists():
            raise RuntimeError("the OpenID provider needs node and tests/oidc/node_modules: "
                               "run `make setup`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.save_users()
        config = self.workdir / "provider.json"
        config.write_text(json.dumps({
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": self.client_secret,
                "redirect_uris": [self.redirect_uri],
                "post_logout_redirect_uris": [self.post_logout_redirect_uri],
            },
            "jwks": {"keys": [_private_jwk(self.key, self.kid)]},
            "cookie_keys": [secrets.token_urlsafe(32)],
            "users_file": str(self.users_file),
        }))
        with open(self.workdir / "provider.log", "w") as log:
            self.process = subprocess.Popen([node, str(SCRIPT), str(config)], cwd=HERE,
                                            stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError("the OpenID provider did not start:\n"
                               + (self.workdir / "provider.log").read_text()[-3000:])
        self.issuer = json.loads(line)["issuer"]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def add_user(self, login: str, password: str, groups: list[str]) -> None:
        self.users[login] = User(password=password, groups=list(groups),
                                 email=f"{login}@example.com", name=login.title())
        self.save_users()

    def set_groups(self, login: str, groups: list[str]) -> None:
        """Change a user's groups; the provider reads them at the next sign-in."""
        self.users[login].groups = list(groups)
        self.save_users()

    def save_users(self) -> None:
        self.users_file.write_text(json.dumps({
            login: {"password": u.password, "groups": u.groups, "email": u.email, "name": u.name}
            for login, u in self.users.items()
        }))

    def id_token(self, claims: dict[str, Any], *, key: rsa.RSAPrivateKey | None = None,
                 kid: str | None = None) -> str:
        """Sign ``claims`` as an ID token: with the provider's own key unless told otherwise."""
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def standard_claims(self, login: str, nonce: str, **changes: Any) -> dict[str, Any]:
        """The claims the provider itself would put in ``login``'s ID token, then ``changes``."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": login, "aud": CLIENT_ID, "iat": now,
                  "exp": now + 600, "nonce": nonce}
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def next_id_token(self, token: str) -> None:
        """Make the provider's next token response carry ``token`` as its ID token."""
        response = requests.post(f"{self.issuer}/__test__/next-id-token",
                                 json={"id_token": token}, timeout=10)
        assert response.status_code == 204, response.text
