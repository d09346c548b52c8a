"""The kubeconfig vault: Fernet encryption at rest, decryption in memory only.

Keys come from ``POSTURE_KUBECONFIG_KEYS`` (newest first). ``MultiFernet`` decrypts with any key
and encrypts with the first, so rotation is: put a new key first, run
``manage.py rotate_kubeconfig_key``, then drop the old key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultError(Exception):
    """A stored kubeconfig cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.POSTURE_KUBECONFIG_KEYS])


def seal(kubeconfig: str) -> bytes:
    """Encrypt a kubeconfig with the newest key."""
    return _fernet().encrypt(kubeconfig.encode("utf-8"))


def unseal(token: bytes | memoryview, ttl: int | None = None) -> str:
    """Decrypt a stored kubeconfig; raise ``VaultError`` when no key fits (or ``ttl`` passed)."""
    try:
        return _fernet().decrypt(bytes(token), ttl=ttl).decode("utf-8")
    except InvalidToken:
        raise VaultError(
            "The stored kubeconfig cannot be decrypted with any key in POSTURE_KUBECONFIG_KEYS "
            "(was a key removed before rotate_kubeconfig_key ran?)"
        ) from None


def rotate(token: bytes | memoryview) -> bytes:
    """Re-encrypt a stored kubeconfig with the newest key."""
    try:
        return _fernet().rotate(bytes(token))
    except InvalidToken:
        raise VaultError(
            "A stored kubeconfig cannot be decrypted with any configured key"
        ) from None
