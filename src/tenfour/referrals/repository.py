"""Every query of the referrals domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tenfour.referrals.models import Referral


def by_id(db: Session, referral_id: int) -> Referral | None:
    return db.get(Referral, referral_id, options=[selectinload(Referral.events)])


def by_patient_id(db: Session, patient_id: int) -> Referral | None:
    return db.scalar(select(Referral).where(Referral.patient_id == patient_id)
                     .options(selectinload(Referral.events)))


def reference_taken(db: Session, reference: str) -> bool:
    return db.scalar(select(Referral.id).where(Referral.reference == reference)) is not None


def queue(db: Session, clinic_id: int, statuses: Iterable[str] | None, *, oldest_first: bool,
          limit: int = 200) -> list[Referral]:
    stmt = select(Referral).where(Referral.clinic_id == clinic_id).options(selectinload(Referral.events))
    if statuses is not None:
        stmt = stmt.where(Referral.status.in_(list(statuses)))
    order = Referral.created_at.asc() if oldest_first else Referral.created_at.desc()
    return list(db.scalars(stmt.order_by(order, Referral.id).limit(limit)))


def count_by_status(db: Session, clinic_id: int) -> dict[str, int]:
    stmt = select(Referral.status, func.count()).where(Referral.clinic_id == clinic_id).group_by(Referral.status)
    return {status: count for status, count in db.execute(stmt)}


def received_since(db: Session, clinic_id: int, since: datetime) -> list[Referral]:
    stmt = (select(Referral).where(Referral.clinic_id == clinic_id, Referral.created_at >= since)
            .options(selectinload(Referral.events)))
    return list(db.scalars(stmt))
