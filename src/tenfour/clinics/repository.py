"""Every query of the clinics domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.clinics.models import Chair, Clinic, ClinicPolicyValue
from tenfour.db import remember


def by_id(db: Session, clinic_id: int) -> Clinic | None:
    return remember(db, ("clinic", clinic_id), lambda: db.get(Clinic, clinic_id))


def by_slug(db: Session, slug: str) -> Clinic | None:
    return db.scalar(select(Clinic).where(Clinic.slug == slug))


def list_clinics(db: Session, ids: frozenset[int] | None = None) -> list[Clinic]:
    stmt = select(Clinic).order_by(Clinic.name)
    if ids is not None:
        stmt = stmt.where(Clinic.id.in_(ids))
    return list(db.scalars(stmt))


def policy_overrides(db: Session, clinic_id: int) -> dict[str, ClinicPolicyValue]:
    rows = db.scalars(select(ClinicPolicyValue).where(ClinicPolicyValue.clinic_id == clinic_id))
    return {row.key: row for row in rows}


def policy_overrides_for(db: Session, clinic_ids: frozenset[int]) -> dict[int, dict[str, object]]:
    result: dict[int, dict[str, object]] = {cid: {} for cid in clinic_ids}
    rows = db.scalars(select(ClinicPolicyValue).where(ClinicPolicyValue.clinic_id.in_(clinic_ids)))
    for row in rows:
        result[row.clinic_id][row.key] = row.value
    return result


def chair_by_id(db: Session, clinic_id: int, chair_id: int) -> Chair | None:
    return db.scalar(select(Chair).where(Chair.clinic_id == clinic_id, Chair.id == chair_id))
