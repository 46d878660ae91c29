"""Use cases of check-ins: the check-in due now, submitting one (once, however often it is sent), the patient's warning
signs, reminder choices, and re-evaluating a patient. Never commits.

A submission stores one assessment per instrument through the assessments service (context ``checkin``), which
raises the urgent safety alerts for PHQ-9 item 9 > 0 and C-SSRS high at once; then the relapse state is evaluated
and stored (``detection.apply``), pointing to those alerts rather than repeating them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenfour.alerts.models import Alert
from tenfour.assessments import service as assessments
from tenfour.assessments.models import AssessmentContext
from tenfour.audit.service import record
from tenfour.checkins import boosters, clock, courses, detection, repository
from tenfour.checkins.models import (
    EXTRA,
    CheckIn,
    CheckinCourse,
    CheckinPreference,
    WarningSign,
    WarningSignEndorsement,
)
from tenfour.checkins.signs import MAX_SIGNS, OWN_WORDS_MAX, WARNING_SIGNS
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import instruments
from tenfour.core import reminders as core_reminders
from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.core.errors import CoreError
from tenfour.core.relapse import RelapseState
from tenfour.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from tenfour.patients import service as patients
from tenfour.patients.models import Patient

NOTE_MAX = 500
CLOCK_SKEW = timedelta(minutes=5)
PHQ9 = "phq9"
CSSRS = "cssrs-screen"


@dataclass
class Answers:
    """The answers of one check-in, by instrument (item id -> value); ``cssrs`` only when PHQ-9 item 9 > 0."""

    pcl5: dict[str, Any]
    phq9: dict[str, Any]
    cssrs: dict[str, Any] | None = None


@dataclass
class Submitted:
    checkin: CheckIn
    alerts: list[Alert] = field(default_factory=list)  # raised by this submission (safety and relapse)
    evaluation: detection.Applied | None = None
    repeated: bool = False  # the same form sent again: nothing new was stored

    @property
    def urgent(self) -> bool:
        """Show the crisis resources now: a suicide-risk answer in this check-in."""
        return (self.checkin.phq9_item9 or 0) > 0 or self.checkin.cssrs_risk == "high"

    @property
    def needs_cssrs(self) -> bool:
        return self.checkin.needs_cssrs


# --- The course and the check-in due now ---------------------------------------------------------------------


def today_for(course: CheckinCourse | None, patient_tz: str, now: datetime | None = None) -> date:
    return courses.local_today(course.timezone if course else patient_tz, now or clock.now())


def refresh_course(db: Session, patient: Patient) -> CheckinCourse | None:
    """Bring the schedule in step with the infusions now (when they changed since the last sweep)."""
    now = clock.now()
    course = repository.current_course(db, patient.id)
    tz = course.timezone if course else courses.patient_timezone(db, patient)
    fingerprint = repository.source_fingerprints(db, [patient.id])[patient.id]
    if course is not None and course.source_fingerprint == fingerprint and course.baseline_pcl5 is not None:
        return course
    return courses.sync_patient(db, patient, effective_policy(db, patient.clinic_id), courses.local_today(tz, now),
                                fingerprint=fingerprint)


def open_checkin(db: Session, patient: Patient, course: CheckinCourse | None) -> CheckIn | None:
    if course is None:
        return None
    return repository.open_checkin(db, course.id, today_for(course, course.timezone))


def instrument_ids(checkin: CheckIn | None) -> tuple[str, str]:
    return (checkin.pcl5_form if checkin else "pcl5-week"), PHQ9


# --- Submitting ----------------------------------------------------------------------------------------------


def _prefixed(error: ValidationFailed | CoreError, prefix: str) -> list[Problem]:
    return [Problem(f"{prefix}.{p.field}", p.rule, p.message) for p in error.problems]


def _check_answers(db: Session, patient: Patient, form: str, answers: Answers) -> list[Problem]:
    problems: list[Problem] = []
    item9: int | None = None
    for prefix, instrument_id, given in (("pcl5", form, answers.pcl5), ("phq9", PHQ9, answers.phq9)):
        try:
            result = assessments.score(db, instrument_id, given, None, patient.clinic_id)
        except ValidationFailed as error:
            problems.extend(_prefixed(error, prefix))
            continue
        if instrument_id == PHQ9:
            item9 = result.answered_items.get("q9")
    if answers.cssrs is not None:
        if item9 == 0:
            problems.append(Problem("cssrs", "not_asked",
                                    "is asked only when PHQ-9 question 9 is answered above 'Not at all'"))
        else:
            try:
                assessments.score(db, CSSRS, answers.cssrs, None, patient.clinic_id)
            except ValidationFailed as error:
                problems.extend(_prefixed(error, "cssrs"))
    return problems


def _signs(db: Session, patient: Patient, sign_ids: list[int]) -> tuple[list[WarningSign], list[Problem]]:
    mine = {s.id: s for s in repository.warning_signs(db, patient.id)}
    unknown = [i for i in sign_ids if i not in mine]
    if unknown:
        return [], [Problem("warning_signs", "unknown_sign", "names a warning sign that is not on this patient's list")]
    return [mine[i] for i in dict.fromkeys(sign_ids)], []


def _target(db: Session, course: CheckinCourse, checkin_id: int | None, today: date) -> CheckIn | None:
    """The check-in being answered (locked), or None for an extra check-in (nothing is due)."""
    current = repository.open_checkin(db, course.id, today)
    if checkin_id is None:
        # Locked, then looked at again: a submission at the same moment may have answered it while this one waited
        # on the lock (PostgreSQL); answering it again would overwrite that acknowledged check-in.
        while current is not None:
            locked = repository.checkin(db, current.id, for_update=True)
            if locked is not None and locked.status in repository.OPEN_STATUSES:
                return locked
            current = repository.open_checkin(db, course.id, today)
        return None
    row = repository.checkin(db, checkin_id, for_update=True)
    if row is None or row.course_id != course.id:
        raise NotFound("No such check-in.")
    if row.status == CheckInStatus.COMPLETED.value:
        raise Conflict(f"This check-in was already completed on {row.completed_on:%d %b %Y}.",
                       [Problem("checkin_id", "already_completed", "this check-in is already done")])
    if row.status == CheckInStatus.CANCELLED.value:
        raise Conflict("This check-in was cancelled (the infusions moved).",
                       [Problem("checkin_id", "cancelled", "this check-in is no longer needed")])
    if row.due_on > today:
        raise Conflict(f"This check-in is not due until {row.due_on:%d %b %Y}.",
                       [Problem("checkin_id", "not_due_yet", f"is due on {row.due_on}")])
    if current is not None and current.id != row.id:
        raise Conflict("A newer check-in is due: please answer that one.",
                       [Problem("checkin_id", "superseded", f"check-in {current.id} is the one due now")])
    return row


def submit(db: Session, ctx: Ctx, patient_id: int, answers: Answers, *, sign_ids: list[int] | None = None,
           note: str | None = None, checkin_id: int | None = None, submission_key: str | None = None,
           via: str = "signed_in", completed_at: datetime | None = None) -> Submitted:
    """Store one check-in; stored once per ``submission_key`` (a second identical send returns the first).

    Staff (entering a check-in taken by phone) may give ``completed_at``: not in the future, not before the course.
    """
    assert ctx.principal is not None
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    by_patient = not ctx.principal.is_staff
    if submission_key:
        existing = repository.by_submission_key(db, submission_key)
        if existing is not None:
            if existing.patient_id != patient.id:
                raise Conflict("This form was already used.", [Problem("submission_key", "unique", "already used")])
            return Submitted(existing, repeated=True)
    course = refresh_course(db, patient)
    if course is None or not course.started:
        raise Conflict("There is no check-in yet: check-ins begin after the first infusion.",
                       [Problem("checkin", "no_course", "check-ins begin after the first infusion")])
    now = clock.now()
    today = today_for(course, course.timezone, now)
    row = _target(db, course, checkin_id, today)
    form = row.pcl5_form if row else "pcl5-week"
    problems = _check_answers(db, patient, form, answers)
    chosen, sign_problems = _signs(db, patient, list(sign_ids or []))
    problems += sign_problems
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        problems.append(Problem("note", "max_length", f"must be at most {NOTE_MAX} characters"))
    when = now
    if completed_at is not None:
        if by_patient:
            problems.append(Problem("completed_at", "patient_now", "is set by the clinic for your answers"))
        elif completed_at.tzinfo is None:
            problems.append(Problem("completed_at", "timezone", "must include a time zone (e.g. Z)"))
        elif completed_at > now + CLOCK_SKEW:
            problems.append(Problem("completed_at", "not_future", "cannot be in the future"))
        elif course.course_start and completed_at.astimezone(ZoneInfo(course.timezone)).date() < course.course_start:
            problems.append(Problem("completed_at", "not_before_course",
                                    f"cannot be before the course began on {course.course_start}"))
        else:
            when = completed_at
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)

    if row is None:  # nothing due: an extra check-in the patient chose to make
        row = CheckIn(clinic_id=course.clinic_id, patient_id=patient.id, course_id=course.id, kind=EXTRA,
                      due_on=when.astimezone(ZoneInfo(course.timezone)).date(), pcl5_form=form)
        db.add(row)
    row.submission_key = submission_key
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:  # the same form, sent twice at the same moment: the other request stored it
        raise Conflict("This check-in was just received.", [Problem("submission_key", "unique", "already used")]) \
            from None
    administered_at = None if by_patient else when  # patients: the assessments service stamps 'now' itself
    raised: list[Alert] = []
    stored = {}
    for key, instrument_id, given in (("pcl5", form, answers.pcl5), ("phq9", PHQ9, answers.phq9),
                                      ("cssrs", CSSRS, answers.cssrs)):
        if given is None:
            continue
        assessment, alerts = assessments.submit(db, ctx, patient.id, instrument_id=instrument_id, answers=given,
                                                context=AssessmentContext.CHECKIN, administered_at=administered_at)
        stored[key] = assessment
        raised += alerts
    pcl5, phq9, cssrs = stored["pcl5"], stored["phq9"], stored.get("cssrs")
    row.status = CheckInStatus.COMPLETED.value
    row.completed_at = when
    row.completed_on = when.astimezone(ZoneInfo(course.timezone)).date()
    row.entered_by = "patient" if by_patient else "staff"
    row.entered_by_user_id = ctx.actor.user_id
    row.via = via
    row.pcl5_assessment_id, row.phq9_assessment_id = pcl5.id, phq9.id
    row.cssrs_assessment_id = cssrs.id if cssrs else None
    row.pcl5_total = pcl5.total if form == "pcl5-week" else None
    row.pcl5_short_total = pcl5.total if form != "pcl5-week" else None
    row.phq9_total, row.phq9_item9 = phq9.total, phq9.answers.get("q9")
    row.cssrs_risk = cssrs.risk_level if cssrs else None
    row.signs_endorsed = len(chosen)
    row.note = note
    for sign in chosen:
        db.add(WarningSignEndorsement(checkin_id=row.id, warning_sign_id=sign.id))
    for earlier in repository.open_before(db, course.id, row.due_on):
        earlier.status, earlier.missed_at = CheckInStatus.MISSED.value, now
    db.flush()
    record(db, ctx.actor, "checkin.complete", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="checkin", record_id=row.id,
           detail={"kind": row.kind, "due_on": str(row.due_on), "via": via, "signs": len(chosen),
                   "assessments": [a.id for a in stored.values()]})
    applied = reevaluate(db, ctx, patient, course, source="checkin", checkin=row)
    if applied is not None and applied.alert is not None:
        raised.append(applied.alert)
    return Submitted(row, raised, applied)


def submit_cssrs(db: Session, ctx: Ctx, patient_id: int, checkin_id: int, answers: dict[str, Any]) -> Submitted:
    """The C-SSRS screen for a check-in saved with PHQ-9 item 9 above 0 but without it (a follow-up)."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    row = repository.checkin(db, checkin_id, for_update=True)
    if row is None or row.patient_id != patient.id:
        raise NotFound("No such check-in.")
    if not row.needs_cssrs:
        raise Conflict("These questions are not needed for this check-in.",
                       [Problem("cssrs", "not_asked", "not needed for this check-in")])
    assessment, raised = assessments.submit(db, ctx, patient.id, instrument_id=CSSRS, answers=answers,
                                            context=AssessmentContext.CHECKIN,
                                            administered_at=None if not ctx.principal or not ctx.principal.is_staff
                                            else row.completed_at)
    row.cssrs_assessment_id, row.cssrs_risk = assessment.id, assessment.risk_level
    db.flush()
    record(db, ctx.actor, "checkin.cssrs", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="checkin", record_id=row.id, detail={"assessment": assessment.id})
    course = repository.current_course(db, patient.id)
    applied = reevaluate(db, ctx, patient, course, source="checkin", checkin=row) if course else None
    if applied is not None and applied.alert is not None:
        raised.append(applied.alert)
    return Submitted(row, list(raised), applied)


