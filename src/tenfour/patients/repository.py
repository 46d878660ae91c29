"""Every query of the patient registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from tenfour.patients.models import Patient


@dataclass(frozen=True)
class PatientQuery:
    clinic_ids: frozenset[int]
    text: str | None = None
    responder_role: str | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


def _filtered(query: PatientQuery) -> Select[tuple[Patient]]:
    stmt = select(Patient).where(Patient.clinic_id.in_(query.clinic_ids))
    if query.text:
        like = f"%{query.text.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Patient.first_name).like(like),
                func.lower(Patient.last_name).like(like),
                func.lower(func.coalesce(Patient.preferred_name, "")).like(like),
                func.lower(Patient.record_number).like(like),
                func.lower(func.coalesce(Patient.email, "")).like(like),
                func.lower(func.coalesce(Patient.agency, "")).like(like),
                func.lower(Patient.first_name + " " + Patient.last_name).like(like),
            )
        )
    if query.responder_role:
        stmt = stmt.where(Patient.responder_role == query.responder_role)
    if query.status:
        stmt = stmt.where(Patient.status == query.status)
    return stmt


def search(db: Session, query: PatientQuery) -> tuple[list[Patient], int]:
    base = _filtered(query)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        base.options(selectinload(Patient.consents))
        .order_by(Patient.last_name, Patient.first_name, Patient.id)
        .limit(query.limit)
        .offset(query.offset)
    )
    return list(db.scalars(stmt)), total


def by_id(db: Session, patient_id: int) -> Patient | None:
    return db.get(Patient, patient_id, options=[selectinload(Patient.consents)])


def by_user_id(db: Session, user_id: int) -> Patient | None:
    return db.scalar(select(Patient).where(Patient.user_id == user_id))


def record_number_taken(db: Session, clinic_id: int, record_number: str) -> bool:
    stmt = select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.record_number == record_number)
    return db.scalar(stmt) is not None


def count_by_status(db: Session, clinic_ids: Iterable[int]) -> dict[str, int]:
    stmt = (
        select(Patient.status, func.count())
        .where(Patient.clinic_id.in_(list(clinic_ids)))
        .group_by(Patient.status)
    )
    return {status: count for status, count in db.execute(stmt)}


def count_by_role(db: Session, clinic_ids: Iterable[int]) -> dict[str, int]:
    stmt = (
        select(Patient.responder_role, func.count())
        .where(Patient.clinic_id.in_(list(clinic_ids)))
        .group_by(Patient.responder_role)
    )
    return {role: count for role, count in db.execute(stmt)}
