"""Tell whether a configuration key or value looks like a credential.

Used by the checks on container environment variables and on ConfigMap keys. Only the key's
*name* ever leaves this module in a finding: callers pass the value in, get a yes or no back,
and drop the value.

Two independent signals, either is enough:

- the name says it holds a secret (``DB_PASSWORD``, ``api-token``, ``AWS_SECRET_ACCESS_KEY``,
  ``signing_key``), and the value is a literal that is not empty and not a reference to another
  variable (``$(OTHER)``, the Kubernetes expansion syntax);
- the value has the shape of a well-known credential, whatever the name: an AWS access key id,
  a PEM private key, a GCP service-account key file, a GitHub or Slack token.

Names are split into words at ``_``, ``-``, ``.`` and camel-case boundaries, so ``KEYCLOAK_URL``
and ``MONKEY`` are not secrets while ``apiKey`` and ``TLS_KEY`` are. Words such as ``PUBLIC``
(``PUBLIC_KEY``) and suffixes naming a place rather than a value (``_FILE``, ``_PATH``, ``_NAME``,
``_URL`` …) clear the name signal: ``PASSWORD_FILE=/run/secrets/db`` points at a secret, it is
not one.
"""

from __future__ import annotations

import re

# Words that mark a credential in a key name.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "credential", "credentials", "apikey"}
)
# ``KEY`` alone marks a secret only as the last word (``SIGNING_KEY``, ``API_KEY``), not as the
# first (``KEY_ID`` of a key pair names the public half).
_KEY_WORDS = frozenset({"key", "keys"})
# A name ending in one of these points at a secret or describes it; its value is not the secret.
_POINTER_WORDS = frozenset(
    "file path dir name names url uri ref id arn length len size type format header field"
    " mount location policy enabled required ttl expiry expires version prefix".split()
)
_HARMLESS_WORDS = frozenset({"public", "pub"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_.-]*\)$")

# Shapes of well-known credentials; each anchored on a prefix that the issuer documents.
_CREDENTIAL_VALUES = (
    # AWS access key ids (long-term AKIA…, temporary ASIA…): 4 letters + 16 upper-case/digits.
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    # PEM private keys of any algorithm (RSA, EC, OPENSSH, ENCRYPTED, plain PKCS#8).
    re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    # A GCP service-account key file is JSON with a "private_key" member.
    re.compile(r'"private_key"\s*:'),
    # GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_).
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}\b"),
    # Slack tokens: bot, app, user, refresh, legacy.
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
)

# Values past this length are only searched in their head: a credential is short, a ConfigMap
# value may be a megabyte of configuration, and the check must stay cheap.
_SCAN_LIMIT = 64 * 1024


def words(name: str) -> list[str]:
    """Return the lower-cased words of a key name (``dbPassword_FILE`` → db, password, file)."""
    return [w.lower() for w in _WORD.findall(name)]


def name_looks_secret(name: str) -> bool:
    """Return whether a key's name says it holds a credential."""
    parts = words(name)
    if not parts or parts[-1] in _POINTER_WORDS or _HARMLESS_WORDS.intersection(parts):
        return False
    if _SECRET_WORDS.intersection(parts) or "".join(parts[-2:]) == "apikey":
        return True
    return parts[-1] in _KEY_WORDS and len(parts) > 1


def value_looks_secret(value: str) -> bool:
    """Return whether a value has the shape of a well-known credential."""
    head = value[:_SCAN_LIMIT]
    return any(pattern.search(head) for pattern in _CREDENTIAL_VALUES)


def looks_secret(name: str, value: str) -> bool:
    """Return whether the literal ``value`` stored under ``name`` looks like a credential."""
    stripped = value.strip()
    if not stripped or _REFERENCE.match(stripped):
        return False
    return name_looks_secret(name) or value_looks_secret(stripped)