def reevaluate(db: Session, ctx: Ctx, patient: Patient, course: CheckinCourse, *, source: str,
               checkin: CheckIn | None = None, rules: detection.Rules | None = None) -> detection.Applied | None:
    """Evaluate the patient now and store the result (alerting on a change); a loss of response proposes a booster."""
    rules = rules or detection.rules_for(db, patient.clinic_id)
    as_of = today_for(course, course.timezone)
    result = detection.evaluate_course(db, course, as_of, rules)
    if result is None:
        return None
    applied = detection.apply(db, ctx, course, result, as_of, source=source, checkin=checkin)
    if applied is not None and result.state == RelapseState.ACT and applied.changed:
        boosters.refresh(db, ctx, course, as_of, rules)
    return applied


def follow_corrections(db: Session, ctx: Ctx, patient_ids: list[int] | None = None) -> list[int]:
    """Check-ins whose answers a clinician corrected: point to the newest version and copy its scores.
    Returns the patients whose check-ins changed (to re-evaluate)."""
    changed: set[int] = set()
    for row in repository.superseded_checkin_links(db, patient_ids):
        for column in ("pcl5_assessment_id", "phq9_assessment_id", "cssrs_assessment_id"):
            current_id = getattr(row, column)
            while current_id is not None and (newer := repository.correction_of(db, current_id)) is not None:
                current_id = newer.id
            setattr(row, column, current_id)
        pcl5 = repository.assessment(db, row.pcl5_assessment_id) if row.pcl5_assessment_id else None
        phq9 = repository.assessment(db, row.phq9_assessment_id) if row.phq9_assessment_id else None
        cssrs = repository.assessment(db, row.cssrs_assessment_id) if row.cssrs_assessment_id else None
        if pcl5 is not None:
            full = pcl5.instrument_id == "pcl5-week"
            row.pcl5_total, row.pcl5_short_total = (pcl5.total, None) if full else (None, pcl5.total)
        if phq9 is not None:
            row.phq9_total, row.phq9_item9 = phq9.total, phq9.answers.get("q9")
        if cssrs is not None:
            row.cssrs_risk = cssrs.risk_level
        changed.add(row.patient_id)
        record(db, ctx.actor, "checkin.follow_correction", clinic_id=row.clinic_id, patient_id=row.patient_id,
               record_type="checkin", record_id=row.id)
    db.flush()
    return sorted(changed)


