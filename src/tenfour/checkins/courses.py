"""A patient's course (the infusions their check-ins follow) and its check-in schedule, kept in step with the infusions.

The course is the infusion sessions of the patient's current induction plan (and the versions it supersedes);
sessions of booster plans given afterwards are boosters. Aborted sessions do not count unless the infusion had
started. The schedule is ``core.checkin_schedule.build_schedule`` over those infusions, reconciled with what is stored
(``reconcile``): completed and missed check-ins never change; pending ones move with the infusions. Never commits.

Product choices (docs/relapse.md, "In the app"):
- the course ends on the day of its last planned infusion once every planned infusion is booked or given; a course
  with fewer sessions and none still booked ended on its last given infusion (stopped early);
- the baseline is the latest full PCL-5 (past month or past week, current version) taken before the first infusion;
- check-ins due before the day the course was first seen (``tracking_since``) are never scheduled, so a patient
  whose records come in late is not flooded with missed check-ins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.assessments import repository as assessments_repository
from tenfour.checkins import clock, repository
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.clinics import repository as clinics_repository
from tenfour.core import checkin_schedule as schedule
from tenfour.core import policy as clinic_policy
from tenfour.core.infusion import Step
from tenfour.infusions import repository as infusions_repository
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.plans import repository as plans_repository
from tenfour.plans.models import Protocol, TreatmentPlan

HORIZON_DAYS = 120  # how far ahead monthly check-ins are stored (operational; extended by the sweep)
INACTIVE = frozenset({"discharged", "ineligible"})


@dataclass(frozen=True)
class Infusion:
    session_id: int
    at: datetime  # the infusion's start when given, else the booked start
    given: bool
    booster: bool


@dataclass
class CourseFacts:
    plan_id: int | None
    infusions_planned: int
    course: list[Infusion]
    boosters: list[Infusion]
    course_end_at: datetime | None
    baseline_pcl5: int | None = None
    baseline_assessment_id: int | None = None
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        return any(i.given for i in self.course)


def patient_timezone(db: Session, patient: Patient) -> str:
    if patient.timezone:
        return patient.timezone
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    return clinic.timezone if clinic else "UTC"


def _lineage(plan: TreatmentPlan, by_id: dict[int, TreatmentPlan]) -> set[int]:
    ids, current = set(), plan
    while current is not None and current.id not in ids:
        ids.add(current.id)
        current = by_id.get(current.supersedes_id) if current.supersedes_id else None
    return ids


def _counts(session: InfusionSession) -> bool:
    return session.status != Step.ABORTED.value or session.infusion_started_at is not None


def _infusion(session: InfusionSession, booster: bool) -> Infusion:
    given = session.infusion_started_at is not None
    return Infusion(session.id, session.infusion_started_at or session.scheduled_start, given, booster)


def derive(db: Session, patient: Patient, default_induction: int) -> CourseFacts | None:
    """The patient's current course from their plans and sessions (None when there is no infusion to follow)."""
    plans = plans_repository.for_patient(db, patient.id)
    by_id = {p.id: p for p in plans}
    superseded = {p.supersedes_id for p in plans if p.supersedes_id and p.signed_at is not None}
    inductions = [p for p in plans if p.signed_at is not None and p.protocol == Protocol.INDUCTION.value
                  and p.id not in superseded]
    sessions = sorted((s for s in infusions_repository.for_patient(db, patient.id) if _counts(s)),
                      key=lambda s: (s.infusion_started_at or s.scheduled_start, s.id))
    if not sessions:
        return None
    if inductions:
        plan = max(inductions, key=lambda p: (p.signed_at, p.id))
        lineage = _lineage(plan, by_id)
        course_sessions = [s for s in sessions if s.plan_id in lineage]
        planned = plan.infusions_planned
        plan_id: int | None = plan.id
        if not course_sessions:
            return None
        first = course_sessions[0].infusion_started_at or course_sessions[0].scheduled_start
        booster_plans = {p.id for p in plans if p.protocol == Protocol.BOOSTER.value}
        boosters = [s for s in sessions if s.plan_id in booster_plans
                    and (s.infusion_started_at or s.scheduled_start) > first]
    else:
        # No induction plan on record (e.g. history imported before plans): the first sessions are the course.
        planned = default_induction
        course_sessions, boosters = sessions[:planned], sessions[planned:]
        plan_id = None
    course = [_infusion(s, False) for s in course_sessions[:planned]]
    extra_sessions = course_sessions[planned:]  # more than planned on the course plan: treat as boosters
    booster_infusions = sorted([_infusion(s, True) for s in (*boosters, *extra_sessions)], key=lambda i: i.at)
    end_at: datetime | None = None
    if len(course) >= planned:
        end_at = course[planned - 1].at
    elif all(Step(s.status).is_final for s in course_sessions) and any(i.given for i in course):
        end_at = max(i.at for i in course if i.given)  # stopped early: nothing more is booked
    facts = CourseFacts(plan_id, planned, course, booster_infusions, end_at)
    baseline = _baseline(db, patient.id, course[0].at)
    if baseline is not None:
        facts.baseline_pcl5, facts.baseline_assessment_id = baseline.total, baseline.id
    return facts


