"""Every query of the check-ins domain, including the sweep's aggregated, per-batch queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update
from sqlalchemy.orm import Session

from tenfour.alerts.models import Alert
from tenfour.assessments.models import Assessment
from tenfour.checkins.models import (
    EXTRA,
    BoosterProposal,
    BoosterRequest,
    CheckIn,
    CheckinCourse,
    CheckinPreference,
    CheckinReminder,
    ProposalStatus,
    RelapseEvaluation,
    RelapseTransition,
    SweepRun,
    WarningSign,
    WarningSignEndorsement,
)
from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan

PENDING, COMPLETED, MISSED, CANCELLED = (s.value for s in (CheckInStatus.PENDING, CheckInStatus.COMPLETED,
                                                           CheckInStatus.MISSED, CheckInStatus.CANCELLED))
OPEN_STATUSES = (PENDING, MISSED)
INACTIVE_PATIENT_STATUSES = ("discharged", "ineligible")
PCL5_FULL = ("pcl5", "pcl5-week")
HISTORY_ORDER = (CheckIn.completed_on, CheckIn.completed_at, CheckIn.id)
_EPOCH = datetime.min.replace(tzinfo=UTC)

# --- Courses ------------------------------------------------------------------------------------------------


def current_course(db: Session, patient_id: int) -> CheckinCourse | None:
    stmt = select(CheckinCourse).where(CheckinCourse.patient_id == patient_id, CheckinCourse.is_current.is_(True))
    return db.scalars(stmt.order_by(CheckinCourse.id.desc())).first()


def course_for_plan(db: Session, patient_id: int, plan_id: int | None) -> CheckinCourse | None:
    stmt = select(CheckinCourse).where(CheckinCourse.patient_id == patient_id, CheckinCourse.plan_id == plan_id)
    return db.scalars(stmt).first()


def active_courses(db: Session, clinic_id: int) -> list[tuple[CheckinCourse, str]]:
    """Current courses of a clinic's active patients (not discharged or ineligible), with the patient's status."""
    stmt = (select(CheckinCourse, Patient.status).join(Patient, Patient.id == CheckinCourse.patient_id)
            .where(CheckinCourse.clinic_id == clinic_id, CheckinCourse.is_current.is_(True),
                   Patient.status.not_in(INACTIVE_PATIENT_STATUSES))
            .order_by(CheckinCourse.id))
    return [(course, status) for course, status in db.execute(stmt)]


def evaluable_course_ids(db: Session, clinic_id: int) -> list[int]:
    """Current courses of active patients that can be evaluated: started, with a baseline PCL-5."""
    stmt = (select(CheckinCourse.id).join(Patient, Patient.id == CheckinCourse.patient_id)
            .where(CheckinCourse.clinic_id == clinic_id, CheckinCourse.is_current.is_(True),
                   CheckinCourse.started.is_(True), CheckinCourse.baseline_pcl5.is_not(None),
                   CheckinCourse.course_start.is_not(None), Patient.status.not_in(INACTIVE_PATIENT_STATUSES))
            .order_by(CheckinCourse.id))
    return list(db.scalars(stmt))


def courses_by_ids(db: Session, course_ids: Sequence[int]) -> list[CheckinCourse]:
    return list(db.scalars(select(CheckinCourse).where(CheckinCourse.id.in_(list(course_ids)))
                           .order_by(CheckinCourse.id)))


def batch_filter(column: Any, ids: Iterable[int]) -> Any:
    """The sweep's batches: a dense batch (consecutive ids, as in one clinic's own database) as the id range it spans
    (an index range scan, no list of a thousand parameters), a sparse one (one clinic's courses among a network's)
    as the list itself, so a batch never reads the rows of every clinic in between. Callers drop rows in the range
    but not in the batch."""
    wanted = sorted(set(ids))
    if max(wanted) - min(wanted) + 1 <= 2 * len(wanted):
        return column.between(wanted[0], wanted[-1])
    return column.in_(wanted)


def course_rows(db: Session, course_ids: Sequence[int]) -> list[Any]:
    """The columns the sweep needs of each course (plain rows, no ORM objects)."""
    c = CheckinCourse
    wanted = set(course_ids)
    if not wanted:
        return []
    stmt = select(c.id, c.patient_id, c.clinic_id, c.timezone, c.baseline_pcl5, c.course_start, c.course_end
                  ).where(batch_filter(c.id, wanted)).order_by(c.id)
    return [row for row in db.execute(stmt) if row.id in wanted]


def sweep_candidate_patient_ids(db: Session) -> list[int]:
    """Patients with any infusion session or a current course: the ones whose schedule may need building."""
    with_sessions = select(InfusionSession.patient_id).distinct()
    with_course = select(CheckinCourse.patient_id).where(CheckinCourse.is_current.is_(True))
    ids = set(db.scalars(with_sessions)) | set(db.scalars(with_course))
    return sorted(ids)


def source_fingerprints(db: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    """What a course is built from, per patient, in three aggregated queries: the infusion sessions (count, last id,
    last change), the treatment plans, and the PCL-5s outside check-ins (a baseline added or corrected)."""
    ids = list(patient_ids)
    sessions = {row.patient_id: row for row in db.execute(
        select(InfusionSession.patient_id, func.count().label("n"), func.max(InfusionSession.id).label("last_id"),
               func.max(InfusionSession.updated_at).label("changed"))
        .where(InfusionSession.patient_id.in_(ids)).group_by(InfusionSession.patient_id))}
    plans = {row.patient_id: row for row in db.execute(
        select(TreatmentPlan.patient_id, func.count().label("n"), func.max(TreatmentPlan.id).label("last_id"))
        .where(TreatmentPlan.patient_id.in_(ids), TreatmentPlan.signed_at.is_not(None))
        .group_by(TreatmentPlan.patient_id))}
    baselines = {pid: last for pid, last in db.execute(
        select(Assessment.patient_id, func.max(Assessment.id))
        .where(Assessment.patient_id.in_(ids), Assessment.instrument_id.in_(PCL5_FULL),
               Assessment.context != "checkin")
        .group_by(Assessment.patient_id))}
    result = {}
    for pid in ids:
        s, p = sessions.get(pid), plans.get(pid)
        result[pid] = fingerprint(s.n if s else 0, s.last_id if s else None, s.changed if s else None,
                                  p.n if p else 0, p.last_id if p else None, baselines.get(pid))
    return result


def fingerprint(n_sessions: int, last_session_id: int | None, last_change: datetime | None, n_plans: int,
                last_plan_id: int | None, last_baseline_id: int | None) -> str:
    changed = last_change.strftime("%Y%m%d%H%M%S%f") if last_change else "-"
    return f"s{n_sessions}.{last_session_id or 0}.{changed}|p{n_plans}.{last_plan_id or 0}|a{last_baseline_id or 0}"


def stored_fingerprints(db: Session, patient_ids: Sequence[int]) -> dict[int, tuple[str | None, date | None]]:
    """(source fingerprint, horizon end) of each patient's current course."""
    stmt = select(CheckinCourse.patient_id, CheckinCourse.source_fingerprint, CheckinCourse.horizon_end,
                  CheckinCourse.baseline_pcl5).where(CheckinCourse.patient_id.in_(list(patient_ids)),
                                                     CheckinCourse.is_current.is_(True))
    return {row.patient_id: (row.source_fingerprint if row.baseline_pcl5 is not None else None, row.horizon_end)
            for row in db.execute(stmt)}


