"""Every query of the audit log (reads only: nothing here or anywhere changes an entry)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from tenfour.accounts.models import STAFF_ROLES, ClinicMembership, User
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


# --- What a patient sees: who on the staff opened their record ---------------------------------------------------

# Actions that read a chart (any domain): patient.view, plan.view, checkin.list, infusion.discharge_sheet,
# report.progress_pdf, export.fhir_bundle ... Named by their last word, so a new read is shown without a list to edit.
_READ_SUFFIXES = (".view", ".list", "_view", "_export", "_pdf", "_sheet", "_bundle")


def _is_chart_read() -> ColumnElement[bool]:
    # "_" is a LIKE wildcard: escaped, so "_view" matches only an underscore.
    return or_(*(AuditEvent.action.like("%" + suffix.replace("_", "\\_"), escape="\\") for suffix in _READ_SUFFIXES),
               AuditEvent.action.like("export.%"))


def _chart_reads_of(patient_id: int) -> tuple[ColumnElement[bool], ...]:
    staff_roles = [role.value for role in STAFF_ROLES]
    return AuditEvent.patient_id == patient_id, AuditEvent.actor_role.in_(staff_roles), _is_chart_read()


def count_chart_reads(db: Session, patient_id: int) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent).where(*_chart_reads_of(patient_id))) or 0


def chart_reads(db: Session, patient_id: int, limit: int, offset: int = 0) -> list[tuple[AuditEvent, str | None]]:
    """Reads of one patient's record by staff (never by the patient themself, nor by the system), newest first,
    with the reader's current name (None when the account is gone)."""
    rows = db.execute(select(AuditEvent, User.full_name).outerjoin(User, User.id == AuditEvent.actor_user_id)
                      .where(*_chart_reads_of(patient_id)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                      .limit(limit).offset(offset))
    return [(event, name) for event, name in rows]
