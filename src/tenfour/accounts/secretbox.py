"""Encryption at rest for the TOTP secret (``users.totp_secret``): a copied database or backup does not give away
anyone's second factor.

Fernet from the ``cryptography`` package (AES-128-CBC with HMAC-SHA256, a random IV per value), keyed by HKDF-SHA256
from the deployment's secret key (``Settings.effective_secret_key()``, the same one that signs cookies) with a label
of its own, so the derived key is used for nothing else. Stored as ``fernet:<token>``; a value without the prefix is a
row written before encryption (read as it is; ``tenfour migrate`` encrypts such rows, and any write encrypts).

Changing the secret key makes stored TOTP secrets unreadable: those accounts then fail two-step sign-in (closed, never
open) until an administrator resets two-step sign-in and the person enrols again (docs/security.md).
"""

from __future__ import annotations

import base64
import logging
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"
HKDF_INFO = b"tenfour users.totp_secret v1"
_override: list[str] = []  # a key set by use_secret_key (tests, tools); else the settings' key
log = logging.getLogger("tenfour.secretbox")


def use_secret_key(secret_key: str | None) -> None:
    """Encrypt and decrypt with this key from now on (None: back to ``get_settings().effective_secret_key()``)."""
    _override.clear()
    if secret_key is not None:
        _override.append(secret_key)


def _secret_key() -> str:
    if _override:
        return _override[0]
    from tenfour.config import get_settings  # read when first needed, never at import time

    return get_settings().effective_secret_key()


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def is_encrypted(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def encrypt(plain: str, secret_key: str | None = None) -> str:
    return PREFIX + _fernet(secret_key or _secret_key()).encrypt(plain.encode()).decode("ascii")


def decrypt(stored: str, secret_key: str | None = None) -> str | None:
    """The plain value; None when it was encrypted under another key or altered. A legacy plain value as it is."""
    if not is_encrypted(stored):
        return stored
    try:
        return _fernet(secret_key or _secret_key()).decrypt(stored[len(PREFIX):].encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted (see the module). Python code sees the plain value.

    A stored value that cannot be decrypted is handed back still encrypted (with its prefix), so that the account
    keeps "two-step sign-in on" and no code matches it: it fails closed (``mfa`` checks ``is_encrypted``).
    """

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None or is_encrypted(value):
            return value
        return encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        plain = decrypt(value)
        if plain is None:
            log.error("a stored TOTP secret cannot be decrypted with this deployment's secret key")
            return str(value)
        return plain