def patients_by_ids(db: Session, patient_ids: Sequence[int]) -> list[Patient]:
    return list(db.scalars(select(Patient).where(Patient.id.in_(list(patient_ids))).order_by(Patient.id)))


# --- Check-ins ----------------------------------------------------------------------------------------------


def checkin(db: Session, checkin_id: int, *, for_update: bool = False) -> CheckIn | None:
    stmt = select(CheckIn).where(CheckIn.id == checkin_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.scalar(stmt)


def by_submission_key(db: Session, key: str) -> CheckIn | None:
    return db.scalar(select(CheckIn).where(CheckIn.submission_key == key))


def course_checkins(db: Session, course_id: int) -> list[CheckIn]:
    return list(db.scalars(select(CheckIn).where(CheckIn.course_id == course_id)
                           .order_by(CheckIn.due_on, CheckIn.id)))


def scheduled_checkins(db: Session, course_id: int) -> list[CheckIn]:
    return [c for c in course_checkins(db, course_id) if c.kind != EXTRA]


def open_checkin(db: Session, course_id: int, today: date) -> CheckIn | None:
    """The check-in a patient answers now: the latest one due by today that is neither completed nor cancelled."""
    stmt = (select(CheckIn).where(CheckIn.course_id == course_id, CheckIn.status.in_(OPEN_STATUSES),
                                  CheckIn.due_on <= today)
            .order_by(CheckIn.due_on.desc(), CheckIn.id.desc()))
    return db.scalars(stmt).first()


def open_in(rows: Iterable[CheckIn], today: date) -> CheckIn | None:
    """``open_checkin`` over a course's check-ins already read (``course_checkins``), without another query."""
    return max((c for c in rows if c.status in OPEN_STATUSES and c.due_on <= today),
               key=lambda c: (c.due_on, c.id), default=None)


def next_due_in(rows: Iterable[CheckIn]) -> date | None:
    """``next_due`` over a course's check-ins already read (``course_checkins``), without another query."""
    rows = list(rows)
    done = max((c.due_on for c in rows if c.status == COMPLETED), default=None)
    return min((c.due_on for c in rows if c.status in OPEN_STATUSES and (done is None or c.due_on > done)),
               default=None)


def open_before(db: Session, course_id: int, due_on: date) -> list[CheckIn]:
    stmt = select(CheckIn).where(CheckIn.course_id == course_id, CheckIn.status == PENDING, CheckIn.due_on < due_on)
    return list(db.scalars(stmt))


def completed_checkins(db: Session, course_id: int) -> list[CheckIn]:
    """Completed check-ins of a course in history order (day, then time of submission)."""
    stmt = select(CheckIn).where(CheckIn.course_id == course_id, CheckIn.status == COMPLETED)
    return list(db.scalars(stmt.order_by(*HISTORY_ORDER)))


def completed_in(rows: Iterable[CheckIn]) -> list[CheckIn]:
    """``completed_checkins`` over a course's check-ins already read (``course_checkins``), without another query:
    the same rows in the same order (a missing time of submission sorts last, as PostgreSQL sorts NULL)."""
    return sorted((c for c in rows if c.status == COMPLETED),
                  key=lambda c: (c.completed_on is None, c.completed_on or date.min,
                                 c.completed_at is None, c.completed_at or _EPOCH, c.id))


def completed_times(db: Session, patient_id: int) -> list[datetime | None]:
    """When each of a patient's completed check-ins (of every course) was submitted: what ``sign_stats`` counts,
    without loading the rows."""
    stmt = select(CheckIn.completed_at).where(CheckIn.patient_id == patient_id, CheckIn.status == COMPLETED)
    return list(db.scalars(stmt))


def patient_checkins(db: Session, patient_id: int, statuses: Iterable[str] | None = None) -> list[CheckIn]:
    stmt = select(CheckIn).where(CheckIn.patient_id == patient_id)
    if statuses is not None:
        stmt = stmt.where(CheckIn.status.in_(list(statuses)))
    return list(db.scalars(stmt.order_by(CheckIn.due_on, CheckIn.id)))


def next_due(db: Session, course_id: int) -> date | None:
    """The first check-in not done since the last completed one: what the overdue rule measures from."""
    done = select(func.max(CheckIn.due_on)).where(CheckIn.course_id == course_id,
                                                  CheckIn.status == COMPLETED).scalar_subquery()
    stmt = select(func.min(CheckIn.due_on)).where(CheckIn.course_id == course_id, CheckIn.status.in_(OPEN_STATUSES),
                                                  or_(done.is_(None), CheckIn.due_on > done))
    return db.scalar(stmt)


def next_due_by_course(db: Session, course_ids: Sequence[int]) -> dict[int, date]:
    """Per course, in one scan: the earliest pending or missed check-in due after the last completed one.

    A dense batch is read as the id range it spans (``batch_filter``); courses in the range but not in the batch
    are dropped here."""
    wanted = set(course_ids)
    if not wanted:
        return {}
    last_done = func.max(CheckIn.due_on).filter(CheckIn.status == COMPLETED).over(partition_by=CheckIn.course_id)
    inner = (select(CheckIn.course_id, CheckIn.due_on, CheckIn.status, last_done.label("last_done"))
             .where(batch_filter(CheckIn.course_id, wanted), CheckIn.status != CANCELLED)
             .subquery())
    stmt = (select(inner.c.course_id, func.min(inner.c.due_on))
            .where(inner.c.status.in_(OPEN_STATUSES),
                   or_(inner.c.last_done.is_(None), inner.c.due_on > inner.c.last_done))
            .group_by(inner.c.course_id))
    return {course_id: due for course_id, due in db.execute(stmt) if course_id in wanted}


def mark_missed(db: Session, course_ids: Sequence[int], today: date, overdue_days: int, now: datetime) -> int:
    """Pending check-ins become missed when a later check-in has come due, or when more than ``overdue_days`` late
    (the moment the overdue rule starts to hold). One UPDATE for the batch; returns how many."""
    later = CheckIn.__table__.alias("later")
    ids = list(course_ids)
    superseded = (select(later.c.id).where(later.c.course_id == CheckIn.course_id, later.c.status != CANCELLED,
                                           later.c.due_on > CheckIn.due_on, later.c.due_on <= today)
                  .exists())
    cutoff = date.fromordinal(today.toordinal() - overdue_days)
    stmt = (update(CheckIn).where(CheckIn.course_id.in_(ids), CheckIn.status == PENDING, CheckIn.due_on <= today,
                                  or_(CheckIn.due_on < cutoff, superseded))
            .values(status=MISSED, missed_at=now).execution_options(synchronize_session=False))
    return db.execute(stmt).rowcount or 0


def due_unreminded(db: Session, course_ids: Sequence[int], until: date) -> list[tuple[CheckIn, int]]:
    """Pending scheduled check-ins due by ``until``, with how many reminders each has had (latest first per course)."""
    ids = list(course_ids)
    sent = (select(CheckinReminder.checkin_id, func.count().label("n")).group_by(CheckinReminder.checkin_id)
            .subquery())
    stmt = (select(CheckIn, func.coalesce(sent.c.n, 0))
            .outerjoin(sent, sent.c.checkin_id == CheckIn.id)
            .where(CheckIn.course_id.in_(ids), CheckIn.status == PENDING, CheckIn.due_on <= until,
                   CheckIn.kind != EXTRA)
            .order_by(CheckIn.course_id, CheckIn.due_on.desc()))
    return [(row, count) for row, count in db.execute(stmt)]


def reminders_for(db: Session, checkin_id: int) -> list[CheckinReminder]:
    return list(db.scalars(select(CheckinReminder).where(CheckinReminder.checkin_id == checkin_id)
                           .order_by(CheckinReminder.sent_at)))


def patient_reminders(db: Session, patient_id: int, limit: int = 10) -> list[CheckinReminder]:
    return list(db.scalars(select(CheckinReminder).where(CheckinReminder.patient_id == patient_id)
                           .order_by(CheckinReminder.sent_at.desc()).limit(limit)))


def checkin_for_link(db: Session, link_id: int) -> CheckIn | None:
    stmt = (select(CheckIn).join(CheckinReminder, CheckinReminder.checkin_id == CheckIn.id)
            .where(CheckinReminder.link_id == link_id))
    return db.scalars(stmt).first()


def clinic_missed(db: Session, clinic_id: int, since: date, limit: int | None = None
                  ) -> list[tuple[CheckIn, Patient]]:
    stmt = (select(CheckIn, Patient).join(Patient, Patient.id == CheckIn.patient_id)
            .where(CheckIn.clinic_id == clinic_id, Patient.clinic_id == clinic_id, CheckIn.status == MISSED,
                   CheckIn.due_on >= since)
            .order_by(CheckIn.due_on.desc(), Patient.last_name, CheckIn.id).limit(limit))
    return [(c, p) for c, p in db.execute(stmt)]


def clinic_missed_count(db: Session, clinic_id: int, since: date) -> int:
    stmt = select(func.count()).select_from(CheckIn).where(CheckIn.clinic_id == clinic_id, CheckIn.status == MISSED,
                                                           CheckIn.due_on >= since)
    return db.scalar(stmt) or 0


def clinic_due_today(db: Session, clinic_id: int, today: date) -> int:
    stmt = select(func.count()).select_from(CheckIn).where(CheckIn.clinic_id == clinic_id, CheckIn.status == PENDING,
                                                           CheckIn.due_on == today)
    return db.scalar(stmt) or 0


# --- The sweep's history query ----------------------------------------------------------------------------------


def reduced_histories(db: Session, course_ids: Sequence[int], response_reduction_pct: int, keep_last: int,
                      until: date) -> dict[int, list[Any]]:
    """Per course, only the completed check-ins the relapse rules can look at, from one windowed query:

    every check-in of the latest day (urgent flags, warning signs), the last ``keep_last`` PCL-5 scores (trend,
    loss of response, latest score), the first score that met the response rule, and the best (lowest, earliest)
    score. ``core.relapse.evaluate`` on these rows gives exactly what it gives on the whole history (proved for
    every patient by bench/sweep_bench.py and tests/integration/test_checkins_sweep.py). Rows in history order.
    """
    c = CheckIn.__table__
    co = CheckinCourse.__table__
    scored = case((c.c.pcl5_total.is_not(None), 1), else_=0)
    responds = case((and_(c.c.pcl5_total.is_not(None),
                          c.c.pcl5_total * 100 <= co.c.baseline_pcl5 * (100 - response_reduction_pct)), 1), else_=0)
    by_scored = (c.c.course_id, scored)
    # One sort: the position of each row among its course's scored (or unscored) rows, in history order.
    first = (
        select(
            c.c.course_id, c.c.id, c.c.completed_on, c.c.completed_at, c.c.pcl5_total, c.c.phq9_item9,
            c.c.cssrs_risk, c.c.signs_endorsed, scored.label("scored"), responds.label("responds"),
            func.row_number().over(partition_by=by_scored,
                                   order_by=(c.c.completed_on, c.c.completed_at, c.c.id)).label("pos"),
            func.count().over(partition_by=by_scored).label("n"),
            func.max(c.c.completed_on).over(partition_by=c.c.course_id).label("last_day"),
            func.min(c.c.pcl5_total).over(partition_by=c.c.course_id).label("best"),
        )
        .join(co, co.c.id == c.c.course_id)
        .where(batch_filter(c.c.course_id, course_ids), batch_filter(co.c.id, course_ids),
               c.c.status == COMPLETED, c.c.completed_on >= co.c.course_start, c.c.completed_on <= until)
        .subquery()
    )
    f = first.c
    partition = (f.course_id, f.scored)
    second = select(
        f.course_id, f.id, f.completed_on, f.completed_at, f.pcl5_total, f.phq9_item9, f.cssrs_risk,
        f.signs_endorsed, f.scored, f.responds, f.pos, f.n, f.last_day,
        func.min(case((f.responds == 1, f.pos))).over(partition_by=partition).label("first_response"),
        func.min(case((f.pcl5_total == f.best, f.pos))).over(partition_by=partition).label("best_pos"),
    ).subquery()
    w = second.c
    stmt = (select(w.course_id, w.id, w.completed_on, w.pcl5_total, w.phq9_item9, w.cssrs_risk, w.signs_endorsed)
            .where(or_(w.completed_on == w.last_day, and_(w.scored == 1, w.pos > w.n - keep_last),
                       and_(w.responds == 1, w.pos == w.first_response),
                       and_(w.scored == 1, w.pos == w.best_pos)))
            .order_by(w.course_id, w.completed_on, w.completed_at, w.id))
    rows: dict[int, list[Any]] = defaultdict(list)
    wanted = set(course_ids)
    for row in db.execute(stmt):
        if row.course_id in wanted:  # the batch is read as its id range (see next_due_by_course)
            rows[row.course_id].append(row)
    return rows


def sort_in_memory(db: Session) -> None:
    """PostgreSQL: let this transaction's sorts (the sweep's windowed query) stay in memory instead of spilling to disk.
    ``SET LOCAL`` ends with the transaction; other databases need nothing."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL work_mem = '64MB'"))


def sign_names(db: Session, checkin_ids: Sequence[int]) -> dict[int, list[str]]:
    """The warning signs endorsed in each check-in, by name (in the order they were chosen)."""
    if not checkin_ids:
        return {}
    stmt = (select(WarningSignEndorsement.checkin_id, WarningSign.label)
            .join(WarningSign, WarningSign.id == WarningSignEndorsement.warning_sign_id)
            .where(WarningSignEndorsement.checkin_id.in_(list(checkin_ids)))
            .order_by(WarningSignEndorsement.checkin_id, WarningSign.id))
    names: dict[int, list[str]] = defaultdict(list)
    for checkin_id, label in db.execute(stmt):
        names[checkin_id].append(label)
    return names


# --- Warning signs ----------------------------------------------------------------------------------------------


def warning_signs(db: Session, patient_id: int, include_removed: bool = False) -> list[WarningSign]:
    stmt = select(WarningSign).where(WarningSign.patient_id == patient_id)
    if not include_removed:
        stmt = stmt.where(WarningSign.removed_at.is_(None))
    return list(db.scalars(stmt.order_by(WarningSign.id)))


def endorsement_counts(db: Session, patient_id: int) -> dict[int, int]:
    stmt = (select(WarningSignEndorsement.warning_sign_id, func.count())
            .join(WarningSign, WarningSign.id == WarningSignEndorsement.warning_sign_id)
            .where(WarningSign.patient_id == patient_id).group_by(WarningSignEndorsement.warning_sign_id))
    return {key: value for key, value in db.execute(stmt)}


def completed_since(db: Session, patient_id: int, since: datetime) -> int:
    stmt = select(func.count()).select_from(CheckIn).where(CheckIn.patient_id == patient_id,
                                                           CheckIn.status == COMPLETED, CheckIn.completed_at >= since)
    return db.scalar(stmt) or 0


# --- Relapse evaluations ----------------------------------------------------------------------------------------


def evaluation(db: Session, patient_id: int, *, for_update: bool = False) -> RelapseEvaluation | None:
    stmt = select(RelapseEvaluation).where(RelapseEvaluation.patient_id == patient_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.scalar(stmt)


def evaluation_fingerprints(db: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    stmt = select(RelapseEvaluation.patient_id, RelapseEvaluation.fingerprint).where(
        RelapseEvaluation.patient_id.in_(list(patient_ids)))
    return {key: value for key, value in db.execute(stmt)}


def transitions(db: Session, patient_id: int, limit: int = 20) -> list[RelapseTransition]:
    stmt = (select(RelapseTransition).where(RelapseTransition.patient_id == patient_id)
            .order_by(RelapseTransition.created_at.desc(), RelapseTransition.id.desc()).limit(limit))
    return list(db.scalars(stmt))


def clinic_states(db: Session, clinic_id: int, state: str | None = None, limit: int | None = None
                  ) -> list[tuple[RelapseEvaluation, Patient]]:
    """Active patients' latest evaluations (of one state), most recent change first."""
    stmt = (select(RelapseEvaluation, Patient).join(Patient, Patient.id == RelapseEvaluation.patient_id)
            .where(RelapseEvaluation.clinic_id == clinic_id, Patient.clinic_id == clinic_id,
                   Patient.status.not_in(INACTIVE_PATIENT_STATUSES))
            .order_by(RelapseEvaluation.state_since.desc(), RelapseEvaluation.patient_id).limit(limit))
    if state is not None:
        stmt = stmt.where(RelapseEvaluation.state == state)
    return [(e, p) for e, p in db.execute(stmt)]


def clinic_state_counts(db: Session, clinic_id: int) -> dict[str, int]:
    stmt = (select(RelapseEvaluation.state, func.count()).join(Patient, Patient.id == RelapseEvaluation.patient_id)
            .where(RelapseEvaluation.clinic_id == clinic_id, Patient.clinic_id == clinic_id,
                   Patient.status.not_in(INACTIVE_PATIENT_STATUSES))
            .group_by(RelapseEvaluation.state))
    return {state: count for state, count in db.execute(stmt)}


def safety_alerts_for(db: Session, assessment_ids: Sequence[int]) -> list[Alert]:
    """The urgent alerts the assessments service raised for these assessments (PHQ-9 item 9, C-SSRS high)."""
    ids = [i for i in assessment_ids if i is not None]
    if not ids:
        return []
    stmt = (select(Alert).where(Alert.source_type == "assessment", Alert.source_id.in_(ids))
            .order_by(Alert.created_at.desc(), Alert.id.desc()))
    return list(db.scalars(stmt))


def assessment(db: Session, assessment_id: int) -> Assessment | None:
    return db.get(Assessment, assessment_id)


def superseded_checkin_links(db: Session, patient_ids: Sequence[int] | None = None) -> list[CheckIn]:
    """Completed check-ins that point to an assessment a correction has since superseded."""
    newer = Assessment.__table__.alias("newer")
    points = [CheckIn.pcl5_assessment_id, CheckIn.phq9_assessment_id, CheckIn.cssrs_assessment_id]
    stmt = select(CheckIn).where(CheckIn.status == COMPLETED,
                                 or_(*[select(newer.c.id).where(newer.c.supersedes_id == col).exists()
                                       for col in points]))
    if patient_ids is not None:
        stmt = stmt.where(CheckIn.patient_id.in_(list(patient_ids)))
    return list(db.scalars(stmt))


def has_lost_response(db: Session, patient_id: int) -> bool:
    stmt = select(RelapseTransition.id).where(RelapseTransition.patient_id == patient_id,
                                              RelapseTransition.to_state == "act").limit(1)
    return db.scalar(stmt) is not None


def correction_of(db: Session, assessment_id: int) -> Assessment | None:
    return db.scalar(select(Assessment).where(Assessment.supersedes_id == assessment_id))


# --- Preferences ------------------------------------------------------------------------------------------------


def preference(db: Session, patient_id: int) -> CheckinPreference | None:
    return db.scalar(select(CheckinPreference).where(CheckinPreference.patient_id == patient_id))


def preferences_for(db: Session, patient_ids: Sequence[int]) -> dict[int, CheckinPreference]:
    stmt = select(CheckinPreference).where(CheckinPreference.patient_id.in_(list(patient_ids)))
    return {p.patient_id: p for p in db.scalars(stmt)}


# --- Boosters ---------------------------------------------------------------------------------------------------


def open_proposal(db: Session, patient_id: int) -> BoosterProposal | None:
    stmt = select(BoosterProposal).where(BoosterProposal.patient_id == patient_id,
                                         BoosterProposal.status.in_((ProposalStatus.PROPOSED.value,
                                                                     ProposalStatus.ACCEPTED.value)))
    return db.scalars(stmt.order_by(BoosterProposal.id.desc())).first()


def proposals_for(db: Session, patient_id: int) -> list[BoosterProposal]:
    return list(db.scalars(select(BoosterProposal).where(BoosterProposal.patient_id == patient_id)
                           .order_by(BoosterProposal.id.desc())))


def proposal(db: Session, proposal_id: int) -> BoosterProposal | None:
    return db.get(BoosterProposal, proposal_id)


def clinic_proposals(db: Session, clinic_id: int, statuses: Iterable[str]) -> list[tuple[BoosterProposal, Patient]]:
    stmt = (select(BoosterProposal, Patient).join(Patient, Patient.id == BoosterProposal.patient_id)
            .where(BoosterProposal.clinic_id == clinic_id, BoosterProposal.status.in_(list(statuses)))
            .order_by(BoosterProposal.window_start, BoosterProposal.id))
    return [(b, p) for b, p in db.execute(stmt)]


def clinic_requests(db: Session, clinic_id: int, statuses: Iterable[str] | None = None
                    ) -> list[tuple[BoosterRequest, Patient]]:
    stmt = (select(BoosterRequest, Patient).join(Patient, Patient.id == BoosterRequest.patient_id)
            .where(BoosterRequest.clinic_id == clinic_id))
    if statuses is not None:
        stmt = stmt.where(BoosterRequest.status.in_(list(statuses)))
    return [(r, p) for r, p in db.execute(stmt.order_by(BoosterRequest.window_start, BoosterRequest.id))]


def patient_requests(db: Session, clinic_id: int, patient_id: int) -> list[BoosterRequest]:
    """A patient's booster requests at a clinic, in the order ``clinic_requests`` lists them."""
    return list(db.scalars(select(BoosterRequest).where(BoosterRequest.clinic_id == clinic_id,
                                                        BoosterRequest.patient_id == patient_id)
                           .order_by(BoosterRequest.window_start, BoosterRequest.id)))


def request_for_proposal(db: Session, proposal_id: int) -> BoosterRequest | None:
    return db.scalar(select(BoosterRequest).where(BoosterRequest.proposal_id == proposal_id))


# --- Sweep runs -------------------------------------------------------------------------------------------------


def last_sweep(db: Session, finished: bool = True) -> SweepRun | None:
    stmt = select(SweepRun)
    if finished:
        stmt = stmt.where(SweepRun.finished_at.is_not(None), SweepRun.error.is_(None))
    return db.scalars(stmt.order_by(SweepRun.started_at.desc(), SweepRun.id.desc())).first()


def running_sweep(db: Session, started_after: datetime) -> SweepRun | None:
    stmt = select(SweepRun).where(SweepRun.finished_at.is_(None), SweepRun.started_at > started_after)
    return db.scalars(stmt.order_by(SweepRun.id.desc())).first()


def last_full_sweep(db: Session) -> SweepRun | None:
    runs = db.scalars(select(SweepRun).where(SweepRun.finished_at.is_not(None), SweepRun.error.is_(None))
                      .order_by(SweepRun.started_at.desc(), SweepRun.id.desc()).limit(50))
    return next((r for r in runs if (r.summary or {}).get("full")), None)
