"""Demo data of issue 4 (clearly synthetic): referrals in every state for each clinic, intake screenings and
C-SSRS screens for the patients past intake, eligibility decisions by the real rules (one with a prescriber's
override) and signed induction plans for treated patients (the infusion demo reads them)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts.models import ClinicMembership, Role, User
from tenfour.assessments.models import Assessment, AssessmentContext, EnteredBy
from tenfour.assessments.service import new_assessment
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.core import eligibility as rules
from tenfour.core import instruments
from tenfour.core import treatment_plans as plan_rules
from tenfour.eligibility.models import EligibilityDecision
from tenfour.intake.models import IntakeForm
from tenfour.intake.repository import INVITATION_PURPOSE
from tenfour.intake.service import INVITATION_TTL, STEPS
from tenfour.links import service as links
from tenfour.patients.models import Patient, PatientStatus
from tenfour.patients.service import RECORD_ALPHABET
from tenfour.plans.models import Protocol, TreatmentPlan
from tenfour.referrals.models import EventKind, Referral, ReferralEvent, ReferralStatus

SEED = 1004 + 4  # its own random stream: other seeds keep theirs
PAST_INTAKE = (PatientStatus.ASSESSMENT, PatientStatus.ACTIVE, PatientStatus.MAINTENANCE, PatientStatus.DISCHARGED,
               PatientStatus.INELIGIBLE)
TREATED = (PatientStatus.ACTIVE, PatientStatus.MAINTENANCE, PatientStatus.DISCHARGED)
OVERRIDE_REASON = ("Clonazepam 0.5 mg at night only. Agreed with the patient to hold the evening dose before each "
                   "infusion day (Sanacora 2017: benzodiazepines may blunt the response). Proceed.")


@dataclass(frozen=True)
class Staff:
    coordinator: User
    prescriber: User


# One synthetic referral per state (and a second new one), as (status, relation, first, last, reason, hours ago).
REFERRALS = (
    (ReferralStatus.NEW, "peer_support", "Tomas", "Vandermeer", "Quiet and short-tempered since the pileup on the "
     "interstate; asked me privately where to get help.", 3),
    (ReferralStatus.NEW, "self", "Alana", "Whitcombe", "Nightmares most nights since a child fatality call. I "
     "don't want my chief to know.", 50),
    (ReferralStatus.CONTACTED, "family", "Rory", "Castellano", "My husband hasn't slept properly in months and "
     "drinks more after night shifts.", 120),
    (ReferralStatus.INVITED, "supervisor", "Imani", "Okonjo", "Officer-involved shooting last spring; struggling "
     "since returning to patrol.", 40),
    (ReferralStatus.INTAKE_COMPLETE, "self", "", "", "Flashbacks at work since the warehouse fire.", 600),
    (ReferralStatus.DECLINED, "colleague", "Beau", "Lindgren", "Withdrawn from the crew after the drowning call.",
     400),
    (ReferralStatus.UNREACHABLE, "clinician", "Wren", "Halvorsen", "Therapist referral: PTSD not improving with "
     "therapy alone.", 300),
    (ReferralStatus.CLOSED, "self", "", "", "Anger and no sleep since the bus crash.", 1500),
)


def _staff(db: Session, clinic: Clinic) -> Staff:
    def first(role: Role) -> User:
        return db.scalars(select(User).join(ClinicMembership, ClinicMembership.user_id == User.id)
                          .where(ClinicMembership.clinic_id == clinic.id, User.role == role.value)
                          .order_by(User.id)).first()  # type: ignore[return-value]

    return Staff(first(Role.COORDINATOR), first(Role.PRESCRIBER))


def _reference(rng: random.Random, used: set[str]) -> str:
    while True:
        code = "".join(rng.choice(RECORD_ALPHABET) for _ in range(8))
        reference = f"R-{code[:4]}-{code[4:]}"
        if reference not in used:
            used.add(reference)
            return reference


def _intake_time(db: Session, patient: Patient) -> datetime | None:
    return db.scalar(select(Assessment.administered_at).where(Assessment.patient_id == patient.id,
                                                               Assessment.context == AssessmentContext.INTAKE.value)
                     .order_by(Assessment.administered_at).limit(1))


def _event(referral: Referral, kind: EventKind, to: ReferralStatus, at: datetime, by: User | None,
           note: str | None) -> None:
    referral.events.append(ReferralEvent(kind=kind.value, from_status=referral.status, to_status=to.value, note=note,
                                         at=at, by_user_id=by.id if by else None,
                                         by_label=by.full_name if by else "Referral form"))
    referral.status = to.value


def seed(db: Session, patients: list[Patient], now: datetime) -> None:
    rng = random.Random(SEED)
    clinics = {c.id: c for c in db.scalars(select(Clinic).where(Clinic.is_synthetic.is_(True)))}
    staff = {cid: _staff(db, c) for cid, c in clinics.items()}
    used: set[str] = set()
    decisions = _screen_and_decide(db, [p for p in patients if p.clinic_id in clinics], staff, rng, now)
    _plans(db, [p for p in patients if p.status in TREATED and p.id in decisions], staff, decisions, rng)
    for clinic_id, clinic in clinics.items():
        people = [p for p in patients if p.clinic_id == clinic_id]
        assessment = [p for p in people if p.status == PatientStatus.ASSESSMENT]
        active = [p for p in people if p.status == PatientStatus.ACTIVE and p.user_id is None]
        for status, relation, first, last, reason, hours in REFERRALS:
            linked = None
            if status == ReferralStatus.INTAKE_COMPLETE and assessment:
                linked = assessment.pop(0)
            elif status == ReferralStatus.CLOSED and active:
                linked = active.pop(0)
            _referral(db, clinic, staff[clinic_id], status, relation, first, last, reason,
                      now - timedelta(hours=hours + rng.randint(0, 5)), linked, rng, used)
    db.flush()


def _referral(db: Session, clinic: Clinic, staff: Staff, status: ReferralStatus, relation: str, first: str,
              last: str, reason: str, received: datetime, linked: Patient | None, rng: random.Random,
              used: set[str]) -> None:
    if linked is not None:
        first, last = linked.first_name, linked.last_name
        received = (_intake_time(db, linked) or received) - timedelta(days=rng.randint(4, 9))
    email = f"{first.lower()}.{last.lower()}@example.com"
    referral = Referral(
        clinic_id=clinic.id, reference=_reference(rng, used), status=ReferralStatus.NEW.value,
        referrer_relation=relation, referrer_name=None if relation == "self" else "Synthetic Referrer",
        referrer_contact=None, first_name=first, last_name=last, email=email,
        phone=f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}",
        preferred_contact=rng.choice(["phone", "text", "email"]), contact_times=rng.choice(
            [None, "Evenings", "Days off only"]), ok_to_leave_message=rng.random() < 0.3,
        responder_role=rng.choice(["firefighter", "police", "ems", "dispatcher"]),
        agency="Lake County agency (synthetic)", reason=reason, consent_to_contact=relation == "self",
        patient_id=linked.id if linked else None, is_synthetic=True, created_at=received, updated_at=received)
    referral.events = [ReferralEvent(kind=EventKind.RECEIVED.value, to_status=ReferralStatus.NEW.value, at=received,
                                     by_label="Referral form")]
    db.add(referral)
    at = received + timedelta(hours=rng.randint(2, 20))
    who = staff.coordinator
    if status == ReferralStatus.NEW:
        pass
    elif status == ReferralStatus.UNREACHABLE:
        _event(referral, EventKind.NOTE, ReferralStatus.NEW, at, who, "Called, no answer; no voicemail left.")
        _event(referral, EventKind.STATUS, ReferralStatus.UNREACHABLE, at + timedelta(days=3), who,
               "Three calls and a text over three days, no reply.")
    else:
        _event(referral, EventKind.STATUS, ReferralStatus.CONTACTED, at, who, "Spoke; explained what happens next.")
        if status == ReferralStatus.DECLINED:
            _event(referral, EventKind.STATUS, ReferralStatus.DECLINED, at + timedelta(minutes=5), who,
                   "Not ready now; has our number.")
        elif status == ReferralStatus.INVITED:
            patient = Patient(clinic_id=clinic.id, record_number=f"TF-R{len(used):05d}", first_name=first,
                              last_name=last, date_of_birth=(received - timedelta(days=365 * 36)).date(),
                              email=email, phone=referral.phone, preferred_contact=referral.preferred_contact,
                              responder_role=referral.responder_role, agency=referral.agency,
                              status=PatientStatus.REFERRED.value, is_synthetic=True,
                              notes=f"From referral {referral.reference}.")
            db.add(patient)
            db.flush()
            referral.patient_id = patient.id
            _event(referral, EventKind.CONVERTED, ReferralStatus.CONTACTED, at + timedelta(minutes=10), who,
                   f"Patient record {patient.record_number} created.")
            _, link = links.issue(db, purpose=INVITATION_PURPOSE, ttl=INVITATION_TTL, patient_id=patient.id,
                                  created_by_id=who.id)
            link.created_at, link.expires_at = at + timedelta(minutes=11), at + timedelta(minutes=11) + INVITATION_TTL
            _event(referral, EventKind.INVITATION, ReferralStatus.INVITED, at + timedelta(minutes=11), who,
                   "Invitation emailed.")
        elif linked is not None:
            _event(referral, EventKind.CONVERTED, ReferralStatus.CONTACTED, at + timedelta(minutes=10), who,
                   f"Patient record {linked.record_number} created.")
            _event(referral, EventKind.INVITATION, ReferralStatus.INVITED, at + timedelta(minutes=11), who,
                   "Invitation emailed.")
            done = _intake_time(db, linked) or at + timedelta(days=2)
            referral.events.append(ReferralEvent(kind=EventKind.STATUS.value, from_status=referral.status,
                                                 to_status=ReferralStatus.INTAKE_COMPLETE.value, at=done,
                                                 note="Intake sent by the patient.", by_label="The patient"))
            referral.status = ReferralStatus.INTAKE_COMPLETE.value
            if status == ReferralStatus.CLOSED:
                _event(referral, EventKind.STATUS, ReferralStatus.CLOSED, done + timedelta(days=5), who,
                       "Treatment plan signed; referral closed.")
        elif status == ReferralStatus.CLOSED:
            _event(referral, EventKind.STATUS, ReferralStatus.CLOSED, at + timedelta(days=1), who,
                   "Duplicate of an earlier referral.")
    db.flush()


def _screen_and_decide(db: Session, patients: list[Patient], staff: dict[int, Staff], rng: random.Random,
                       now: datetime) -> dict[int, EligibilityDecision]:
    """Intake forms (partial for those still in intake), a C-SSRS screen at intake, and a decision by the rules."""
    decisions: dict[int, EligibilityDecision] = {}
    override_done = False
    for patient in patients:
        if patient.status == PatientStatus.INTAKE:
            done = [s.key for s in STEPS[: rng.randint(0, 4)]]
            db.add(IntakeForm(clinic_id=patient.clinic_id, patient_id=patient.id, steps_done=done, conditions=[],
                              medications=[], started_at=now - timedelta(days=rng.randint(1, 6))))
            continue
        if patient.status not in PAST_INTAKE:
            continue
        when = _intake_time(db, patient) or now - timedelta(days=14)
        cssrs = {"q1": 0, "q2": 0, "q6": 0} if rng.random() < 0.85 else {"q1": 1, "q2": 0, "q6": 0}
        db.add(new_assessment(patient, instruments.score("cssrs-screen", cssrs), AssessmentContext.INTAKE, when,
                              EnteredBy.PATIENT, None))
        conditions: list[str] = []
        medications: list[str] = []
        sbp, dbp = rng.randint(112, 136), rng.randint(68, 86)
        wants_override = (not override_done and patient.status == PatientStatus.ACTIVE and patient.user_id is None
                          and patient.clinic_id == min(staff))
        if patient.status == PatientStatus.INELIGIBLE:
            conditions = [rng.choice(["psychosis_history", "pregnant", "aneurysmal_vascular_disease"])]
        elif wants_override:
            medications = ["benzodiazepine"]
        elif patient.status == PatientStatus.ASSESSMENT and rng.random() < 0.5:
            sbp, dbp = rng.randint(142, 158), rng.randint(84, 96)  # a review waiting for the prescriber
        bp_known = not (patient.status == PatientStatus.ASSESSMENT and rng.random() < 0.2)
        form = IntakeForm(clinic_id=patient.clinic_id, patient_id=patient.id, steps_done=[s.key for s in STEPS],
                          conditions=conditions, medications=medications, systolic_bp=sbp if bp_known else None,
                          diastolic_bp=dbp if bp_known else None, bp_unknown=not bp_known,
                          bp_measured_on=(when - timedelta(days=rng.randint(2, 20))).date() if bp_known else None,
                          weight_g=rng.randint(62, 118) * 1000 + rng.choice([0, 500]),
                          weight_measured_on=(when - timedelta(days=rng.randint(0, 6))).date(),
                          height_cm=rng.randint(160, 193), started_at=when - timedelta(days=1), submitted_at=when)
        db.add(form)
        db.flush()
        if not bp_known:
            continue
        clinic_policy = rules.EligibilityPolicy.from_policy(effective_policy(db, patient.clinic_id))
        result = rules.evaluate(rules.EligibilityInput(
            age_years=patient.age_on(when.date()), systolic_bp=sbp, diastolic_bp=dbp, conditions=conditions,
            medications=medications, cssrs_risk=instruments.score("cssrs-screen", cssrs).risk_level), clinic_policy)
        decision = EligibilityDecision(
            clinic_id=patient.clinic_id, patient_id=patient.id, rules_version=result.rules_version,
            inputs=dict(result.inputs), thresholds=dict(result.thresholds), outcome=result.outcome.value,
            reasons=[{"rule": r.rule, "outcome": r.outcome.value, "message": r.message, "source": r.source}
                     for r in result.reasons], created_at=when)
        if wants_override and result.outcome == rules.DecisionOutcome.REVIEW:
            decision.override_outcome = "eligible"
            decision.override_reason = OVERRIDE_REASON
            decision.overridden_by_id = staff[patient.clinic_id].prescriber.id
            decision.overridden_at = when + timedelta(hours=20)
            override_done = True
        db.add(decision)
        decisions[patient.id] = decision
    db.flush()
    return decisions


def _plans(db: Session, patients: list[Patient], staff: dict[int, Staff], decisions: dict[int, EligibilityDecision],
           rng: random.Random) -> None:
    """A signed induction plan (the clinic's protocol) for every treated patient; maintenance patients also have a
    signed booster plan that supersedes it, as a prescriber would write before the first booster."""
    for patient in patients:
        decision = decisions[patient.id]
        if decision.final_outcome != rules.DecisionOutcome.ELIGIBLE:
            continue
        prescriber = staff[patient.clinic_id].prescriber
        base = plan_rules.defaults(plan_rules.PlanPolicy.from_policy(effective_policy(db, patient.clinic_id)))
        signed = (decision.overridden_at or decision.created_at) + timedelta(hours=24)
        induction = TreatmentPlan(
            clinic_id=patient.clinic_id, patient_id=patient.id, version_number=1, protocol=Protocol.INDUCTION.value,
            infusions_planned=base.infusions_planned, dose_ug_per_kg=base.dose_ug_per_kg,
            infusion_duration_min=base.infusion_duration_min, max_infusions_per_week=base.max_infusions_per_week,
            pregnancy_check_required=patient.sex != "male", eligibility_decision_id=decision.id,
            notes="Synthetic demo plan. Induction: Mon/Wed/Fri where the roster allows.", created_at=signed,
            created_by_id=prescriber.id, signed_at=signed, signed_by_id=prescriber.id)
        db.add(induction)
        db.flush()
        if patient.status == PatientStatus.MAINTENANCE:
            booster_at = signed + timedelta(days=40)
            db.add(TreatmentPlan(
                clinic_id=patient.clinic_id, patient_id=patient.id, version_number=2, supersedes_id=induction.id,
                protocol=Protocol.BOOSTER.value, infusions_planned=1, dose_ug_per_kg=base.dose_ug_per_kg,
                infusion_duration_min=base.infusion_duration_min, max_infusions_per_week=1,
                pregnancy_check_required=induction.pregnancy_check_required, eligibility_decision_id=decision.id,
                notes="Synthetic demo plan. Booster after the first loss of response.", created_at=booster_at,
                created_by_id=prescriber.id, signed_at=booster_at, signed_by_id=prescriber.id))
    db.flush()
