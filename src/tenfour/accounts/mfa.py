"""Two-factor sign-in for staff: TOTP (RFC 6238, via pyotp) with single-use recovery codes. Never commits.

NIST SP 800-63B AAL2: a password plus an authenticator app. A code is accepted once (the last accepted 30-second
step is stored, so a code seen over someone's shoulder cannot be replayed), one step of clock drift either way.
Recovery codes are shown once and stored as salted SHA-256 (they are 50 random bits each, so a slow hash adds
nothing); each works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy.orm import Session

from tenfour.accounts import secretbox
from tenfour.accounts.models import Role, User
from tenfour.audit.service import Actor, record
from tenfour.clinics.service import effective_policies
from tenfour.db import utcnow
from tenfour.errors import Conflict, ValidationFailed

ISSUER = "TenFour"
RECOVERY_CODE_COUNT = 10
DRIFT_STEPS = 1  # accept the previous and the next 30-s code too (phone clocks drift)


def _normalize(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def mfa_required(db: Session, user: User) -> bool:
    """Whether any of the staff member's clinics requires two-factor sign-in (policy security.require_staff_mfa)."""
    if user.role == Role.PATIENT or not user.clinic_ids:
        return False
    return any(values["security.require_staff_mfa"] for values in effective_policies(db, user.clinic_ids))


def start_enrolment(db: Session, user: User) -> str:
    """A new secret for a user not yet enrolled (kept until confirmed with a code, replaced by a new start)."""
    if user.mfa_enabled:
        raise Conflict("Two-step sign-in is already set up. Ask an administrator to reset it to start again.")
    if not user.totp_secret or secretbox.is_encrypted(user.totp_secret):  # none yet, or unreadable: a new one
        user.totp_secret = pyotp.random_base32()
        db.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    assert user.totp_secret is not None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(text: str) -> str:
    """The QR code as an SVG image in a data: URI (the CSP allows data: images; no script, no inline style)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _accept_totp(user: User, code: str, at: datetime | None = None) -> bool:
    """True, and the step is remembered, for a current code not used before."""
    if not user.totp_secret or secretbox.is_encrypted(user.totp_secret) or len(code) != 6 or not code.isdigit():
        return False  # (still encrypted: stored under another secret key; fails closed until an admin resets it)
    totp = pyotp.TOTP(user.totp_secret)
    now_step = totp.timecode(at or utcnow())
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # replayed
            user.totp_last_step = step
            return True
    return False


def _hash_recovery(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}${code}".encode()).hexdigest()


def _accept_recovery_code(user: User, code: str) -> bool:
    remaining = (user.recovery_code_hashes or "").split()
    for stored in remaining:
        salt, _, digest = stored.partition("$")
        if hmac.compare_digest(_hash_recovery(code, salt), digest):
            remaining.remove(stored)
            user.recovery_code_hashes = " ".join(remaining) or None
            return True
    return False


def check_second_factor(db: Session, user: User, code: str | None) -> bool:
    """A six-digit code from the app, or one unused recovery code. Uses it up."""
    code = _normalize(code)
    if not code or not user.mfa_enabled:
        return False
    ok = _accept_totp(user, code) or _accept_recovery_code(user, code)
    db.flush()
    return ok


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh codes (replacing any left); the plain codes are returned once and never stored."""
    codes = [f"{secrets.token_hex(5)[:5]}-{secrets.token_hex(5)[:5]}" for _ in range(RECOVERY_CODE_COUNT)]
    hashes = []
    for code in codes:
        salt = secrets.token_hex(8)
        hashes.append(f"{salt}${_hash_recovery(_normalize(code), salt)}")
    user.recovery_code_hashes = " ".join(hashes)
    return codes


def confirm_enrolment(db: Session, actor: Actor, user: User, code: str | None) -> list[str]:
    """Turn two-step sign-in on with a first code from the app; returns the recovery codes to show once."""
    if user.mfa_enabled:
        raise Conflict("Two-step sign-in is already set up.")
    normalized = _normalize(code)
    if not user.totp_secret or not _accept_totp(user, normalized):
        raise ValidationFailed.single("code", "totp", "is not the current code from your authenticator app")
    user.totp_enabled_at = utcnow()
    codes = new_recovery_codes(user)
    db.flush()
    record(db, actor, "user.mfa_enrolled", record_type="user", record_id=user.id)
    return codes


def reset(db: Session, actor: Actor, user: User) -> None:
    """An administrator turns a person's two-step sign-in off (lost phone); they enrol again at next sign-in."""
    was_enabled = user.mfa_enabled
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = None
    db.flush()
    record(db, actor, "user.mfa_reset", record_type="user", record_id=user.id, detail={"was_enabled": was_enabled})
