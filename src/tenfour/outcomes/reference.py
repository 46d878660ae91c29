"""The outcomes counted patient by patient through the ORM and the pure rules: the straightforward reference the
set-based queries (``repository``) are checked against, in the identity test and in bench/outcomes_bench.py.

Deliberately plain: one loop over the clinic's courses, the existing per-patient code for every definition —
``checkins.detection.history_for`` (the history the relapse rules see), ``core.relapse.evaluate`` (responded, best
score), ``core.relapse.loss_of_response_date`` (loss of response), ``checkins.boosters.treatment_ends`` (boosters
given after the course) — and a loop over the clinic's infusions. Never used to serve a page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.assessments.models import Assessment
from tenfour.checkins import boosters, detection
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.core import relapse
from tenfour.core.checkin_schedule import CheckInKind, CheckInStatus
from tenfour.eligibility.models import EligibilityDecision
from tenfour.infusions.models import InfusionAdverseEvent, InfusionSession, InfusionVitals
from tenfour.outcomes import tallies as tally
from tenfour.outcomes.repository import NOTIFY_LEVELS
from tenfour.outcomes.selection import ClinicScope, Selection
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.referrals.models import Referral

COMPLETED = CheckInStatus.COMPLETED.value


def _patient_matches(patient: Patient | None, selection: Selection) -> bool:
    if patient is None:
        return False
    if selection.responder_role and patient.responder_role != selection.responder_role:
        return False
    return not (selection.agency and patient.agency != selection.agency)


def _protocol_matches(db: Session, plan_id: int | None, selection: Selection) -> bool:
    if not selection.protocol:
        return True
    plan = db.get(TreatmentPlan, plan_id) if plan_id is not None else None
    return plan is not None and plan.protocol == selection.protocol


def _in_period(day: date, selection: Selection) -> bool:
    return not ((selection.period_from and day < selection.period_from)
                or (selection.period_to and day > selection.period_to))


def _course(db: Session, t: tally.Tallies, course: CheckinCourse, scope: ClinicScope) -> None:
    rules, as_of = scope.rules, scope.as_of
    t.started += 1
    given = [i for i in course.infusions or [] if i.get("given") and not i.get("booster")]
    t.completed_induction += int(len(given) >= course.infusions_planned)
    rows = list(db.scalars(select(CheckIn).where(CheckIn.course_id == course.id)))
    t.checkins_completed += sum(1 for c in rows if c.status == COMPLETED)
    t.checkins_missed += sum(1 for c in rows if c.status == CheckInStatus.MISSED.value)
    history = detection.history_for(db, course, as_of)
    if history is None:  # no baseline PCL-5 before the first infusion
        t.no_baseline += 1
        return
    baseline = history.baseline_pcl5
    assert course.course_start is not None

    # The 24-hour check-in: its first full PCL-5 (as the relapse rules see it), or why there is none.
    first = [c for c in rows if c.kind == CheckInKind.AFTER_FIRST_INFUSION.value]
    scored = [c for c in first if c.status == COMPLETED and c.pcl5_total is not None and c.completed_on is not None
              and course.course_start <= c.completed_on <= as_of]
    statuses = {c.status for c in first}
    if scored:
        score = min(scored, key=lambda c: (c.completed_on, c.completed_at, c.id)).pcl5_total
        assert score is not None
        t.h24_n += 1
        t.h24_improved += int(tally.reliably_improved(baseline, score, rules))
    elif COMPLETED in statuses:
        t.h24_missing[tally.H24_SHORT_FORM] += 1
    elif CheckInStatus.MISSED.value in statuses:
        t.h24_missing[tally.H24_MISSED] += 1
    elif CheckInStatus.PENDING.value in statuses:
        t.h24_missing[tally.H24_PENDING] += 1
    else:
        t.h24_missing[tally.H24_NOT_SCHEDULED] += 1

    # PCL-5 by week since the first infusion: the latest score of each week.
    t.trajectory[(tally.BASELINE_WEEK, baseline)] += 1
    latest_of_week: dict[int, int] = {}
    for checkin in history.checkins:  # in history order: a later score of the same week replaces an earlier one
        if checkin.pcl5 is not None:
            latest_of_week[tally.week_of(checkin.date, course.course_start)] = checkin.pcl5
    for week, score in latest_of_week.items():
        t.trajectory[(week, score)] += 1

    if course.course_end is None or course.course_end > as_of:
        t.in_progress += 1
        return
    assessment = relapse.evaluate(history, rules.relapse)
    if assessment.best_pcl5 is None:
        t.ended_no_score += 1
    else:
        t.response_n += 1
        t.responders += int(assessment.responded)
        remission = tally.remitted(assessment.best_pcl5, rules)
        if remission is not None:
            t.remission_n += 1
            t.remitters += int(remission)
        t.waterfall[(baseline, assessment.best_pcl5, assessment.responded)] += 1

    # Durability: the first episode after the course, up to the next treatment (a booster).
    ends = boosters.treatment_ends(course, as_of)
    course_end = ends[0]
    next_treatment = ends[1] if len(ends) > 1 else None
    window = [c for c in history.checkins
              if c.date > course_end and (next_treatment is None or c.date <= next_treatment)]
    episode = replace(history, checkins=window)
    loss = relapse.loss_of_response_date(episode, rules.relapse, after=course_end)
    window_scores = [c for c in window if c.pcl5 is not None]
    limit = relapse.response_limit_pcl5(baseline, rules.relapse.response_reduction_pct)
    if any(c.pcl5 <= limit for c in window_scores if c.pcl5 is not None):
        last_seen = loss if loss is not None else window_scores[-1].date
        t.survival[((last_seen - course_end).days, loss is not None)] += 1
    needs = [d for d in (loss, next_treatment) if d is not None]
    tally.add_booster(t, course_end, min(needs) if needs else None, as_of)


def _funnel(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection) -> None:
    start, end = scope.instants(selection)
    for referral in db.scalars(select(Referral).where(Referral.clinic_id == scope.clinic_id)):
        patient = db.get(Patient, referral.patient_id) if referral.patient_id else None
        role = patient.responder_role if patient else referral.responder_role
        agency = patient.agency if patient and patient.agency is not None else referral.agency
        if selection.responder_role and role != selection.responder_role:
            continue
        if selection.agency and agency != selection.agency:
            continue
        if (start and referral.created_at < start) or (end and referral.created_at >= end):
            continue
        t.referred += 1
    latest: dict[int, EligibilityDecision] = {}
    for decision in db.scalars(select(EligibilityDecision).where(EligibilityDecision.clinic_id == scope.clinic_id)):
        if decision.patient_id not in latest or decision.id > latest[decision.patient_id].id:
            latest[decision.patient_id] = decision
    for decision in latest.values():
        if not _patient_matches(db.get(Patient, decision.patient_id), selection):
            continue
        if (start and decision.created_at < start) or (end and decision.created_at >= end):
            continue
        t.eligibility_decided += 1
        t.eligible += int(decision.final_outcome == "eligible")


def _safety(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection) -> None:
    start, end = scope.instants(selection)
    for session in db.scalars(select(InfusionSession).where(InfusionSession.clinic_id == scope.clinic_id)):
        started = session.infusion_started_at
        if started is None or (start and started < start) or (end and started >= end):
            continue
        if not _patient_matches(db.get(Patient, session.patient_id), selection):
            continue
        if not _protocol_matches(db, session.plan_id, selection):
            continue
        t.infusions += 1
        t.stopped_early += int(bool(session.stopped_early))
        levels = db.scalars(select(InfusionVitals.level).where(InfusionVitals.session_id == session.id))
        t.notify_vitals += int(any(level in NOTIFY_LEVELS for level in levels))
        kinds = set(db.scalars(select(InfusionAdverseEvent.event_type)
                               .where(InfusionAdverseEvent.session_id == session.id)))
        for kind in kinds:
            t.adverse[kind] += 1
        cadss = db.get(Assessment, session.cadss_assessment_id) if session.cadss_assessment_id else None
        if cadss is None or cadss.total is None:
            t.cadss_missing += 1
        else:
            t.cadss_n += 1
            t.cadss_sum += cadss.total
            t.cadss_sum_sq += cadss.total * cadss.total


def tally_clinic(db: Session, scope: ClinicScope, selection: Selection) -> tally.Tallies:
    """One clinic's cohort, patient by patient (the baseline of the benchmark)."""
    t = tally.Tallies()
    by_patient: dict[int, list[CheckinCourse]] = defaultdict(list)
    for course in db.scalars(select(CheckinCourse).where(CheckinCourse.clinic_id == scope.clinic_id,
                                                         CheckinCourse.is_current.is_(True))):
        by_patient[course.patient_id].append(course)
    for patient_id, courses in by_patient.items():
        patient = db.get(Patient, patient_id)
        if not _patient_matches(patient, selection):
            continue
        for course in courses:
            if not course.started or course.course_start is None or not _in_period(course.course_start, selection):
                continue
            if not _protocol_matches(db, course.plan_id, selection):
                continue
            _course(db, t, course, scope)
    _funnel(db, t, scope, selection)
    _safety(db, t, scope, selection)
    return t
