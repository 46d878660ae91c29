"""Helpers for the check-in tests: a signed induction plan with its infusions given, a baseline PCL-5, answers that add
up to a chosen score, a clock the test moves, and check-ins submitted on chosen days."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert
from tenfour.assessments.models import AssessmentContext, EnteredBy
from tenfour.assessments.service import new_assessment
from tenfour.checkins import courses, service
from tenfour.checkins.models import CheckinCourse
from tenfour.clinics.models import Chair
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core.infusion import Step
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.policy import Principal

CHICAGO = ZoneInfo("America/Chicago")
PCL5_ITEMS = [f"q{n}" for n in range(1, 21)]


@dataclass
class Clock:
    now: datetime

    def at(self, day: date, hour: int = 12, minute: int = 0, tz: ZoneInfo = CHICAGO) -> datetime:
        self.now = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The check-ins clock, frozen; tests move it (weeks in the past, so real 'now' is always later)."""
    frozen = Clock(datetime.now(UTC))
    monkeypatch.setattr("tenfour.checkins.clock.now", lambda: frozen.now)
    return frozen


def monday_weeks_ago(weeks: int) -> date:
    today = datetime.now(UTC).astimezone(CHICAGO).date()
    day = today - timedelta(weeks=weeks)
    return day - timedelta(days=day.weekday())


def pcl5_answers(total: int, seed: int = 0) -> dict[str, int]:
    """20 PCL-5 answers (0-4) adding up to ``total``."""
    rng = random.Random(seed * 1000 + total)
    answers = dict.fromkeys(PCL5_ITEMS, 0)
    while sum(answers.values()) < total:
        item = rng.choice([k for k, v in answers.items() if v < 4])
        answers[item] += 1
    return answers


def phq9_answers(total: int = 6, item9: int = 0) -> dict[str, int]:
    answers = {f"q{n}": 0 for n in range(1, 10)}
    answers["q9"] = item9
    remaining = max(0, total - item9)
    for n in range(1, 9):
        take = min(3, remaining)
        answers[f"q{n}"] = take
        remaining -= take
    return answers


CSSRS_LOW = {"q1": 1, "q2": 0, "q6": 0}
CSSRS_HIGH = {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0}


def ctx_for(user: User) -> Ctx:
    return Ctx.for_principal(Principal(user, "api"))


@dataclass
class Course:
    patient: Patient
    plan: TreatmentPlan
    sessions: list[InfusionSession]
    first_day: date
    baseline: int
    course: CheckinCourse | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def give_course(db: Session, patient: Patient, prescriber: User, first_day: date, *, baseline: int = 50,
                infusions: int = 6, hour: int = 9, given: int | None = None,
                offsets: tuple[int, ...] | None = None) -> Course:
    """A signed induction plan and its infusions Mon/Wed/Fri from ``first_day`` (or on the given day ``offsets``) at
    ``hour`` (clinic time), the first ``given`` of them given (all by default), and a baseline PCL-5 a week before."""
    signed = datetime.combine(first_day - timedelta(days=10), time(16), tzinfo=CHICAGO)
    plan = TreatmentPlan(clinic_id=patient.clinic_id, patient_id=patient.id, protocol="induction",
                         infusions_planned=infusions, dose_ug_per_kg=500, infusion_duration_min=40,
                         created_by_id=prescriber.id, signed_at=signed, signed_by_id=prescriber.id)
    db.add(plan)
    db.flush()
    chair = db.scalars(select(Chair).where(Chair.clinic_id == patient.clinic_id)).first()
    assert chair is not None
    result = instruments.score("pcl5", pcl5_answers(baseline))
    db.add(new_assessment(patient, result, AssessmentContext.INTAKE,
                          datetime.combine(first_day - timedelta(days=7), time(10), tzinfo=CHICAGO),
                          EnteredBy.STAFF, prescriber.id))
    sessions = []
    day, n_given = first_day, infusions if given is None else given
    for index in range(infusions):
        if offsets is not None:
            day = first_day + timedelta(days=offsets[index])
        sessions.append(add_session(db, patient, plan, chair, day, hour, given=index < n_given))
        day += timedelta(days=2 if day.weekday() in (0, 2) else 3)
    db.flush()
    return Course(patient, plan, sessions, first_day, baseline)


def add_session(db: Session, patient: Patient, plan: TreatmentPlan, chair: Chair, day: date, hour: int = 9, *,
                given: bool = True) -> InfusionSession:
    start = datetime.combine(day, time(hour), tzinfo=CHICAGO)
    session = InfusionSession(clinic_id=patient.clinic_id, patient_id=patient.id, chair_id=chair.id, plan_id=plan.id,
                              status=(Step.DISCHARGED if given else Step.SCHEDULED).value, scheduled_start=start,
                              scheduled_end=start + timedelta(minutes=100), infusion_duration_min=40,
                              infusion_started_at=start + timedelta(minutes=20) if given else None,
                              infusion_ended_at=start + timedelta(minutes=60) if given else None)
    db.add(session)
    db.flush()
    return session


def sync(db: Session, course: Course, today: date) -> CheckinCourse:
    synced = courses.sync_patient(db, course.patient, effective_policy(db, course.patient.clinic_id), today,
                                  tracking_since=course.first_day)
    assert synced is not None
    course.course = synced
    return synced


def check_in(db: Session, clock: Clock, who: User, patient: Patient, day: date, pcl5: int, *, item9: int = 0,
             cssrs: dict[str, int] | None = None, signs: list[int] | None = None, hour: int = 18,
             seed: int = 0) -> service.Submitted:
    """A check-in answered on ``day`` (entered by staff from a phone call, so it may be in the past)."""
    clock.at(day, hour)
    return service.submit(db, ctx_for(who), patient.id,
                          service.Answers(pcl5=pcl5_answers(pcl5, seed), phq9=phq9_answers(6, item9), cssrs=cssrs),
                          sign_ids=signs or [])


def alerts_of(db: Session, patient: Patient) -> list[tuple[str, str]]:
    """(severity, kind) of every alert of the patient, in the order raised."""
    rows = db.scalars(select(Alert).where(Alert.patient_id == patient.id).order_by(Alert.id))
    return [(a.severity, a.kind) for a in rows]
