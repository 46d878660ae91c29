"""Every query of the plans domain."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from tenfour.db import remember
from tenfour.plans.models import TreatmentPlan

_NEWER = aliased(TreatmentPlan)  # built once: aliasing a mapped class per call costs more than the query's SQL


def for_patient(db: Session, patient_id: int) -> list[TreatmentPlan]:
    stmt = select(TreatmentPlan).where(TreatmentPlan.patient_id == patient_id)
    return list(db.scalars(stmt.order_by(TreatmentPlan.version_number, TreatmentPlan.id)))


def current_signed_plan(db: Session, patient_id: int) -> TreatmentPlan | None:
    """The signed plan in force: signed, and not superseded by a newer signed version."""
    return remember(db, ("current_signed_plan", patient_id), lambda: _current_signed_plan(db, patient_id))


def _current_signed_plan(db: Session, patient_id: int) -> TreatmentPlan | None:
    newer = _NEWER
    stmt = (
        select(TreatmentPlan)
        .where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.signed_at.is_not(None),
               ~exists().where(newer.supersedes_id == TreatmentPlan.id, newer.signed_at.is_not(None)))
        .order_by(TreatmentPlan.version_number.desc())
    )
    return db.scalars(stmt).first()


def by_id(db: Session, plan_id: int) -> TreatmentPlan | None:
    return db.get(TreatmentPlan, plan_id)


def draft_for_patient(db: Session, patient_id: int) -> TreatmentPlan | None:
    """The patient's unsigned plan, if any (there is at most one at a time)."""
    stmt = select(TreatmentPlan).where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.signed_at.is_(None))
    return db.scalars(stmt.order_by(TreatmentPlan.id.desc())).first()


def highest_version(db: Session, patient_id: int) -> int:
    stmt = select(func.max(TreatmentPlan.version_number)).where(TreatmentPlan.patient_id == patient_id)
    return db.scalar(stmt) or 0


def delete(db: Session, plan: TreatmentPlan) -> None:
    db.delete(plan)
    db.flush()
