"""Build kubeconfig documents for tests, valid by default, broken on request."""

from __future__ import annotations

import base64
import functools
from typing import Any

import yaml

from emulator.tls import make_ca

TOKEN = "tok-3f9a1c0e7b2d4a6f8e1c"


@functools.cache
def ca_pem() -> str:
    return make_ca("posture-test-ca").cert_pem.decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def kubeconfig(
    server: str = "https://127.0.0.1:6443",
    *,
    token: str | None = TOKEN,
    ca: str | None = None,
    cluster_extra: dict[str, Any] | None = None,
    user_extra: dict[str, Any] | None = None,
    contexts: tuple[str, ...] = ("test",),
    current: str | None = "test",
) -> dict[str, Any]:
    """Return a kubeconfig dict with one cluster and user shared by ``contexts``."""
    cluster: dict[str, Any] = {"server": server,
                               "certificate-authority-data": b64(ca or ca_pem())}
    cluster.update(cluster_extra or {})
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    user.update(user_extra or {})
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
    }
    if current is not None:
        document["current-context"] = current
    return document


def text(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document)


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\nkind: Config\n"


def rejections() -> list[tuple[str, str | bytes, str | None, str]]:
    """Every way registration must refuse a kubeconfig: (id, text, context, message part)."""
    k = kubeconfig
    return [
        ("not-yaml", "clusters: [unclosed\n  - {", None, "not valid YAML"),
        ("not-kubeconfig", "hello: world\nlist: [1, 2]\n", None, "not a kubeconfig"),
        ("not-a-mapping", "- just\n- a list\n", None, "not a kubeconfig"),
        ("oversized", "# " + "x" * (1024 * 1024) + "\n" + text(k()), None, "limit is 1,048,576"),
        ("alias-bomb", _alias_bomb(), None, "YAML aliases"),
        ("no-such-context", text(k()), "prod", "no context named 'prod'"),
        ("several-contexts-none-current",
         text(k(contexts=("one", "two"), current=None)), None, "choose one of: one, two"),
        ("exec", text(k(token=None, user_extra={"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token"]}})), None, "exec credential plugin"),
        ("auth-provider", text(k(token=None, user_extra={"auth-provider": {
            "name": "gcp", "config": {"cmd-path": "/usr/bin/gcloud"}}})), None,
         "auth-provider"),
        ("certificate-authority-file", text(k(cluster_extra={
            "certificate-authority": "/etc/passwd"})), None,
         "refers to a file (certificate-authority)"),
        ("client-certificate-file", text(k(user_extra={
            "client-certificate": "/etc/ssl/cert.pem", "client-key-data": b64(ca_pem())})), None,
         "refers to a file (client-certificate)"),
        ("client-key-file", text(k(user_extra={
            "client-key": "/root/.ssh/id_rsa"})), None, "refers to a file (client-key)"),
        ("token-file", text(k(token=None, user_extra={
            "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"})), None,
         "refers to a file (tokenFile)"),
        ("insecure-skip-tls-verify", text(k(cluster_extra={
            "insecure-skip-tls-verify": True})), None, "insecure-skip-tls-verify"),
        ("plain-http", text(k(server="http://127.0.0.1:8080")), None, "must use https://"),
        ("no-credentials", text(k(token=None)), None, "has no credentials"),
        ("metadata-address", text(k(server="https://169.254.169.254")), None, "link-local"),
    ]
