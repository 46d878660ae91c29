"""Demo data of issue 6 (clearly synthetic): check-in schedules built from the demo's infusions, histories that follow
each treated patient's own score trajectory, their warning signs, a few missed check-ins — and, on purpose, a patient
drifting toward relapse (watch), one who lost their response (act) with a booster proposal, one who stopped checking
in, and one whose first loss of response, booster and recovery give an upcoming booster window. The relapse states,
alerts and proposals come from the same services the app uses; only the dates are in the past.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert, AlertKind
from tenfour.assessments.models import Assessment, AssessmentContext, EnteredBy
from tenfour.assessments.service import new_assessment
from tenfour.checkins import boosters, courses, detection, repository
from tenfour.checkins.models import (
    CheckIn,
    CheckinCourse,
    CheckinPreference,
    CheckinReminder,
    RelapseTransition,
    WarningSign,
    WarningSignEndorsement,
)
from tenfour.checkins.signs import WARNING_SIGNS
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments, relapse
from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.patients.models import Patient, PatientStatus

SEED = 1004 + 6  # its own random stream
OWN_WORDS = ["Snapping at the kids after a bad shift", "Checking the locks twice before bed",
             "Skipping the gym and crew dinners", "Replaying the call on the drive home", "Radio chatter in my head"]
Trajectory = Callable[[date], float]


def _answers(instrument_id: str, total: int, rng: random.Random, fixed: dict[str, int] | None = None) -> dict:
    instrument = instruments.get(instrument_id)
    answers = {item.id: 0 for item in instrument.items}
    answers.update(fixed or {})
    free = [item for item in instrument.items if item.id not in (fixed or {})]
    remaining = total - sum(answers.values())
    while remaining > 0 and free:
        item = rng.choice(free)
        if answers[item.id] < item.max_value:
            answers[item.id] += 1
            remaining -= 1
        else:
            free.remove(item)
    return answers


def _observed(db: Session, patient: Patient) -> list[tuple[datetime, int]]:
    rows = db.scalars(select(Assessment).where(Assessment.patient_id == patient.id,
                                               Assessment.instrument_id.in_(("pcl5", "pcl5-week")),
                                               Assessment.total.is_not(None))
                      .order_by(Assessment.administered_at))
    return [(a.administered_at, int(a.total or 0)) for a in rows]


def _interpolated(points: list[tuple[datetime, int]], zone: ZoneInfo) -> Trajectory:
    """The patient's observed scores, smoothed (a moving average of three) and joined by straight lines."""
    raw = [(p.astimezone(zone).date(), s) for p, s in points]
    days = [(d, s if i == 0 else sum(v for _, v in raw[max(1, i - 1):i + 2]) / len(raw[max(1, i - 1):i + 2]))
            for i, (d, s) in enumerate(raw)]

    def score(day: date) -> float:
        if not days:
            return 40.0
        if day <= days[0][0]:
            return float(days[0][1])
        for (d0, s0), (d1, s1) in zip(days, days[1:], strict=False):
            if d0 <= day <= d1:
                span = (d1 - d0).days or 1
                return s0 + (s1 - s0) * (day - d0).days / span
        return float(days[-1][1])

    return score


def _shaped(baseline: int, course_end: date, after: list[tuple[int, float]]) -> Trajectory:
    """A responder's course (down to about half the baseline by the course end), then ``after``: (days after the
    course end, share of the baseline) points, linear in between."""
    points = [(-14, 1.0), (0, 0.5), *after]

    def score(day: date) -> float:
        offset = (day - course_end).days
        for (d0, s0), (d1, s1) in zip(points, points[1:], strict=False):
            if d0 <= offset <= d1:
                return baseline * (s0 + (s1 - s0) * (offset - d0) / ((d1 - d0) or 1))
        return baseline * (points[-1][1] if offset > points[-1][0] else points[0][1])

    return score


def _choose_signs(db: Session, patient: Patient, by: User | None, rng: random.Random,
                  at: datetime) -> list[WarningSign]:
    codes = rng.sample(list(WARNING_SIGNS), rng.randint(3, 5))
    signs = [WarningSign(clinic_id=patient.clinic_id, patient_id=patient.id, code=c, label=WARNING_SIGNS[c],
                         added_at=at, added_by_id=by.id if by else None) for c in codes]
    if rng.random() < 0.5:
        signs.append(WarningSign(clinic_id=patient.clinic_id, patient_id=patient.id, code=None,
                                 label=rng.choice(OWN_WORDS), added_at=at, added_by_id=by.id if by else None))
    db.add_all(signs)
    db.flush()
    return signs


