"""The clinic's retention policy: which closed records have been kept long enough, and deleting them. Never commits.

A record is *closed* when the person is discharged, found ineligible, or never started treatment (referred or in
intake); people in assessment, treatment or maintenance are never listed. Its *last activity* is the latest of: the
record's last change, an assessment, a completed check-in, an infusion session's last change. It is *past retention*
when that is longer ago than the clinic's ``privacy.retention_years`` (core.policy; the source is given there).

Deleting is ``patients.deletion.delete_patient`` for each, reason ``retention``: one audit entry each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenfour.assessments.models import Assessment
from tenfour.audit.service import record
from tenfour.checkins.models import CheckIn
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import NotFound
from tenfour.infusions.models import InfusionSession
from tenfour.patients import deletion
from tenfour.patients.models import DeletedPatient, Patient, PatientStatus
from tenfour.policy import Permission, require

CLOSED = (PatientStatus.DISCHARGED.value, PatientStatus.INELIGIBLE.value, PatientStatus.REFERRED.value,
          PatientStatus.INTAKE.value)
POLICY_KEY = "privacy.retention_years"


@dataclass(frozen=True)
class PastRetention:
    patient_id: int
    record_number: str
    status: str
    last_activity_at: datetime
    kept_until: date  # the day the retention period ended


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def clinic_for(db: Session, ctx: Ctx, slug: str) -> Clinic:
    """The clinic by slug; for a signed-in person only a clinic they administer (404 otherwise)."""
    clinic = clinics_repository.by_slug(db, slug)
    if clinic is None or (ctx.principal is not None and clinic.id not in ctx.principal.clinic_ids):
        raise NotFound(f"No clinic '{slug}'.")
    if ctx.principal is not None:
        require(ctx.principal, Permission.CLINIC_ADMIN)
    return clinic


def retention_years(db: Session, clinic_id: int) -> int:
    return int(effective_policy(db, clinic_id)[POLICY_KEY])


def past_retention(db: Session, clinic: Clinic, now: datetime | None = None) -> list[PastRetention]:
    """Closed records of the clinic whose last activity is older than the retention period, oldest first."""
    now = now or utcnow()
    years = retention_years(db, clinic.id)
    cutoff_day = years_before(now.date(), years)
    last_assessment = (select(func.max(Assessment.administered_at)).where(Assessment.patient_id == Patient.id)
                       .scalar_subquery())
    last_checkin = (select(func.max(CheckIn.completed_at)).where(CheckIn.patient_id == Patient.id)
                    .scalar_subquery())
    last_session = (select(func.max(InfusionSession.updated_at)).where(InfusionSession.patient_id == Patient.id)
                    .scalar_subquery())
    rows = db.execute(
        select(Patient.id, Patient.record_number, Patient.status, Patient.updated_at, last_assessment, last_checkin,
               last_session)
        .where(Patient.clinic_id == clinic.id, Patient.status.in_(CLOSED))
    ).all()
    found = []
    for patient_id, record_number, status, *times in rows:
        last = max(t for t in times if t is not None)
        if last.date() < cutoff_day:
            found.append(PastRetention(patient_id, record_number, status, last,
                                       kept_until=_plus_years(last, years)))
    return sorted(found, key=lambda p: (p.last_activity_at, p.patient_id))


def _plus_years(moment: datetime, years: int) -> date:
    day = moment.date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def report(db: Session, ctx: Ctx, clinic: Clinic) -> list[PastRetention]:
    """The list, audited as a view of the clinic's records (record numbers only)."""
    found = past_retention(db, clinic)
    record(db, ctx.actor, "retention.report", clinic_id=clinic.id, record_type="clinic", record_id=clinic.id,
           detail={"past_retention": len(found), "retention_years": retention_years(db, clinic.id)})
    return found


def apply(db: Session, ctx: Ctx, clinic: Clinic) -> list[DeletedPatient]:
    """Delete every record of the clinic that is past retention (one audit entry each)."""
    return [deletion.delete_patient(db, ctx, item.patient_id, reason="retention")
            for item in past_retention(db, clinic)]


def deleted_in(db: Session, clinic_id: int, limit: int = 50) -> list[DeletedPatient]:
    return list(db.scalars(select(DeletedPatient).where(DeletedPatient.clinic_id == clinic_id)
                           .order_by(DeletedPatient.deleted_at.desc()).limit(limit)))
