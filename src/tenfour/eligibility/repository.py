"""Every query of the eligibility domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.db import remember
from tenfour.eligibility.models import EligibilityDecision


def by_id(db: Session, decision_id: int) -> EligibilityDecision | None:
    return db.get(EligibilityDecision, decision_id)


def for_patient(db: Session, patient_id: int) -> list[EligibilityDecision]:
    """Newest first."""
    stmt = (select(EligibilityDecision).where(EligibilityDecision.patient_id == patient_id)
            .order_by(EligibilityDecision.created_at.desc(), EligibilityDecision.id.desc()))
    return list(db.scalars(stmt))


def latest_for_patient(db: Session, patient_id: int) -> EligibilityDecision | None:
    return remember(db, ("latest_eligibility", patient_id), lambda: _latest_for_patient(db, patient_id))


def _latest_for_patient(db: Session, patient_id: int) -> EligibilityDecision | None:
    stmt = (select(EligibilityDecision).where(EligibilityDecision.patient_id == patient_id)
            .order_by(EligibilityDecision.created_at.desc(), EligibilityDecision.id.desc()).limit(1))
    return db.scalar(stmt)
