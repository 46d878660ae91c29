"""Every query of the scheduling domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from tenfour.checkins.models import BoosterRequest, BoosterRequestStatus
from tenfour.clinics.models import Chair
from tenfour.core.infusion import Step
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.scheduling.models import (
    ClinicClosure,
    ClinicNurseStaffing,
    PatientCustomRoster,
    PatientDutyChange,
    SchedulingRequest,
    SchedulingRequestSession,
    SchedulingRun,
)

# --- Clinic settings ------------------------------------------------------------------------------------


def closures(db: Session, clinic_id: int, start: date | None = None, end: date | None = None) -> list[ClinicClosure]:
    stmt = select(ClinicClosure).where(ClinicClosure.clinic_id == clinic_id)
    if start is not None:
        stmt = stmt.where(ClinicClosure.day >= start)
    if end is not None:
        stmt = stmt.where(ClinicClosure.day < end)
    return list(db.scalars(stmt.order_by(ClinicClosure.day)))


def closure(db: Session, closure_id: int) -> ClinicClosure | None:
    return db.get(ClinicClosure, closure_id)


def closure_on(db: Session, clinic_id: int, day: date) -> ClinicClosure | None:
    return db.scalar(select(ClinicClosure).where(ClinicClosure.clinic_id == clinic_id, ClinicClosure.day == day))


def staffing(db: Session, clinic_id: int) -> dict[int, ClinicNurseStaffing]:
    rows = db.scalars(select(ClinicNurseStaffing).where(ClinicNurseStaffing.clinic_id == clinic_id))
    return {row.weekday: row for row in rows}


# --- Rosters ---------------------------------------------------------------------------------------------


def duty_changes(db: Session, patient_ids: Iterable[int], start: datetime | None = None,
                 end: datetime | None = None) -> list[PatientDutyChange]:
    ids = list(patient_ids)
    if not ids:
        return []
    stmt = select(PatientDutyChange).where(PatientDutyChange.patient_id.in_(ids))
    if start is not None:
        stmt = stmt.where(PatientDutyChange.end > start)
    if end is not None:
        stmt = stmt.where(PatientDutyChange.start < end)
    return list(db.scalars(stmt.order_by(PatientDutyChange.start, PatientDutyChange.id)))


def duty_change(db: Session, change_id: int) -> PatientDutyChange | None:
    return db.get(PatientDutyChange, change_id)


def custom_rosters(db: Session, patient_ids: Iterable[int]) -> dict[int, PatientCustomRoster]:
    ids = list(patient_ids)
    if not ids:
        return {}
    rows = db.scalars(select(PatientCustomRoster).where(PatientCustomRoster.patient_id.in_(ids)))
    return {row.patient_id: row for row in rows}


# --- Requests --------------------------------------------------------------------------------------------


def request(db: Session, request_id: int, *, for_update: bool = False) -> SchedulingRequest | None:
    stmt = select(SchedulingRequest).where(SchedulingRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalar(stmt)


def requests(db: Session, clinic_id: int, statuses: Iterable[str] | None = None,
             patient_id: int | None = None) -> list[tuple[SchedulingRequest, Patient]]:
    stmt = (select(SchedulingRequest, Patient).join(Patient, Patient.id == SchedulingRequest.patient_id)
            .where(SchedulingRequest.clinic_id == clinic_id))
    if statuses is not None:
        stmt = stmt.where(SchedulingRequest.status.in_(list(statuses)))
    if patient_id is not None:
        stmt = stmt.where(SchedulingRequest.patient_id == patient_id)
    stmt = stmt.order_by(SchedulingRequest.priority, SchedulingRequest.created_at, SchedulingRequest.id)
    return [(r, p) for r, p in db.execute(stmt)]


def patient_requests(db: Session, patient_id: int, statuses: Iterable[str] | None = None) -> list[SchedulingRequest]:
    stmt = select(SchedulingRequest).where(SchedulingRequest.patient_id == patient_id)
    if statuses is not None:
        stmt = stmt.where(SchedulingRequest.status.in_(list(statuses)))
    return list(db.scalars(stmt.order_by(SchedulingRequest.created_at, SchedulingRequest.id)))


def plans_without_sessions(db: Session, clinic_id: int,
                           patient_id: int | None = None) -> list[tuple[Patient, TreatmentPlan]]:
    """Patients with a signed induction plan in force that has no session (not aborted) and no request yet (one
    patient's only, with ``patient_id``)."""
    newer = aliased(TreatmentPlan)
    stmt = (
        select(Patient, TreatmentPlan)
        .join(TreatmentPlan, TreatmentPlan.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic_id, TreatmentPlan.signed_at.is_not(None),
               TreatmentPlan.protocol == "induction",
               ~exists().where(newer.supersedes_id == TreatmentPlan.id, newer.signed_at.is_not(None)),
               ~exists().where(InfusionSession.plan_id == TreatmentPlan.id,
                               InfusionSession.status != Step.ABORTED.value),
               ~exists().where(SchedulingRequest.plan_id == TreatmentPlan.id))
        .order_by(TreatmentPlan.signed_at, TreatmentPlan.id)
    )
    if patient_id is not None:
        stmt = stmt.where(Patient.id == patient_id)
    return [(p, plan) for p, plan in db.execute(stmt)]


def booster_requests_without_request(db: Session, clinic_id: int,
                                     patient_id: int | None = None) -> list[BoosterRequest]:
    stmt = (select(BoosterRequest)
            .where(BoosterRequest.clinic_id == clinic_id,
                   BoosterRequest.status == BoosterRequestStatus.REQUESTED.value,
                   ~exists().where(SchedulingRequest.booster_request_id == BoosterRequest.id))
            .order_by(BoosterRequest.requested_at, BoosterRequest.id))
    if patient_id is not None:
        stmt = stmt.where(BoosterRequest.patient_id == patient_id)
    return list(db.scalars(stmt))


def booster_request(db: Session, booster_request_id: int) -> BoosterRequest | None:
    return db.get(BoosterRequest, booster_request_id)


def link_for_session(db: Session, session_id: int) -> SchedulingRequestSession | None:
    return db.scalar(select(SchedulingRequestSession).where(
        SchedulingRequestSession.infusion_session_id == session_id))


def request_sessions(db: Session, request_id: int) -> list[tuple[SchedulingRequestSession, InfusionSession]]:
    stmt = (select(SchedulingRequestSession, InfusionSession)
            .join(InfusionSession, InfusionSession.id == SchedulingRequestSession.infusion_session_id)
            .where(SchedulingRequestSession.request_id == request_id)
            .order_by(SchedulingRequestSession.session_index))
    return [(link, session) for link, session in db.execute(stmt)]


def request_session_ids(db: Session, request_ids: Iterable[int]) -> dict[int, list[int]]:
    """The booked infusion session ids of each request, in series order (one query for a whole list)."""
    ids = list(request_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (select(SchedulingRequestSession.request_id, SchedulingRequestSession.infusion_session_id)
            .where(SchedulingRequestSession.request_id.in_(ids))
            .order_by(SchedulingRequestSession.request_id, SchedulingRequestSession.session_index))
    for request_id, session_id in db.execute(stmt):
        out[request_id].append(session_id)
    return out


# --- Sessions and chairs -----------------------------------------------------------------------------------


def booked_between(db: Session, clinic_id: int, start: datetime, end: datetime) -> list[InfusionSession]:
    """Sessions of the clinic (not aborted) holding chair time in [start, end)."""
    stmt = select(InfusionSession).where(InfusionSession.clinic_id == clinic_id,
                                         InfusionSession.status != Step.ABORTED.value,
                                         InfusionSession.scheduled_start < end, InfusionSession.scheduled_end > start)
    return list(db.scalars(stmt.order_by(InfusionSession.scheduled_start, InfusionSession.id)))


def calendar(db: Session, clinic_id: int, start: datetime, end: datetime
             ) -> list[tuple[InfusionSession, Patient, Chair]]:
    stmt = (select(InfusionSession, Patient, Chair)
            .join(Patient, Patient.id == InfusionSession.patient_id)
            .join(Chair, Chair.id == InfusionSession.chair_id)
            .where(InfusionSession.clinic_id == clinic_id, InfusionSession.status != Step.ABORTED.value,
                   InfusionSession.scheduled_start < end, InfusionSession.scheduled_end > start)
            .order_by(Chair.position, InfusionSession.scheduled_start, InfusionSession.id))
    return [(s, p, c) for s, p, c in db.execute(stmt)]


def patient_sessions(db: Session, patient_id: int, *, include_aborted: bool = False) -> list[InfusionSession]:
    stmt = select(InfusionSession).where(InfusionSession.patient_id == patient_id)
    if not include_aborted:
        stmt = stmt.where(InfusionSession.status != Step.ABORTED.value)
    return list(db.scalars(stmt.order_by(InfusionSession.scheduled_start, InfusionSession.id)))


def chairs(db: Session, clinic_id: int) -> list[Chair]:
    stmt = select(Chair).where(Chair.clinic_id == clinic_id, Chair.is_active.is_(True))
    return list(db.scalars(stmt.order_by(Chair.position, Chair.id)))


def patients(db: Session, patient_ids: Iterable[int]) -> dict[int, Patient]:
    ids = list(patient_ids)
    if not ids:
        return {}
    return {p.id: p for p in db.scalars(select(Patient).where(Patient.id.in_(ids)))}


# --- Runs ---------------------------------------------------------------------------------------------------


def run(db: Session, run_id: int, *, for_update: bool = False) -> SchedulingRun | None:
    stmt = select(SchedulingRun).where(SchedulingRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalar(stmt)


def recent_runs(db: Session, clinic_id: int, limit: int = 10) -> list[SchedulingRun]:
    stmt = (select(SchedulingRun).where(SchedulingRun.clinic_id == clinic_id)
            .order_by(SchedulingRun.created_at.desc(), SchedulingRun.id.desc()).limit(limit))
    return list(db.scalars(stmt))