def _complete(db: Session, row: CheckIn, patient: Patient, zone: ZoneInfo, score: int, best: int,
              signs: list[WarningSign], rng: random.Random, *, hour: int | None = None) -> None:
    when = datetime.combine(row.due_on, time(hour if hour is not None else rng.choice([8, 12, 19, 20, 21]),
                                             rng.randint(0, 59)), tzinfo=zone).astimezone(UTC)
    score = max(0, min(80, score))
    pcl5_id = row.pcl5_form
    total = score if pcl5_id == "pcl5-week" else max(0, min(32, round(score * 0.4)))
    pcl5 = new_assessment(patient, instruments.score(pcl5_id, _answers(pcl5_id, total, rng)), AssessmentContext.CHECKIN,
                          when, EnteredBy.PATIENT, patient.user_id)
    phq_total = max(0, min(26, round(score * 0.32) + rng.randint(-2, 2)))
    phq9 = new_assessment(patient, instruments.score("phq9", _answers("phq9", phq_total, rng, {"q9": 0})),
                          AssessmentContext.CHECKIN, when, EnteredBy.PATIENT, patient.user_id)
    db.add_all([pcl5, phq9])
    db.flush()
    rise = score - best
    endorsed = [s for s in signs if rng.random() < min(0.9, 0.04 + max(0, rise - 2) * 0.06)]
    row.status, row.completed_at = CheckInStatus.COMPLETED.value, when
    row.completed_on = row.due_on
    row.entered_by, row.entered_by_user_id, row.via = "patient", patient.user_id, "link"
    row.pcl5_assessment_id, row.phq9_assessment_id = pcl5.id, phq9.id
    row.pcl5_total = total if pcl5_id == "pcl5-week" else None
    row.pcl5_short_total = total if pcl5_id != "pcl5-week" else None
    row.phq9_total, row.phq9_item9, row.signs_endorsed = phq9.total, 0, len(endorsed)
    db.add_all([WarningSignEndorsement(checkin_id=row.id, warning_sign_id=s.id) for s in endorsed])


