"""Use cases of the accounts domain: users, memberships, sign-in and sessions. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from tenfour import ratelimit
from tenfour.accounts import mfa, passwords, repository
from tenfour.accounts.models import STAFF_ROLES, AuthSession, ClinicMembership, Role, User
from tenfour.audit.service import Actor, record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import effective_policies
from tenfour.context import Ctx
from tenfour.core import policy as policy_core
from tenfour.db import utcnow
from tenfour.errors import Conflict, NotFound, Problem, ReauthRequired, TooManyRequests, ValidationFailed

LOGIN_FAILURE_BUCKET = "login_failure"
GENERIC_LOGIN_ERROR = "The email, password or sign-in code is not right. Please try again."
GENERIC_REAUTH_ERROR = "The password or sign-in code is not right. Please try again."
PATIENT_IDLE_TIMEOUT = timedelta(minutes=60)  # product choice: patients fill forms on a phone between calls
LAST_SEEN_RESOLUTION = timedelta(seconds=60)  # write last_seen_at at most once a minute per session


def normalize_email(email: str, field: str = "email") -> str:
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationFailed.single(field, "email", str(error)) from None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    db: Session,
    actor: Actor,
    *,
    email: str,
    full_name: str,
    role: str,
    password: str | None,
    clinic_ids: list[int] | None = None,
) -> User:
    """Create an account. Staff belong to one or more clinics; a patient account belongs to none."""
    problems: list[Problem] = []
    try:
        role_enum = Role(role)
    except ValueError:
        role_enum = None
        problems.append(Problem("role", "enum", f"must be one of: {', '.join(r.value for r in Role)}"))
    full_name = (full_name or "").strip()
    if not full_name:
        problems.append(Problem("full_name", "required", "is required"))
    elif len(full_name) > 120:
        problems.append(Problem("full_name", "max_length", "must be at most 120 characters"))
    try:
        email = normalize_email(email)
    except ValidationFailed as error:
        problems.extend(error.problems)
    clinic_ids = sorted(set(clinic_ids or []))
    for clinic_id in clinic_ids:
        if clinics_repository.by_id(db, clinic_id) is None:
            problems.append(Problem("clinic", "exists", f"clinic {clinic_id} does not exist"))
    if role_enum in STAFF_ROLES and not clinic_ids:
        problems.append(Problem("clinic", "required", "staff must belong to at least one clinic"))
    if role_enum == Role.PATIENT and clinic_ids:
        problems.append(Problem("clinic", "not_allowed", "patient accounts are linked through their record"))
    if password is not None:
        try:
            passwords.check_password_rules(password, email=email)
        except ValidationFailed as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    if repository.user_by_email(db, email) is not None:
        raise Conflict("An account with this email already exists.", [Problem("email", "unique", "is taken")])
    user = User(
        email=email,
        full_name=full_name,
        role=role_enum.value,  # type: ignore[union-attr]
        password_hash=passwords.hash_password(password) if password else None,
    )
    user.memberships = [ClinicMembership(clinic_id=cid) for cid in clinic_ids]
    db.add(user)
    db.flush()
    record(db, actor, "user.create", clinic_id=clinic_ids[0] if clinic_ids else None, record_type="user",
           record_id=user.id, detail={"email": email, "role": user.role, "clinic_ids": clinic_ids})
    return user


def set_password(db: Session, actor: Actor, user: User, password: str) -> None:
    passwords.check_password_rules(password, email=user.email)
    user.password_hash = passwords.hash_password(password)
    db.flush()
    record(db, actor, "user.password_set", record_type="user", record_id=user.id)


def set_active(db: Session, actor: Actor, user: User, active: bool) -> None:
    user.is_active = active
    if not active:
        end_all_sessions(db, user)
    db.flush()
    record(db, actor, "user.activate" if active else "user.deactivate", record_type="user", record_id=user.id)


def set_memberships(db: Session, actor: Actor, user: User, clinic_ids: list[int]) -> None:
    if user.role == Role.PATIENT:
        raise ValidationFailed.single("clinic", "not_allowed", "patient accounts have no clinic memberships")
    if not clinic_ids:
        raise ValidationFailed.single("clinic", "required", "staff must belong to at least one clinic")
    before = sorted(user.clinic_ids)
    wanted = set(clinic_ids)
    user.memberships = [m for m in user.memberships if m.clinic_id in wanted] + [
        ClinicMembership(clinic_id=cid) for cid in sorted(wanted - user.clinic_ids)
    ]
    db.flush()
    record(db, actor, "user.memberships", record_type="user", record_id=user.id,
           detail={"before": before, "after": sorted(wanted)})


@dataclass
class LoginOutcome:
    user: User | None
    token: str | None = None
    session: AuthSession | None = None
    error: str | None = None
    retry_after_s: int | None = None


def attempt_login(
    db: Session, *, email: str, password: str, kind: str, ip_address: str | None, user_agent: str | None,
    max_failures: int, window: timedelta, code: str | None = None,
) -> LoginOutcome:
    """Check credentials and open a session. Failures are counted, not raised, so the count is committed.

    One generic message for an unknown email, a wrong password and a missing or wrong two-step code; repeated
    failures per account and per address are refused for a while (the answer is the same whether or not the
    account exists). An account with two-step sign-in needs a current code or an unused recovery code.
    """
    email_key = (email or "").strip().lower()[:254]
    for key in (f"email:{email_key}", f"ip:{ip_address or '-'}"):
        limit = max_failures if key.startswith("email:") else max_failures * 4
        wait = ratelimit.is_limited(db, LOGIN_FAILURE_BUCKET, key, limit, window)
        if wait is not None:
            raise TooManyRequests(retry_after_s=wait)
    user = repository.user_by_email(db, email_key) if email_key else None
    ok = passwords.verify_password(user.password_hash if user else None, password or "")
    actor = Actor(user.id if user else None, email_key or "(no email)", user.role if user else None,
                  ip_address, user_agent)
    if ok and user is not None and user.mfa_enabled and not mfa.check_second_factor(db, user, code):
        ok = False
    if not ok or user is None or not user.is_active:
        ratelimit.hit(db, LOGIN_FAILURE_BUCKET, f"email:{email_key}")
        ratelimit.hit(db, LOGIN_FAILURE_BUCKET, f"ip:{ip_address or '-'}")
        record(db, actor, "auth.login_failed", detail={"kind": kind})
        return LoginOutcome(user=None, error=GENERIC_LOGIN_ERROR)
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    token, session = open_session(db, user, kind=kind, ip_address=ip_address, user_agent=user_agent)
    record(db, actor, "auth.login", record_type="user", record_id=user.id, detail={"kind": kind})
    return LoginOutcome(user=user, token=token, session=session)


def session_limits(db: Session, user: User) -> tuple[timedelta, timedelta]:
    """(idle timeout, absolute lifetime) for a user: the strictest policy among their clinics."""
    if user.role == Role.PATIENT:
        lifetime_h = policy_core.default("security.session_lifetime_h")
        return PATIENT_IDLE_TIMEOUT, timedelta(hours=lifetime_h)
    values = effective_policies(db, user.clinic_ids) or [policy_core.resolve({})]
    idle = min(v["security.staff_idle_timeout_min"] for v in values)
    lifetime = min(v["security.session_lifetime_h"] for v in values)
    return timedelta(minutes=idle), timedelta(hours=lifetime)


def open_session(
    db: Session, user: User, *, kind: str, ip_address: str | None, user_agent: str | None
) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)
    _, lifetime = session_limits(db, user)
    now = utcnow()
    clinic_ids = sorted(user.clinic_ids)
    session = AuthSession(
        token_hash=hash_token(token), kind=kind, user_id=user.id, created_at=now, last_seen_at=now,
        authenticated_at=now,
        expires_at=now + lifetime, ip_address=ip_address, user_agent=(user_agent or "")[:300] or None,
        active_clinic_id=clinic_ids[0] if clinic_ids else None,
    )
    db.add(session)
    db.flush()
    return token, session


def resolve_session(db: Session, token: str, kind: str) -> AuthSession | None:
    """The live session for a token, or None (unknown, ended, expired, idle too long, inactive user)."""
    if not token or len(token) > 200:
        return None
    session = repository.session_by_token_hash(db, hash_token(token))
    if session is None or session.kind != kind or session.ended_at is not None or not session.user.is_active:
        return None
    now = utcnow()
    idle, _ = session_limits(db, session.user)
    if now >= session.expires_at or now - session.last_seen_at > idle:
        session.ended_at = now
        db.flush()
        return None
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.last_seen_at = now
        db.flush()
    return session


def end_session(db: Session, session: AuthSession, actor: Actor) -> None:
    if session.ended_at is None:
        session.ended_at = utcnow()
        db.flush()
        record(db, actor, "auth.logout", record_type="user", record_id=session.user_id)


def end_all_sessions(db: Session, user: User) -> None:
    now = utcnow()
    for session in db.query(AuthSession).filter(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None)):
        session.ended_at = now
    db.flush()


def switch_clinic(db: Session, actor: Actor, session: AuthSession, clinic_id: int) -> None:
    if clinic_id not in session.user.clinic_ids:
        raise NotFound("No such clinic.")  # a clinic you do not work in does not exist for you
    session.active_clinic_id = clinic_id
    db.flush()
    record(db, actor, "auth.switch_clinic", clinic_id=clinic_id, record_type="user", record_id=session.user_id)


def reauth_window(db: Session, user: User) -> timedelta:
    """How recent a sign-in must be for a sensitive action: the strictest policy among the user's clinics."""
    values = effective_policies(db, user.clinic_ids) or [policy_core.resolve({})]
    return timedelta(minutes=min(v["security.reauth_window_min"] for v in values))


