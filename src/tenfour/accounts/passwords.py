"""Password hashing with Argon2id (argon2-cffi's recommended parameters) and the password rules."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tenfour.errors import ValidationFailed

# NIST SP 800-63B §5.1.1.2 sets at least 8 characters; 12 is TenFour's product choice for a system holding PHI.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # 800-63B: allow at least 64
# 800-63B §5.1.1.2 "context-specific words": refused as the whole password (case-insensitive), with the email.
CONTEXT_WORDS = ("tenfour", "tenfourtenfour", "tenfour123456", "ketamine", "ketamineclinic")


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


@lru_cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-cased), read once. Origin: the file's first line."""
    text = resources.files("tenfour.accounts").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password_rules(password: str, field: str = "password", email: str | None = None) -> None:
    """NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules, long passphrases allowed, and a
    blocklist: commonly used passwords (shipped locally) and context-specific words (the product's name, the
    account's own email or its local part) as the whole password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.single(field, "min_length", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed.single(field, "max_length", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    folded = password.strip().lower()
    if folded in common_passwords():
        raise ValidationFailed.single(field, "common", "is one of the most commonly used passwords; choose another")
    context = set(CONTEXT_WORDS)
    if email:
        context |= {email.strip().lower(), email.strip().lower().partition("@")[0]}
    if folded in context:
        raise ValidationFailed.single(field, "context", "must not be the product's name or your email; choose another")
