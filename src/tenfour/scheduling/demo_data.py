"""Demo data of shift-aware scheduling (issue 7): nurses on duty per weekday, a closure day, one-off duty changes
for a couple of patients, signed induction plans still waiting for their sessions, an accepted booster proposal,
and the waiting list that follows from them (``requests.sync``). Runs last, after the check-ins seed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts.models import Role, User
from tenfour.checkins import boosters
from tenfour.checkins.models import BoosterProposal, ProposalStatus
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core.rosters import is_on_duty
from tenfour.patients.models import Patient, PatientStatus
from tenfour.plans import repository as plans_repository
from tenfour.plans.models import Protocol, TreatmentPlan
from tenfour.policy import Principal
from tenfour.scheduling import repository
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling.models import ClinicClosure, ClinicNurseStaffing, PatientDutyChange
from tenfour.scheduling.rosters import patient_roster

NURSES = {"north": (2, 2, 2, 2, 2, 1, 1), "bayside": (2, 2, 2, 2, 2, 0, 0)}
NEW_PLANS = {"north": 3, "bayside": 1}


def _staff(db: Session, clinic: Clinic, role: Role) -> User | None:
    return next((u for u in db.scalars(select(User).where(User.role == role.value)) if clinic.id in u.clinic_ids), None)


def seed(db: Session, patients: list[Patient], now: datetime) -> None:
    clinics = {c.slug: c for c in db.scalars(select(Clinic).where(Clinic.slug.in_(list(NURSES))))}
    for slug, clinic in clinics.items():
        zone = ZoneInfo(clinic.timezone)
        for weekday, nurses in enumerate(NURSES[slug]):
            db.add(ClinicNurseStaffing(clinic_id=clinic.id, weekday=weekday, nurses=nurses, updated_at=now))
        # a staff training day about two weeks ahead, on a weekday with no booking; at the north clinic, a day the
        # demo patient (a firefighter on 24/48) works anyway, so his series stays bookable in the demo
        demo_patient = next((p for p in patients if p.clinic_id == clinic.id and p.user_id is not None), None)
        roster = patient_roster(db, demo_patient, clinic.timezone) if demo_patient is not None else None
        day = now.astimezone(zone).date() + timedelta(days=12)
        while day.weekday() >= 5 or repository.booked_between(
                db, clinic.id, datetime.combine(day, time(), tzinfo=zone),
                datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)) or (
                roster is not None and not is_on_duty(roster, datetime.combine(day, time(12), tzinfo=zone))):
            day += timedelta(days=1)
        db.add(ClinicClosure(clinic_id=clinic.id, day=day, reason="Staff training day (synthetic)", created_at=now))
        prescriber = _staff(db, clinic, Role.PRESCRIBER)
        coordinator = _staff(db, clinic, Role.COORDINATOR)
        if prescriber is None or coordinator is None:
            continue
        # signed induction plans without sessions yet: the waiting list's induction series
        waiting = [p for p in patients if p.clinic_id == clinic.id and p.roster_pattern
                   and p.status in (PatientStatus.ASSESSMENT.value, PatientStatus.INTAKE.value)
                   and not plans_repository.for_patient(db, p.id)][:NEW_PLANS[slug]]
        for n, patient in enumerate(waiting):
            signed = now - timedelta(days=2 + 3 * n, hours=n)
            db.add(TreatmentPlan(clinic_id=clinic.id, patient_id=patient.id, version_number=1,
                                 protocol=Protocol.INDUCTION.value, infusions_planned=6, dose_ug_per_kg=500,
                                 infusion_duration_min=40, max_infusions_per_week=3,
                                 pregnancy_check_required=patient.sex != "male",
                                 notes="Synthetic demo plan, waiting for its sessions.", created_at=signed,
                                 created_by_id=prescriber.id, signed_at=signed, signed_by_id=prescriber.id))
        db.flush()
        # an accepted booster proposal becomes a booster request in its window
        ctx = Ctx.for_principal(Principal(prescriber, "browser"))
        proposal = db.scalar(select(BoosterProposal).where(BoosterProposal.clinic_id == clinic.id,
                                                           BoosterProposal.status == ProposalStatus.PROPOSED.value)
                             .order_by(BoosterProposal.id))
        if proposal is not None:
            boosters.accept(db, ctx, proposal.id, "Synthetic demo: booster accepted for scheduling",
                            now.astimezone(zone).date())
        # one-off duty changes: overtime for one firefighter, a week's leave for another patient
        rostered = [p for p in patients if p.clinic_id == clinic.id and p.roster_pattern and p.user_id is None]
        if rostered:
            first = rostered[0]
            start = datetime.combine(now.astimezone(zone).date() + timedelta(days=5), time(7), tzinfo=zone)
            db.add(PatientDutyChange(patient_id=first.id, kind="overtime", start=start, end=start + timedelta(hours=12),
                                     note="Covering an engine company (synthetic)", created_at=now))
        if len(rostered) > 3:
            other = rostered[3]
            start = datetime.combine(now.astimezone(zone).date() + timedelta(days=8), time(0), tzinfo=zone)
            db.add(PatientDutyChange(patient_id=other.id, kind="leave", start=start, end=start + timedelta(days=7),
                                     note="Annual leave (synthetic)", created_at=now))
        db.flush()
        requests_service.sync(db, Ctx.for_principal(Principal(coordinator, "browser")), clinic)