# --- Warning signs -------------------------------------------------------------------------------------------


def set_warning_signs(db: Session, ctx: Ctx, patient_id: int, codes: list[str], own_words: list[str]
                      ) -> list[WarningSign]:
    """The patient's warning signs as chosen with their clinician: the taught ones ticked, and their own words.
    Signs taken off the list are kept (with when) so their history stays readable."""
    assert ctx.principal is not None
    if not ctx.principal.is_staff:
        raise Forbidden("Warning signs are chosen with your clinician at a visit.")
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    problems: list[Problem] = []
    unknown = [c for c in codes if c not in WARNING_SIGNS]
    if unknown:
        problems.append(Problem("codes", "known_sign", f"unknown warning sign: {', '.join(unknown)}"))
    words = [" ".join(w.split()) for w in own_words if w and w.strip()]
    if any(len(w) > OWN_WORDS_MAX for w in words):
        problems.append(Problem("own_words", "max_length", f"each must be at most {OWN_WORDS_MAX} characters"))
    labels = [WARNING_SIGNS[c] for c in codes if c in WARNING_SIGNS] + words
    if len({label.lower() for label in labels}) != len(labels):
        problems.append(Problem("own_words", "unique", "a warning sign is listed twice"))
    if len(labels) > MAX_SIGNS:
        problems.append(Problem("own_words", "max_items", f"choose at most {MAX_SIGNS} warning signs"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    now = clock.now()
    current = repository.warning_signs(db, patient.id)
    wanted_codes = set(codes)
    wanted_words = {w.lower(): w for w in words}
    for sign in current:
        keep = sign.code in wanted_codes if sign.code else sign.label.lower() in wanted_words
        if not keep:
            sign.removed_at, sign.removed_by_id = now, ctx.actor.user_id
    have_codes = {s.code for s in current if s.code}
    have_words = {s.label.lower() for s in current if not s.code}
    for code in codes:
        if code not in have_codes:
            db.add(WarningSign(clinic_id=patient.clinic_id, patient_id=patient.id, code=code,
                               label=WARNING_SIGNS[code], added_at=now, added_by_id=ctx.actor.user_id))
    for key, word in wanted_words.items():
        if key not in have_words:
            db.add(WarningSign(clinic_id=patient.clinic_id, patient_id=patient.id, code=None, label=word,
                               added_at=now, added_by_id=ctx.actor.user_id))
    db.flush()
    signs = repository.warning_signs(db, patient.id)
    record(db, ctx.actor, "checkin.warning_signs", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id, detail={"count": len(signs)})
    return signs


@dataclass(frozen=True)
class SignStat:
    sign: WarningSign
    endorsed: int  # check-ins in which it showed up
    asked: int  # check-ins completed while it was on the list

    @property
    def share(self) -> float | None:
        return self.endorsed / self.asked if self.asked else None


def sign_stats(db: Session, patient_id: int) -> list[SignStat]:
    signs = repository.warning_signs(db, patient_id, include_removed=True)
    if not signs:  # most patients list none: nothing to count
        return []
    counts = repository.endorsement_counts(db, patient_id)
    completed = [t for t in repository.completed_times(db, patient_id) if t]
    stats = []
    for sign in signs:
        asked = sum(1 for t in completed if t >= sign.added_at and (sign.removed_at is None or t < sign.removed_at))
        stats.append(SignStat(sign, counts.get(sign.id, 0), asked))
    return stats


# --- Reminder choices ----------------------------------------------------------------------------------------


def reminder_policy(db: Session, clinic_id: int) -> core_reminders.ReminderPolicy:
    return core_reminders.ReminderPolicy.from_policy(effective_policy(db, clinic_id))


def set_preferences(db: Session, ctx: Ctx, patient: Patient, reminder_hour: int | None,
                    reminders_enabled: bool) -> CheckinPreference:
    policy = reminder_policy(db, patient.clinic_id)
    if reminder_hour is not None:
        try:
            core_reminders.check_reminder_hour(reminder_hour, policy)
        except CoreError as error:
            raise ValidationFailed.from_core(error) from None
    row = repository.preference(db, patient.id)
    if row is None:
        row = CheckinPreference(patient_id=patient.id)
        db.add(row)
    row.reminder_hour, row.reminders_enabled = reminder_hour, reminders_enabled
    row.updated_at, row.updated_by_id = clock.now(), ctx.actor.user_id
    db.flush()
    record(db, ctx.actor, "checkin.preferences", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id,
           detail={"reminder_hour": reminder_hour, "reminders_enabled": reminders_enabled})
    return row


def is_alerting(state: str) -> bool:
    return state in {s.value for s in detection.ALERTING}


def instrument(instrument_id: str) -> Any:
    return instruments.get(instrument_id)