def _baseline(db: Session, patient_id: int, before: datetime) -> Any:
    rows = assessments_repository.for_patient(db, patient_id, repository.PCL5_FULL, current_only=True)
    candidates = [a for a in rows if a.total is not None and a.administered_at <= before]
    return candidates[-1] if candidates else None


def schedule_policy(values: dict[str, Any]) -> schedule.CheckInSchedulePolicy:
    return schedule.CheckInSchedulePolicy.from_policy(values)


def sync_patient(db: Session, patient: Patient, policy_values: dict[str, Any], today: date, *,
                 fingerprint: str | None = None, tracking_since: date | None = None) -> CheckinCourse | None:
    """Bring the patient's course and check-in schedule in step with their infusions (idempotent)."""
    if fingerprint is None:
        fingerprint = repository.source_fingerprints(db, [patient.id])[patient.id]
    facts = derive(db, patient, int(policy_values.get("course.induction_sessions",
                                                      clinic_policy.default("course.induction_sessions"))))
    current = repository.current_course(db, patient.id)
    if facts is None:
        if current is not None and current.source_fingerprint != fingerprint:
            _cancel_pending(db, current)
            current.source_fingerprint = fingerprint
        return current
    tz_name = patient_timezone(db, patient)
    tz = ZoneInfo(tz_name)
    course = current
    if course is None or course.plan_id != facts.plan_id:
        if course is not None:
            course.is_current = False
            _cancel_pending(db, course)
        course = repository.course_for_plan(db, patient.id, facts.plan_id)
        if course is None:
            course = CheckinCourse(clinic_id=patient.clinic_id, patient_id=patient.id, plan_id=facts.plan_id,
                                   timezone=tz_name, tracking_since=tracking_since or today)
            db.add(course)
        course.is_current = True
    elif tracking_since is not None:
        course.tracking_since = min(course.tracking_since, tracking_since)
    course.clinic_id = patient.clinic_id
    course.timezone = tz_name
    course.course_start = facts.course[0].at.astimezone(tz).date()
    course.course_end = facts.course_end_at.astimezone(tz).date() if facts.course_end_at else None
    course.started = facts.started
    course.infusions_planned = facts.infusions_planned
    course.infusions = [{"session_id": i.session_id, "at": i.at.isoformat(), "given": i.given, "booster": i.booster}
                        for i in (*facts.course, *facts.boosters)]
    course.baseline_pcl5 = facts.baseline_pcl5
    course.baseline_assessment_id = facts.baseline_assessment_id
    course.source_fingerprint = fingerprint
    course.synced_at = clock.now()
    db.flush()
    if patient.status in INACTIVE:
        _cancel_pending(db, course)
        return course
    horizon = today + timedelta(days=HORIZON_DAYS)
    policy = schedule_policy(policy_values)
    dues = schedule.build_schedule([i.at for i in (*facts.course, *facts.boosters)],
                                   course.course_end, horizon, tz, policy)
    dues = [d for d in dues if d.due_on >= course.tracking_since]
    stored = repository.scheduled_checkins(db, course.id)
    plan = schedule.reconcile([_as_core(c) for c in stored], dues)
    by_id = {c.id: c for c in stored}
    now = clock.now()
    for cancelled in plan.cancel:
        row = by_id[cancelled.id]
        row.status, row.cancelled_at = schedule.CheckInStatus.CANCELLED.value, now
    for due in plan.add:
        db.add(CheckIn(clinic_id=course.clinic_id, patient_id=course.patient_id, course_id=course.id,
                       kind=due.kind.value, due_on=due.due_on, infusion_index=due.infusion_index, week=due.week,
                       pcl5_form=schedule.pcl5_form_for(due, policy)))
    course.horizon_end = horizon
    db.flush()
    return course


def _as_core(row: CheckIn) -> schedule.ScheduledCheckIn:
    return schedule.ScheduledCheckIn(row.id, schedule.CheckInStatus(row.status), row.due_on,
                                     schedule.CheckInKind(row.kind), row.infusion_index, row.week)


def _cancel_pending(db: Session, course: CheckinCourse) -> None:
    now = clock.now()
    for row in repository.scheduled_checkins(db, course.id):
        if row.status == schedule.CheckInStatus.PENDING.value:
            row.status, row.cancelled_at = schedule.CheckInStatus.CANCELLED.value, now
    db.flush()


def local_today(tz_name: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz_name)).date()
