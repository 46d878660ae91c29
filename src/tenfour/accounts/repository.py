"""Every query of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tenfour.accounts.models import AuthSession, ClinicMembership, RateLimitHit, User


def user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def user_by_id(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def users_in_clinics(db: Session, clinic_ids: frozenset[int] | set[int]) -> list[User]:
    stmt = (
        select(User)
        .join(ClinicMembership, ClinicMembership.user_id == User.id)
        .where(ClinicMembership.clinic_id.in_(clinic_ids))
        .distinct()
        .order_by(User.full_name)
    )
    return list(db.scalars(stmt))


def session_by_token_hash(db: Session, token_hash: str) -> AuthSession | None:
    return db.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash))


def count_hits(db: Session, bucket: str, key: str, since: datetime) -> int:
    stmt = select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == bucket, RateLimitHit.key == key, RateLimitHit.at >= since
    )
    return db.scalar(stmt) or 0


def oldest_hit_since(db: Session, bucket: str, key: str, since: datetime) -> datetime | None:
    stmt = select(func.min(RateLimitHit.at)).where(
        RateLimitHit.bucket == bucket, RateLimitHit.key == key, RateLimitHit.at >= since
    )
    return db.scalar(stmt)


def purge_hits_before(db: Session, before: datetime) -> int:
    result = db.execute(delete(RateLimitHit).where(RateLimitHit.at < before))
    return result.rowcount or 0  # type: ignore[attr-defined]
