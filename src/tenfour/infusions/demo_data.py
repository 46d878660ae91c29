"""Synthetic infusion history for the demo: completed sessions (pre-checks, verified dose, timed vitals, CADSS-6, a
few adverse events, discharge) for treated patients, and today's chairs at the north clinic in every phase, so the
chairside board is alive when a nurse signs in.

Rows are written directly with past timestamps (the services stamp 'now'), but every number comes from the same core
rules the services use: the dose from ``core.dosing``, each reading's level from ``core.vitals``, the return to duty
from ``core.vitals.return_to_duty_at``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert, AlertKind, Severity
from tenfour.assessments.models import Assessment, AssessmentContext, EnteredBy
from tenfour.assessments.service import new_assessment
from tenfour.clinics.models import Chair, Clinic
from tenfour.clinics.service import effective_policy
from tenfour.core import dosing as core_dosing
from tenfour.core import instruments
from tenfour.core import vitals as core_vitals
from tenfour.core.infusion import DutyInfo, Outcome, PumpAction, Step, duty_check
from tenfour.infusions.models import (
    InfusionAdverseEvent,
    InfusionDischarge,
    InfusionDose,
    InfusionPrecheck,
    InfusionPumpEvent,
    InfusionSession,
    InfusionTransition,
    InfusionVitals,
)
from tenfour.infusions.monitoring import ALERT_TITLES
from tenfour.infusions.prechecks import reason_dict
from tenfour.patients.models import Patient, PatientStatus
from tenfour.patients.rosters import roster_for
from tenfour.plans import repository as plans_repository
from tenfour.plans.models import Protocol, TreatmentPlan

SLOTS = (time(8, 0), time(9, 45), time(11, 30), time(13, 15), time(15, 0))


@dataclass
class Staff:
    prescriber: User
    nurses: list[User]


def _staff(db: Session, clinic: Clinic) -> Staff:
    users = db.scalars(select(User).where(User.role.in_(("prescriber", "nurse")))).all()
    mine = [u for u in users if clinic.id in u.clinic_ids]
    prescriber = next(u for u in mine if u.role == "prescriber")
    nurses = [u for u in mine if u.role == "nurse"] or [prescriber]
    return Staff(prescriber, nurses)


def ensure_signed_plan(db: Session, patient: Patient, prescriber: User, signed_at: datetime) -> TreatmentPlan:
    """The patient's signed plan in force; created (signed by the demo prescriber) when the referrals seed made
    none (issue 4 owns plans; the demo must have them either way)."""
    plan = plans_repository.current_signed_plan(db, patient.id)
    if plan is not None:
        return plan
    protocol = Protocol.BOOSTER if patient.status == PatientStatus.MAINTENANCE else Protocol.INDUCTION
    plan = TreatmentPlan(clinic_id=patient.clinic_id, patient_id=patient.id, protocol=protocol.value,
                         infusions_planned=1 if protocol is Protocol.BOOSTER else 6, dose_ug_per_kg=500,
                         infusion_duration_min=40, created_by_id=prescriber.id, created_at=signed_at,
                         signed_at=signed_at, signed_by_id=prescriber.id,
                         notes="Synthetic demo plan: racemic ketamine 0.5 mg/kg IV over 40 min (Sanacora 2017).")
    db.add(plan)
    db.flush()
    return plan


class Builder:
    """Writes one session's rows at given times, consistent with the core rules."""

    def __init__(self, db: Session, clinic: Clinic, staff: Staff, rng: random.Random) -> None:
        self.db, self.clinic, self.staff, self.rng = db, clinic, staff, rng
        self.values = effective_policy(db, clinic.id)
        self.dosing = core_dosing.DosingPolicy.from_policy(self.values)
        self.vitals_policy = core_vitals.VitalsPolicy.from_policy(self.values)
        self.weights: dict[int, Decimal] = {}

    @property
    def nurse(self) -> User:
        return self.rng.choice(self.staff.nurses)

    def weight(self, patient: Patient) -> Decimal:
        if patient.id not in self.weights:
            base = 82 if patient.sex == "male" else 68
            self.weights[patient.id] = Decimal(self.rng.randint(base * 10 - 120, base * 10 + 220)) / 10
        return self.weights[patient.id]

    def session(self, patient: Patient, plan: TreatmentPlan, chair: Chair, start: datetime) -> InfusionSession:
        prep, recovery = int(self.values["schedule.prep_min"]), int(self.values["schedule.recovery_min"])
        end = start + timedelta(minutes=prep + plan.infusion_duration_min + recovery)
        session = InfusionSession(clinic_id=self.clinic.id, patient_id=patient.id, chair_id=chair.id, plan_id=plan.id,
                                  status=Step.SCHEDULED.value, scheduled_start=start, scheduled_end=end,
                                  infusion_duration_min=plan.infusion_duration_min, booked_by_id=self.nurse.id,
                                  created_at=start - timedelta(days=4), updated_at=start - timedelta(days=4))
        session.transitions.append(InfusionTransition(from_status=None, to_status=Step.SCHEDULED.value,
                                                      at=start - timedelta(days=4), by_user_id=session.booked_by_id))
        self.db.add(session)
        self.db.flush()
        return session

    def move(self, session: InfusionSession, target: Step, at: datetime, by: User, note: str | None = None) -> None:
        session.transitions.append(InfusionTransition(from_status=session.status, to_status=target.value, at=at,
                                                      by_user_id=by.id, note=note))
        session.status = target.value
        session.updated_at = at

    def reading(self, session: InfusionSession, phase: str, at: datetime, by: User, sbp: int, dbp: int, hr: int,
                spo2: int, sedation: str = "alert") -> InfusionVitals:
        rr = self.rng.randint(12, 18)
        evaluation = core_vitals.evaluate(core_vitals.VitalsReading(sbp, dbp, hr, spo2, rr, sedation, at), phase,
                                          self.vitals_policy)
        row = InfusionVitals(session_id=session.id, phase=phase, taken_at=at, systolic_bp=sbp, diastolic_bp=dbp,
                             heart_rate=hr, spo2=spo2, respiratory_rate=rr, sedation=sedation,
                             level=evaluation.level.value, reasons=[reason_dict(r) for r in evaluation.reasons],
                             recorded_by_id=by.id, recorded_at=at + timedelta(minutes=1))
        self.db.add(row)
        self.db.flush()
        return row

    def through_prechecks(self, session: InfusionSession, patient: Patient, arrived: datetime) -> InfusionPrecheck:
        nurse = self.nurse
        self.move(session, Step.ARRIVED, arrived, nurse)
        checked = arrived + timedelta(minutes=8)
        sbp, dbp = self.rng.randint(116, 138), self.rng.randint(70, 88)
        pre = self.reading(session, "pre", checked, nurse, sbp, dbp, self.rng.randint(62, 88), self.rng.randint(96, 99))
        infusion_start = max(checked, session.scheduled_start + timedelta(minutes=20))
        infusion_end = infusion_start + timedelta(minutes=session.infusion_duration_min)
        roster = roster_for(patient, self.clinic.timezone)
        duty = duty_check(DutyInfo(roster=roster) if roster else DutyInfo(declared_no_shift_in_window=True),
                          infusion_start, infusion_end, float(self.vitals_policy.no_duty_window_h),
                          self.clinic.timezone)
        overridden = duty.finding.outcome is Outcome.BLOCK
        if overridden:  # a roster shift inside the window: the prescriber accepted it (shows overrides in the demo)
            session.duty_override_by_id = self.staff.prescriber.id
            session.duty_override_at = checked
            session.duty_override_reason = "Shift swapped to a desk role per the patient; confirmed with the captain"
        findings = [
            {"code": "weight_recent", "rule": "dose.max_weight_age_days", "outcome": Outcome.PASS.value,
             "message": "Weight measured today."},
            {"code": "pre_infusion_vitals", "rule": "vitals.pre_caution_sbp",
             "outcome": Outcome.PASS.value if pre.level == "ok" else Outcome.WARN.value,
             "message": "Vitals within the lines." if pre.level == "ok" else "Vitals at caution level."},
            {"code": "fasting", "rule": "precheck.fasting_hours", "outcome": Outcome.PASS.value,
             "message": "Fasting since the night before."},
            {"code": "escort", "rule": "discharge.escort_required", "outcome": Outcome.PASS.value,
             "message": "A responsible adult will take the patient home."},
            duty.finding.as_dict(),
        ]
        plan = self.db.get(TreatmentPlan, session.plan_id)
        pregnancy = None
        if plan is not None and plan.pregnancy_check_required:
            pregnancy = "negative"
            findings.insert(-1, {"code": "pregnancy_test", "rule": "plan.pregnancy_check_required",
                                 "outcome": Outcome.PASS.value, "message": "Pregnancy test negative."})
        check = InfusionPrecheck(session_id=session.id, recorded_at=checked, recorded_by_id=nurse.id,
                                 weight_g=int(self.weight(patient) * 1000), weight_measured_at=checked,
                                 vitals_id=pre.id, fasting_min=self.rng.randint(8, 14) * 60, escort_confirmed=True,
                                 escort_name=self.rng.choice(["spouse", "partner", "brother", "crew mate", "mother"]),
                                 pregnancy_result=pregnancy,
                                 next_shift_source=duty.source, next_shift_at=duty.next_shift_at,
                                 expected_infusion_end=infusion_end, findings=findings, passed=True,
                                 passed_by_override=overridden)
        self.db.add(check)
        self.move(session, Step.PRECHECKS_PASSED, checked + timedelta(minutes=1), nurse)
        return check

    def dose(self, session: InfusionSession, patient: Patient, plan: TreatmentPlan, at: datetime,
             verified: bool = True, by: User | None = None) -> InfusionDose:
        nurse = by or self.nurse
        request = core_dosing.DoseRequest(weight_kg=self.weight(patient), dose_mg_per_kg=plan.dose_mg_per_kg,
                                          duration_min=plan.infusion_duration_min,
                                          concentration_mg_per_ml=Decimal(str(self.values[
                                              "dose.concentration_mg_per_ml"])),
                                          plan_mg_per_kg=plan.dose_mg_per_kg)
        result = core_dosing.calculate_dose(request, self.dosing)
        verifier = self.staff.prescriber if nurse is not self.staff.prescriber else self.staff.nurses[0]
        dose = InfusionDose(session_id=session.id, weight_g=int(self.weight(patient) * 1000), sex=None,
                            weight_basis=result.weight_basis.value,
                            dosing_weight_g=int(result.dosing_weight_kg * 1000),
                            dose_ug_per_kg=plan.dose_ug_per_kg, plan_dose_ug_per_kg=plan.dose_ug_per_kg,
                            duration_min=plan.infusion_duration_min, plan_duration_min=plan.infusion_duration_min,
                            concentration_ug_per_ml=int(Decimal(str(request.concentration_mg_per_ml)) * 1000),
                            dose_ug=int(result.dose_mg * 1000), volume_ul=int(result.volume_ml * 1000),
                            rate_ul_per_h=int(result.rate_ml_per_h * 1000), formula=result.formula,
                            warnings=result.warnings, calculated_by_id=nurse.id, calculated_at=at,
                            verified_by_id=verifier.id if verified else None,
                            verified_at=at + timedelta(minutes=2) if verified else None)
        self.db.add(dose)
        self.db.flush()
        return dose

    def start(self, session: InfusionSession, dose: InfusionDose, at: datetime) -> None:
        nurse = self.nurse
        self.db.add(InfusionPumpEvent(session_id=session.id, at=at, action=PumpAction.START.value,
                                      rate_ul_per_h=dose.rate_ul_per_h, by_user_id=nurse.id))
        session.infusion_started_at = at
        self.move(session, Step.INFUSING, at, nurse,
                  note=f"{dose.dose_mg} mg at {dose.rate_ml_per_h} mL/h over {dose.duration_min} min")

    def end(self, session: InfusionSession, at: datetime, note: str = "infusion complete") -> None:
        nurse = self.nurse
        self.db.add(InfusionPumpEvent(session_id=session.id, at=at, action=PumpAction.STOP.value, by_user_id=nurse.id,
                                      note=note))
        session.infusion_ended_at = at
        self.move(session, Step.RECOVERY, at, nurse, note=note)

    def cadss(self, session: InfusionSession, patient: Patient, at: datetime) -> Assessment:
        total = self.rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10])
        answers = {item.id: 0 for item in instruments.get("cadss6").items}
        for _ in range(total):
            key = self.rng.choice(list(answers))
            answers[key] = min(4, answers[key] + 1)
        result = instruments.score("cadss6", answers)
        assessment = new_assessment(patient, result, AssessmentContext.POST_INFUSION, at, EnteredBy.STAFF,
                                    self.nurse.id)
        self.db.add(assessment)
        self.db.flush()
        session.cadss_assessment_id = assessment.id
        return assessment

    def discharge(self, session: InfusionSession, at: datetime, last: InfusionVitals, escort: str | None) -> None:
        nurse = self.nurse
        assert session.infusion_ended_at is not None
        back = core_vitals.return_to_duty_at(session.infusion_ended_at, self.vitals_policy)
        observed = int((at - session.infusion_ended_at).total_seconds() // 60)
        self.db.add(InfusionDischarge(
            session_id=session.id, discharged_at=at, discharged_by_id=nurse.id, alert_and_oriented=True,
            escort_present=True, escort_name=escort, last_vitals_id=last.id, observation_min=observed,
            criteria=[{"code": "observation_time", "rule": "discharge.min_observation_min", "met": True,
                       "detail": f"{observed} min since the infusion ended"},
                      {"code": "vitals_under_notify_lines", "rule": "discharge.vitals_under_notify_lines", "met": True,
                       "detail": f"last vitals {last.systolic_bp}/{last.diastolic_bp} mmHg"},
                      {"code": "alert_and_oriented", "rule": "discharge.alert_and_oriented", "met": True,
                       "detail": "alert and oriented"},
                      {"code": "escort_present", "rule": "discharge.escort_required", "met": True,
                       "detail": "responsible adult present"}],
            return_to_duty_at=back, return_to_driving_at=back,
            no_duty_window_h=int(self.vitals_policy.no_duty_window_h)))
        self.move(session, Step.DISCHARGED, at, nurse, note="discharge criteria met")

    def completed(self, patient: Patient, plan: TreatmentPlan, chair: Chair, start: datetime) -> InfusionSession:
        """A whole past session, with now and then a side effect (the kinds and rates are illustrative)."""
        session = self.session(patient, plan, chair, start)
        check = self.through_prechecks(session, patient, start - timedelta(minutes=5))
        dose = self.dose(session, patient, plan, start + timedelta(minutes=12))
        begin = start + timedelta(minutes=20)
        self.start(session, dose, begin)
        sbp, dbp = check_vitals = (self.rng.randint(118, 136), self.rng.randint(72, 86))
        rise = self.rng.choice([8, 12, 16, 20, 26])
        event = self.rng.random()
        for minute in (10, 20, 30, 40):
            peak = rise * min(1.0, minute / 40)
            row = self.reading(session, "infusing", begin + timedelta(minutes=minute), self.nurse,
                               int(sbp + peak + self.rng.randint(-3, 3)), int(dbp + peak * 0.6),
                               self.rng.randint(70, 96), self.rng.randint(95, 99),
                               self.rng.choice(["alert", "drowsy", "responds_to_voice"]))
        if event < 0.12:  # transient hypertension: a notify-level reading, rate reduced, resolved
            row = self.reading(session, "infusing", begin + timedelta(minutes=35), self.nurse, 184, 104, 98, 97,
                               "drowsy")
            row.actions = ["rate_reduced", "prescriber_called"]
            row.action_note = "Rate halved; Dr. informed; settled within 10 min"
            row.actions_recorded_by_id, row.actions_recorded_at = self.nurse.id, row.taken_at + timedelta(minutes=2)
            self.db.add(InfusionAdverseEvent(session_id=session.id, event_type="hypertension", severity="moderate",
                                             onset_at=row.taken_at, action_taken="Rate halved, prescriber called",
                                             outcome="resolved", recorded_by_id=self.nurse.id,
                                             recorded_at=row.taken_at + timedelta(minutes=5)))
        elif event < 0.30:
            self.db.add(InfusionAdverseEvent(session_id=session.id, event_type="nausea_vomiting", severity="mild",
                                             onset_at=begin + timedelta(minutes=30),
                                             action_taken="Ondansetron 4 mg IV", outcome="resolved",
                                             recorded_by_id=self.nurse.id,
                                             recorded_at=begin + timedelta(minutes=33)))
        ended = begin + timedelta(minutes=session.infusion_duration_min)
        self.end(session, ended)
        self.cadss(session, patient, ended + timedelta(minutes=5))
        for minute in (15, 30, 45):
            last = self.reading(session, "recovery", ended + timedelta(minutes=minute), self.nurse,
                                check_vitals[0] + self.rng.randint(-4, 6), check_vitals[1] + self.rng.randint(-3, 4),
                                self.rng.randint(64, 84), self.rng.randint(96, 99), "alert")
        self.discharge(session, ended + timedelta(minutes=47), last, check.escort_name)
        return session


def _weekday_dates(first: date, last: date, weekdays: tuple[int, ...]) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days


def _fits_roster(roster: object, start: datetime, builder: Builder) -> bool:
    """Bookings respect the no-duty window (the booking service refuses otherwise), so the past does too."""
    if roster is None:
        return True
    from tenfour.core import rosters

    infusion_start = start + timedelta(minutes=20)
    end = infusion_start + timedelta(minutes=40)
    return rosters.duty_conflict(roster, infusion_start, end,  # type: ignore[arg-type]
                                 float(builder.vitals_policy.no_duty_window_h)) is None


def _first_contact(db: Session, patient: Patient) -> datetime | None:
    return db.scalar(select(Assessment.administered_at).where(Assessment.patient_id == patient.id)
                     .order_by(Assessment.administered_at).limit(1))


def seed(db: Session, patients: list[Patient], rng: random.Random, now: datetime) -> None:
    """Past sessions for active, maintenance and discharged patients; today's chairs at the north clinic."""
    clinics = {c.id: c for c in db.scalars(select(Clinic))}
    chairs = {cid: [ch for ch in c.chairs if ch.is_active] for cid, c in clinics.items()}
    builders = {cid: Builder(db, c, _staff(db, c), rng) for cid, c in clinics.items()}
    taken: set[tuple[int, date, int]] = set()  # (chair id, day, slot) of past sessions
    treated = [p for p in patients if p.status in (PatientStatus.ACTIVE, PatientStatus.MAINTENANCE,
                                                   PatientStatus.DISCHARGED)]
    for patient in treated:
        clinic = clinics[patient.clinic_id]
        builder = builders[clinic.id]
        zone = ZoneInfo(clinic.timezone)
        today = now.astimezone(zone).date()
        first = (_first_contact(db, patient) or now - timedelta(days=30)).astimezone(zone).date() + timedelta(days=3)
        plan = ensure_signed_plan(db, patient, builder.staff.prescriber,
                                  datetime.combine(first - timedelta(days=2), time(16, 0), tzinfo=zone))
        roster = roster_for(patient, clinic.timezone)
        weekdays = _weekday_dates(first, today - timedelta(days=1), (0, 1, 2, 3, 4))
        booked: list[date] = []
        wanted = 6
        if patient.status == PatientStatus.MAINTENANCE:
            wanted = 8  # the induction series, then two boosters weeks later
        for day in weekdays:
            if len(booked) >= wanted:
                break
            if booked and (day - booked[-1]).days < (2 if len(booked) < 6 else 35):
                continue  # a clear day between induction infusions; boosters weeks apart
            for slot in rng.sample(range(len(SLOTS)), len(SLOTS)):
                chair = rng.choice(chairs[clinic.id])
                start = datetime.combine(day, SLOTS[slot], tzinfo=zone)
                if (chair.id, day, slot) in taken or not _fits_roster(roster, start, builder):
                    continue
                taken.add((chair.id, day, slot))
                builder.completed(patient, plan, chair, start)
                booked.append(day)
                break
    north = next((c for c in clinics.values() if c.slug == "north"), None)
    if north is not None:
        seed_today(db, north, builders[north.id], [p for p in treated if p.clinic_id == north.id and
                                                   p.status in (PatientStatus.ACTIVE, PatientStatus.MAINTENANCE)],
                   chairs[north.id], rng, now)
    db.flush()


def seed_today(db: Session, clinic: Clinic, builder: Builder, patients: list[Patient], chairs: list[Chair],
               rng: random.Random, now: datetime) -> None:
    """Today at the north clinic: one discharged early, two infusing (one with vitals overdue and a notify-level
    reading waiting for actions), one in recovery, a dose waiting for its second check, one arrived, one booked."""
    if len(patients) < 6 or len(chairs) < 6:
        return
    demo_login = next((p for p in patients if p.user_id is not None), None)
    others = [p for p in patients if p is not demo_login]
    rng.shuffle(others)
    plans = {p.id: ensure_signed_plan(db, p, builder.staff.prescriber, now - timedelta(days=14)) for p in patients}

    def session_at(patient: Patient, chair: Chair, minutes_ago: float) -> InfusionSession:
        return builder.session(patient, plans[patient.id], chair, now - timedelta(minutes=minutes_ago))

    # Chair 1: discharged this morning (if the morning allows), then infusing: 25 min in, 15 min left.
    early, infusing, overdue, recovering, to_verify, arrived = others[:6]
    if now.astimezone(ZoneInfo(clinic.timezone)).hour >= 11:
        builder.completed(early, plans[early.id], chairs[0], now - timedelta(minutes=170))
    session = session_at(infusing, chairs[0], 45)
    builder.through_prechecks(session, infusing, now - timedelta(minutes=50))
    builder.start(session, builder.dose(session, infusing, plans[infusing.id], now - timedelta(minutes=33)),
                  now - timedelta(minutes=25))
    for minute, (sbp, dbp) in ((10, (134, 84)), (20, (146, 90))):
        builder.reading(session, "infusing", now - timedelta(minutes=25 - minute), builder.nurse, sbp, dbp, 88, 97,
                        "drowsy")
    # Chair 2: infusing 24 min, the 20-min reading is late, and a notify-level reading from 14 min waits for actions.
    session = session_at(overdue, chairs[1], 44)
    builder.through_prechecks(session, overdue, now - timedelta(minutes=49))
    builder.start(session, builder.dose(session, overdue, plans[overdue.id], now - timedelta(minutes=32)),
                  now - timedelta(minutes=24))
    row = builder.reading(session, "infusing", now - timedelta(minutes=14), builder.nurse, 184, 106, 104, 96,
                          "responds_to_voice")
    reasons = [{"rule": r["rule"], "message": r["message"]} for r in row.reasons]
    alert = Alert(clinic_id=clinic.id, patient_id=overdue.id, severity=Severity.URGENT.value,
                  kind=AlertKind.VITALS.value, title=ALERT_TITLES[core_vitals.Level.NOTIFY] + f" ({chairs[1].name})",
                  reasons=reasons, source_type="infusion_vitals", source_id=row.id, created_at=row.taken_at)
    db.add(alert)
    db.flush()
    row.alert_id = alert.id
    # Chair 3: recovery, infusion ended 28 min ago; the recovery reading is due in 2 min.
    session = session_at(recovering, chairs[2], 93)
    builder.through_prechecks(session, recovering, now - timedelta(minutes=98))
    builder.start(session, builder.dose(session, recovering, plans[recovering.id], now - timedelta(minutes=80)),
                  now - timedelta(minutes=68))
    for minute in (10, 20, 30, 40):
        builder.reading(session, "infusing", now - timedelta(minutes=68 - minute), builder.nurse,
                        132 + minute // 4, 82 + minute // 8, 84, 97, "drowsy")
    builder.end(session, now - timedelta(minutes=28))
    builder.cadss(session, recovering, now - timedelta(minutes=22))
    builder.reading(session, "recovery", now - timedelta(minutes=13), builder.nurse, 136, 84, 78, 98, "alert")
    # Chair 4: pre-checks passed; the dose is calculated and waits for a second person.
    session = session_at(to_verify, chairs[3], 12)
    builder.through_prechecks(session, to_verify, now - timedelta(minutes=15))
    builder.dose(session, to_verify, plans[to_verify.id], now - timedelta(minutes=3), verified=False,
                 by=builder.staff.prescriber)  # so the nurse who signs in is the second person
    # Chair 5: just arrived; pre-checks to do.
    session = session_at(arrived, chairs[4], 5)
    builder.move(session, Step.ARRIVED, now - timedelta(minutes=6), builder.nurse)
    # Chair 6: the demo patient is booked for later today (his own page shows it).
    later = demo_login if demo_login is not None else (others[6] if len(others) > 6 else None)
    if later is not None:
        builder.session(later, plans.get(later.id) or ensure_signed_plan(db, later, builder.staff.prescriber, now),
                        chairs[5], now + timedelta(minutes=95))
