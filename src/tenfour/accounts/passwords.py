"""Password hashing with Argon2id (argon2-cffi's recommended parameters) and the password rules."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenfour.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@lru_cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check: an absent hash still costs one verification, so timing reveals nothing."""
    target = password_hash or _dummy_hash()
    try:
        ok = _hasher().verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@lru_cache
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password-used-for-timing-only")


def check_password_rules(password: str, field: str = "password") -> None:
    """NIST SP 800-63B: a minimum length, no composition rules, long passphrases allowed."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.single(field, "min_length", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed.single(field, "max_length", f"must be at most {MAX_PASSWORD_LENGTH} characters")
