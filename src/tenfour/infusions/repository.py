"""Every query of the infusions domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from tenfour.alerts.models import Alert
from tenfour.clinics.models import Chair
from tenfour.core.infusion import Step
from tenfour.db import remember
from tenfour.infusions.models import (
    InfusionAdverseEvent,
    InfusionDischarge,
    InfusionDose,
    InfusionPrecheck,
    InfusionPumpEvent,
    InfusionSession,
    InfusionVitals,
)
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan

OPEN_STEPS = tuple(s.value for s in Step if s is not Step.ABORTED)


def by_id(db: Session, session_id: int, *, for_update: bool = False) -> InfusionSession | None:
    """One session; ``for_update`` locks its row until the transaction ends (PostgreSQL SELECT ... FOR UPDATE; on
    SQLite every write transaction already holds the database lock from BEGIN IMMEDIATE)."""
    stmt = select(InfusionSession).where(InfusionSession.id == session_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalar(stmt)


def lock_chair(db: Session, clinic_id: int, chair_id: int) -> Chair | None:
    """The chair row, locked (SELECT ... FOR UPDATE) so that two bookings of one chair run one after the other."""
    return db.scalar(select(Chair).where(Chair.id == chair_id, Chair.clinic_id == clinic_id).with_for_update())


def lock_patient(db: Session, patient_id: int) -> Patient | None:
    return db.scalar(select(Patient).where(Patient.id == patient_id).with_for_update())


def overlapping(db: Session, *, start: datetime, end: datetime, chair_id: int | None = None,
                patient_id: int | None = None, exclude_id: int | None = None) -> list[InfusionSession]:
    """Sessions that are not aborted and hold [start, end) on the chair (or for the patient)."""
    stmt = select(InfusionSession).where(InfusionSession.status != Step.ABORTED.value,
                                         InfusionSession.scheduled_start < end, InfusionSession.scheduled_end > start)
    if chair_id is not None:
        stmt = stmt.where(InfusionSession.chair_id == chair_id)
    if patient_id is not None:
        stmt = stmt.where(InfusionSession.patient_id == patient_id)
    if exclude_id is not None:
        stmt = stmt.where(InfusionSession.id != exclude_id)
    return list(db.scalars(stmt.order_by(InfusionSession.scheduled_start)))


def for_clinic_between(db: Session, clinic_id: int, start: datetime,
                       end: datetime) -> list[tuple[InfusionSession, Patient, Chair]]:
    """Sessions of a clinic starting in [start, end), with their patient and chair, by chair then time."""
    stmt = (
        select(InfusionSession, Patient, Chair)
        .join(Patient, Patient.id == InfusionSession.patient_id)
        .join(Chair, Chair.id == InfusionSession.chair_id)
        .where(InfusionSession.clinic_id == clinic_id, InfusionSession.scheduled_start >= start,
               InfusionSession.scheduled_start < end)
        .order_by(Chair.position, InfusionSession.scheduled_start, InfusionSession.id)
    )
    return [(s, p, c) for s, p, c in db.execute(stmt)]


def for_patient(db: Session, patient_id: int) -> list[InfusionSession]:
    """Every session of the patient, newest first (read once per request for the chart's panels)."""
    return list(remember(db, ("infusion_sessions", patient_id), lambda: _for_patient(db, patient_id)))


def _for_patient(db: Session, patient_id: int) -> list[InfusionSession]:
    stmt = select(InfusionSession).where(InfusionSession.patient_id == patient_id)
    return list(db.scalars(stmt.order_by(InfusionSession.scheduled_start.desc(), InfusionSession.id.desc())))


def infusion_start_times(db: Session, patient_id: int) -> list[datetime]:
    stmt = select(InfusionSession.infusion_started_at).where(InfusionSession.patient_id == patient_id,
                                                            InfusionSession.infusion_started_at.is_not(None))
    return [t for t in db.scalars(stmt) if t is not None]


def chairs(db: Session, clinic_id: int, active_only: bool = True) -> list[Chair]:
    stmt = select(Chair).where(Chair.clinic_id == clinic_id)
    if active_only:
        stmt = stmt.where(Chair.is_active.is_(True))
    return list(db.scalars(stmt.order_by(Chair.position, Chair.id)))


def chair(db: Session, chair_id: int) -> Chair | None:
    return db.get(Chair, chair_id)


def bookable_patients(db: Session, clinic_id: int) -> list[tuple[Patient, TreatmentPlan]]:
    """Patients of the clinic with a signed treatment plan in force (the newest signed version)."""
    newer = aliased(TreatmentPlan)
    stmt = (
        select(Patient, TreatmentPlan)
        .join(TreatmentPlan, TreatmentPlan.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic_id, TreatmentPlan.signed_at.is_not(None),
               ~exists().where(newer.supersedes_id == TreatmentPlan.id, newer.signed_at.is_not(None)))
        .order_by(Patient.last_name, Patient.first_name, Patient.id, TreatmentPlan.version_number.desc())
    )
    seen: set[int] = set()
    rows = []
    for patient, plan in db.execute(stmt):
        if patient.id not in seen:
            seen.add(patient.id)
            rows.append((patient, plan))
    return rows


def plan(db: Session, plan_id: int) -> TreatmentPlan | None:
    return db.get(TreatmentPlan, plan_id)


# --- Charting ---------------------------------------------------------------------------------------------


def prechecks(db: Session, session_id: int) -> list[InfusionPrecheck]:
    stmt = select(InfusionPrecheck).where(InfusionPrecheck.session_id == session_id)
    return list(db.scalars(stmt.order_by(InfusionPrecheck.recorded_at, InfusionPrecheck.id)))


def latest_precheck(db: Session, session_id: int) -> InfusionPrecheck | None:
    stmt = select(InfusionPrecheck).where(InfusionPrecheck.session_id == session_id)
    return db.scalar(stmt.order_by(InfusionPrecheck.recorded_at.desc(), InfusionPrecheck.id.desc()).limit(1))


def latest_weight(db: Session, patient_id: int) -> InfusionPrecheck | None:
    """The patient's most recent measured weight (from any session's pre-checks)."""
    stmt = (select(InfusionPrecheck).join(InfusionSession, InfusionSession.id == InfusionPrecheck.session_id)
            .where(InfusionSession.patient_id == patient_id)
            .order_by(InfusionPrecheck.weight_measured_at.desc(), InfusionPrecheck.id.desc()).limit(1))
    return db.scalar(stmt)


def doses(db: Session, session_id: int) -> list[InfusionDose]:
    stmt = select(InfusionDose).where(InfusionDose.session_id == session_id)
    return list(db.scalars(stmt.order_by(InfusionDose.calculated_at, InfusionDose.id)))


def current_dose(db: Session, session_id: int) -> InfusionDose | None:
    stmt = select(InfusionDose).where(InfusionDose.session_id == session_id, InfusionDose.superseded_at.is_(None))
    return db.scalar(stmt.order_by(InfusionDose.id.desc()).limit(1))


def dose(db: Session, dose_id: int) -> InfusionDose | None:
    return db.get(InfusionDose, dose_id)


def vitals(db: Session, session_id: int) -> list[InfusionVitals]:
    stmt = select(InfusionVitals).where(InfusionVitals.session_id == session_id)
    return list(db.scalars(stmt.order_by(InfusionVitals.taken_at, InfusionVitals.id)))


def vitals_for_sessions(db: Session, session_ids: Iterable[int]) -> dict[int, list[InfusionVitals]]:
    ids = list(session_ids)
    result: dict[int, list[InfusionVitals]] = {i: [] for i in ids}
    if not ids:
        return result
    stmt = select(InfusionVitals).where(InfusionVitals.session_id.in_(ids))
    for row in db.scalars(stmt.order_by(InfusionVitals.taken_at, InfusionVitals.id)):
        result[row.session_id].append(row)
    return result


def vitals_reading(db: Session, reading_id: int) -> InfusionVitals | None:
    return db.get(InfusionVitals, reading_id)


def pump_events(db: Session, session_id: int) -> list[InfusionPumpEvent]:
    stmt = select(InfusionPumpEvent).where(InfusionPumpEvent.session_id == session_id)
    return list(db.scalars(stmt.order_by(InfusionPumpEvent.at, InfusionPumpEvent.id)))


def pump_events_for_sessions(db: Session, session_ids: Iterable[int]) -> dict[int, list[InfusionPumpEvent]]:
    ids = list(session_ids)
    result: dict[int, list[InfusionPumpEvent]] = {i: [] for i in ids}
    if not ids:
        return result
    stmt = select(InfusionPumpEvent).where(InfusionPumpEvent.session_id.in_(ids))
    for row in db.scalars(stmt.order_by(InfusionPumpEvent.at, InfusionPumpEvent.id)):
        result[row.session_id].append(row)
    return result


def current_doses_for_sessions(db: Session, session_ids: Iterable[int]) -> dict[int, InfusionDose]:
    ids = list(session_ids)
    if not ids:
        return {}
    stmt = select(InfusionDose).where(InfusionDose.session_id.in_(ids), InfusionDose.superseded_at.is_(None))
    return {row.session_id: row for row in db.scalars(stmt.order_by(InfusionDose.id))}


def adverse_events(db: Session, session_id: int) -> list[InfusionAdverseEvent]:
    stmt = select(InfusionAdverseEvent).where(InfusionAdverseEvent.session_id == session_id)
    return list(db.scalars(stmt.order_by(InfusionAdverseEvent.onset_at, InfusionAdverseEvent.id)))


def discharge(db: Session, session_id: int) -> InfusionDischarge | None:
    return db.scalar(select(InfusionDischarge).where(InfusionDischarge.session_id == session_id))


def discharges(db: Session, session_ids: Iterable[int]) -> dict[int, InfusionDischarge]:
    """The discharge of each of these sessions that has one, by session id (one query for a whole list)."""
    ids = list(session_ids)
    if not ids:
        return {}
    return {row.session_id: row for row in db.scalars(
        select(InfusionDischarge).where(InfusionDischarge.session_id.in_(ids)))}


def latest_discharge_for_patient(db: Session, patient_id: int) -> InfusionDischarge | None:
    stmt = (select(InfusionDischarge).join(InfusionSession, InfusionSession.id == InfusionDischarge.session_id)
            .where(InfusionSession.patient_id == patient_id)
            .order_by(InfusionDischarge.discharged_at.desc()).limit(1))
    return db.scalar(stmt)


def open_alerts_for_sessions(db: Session, session_ids: Iterable[int]) -> dict[int, list[Alert]]:
    """Unresolved alerts raised by a session's vitals or adverse events, by session."""
    ids = list(session_ids)
    result: dict[int, list[Alert]] = {i: [] for i in ids}
    if not ids:
        return result
    by_vitals = (select(Alert, InfusionVitals.session_id)
                 .join(InfusionVitals, InfusionVitals.alert_id == Alert.id)
                 .where(InfusionVitals.session_id.in_(ids), Alert.resolved_at.is_(None)))
    by_events = (select(Alert, InfusionAdverseEvent.session_id)
                 .join(InfusionAdverseEvent, InfusionAdverseEvent.alert_id == Alert.id)
                 .where(InfusionAdverseEvent.session_id.in_(ids), Alert.resolved_at.is_(None)))
    for stmt in (by_vitals, by_events):
        for alert, session_id in db.execute(stmt):
            result[session_id].append(alert)
    for alerts in result.values():
        alerts.sort(key=lambda a: a.created_at)
    return result


def user_names(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    from tenfour.accounts.models import User

    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.full_name for u in db.scalars(select(User).where(User.id.in_(ids)))}