def seed(db: Session, patients: list[Patient], now: datetime) -> None:
    rng = random.Random(SEED)
    ctx = Ctx.system("demo-seed")
    clinics = {c.id: c for c in db.scalars(select(Clinic))}
    nurses = {cid: db.scalars(select(User).where(User.role == "nurse")).all() for cid in clinics}
    treated = [p for p in patients if p.status in (PatientStatus.ACTIVE.value, PatientStatus.MAINTENANCE.value)]
    built: list[tuple[Patient, CheckinCourse]] = []
    for patient in treated:
        values = effective_policy(db, patient.clinic_id)
        zone = ZoneInfo(courses.patient_timezone(db, patient))
        course = courses.sync_patient(db, patient, values, now.astimezone(zone).date(), tracking_since=date(2000, 1, 1))
        if course is not None and course.started and course.baseline_pcl5 is not None:
            built.append((patient, course))

    def pick(condition: Callable[[Patient, CheckinCourse], bool], exclude: set[int]) -> Patient | None:
        return next((p for p, c in built if p.id not in exclude and condition(p, c)), None)

    def weeks_after(course: CheckinCourse, zone: ZoneInfo) -> int:
        return ((now.astimezone(zone).date() - course.course_end).days // 7) if course.course_end else 0

    north = next(c.id for c in clinics.values() if c.slug == "north")
    demo_login = next((p for p, _ in built if p.user_id is not None), None)
    taken = {demo_login.id} if demo_login else set()
    zone_of = {p.id: ZoneInfo(c.timezone) for p, c in built}
    specials: dict[int, str] = {}
    active = PatientStatus.ACTIVE.value
    for role, condition in (
        ("drift", lambda p, c: p.status == active and 4 <= weeks_after(c, zone_of[p.id]) <= 12
         and (c.baseline_pcl5 or 0) >= 40),
        ("loss", lambda p, c: p.status == active and 4 <= weeks_after(c, zone_of[p.id]) <= 12),
        ("silent", lambda p, c: p.status == active and 3 <= weeks_after(c, zone_of[p.id]) <= 12),
        ("recovered", lambda p, c: p.status == PatientStatus.MAINTENANCE.value and any(
            i.get("booster") and i.get("given") for i in c.infusions or [])),
    ):  # at the north clinic (the demo logins) when it has such a patient
        chosen = pick(lambda p, c, test=condition: p.clinic_id == north and test(p, c), taken) or pick(condition, taken)
        if chosen is not None:
            specials[chosen.id] = role
            taken.add(chosen.id)

    for patient, course in built:
        zone = zone_of[patient.id]
        today = now.astimezone(zone).date()
        role = specials.get(patient.id)
        baseline = int(course.baseline_pcl5 or 50)
        assert course.course_start is not None
        signs = _choose_signs(db, patient, rng.choice(nurses[patient.clinic_id] or [None]), rng,
                              datetime.combine(course.course_start - timedelta(days=3), time(10), tzinfo=zone))
        trajectory = _interpolated(_observed(db, patient), zone)
        end = course.course_end or course.course_start + timedelta(days=12)
        weeks = weeks_after(course, zone)
        if role == "drift":  # responded, then up 2.5 points a week, still under the response line: the trend sees it
            trajectory = _shaped(baseline, end, [(7, 0.4), (weeks * 7, 0.4 + 2.5 * (weeks - 1) / baseline)])
        elif role == "loss":  # responded, then lost it: the last two weekly scores above the response line
            trajectory = _shaped(baseline, end, [(7, 0.45), ((weeks - 3) * 7, 0.45), ((weeks - 2) * 7, 0.8),
                                                 ((weeks - 1) * 7, 0.85)])
        elif role == "recovered":  # a first loss four weeks after the course; boosters brought it back
            first_booster = min((datetime.fromisoformat(i["at"]).astimezone(zone).date() for i in course.infusions
                                 if i.get("booster") and i.get("given")), default=end + timedelta(days=35))
            gap = (first_booster - end).days
            trajectory = _shaped(baseline, end, [(14, 0.5), (21, 0.66), (28, 0.8), (gap, 0.82), (gap + 7, 0.5),
                                                 (gap + 200, 0.45)])
        best = baseline
        rows = repository.scheduled_checkins(db, course.id)
        for row in rows:
            if row.status != CheckInStatus.PENDING.value or row.due_on > today:
                continue
            is_last_two_weeks = (today - row.due_on).days < 15
            if role == "silent" and is_last_two_weeks and row.kind in ("weekly", "monthly"):
                continue  # stopped checking in: the sweep marks these missed and the overdue rule sees it
            if row.due_on == today and (patient.id == (demo_login.id if demo_login else None) or rng.random() < 0.5):
                continue  # due today and not done yet
            if role is None and rng.random() < 0.06 and row.due_on < today - timedelta(days=21):
                row.status, row.missed_at = CheckInStatus.MISSED.value, datetime.combine(
                    row.due_on + timedelta(days=4), time(6), tzinfo=zone)
                continue
            noise = 0 if role else rng.randint(-1, 1)
            score = round(trajectory(row.due_on)) + noise
            _complete(db, row, patient, zone, score, best, signs, rng)
            if row.pcl5_total is not None:
                best = min(best, row.pcl5_total)
        if role == "silent":
            overdue = int(effective_policy(db, patient.clinic_id)["relapse.watch_overdue_days"])
            for row in rows:
                if row.status == CheckInStatus.PENDING.value and row.due_on < today - timedelta(days=overdue):
                    row.status, row.missed_at = CheckInStatus.MISSED.value, now
        if patient.user_id is not None:
            db.add(CheckinPreference(patient_id=patient.id, reminder_hour=rng.choice([9, 10, 17, 19]),
                                     reminders_enabled=True, updated_at=now - timedelta(days=20)))
    db.flush()
    _evaluate(db, ctx, built, specials, now)
    _remind_demo_login(db, demo_login, now)


def _evaluate(db: Session, ctx: Ctx, built: list[tuple[Patient, CheckinCourse]], specials: dict[int, str],
              now: datetime) -> None:
    """Evaluate everyone as the sweep would; the recovered patient's past loss of response is replayed on its day."""
    rules: dict[int, detection.Rules] = {}
    for patient, course in built:
        rules.setdefault(patient.clinic_id, detection.rules_for(db, patient.clinic_id))
        rule = rules[patient.clinic_id]
        today = now.astimezone(ZoneInfo(course.timezone)).date()
        if specials.get(patient.id) == "recovered":
            history = detection.history_for(db, course, today)
            lost = relapse.loss_of_response_date(history, rule.relapse) if history else None
            if lost is not None:
                past = detection.evaluate_course(db, course, lost, rule)
                applied = detection.apply(db, ctx, course, past, lost, source="sweep") if past else None
                if applied and applied.alert is not None and applied.transition is not None:
                    when = datetime.combine(lost, time(8, 5), tzinfo=ZoneInfo(course.timezone))
                    _resolved(db, applied.alert, applied.transition, when, patient)
        result = detection.evaluate_course(db, course, today, rule)
        if result is None:
            continue
        applied = detection.apply(db, ctx, course, result, today, source="sweep")
        if applied is not None and (result.state == relapse.RelapseState.ACT or specials.get(patient.id)
                                    == "recovered"):
            boosters.refresh(db, ctx, course, today, rule)


def _resolved(db: Session, alert: Alert, transition: RelapseTransition, when: datetime, patient: Patient) -> None:
    """The recovered patient's old loss-of-response alert: answered at the time, a booster given."""
    nurse = db.scalars(select(User).where(User.role == "prescriber")).first()
    alert.created_at = transition.created_at = when
    alert.acknowledged_at, alert.acknowledged_by_id = when + timedelta(minutes=34), nurse.id if nurse else None
    alert.resolved_at, alert.resolved_by_id = when + timedelta(hours=3), nurse.id if nurse else None
    alert.resolution = "booster_proposed"
    alert.resolution_note = "Called; booster booked within the week. Patient aware of his warning signs."
    assert alert.kind == AlertKind.RELAPSE.value
    db.flush()


def _remind_demo_login(db: Session, patient: Patient | None, now: datetime) -> None:
    """The demo patient's check-in due today was reminded this morning (the log on the chart shows it)."""
    if patient is None:
        return
    course = repository.current_course(db, patient.id)
    if course is None:
        return
    due = repository.open_checkin(db, course.id, now.astimezone(ZoneInfo(course.timezone)).date())
    if due is not None and due.status == CheckInStatus.PENDING.value:
        db.add(CheckinReminder(checkin_id=due.id, patient_id=patient.id, sent_at=now - timedelta(hours=2)))
        db.flush()
