"""One synthetic patient's way through the real services, on the simulated clock: a confidential referral, triage,
the invitation (its link read from the queued email, as the patient would), the intake on their phone, the eligibility
decision (a prescriber's override for a 'review'), a signed plan, six booked infusions charted step by step at the
chair, and the check-ins answered on the days the check-in schedule sets. Alerts that arise are answered by the
clinic's staff, as they would be ("10-4").

Nothing here writes a table directly: every record is made by the domain's own service, which checks, audits and
raises alerts as it does for real people. Never commits (the runner does, per batch).
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.audit.service import Actor
from tenfour.checkins import boosters, courses
from tenfour.checkins import repository as checkins_repository
from tenfour.checkins import service as checkins
from tenfour.checkins.models import ProposalStatus
from tenfour.checkins.signs import WARNING_SIGNS
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import checkin_schedule as schedule
from tenfour.core import relapse
from tenfour.eligibility import service as eligibility
from tenfour.errors import Conflict, ValidationFailed
from tenfour.infusions import booking
from tenfour.infusions import service as infusions
from tenfour.infusions.models import InfusionSession
from tenfour.intake import service as intake
from tenfour.intake.schemas import AboutIn, HealthIn, MeasurementsIn, WorkIn
from tenfour.mail import OutboxMessage
from tenfour.patients import service as patients
from tenfour.patients.models import ConsentKind, Patient
from tenfour.plans import service as plans
from tenfour.plans.schemas import PlanIn
from tenfour.policy import Principal
from tenfour.referrals import service as referrals
from tenfour.referrals.models import ReferralStatus
from tenfour.referrals.schemas import ReferralIn
from tenfour.simulate.chairside import NOTE, SimulationError, answer_alerts, chart_infusion
from tenfour.simulate.cohort import EXCLUSIONS, Fate, Funnel, answers_for, noisy, phq9_answers
from tenfour.simulate.params import SimulationParams
from tenfour.simulate.visits import INDUCTION, Visit, pcl5_total, plan_visits
from tenfour.simulate.world import USER_AGENT, SimClock, World

CONSENT_VERSION = "2026-11"
INVITE_LINK = re.compile(r"/invite/([A-Za-z0-9_\-]+)")
OVERRIDE_REASON = ("Synthetic cohort: benzodiazepine at night only; agreed to hold it before infusion days "
                   "(Sanacora 2017). Proceed.")


@dataclass
class Outcome:
    """What happened to one synthetic patient (the drawn truth, as played)."""

    fate: Fate
    patient_id: int | None = None
    infusions_given: int = 0
    checkins_done: int = 0
    course_end: date | None = None
    loss_confirmed_on: date | None = None  # the check-in that confirmed loss of response, when it was answered
    last_checkin_on: date | None = None
    adverse_events: int = 0
    alerts_answered: int = 0
    boosters_accepted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def measured_durability_days(self) -> int | None:
        if self.loss_confirmed_on is None or self.course_end is None:
            return None
        return (self.loss_confirmed_on - self.course_end).days


class Journey:
    def __init__(self, db: Session, world: World, clock: SimClock, params: SimulationParams, fate: Fate,
                 until: datetime, base_url: str) -> None:
        self.db, self.world, self.clock, self.params, self.fate = db, world, clock, params, fate
        self.until, self.base_url = until, base_url
        self.rng = random.Random(fate.seed)
        self.outcome = Outcome(fate)
        self.patient: Patient | None = None
        self.me: Ctx | None = None
        self.sign_ids: list[int] = []
        self.horizon: date | None = None  # how far the stored check-in schedule reaches
        self.policy = effective_policy(db, world.clinic.id)
        self.public = Ctx(None, Actor(None, "Referral form", None, _address(fate.index), USER_AGENT))

    # --- Helpers ----------------------------------------------------------------------------------------------

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.world.zone)

    def today(self) -> date:
        return self.clock.now.astimezone(self.world.zone).date()

    # --- The path -----------------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        referral = self.refer()
        if self.fate.funnel == Funnel.LOST_AT_REFERRAL:
            return self.outcome
        token = self.invite(referral.id)
        self.fill_intake(token)
        if self.fate.funnel in (Funnel.INTAKE_INCOMPLETE, Funnel.INELIGIBLE):
            return self.outcome
        self.sign_plan()
        sessions = self.book()
        self.treat_and_follow(sessions)
        return self.outcome

    def refer(self) -> Any:
        person = self.fate.person
        self.clock.set(self.fate.referred_at)
        data = ReferralIn(
            clinic=self.world.clinic.slug, referrer_relation=person.relation,
            referrer_name=None if person.relation == "self" else "Synthetic referrer", first_name=person.first_name,
            last_name=person.last_name, preferred_contact="email", email=person.email, phone=person.phone,
            responder_role=person.responder_role, agency=person.agency, reason=person.reason,
            consent_to_contact=True)
        referral = referrals.submit(self.db, self.public, data, is_synthetic=True)
        self.clock.advance(hours=self.rng.uniform(3, 30))
        coordinator = self.world.coordinator
        if self.fate.funnel == Funnel.LOST_AT_REFERRAL:
            if self.fate.declined:
                referrals.change_status(self.db, coordinator, referral.id, ReferralStatus.CONTACTED,
                                        "Spoke; explained what happens next" + NOTE)
                referrals.change_status(self.db, coordinator, referral.id, ReferralStatus.DECLINED,
                                        "Not ready now; has our number" + NOTE)
            else:
                referrals.change_status(self.db, coordinator, referral.id, ReferralStatus.UNREACHABLE,
                                        "Three calls and a text, no reply" + NOTE)
        else:
            referrals.change_status(self.db, coordinator, referral.id, ReferralStatus.CONTACTED,
                                    "Spoke; explained what happens next" + NOTE)
        return referral

    def invite(self, referral_id: int) -> str:
        coordinator = self.world.coordinator
        self.clock.advance(minutes=10)
        patient = referrals.convert_to_patient(self.db, coordinator, referral_id, self.fate.person.date_of_birth)
        self.patient = patient
        self.outcome.patient_id = patient.id
        intake.send_invitation(self.db, coordinator, patient.id, self.base_url)
        body = self.db.scalar(select(OutboxMessage.body).where(OutboxMessage.patient_id == patient.id,
                                                              OutboxMessage.purpose == "invitation")
                              .order_by(OutboxMessage.id.desc()).limit(1))
        found = INVITE_LINK.search(body or "")
        if found is None:
            raise SimulationError(f"no invitation link in the email to patient {patient.id}")
        return found.group(1)

    def fill_intake(self, token: str) -> None:
        person, rng = self.fate.person, self.rng
        assert self.patient is not None
        self.clock.advance(hours=rng.uniform(6, 60))
        password = secrets.token_urlsafe(18)
        user = intake.accept_invitation(self.db, self.public, token, password, password)
        self.me = Ctx(Principal(user, "browser"), Actor(user.id, f"{user.full_name} <{user.email}>", user.role,
                                                         None, USER_AGENT))
        checkins.set_preferences(self.db, self.me, self.patient, None, reminders_enabled=False)  # no reminder mail
        intake.save_about(self.db, self.me, AboutIn(date_of_birth=person.date_of_birth, sex=person.sex,
                                                    preferred_contact="email", phone=person.phone))
        intake.save_work(self.db, self.me, WorkIn(responder_role=person.responder_role, agency=person.agency,
                                                  years_of_service=rng.randint(2, 25)))
        if self.fate.funnel == Funnel.INTAKE_INCOMPLETE:
            return
        baseline = self.fate.baseline_pcl5
        for instrument_id, answers in (
                ("pcl5", answers_for("pcl5", baseline, rng)),
                ("phq9", phq9_answers(noisy(baseline * 0.3, rng), 0, rng)),
                ("gad7", answers_for("gad7", noisy(baseline * 0.25, rng), rng)),
                ("cssrs-screen", {"q1": 0, "q2": 0, "q6": 0})):
            self.clock.advance(minutes=rng.uniform(2, 6))
            intake.submit_questionnaire(self.db, self.me, instrument_id, answers, None)
        conditions = [rng.choice(EXCLUSIONS)] if self.fate.funnel == Funnel.INELIGIBLE else []
        medications = ["benzodiazepine"] if self.fate.needs_review else []
        intake.save_health(self.db, self.me, HealthIn(conditions=conditions, medications=medications, reviewed=True))
        today = self.today()
        intake.save_measurements(self.db, self.me, MeasurementsIn(
            systolic_bp=person.systolic_bp, diastolic_bp=person.diastolic_bp,
            bp_measured_on=today - timedelta(days=rng.randint(1, 20)), weight=Decimal(person.weight_kg),
            weight_unit="kg", weight_measured_on=today - timedelta(days=rng.randint(0, 5)),
            height=Decimal(person.height_cm), height_unit="cm"))
        decision = intake.submit_intake(self.db, self.me)
        if decision is None:
            raise SimulationError(f"no eligibility decision for patient {self.patient.id}")
        if self.fate.funnel == Funnel.INELIGIBLE:
            if decision.final_outcome != "excluded":
                raise SimulationError(f"patient {self.patient.id} was expected to be excluded: {decision.outcome}")
            return
        if decision.outcome == "review":
            self.clock.advance(hours=rng.uniform(4, 30))
            eligibility.override(self.db, self.world.prescriber, self.patient.id, decision.id, "eligible",
                                 OVERRIDE_REASON)
        elif decision.outcome != "eligible":
            raise SimulationError(f"patient {self.patient.id}: unexpected eligibility {decision.outcome}")

    def sign_plan(self) -> None:
        assert self.patient is not None
        prescriber, rng = self.world.prescriber, self.rng
        self.clock.set(self.local(self.today() + timedelta(days=rng.randint(1, 3)), 16, rng.randint(0, 50)))
        plans.create_plan(self.db, prescriber, self.patient.id,
                          PlanIn(sign=True, notes="Synthetic cohort (tenfour simulate)."))
        for kind, given in ((ConsentKind.TREATMENT, True), (ConsentKind.RESEARCH_DEIDENTIFIED,
                                                             self.fate.research_consent),
                            (ConsentKind.SHARE_WITH_OWN_CLINICIAN, self.fate.share_consent)):
            if given:
                patients.add_consent(self.db, prescriber, self.patient, kind.value, CONSENT_VERSION)
        signs = checkins.set_warning_signs(self.db, prescriber, self.patient.id, rng.sample(sorted(WARNING_SIGNS), 4),
                                           [])
        self.sign_ids = [s.id for s in signs]

    def book(self) -> list[InfusionSession]:
        """The induction series, booked at once: every other day (a closed day or a full clinic moves it on)."""
        assert self.patient is not None
        self.clock.advance(minutes=40)
        day = self.today() + timedelta(days=self.rng.randint(3, 7))
        booked: list[InfusionSession] = []
        while len(booked) < INDUCTION:
            session = self._place(day)
            if session is None:
                day += timedelta(days=1)
                if (day - self.today()).days > 120:
                    raise SimulationError(f"no free chair for patient {self.patient.id} within 120 days")
                continue
            booked.append(session)
            day = session.scheduled_start.astimezone(self.world.zone).date() + timedelta(days=2)
        return booked

    def _place(self, day: date) -> InfusionSession | None:
        assert self.patient is not None
        for start in self.world.slots(day):
            for chair_id in self.world.chair_ids:
                if (chair_id, start) in self.world.taken:
                    continue
                try:
                    session = booking.book(self.db, self.world.nurse, patient_id=self.patient.id, chair_id=chair_id,
                                           start=start)
                except (Conflict, ValidationFailed):
                    self.world.taken.add((chair_id, start))  # taken by a booking made before this simulation
                    continue
                self.world.taken.add((chair_id, start))
                return session
        return None

    # --- Treatment and follow-up ----------------------------------------------------------------------------------

    def treat_and_follow(self, sessions: list[InfusionSession]) -> None:
        assert self.patient is not None
        stops = self.fate.induction_stops_after
        given = sessions[:stops] if stops else sessions
        starts = [s.scheduled_start + timedelta(minutes=self.world.prep_min) for s in sessions]
        course_end = starts[-1].astimezone(self.world.zone).date()
        visits = plan_visits(self.fate, self.params, self.rng, self.policy, starts, course_end, len(given), self.until,
                             self.world.zone)
        events: list[tuple[datetime, int, Any]] = [(s.scheduled_start, 0, s) for s in given]
        events += [(v.at, 1, v) for v in visits]
        n_given = 0
        for at, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
            if at > self.until:
                break
            if kind == 0:
                self.infuse(item)
                n_given += 1
            else:
                self.check_in(item)
        self.outcome.infusions_given = n_given
        if stops and n_given == stops:
            self.clock.set(self.local(self.today() + timedelta(days=1), 10))
            for session in sessions[stops:]:
                infusions.cancel(self.db, self.world.nurse, session.id, "patient stopped the course" + NOTE)
            checkins.refresh_course(self.db, self.patient)
        elif n_given == INDUCTION:
            self.outcome.course_end = course_end

    def check_in(self, visit: Visit) -> None:
        assert self.patient is not None and self.me is not None
        rng = self.rng
        self.clock.set(visit.at)
        if self.horizon is None or visit.due.due_on > self.horizon:
            course = courses.sync_patient(self.db, self.patient, self.policy, self.today())  # what the sweep does
            self.horizon = course.horizon_end if course is not None else None
        total = pcl5_total(self.fate, visit, int(self.policy["outcome.response_reduction_pct"]), rng)
        form = schedule.pcl5_form_for(visit.due, schedule.CheckInSchedulePolicy.from_policy(self.policy))
        pcl5 = answers_for(form, round(total * (8 / 20)) if form == schedule.PCL5_SHORT_FORM else total, rng)
        item9 = 1 if rng.random() < self.params.suicide_risk_answer_rate else 0
        answers = checkins.Answers(pcl5=pcl5, phq9=phq9_answers(max(0, noisy(total * 0.3, rng)), item9, rng),
                                   cssrs={"q1": 1, "q2": 0, "q6": 0} if item9 else None)
        relapsed = visit.responding is False and self.fate.responder
        endorsed = rng.randint(2, 3) if relapsed else rng.randint(0, 1)
        chosen = rng.sample(self.sign_ids, min(len(self.sign_ids), endorsed))
        result = checkins.submit(self.db, self.me, self.patient.id, answers, sign_ids=chosen)
        if result.checkin.due_on != visit.due.due_on:
            raise SimulationError(f"patient {self.patient.id}: answered the check-in due {result.checkin.due_on}, "
                                  f"expected the one due {visit.due.due_on} ({visit.due.kind})")
        self.outcome.checkins_done += 1
        self.outcome.last_checkin_on = result.checkin.completed_on
        if visit.confirms_loss:
            self.outcome.loss_confirmed_on = result.checkin.completed_on
        self.outcome.alerts_answered += answer_alerts(self.db, self.world, self.clock, result.alerts)
        applied = result.evaluation
        if applied is None or not applied.changed or applied.evaluation.state != relapse.RelapseState.ACT:
            return
        proposal = checkins_repository.open_proposal(self.db, self.patient.id)  # proposed on the loss of response
        if proposal is not None and proposal.status == ProposalStatus.PROPOSED.value \
                and rng.random() < self.params.booster_acceptance:
            boosters.accept(self.db, self.world.prescriber, proposal.id, "Synthetic: booster agreed.", self.today())
            self.outcome.boosters_accepted += 1

    def infuse(self, session: InfusionSession) -> None:
        """One infusion charted at the chair; then the check-in schedule follows it, as the sweep would."""
        assert self.patient is not None
        charted = chart_infusion(self.db, self.world, self.clock, self.params, self.rng, self.fate.person, session)
        self.outcome.adverse_events += charted.adverse_events
        self.outcome.alerts_answered += charted.alerts_answered
        course = checkins.refresh_course(self.db, self.patient)
        self.horizon = course.horizon_end if course is not None else None


def _address(index: int) -> str:
    """A distinct address per synthetic referral, from the RFC 2544 benchmarking range (never a real client)."""
    return f"198.18.{(index // 256) % 256}.{index % 256}"
