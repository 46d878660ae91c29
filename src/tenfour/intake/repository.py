"""Every query of the intake domain (the intake form, and the invitation links of a patient)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.intake.models import IntakeForm
from tenfour.links.models import AccessLink

INVITATION_PURPOSE = "invitation"


def form_for_patient(db: Session, patient_id: int) -> IntakeForm | None:
    return db.scalar(select(IntakeForm).where(IntakeForm.patient_id == patient_id))


def latest_invitation(db: Session, patient_id: int) -> AccessLink | None:
    stmt = (select(AccessLink).where(AccessLink.patient_id == patient_id,
                                     AccessLink.purpose == INVITATION_PURPOSE)
            .order_by(AccessLink.created_at.desc(), AccessLink.id.desc()).limit(1))
    return db.scalar(stmt)