def is_recently_authenticated(db: Session, session: AuthSession) -> bool:
    return session.authenticated_at is not None and utcnow() - session.authenticated_at <= reauth_window(
        db, session.user)


def require_recent_authentication(db: Session, session_id: int | None) -> None:
    """Signing a plan, overriding eligibility or a dose, exporting data: the session must have proved the password
    within the policy window (security.reauth_window_min), else ReauthRequired (401 ``reauth_required``)."""
    session = db.get(AuthSession, session_id) if session_id is not None else None
    if session is None or not is_recently_authenticated(db, session):
        raise ReauthRequired()


def require_recent_sign_in(db: Session, ctx: Ctx) -> None:
    """For services: a signed-in person (browser or API) needs a recent sign-in; a CLI job or the demo seed, which
    has no sign-in session, is not asked."""
    if ctx.principal is not None and ctx.principal.session_id is not None:
        require_recent_authentication(db, ctx.principal.session_id)


def reauthenticate(
    db: Session, actor: Actor, session: AuthSession, *, password: str, code: str | None,
    max_failures: int, window: timedelta,
) -> bool:
    """Prove again who is at the keyboard (password, and a code if enrolled): marks the session as just signed in.

    Failures count towards the same per-account limit as sign-in and are audited.
    """
    user = session.user
    key = f"email:{user.email}"
    wait = ratelimit.is_limited(db, LOGIN_FAILURE_BUCKET, key, max_failures, window)
    if wait is not None:
        raise TooManyRequests(retry_after_s=wait)
    ok = passwords.verify_password(user.password_hash, password or "")
    if ok and user.mfa_enabled:
        ok = mfa.check_second_factor(db, user, code)
    if not ok:
        ratelimit.hit(db, LOGIN_FAILURE_BUCKET, key)
        record(db, actor, "auth.reauth_failed", record_type="user", record_id=user.id)
        return False
    session.authenticated_at = utcnow()
    db.flush()
    record(db, actor, "auth.reauth", record_type="user", record_id=user.id)
    return True


