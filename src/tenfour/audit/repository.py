"""Every query of the audit log (reads only: nothing here or anywhere changes an entry)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from tenfour.accounts.models import ClinicMembership
from tenfour.audit.models import AuditEvent


@dataclass(frozen=True)
class AuditQuery:
    clinic_ids: frozenset[int]
    action: str | None = None
    patient_id: int | None = None
    actor_user_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def _filtered(query: AuditQuery) -> Select[tuple[AuditEvent]]:
    clinic_ids = list(query.clinic_ids)
    staff_of_clinics = select(ClinicMembership.user_id).where(ClinicMembership.clinic_id.in_(clinic_ids))
    # An administrator sees events in their clinics, and clinic-less events (sign-ins, account changes)
    # made by people who work in their clinics.
    stmt = select(AuditEvent).where(
        or_(
            AuditEvent.clinic_id.in_(clinic_ids),
            and_(AuditEvent.clinic_id.is_(None), AuditEvent.actor_user_id.in_(staff_of_clinics)),
        )
    )
    if query.action:
        stmt = stmt.where(AuditEvent.action.like(f"{query.action}%"))
    if query.patient_id is not None:
        stmt = stmt.where(AuditEvent.patient_id == query.patient_id)
    if query.actor_user_id is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == query.actor_user_id)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.at < query.until)
    return stmt


def search(db: Session, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    base = _filtered(query)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.scalars(base.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(query.limit)
                      .offset(query.offset))
    return list(rows), total


def stream(db: Session, query: AuditQuery, batch: int = 1000) -> Iterator[AuditEvent]:
    stmt = _filtered(query).order_by(AuditEvent.at, AuditEvent.id).execution_options(yield_per=batch)
    yield from db.scalars(stmt)


def distinct_actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