def change_own_password(
    db: Session, actor: Actor, session: AuthSession, *, current_password: str, new_password: str,
    new_password_confirm: str, max_failures: int, window: timedelta,
) -> int:
    """A signed-in person changes their own password: the current one, then a new one twice (NIST SP 800-63B rules,
    ``passwords.check_password_rules``). Every other session of theirs is ended (a thief signed in elsewhere is out);
    this one stays and counts as just signed in. Returns how many other sessions were ended.

    A wrong current password counts towards the same per-account limit as sign-in, and is audited.
    """
    user = session.user
    key = f"email:{user.email}"
    wait = ratelimit.is_limited(db, LOGIN_FAILURE_BUCKET, key, max_failures, window)
    if wait is not None:
        raise TooManyRequests(retry_after_s=wait)
    if not passwords.verify_password(user.password_hash, current_password or ""):
        ratelimit.hit(db, LOGIN_FAILURE_BUCKET, key)
        record(db, actor, "user.password_change_failed", record_type="user", record_id=user.id)
        raise ValidationFailed.single("current_password", "matches", "is not your current password")
    problems: list[Problem] = []
    try:
        passwords.check_password_rules(new_password or "", field="new_password", email=user.email)
    except ValidationFailed as error:
        problems += error.problems
    if not problems and new_password == current_password:
        problems.append(Problem("new_password", "changed", "must be different from your current password"))
    if new_password != new_password_confirm:
        problems.append(Problem("new_password_confirm", "matches", "does not match the new password"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    user.password_hash = passwords.hash_password(new_password)
    now = utcnow()
    ended = 0
    for other in db.query(AuthSession).filter(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None),
                                              AuthSession.id != session.id):
        other.ended_at = now
        ended += 1
    session.authenticated_at = now
    db.flush()
    record(db, actor, "user.password_change", record_type="user", record_id=user.id,
           detail={"other_sessions_ended": ended})
    return ended
