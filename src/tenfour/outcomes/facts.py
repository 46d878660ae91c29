"""Each course's outcome facts (``outcomes.models.CourseOutcome``), recounted in the database for the courses whose
stored facts no longer hold, so that a view of the dashboard only adds up one small row per course.

A course is recounted when it has no facts yet, when it or any of its check-ins was written since (the triggers'
``changes``), when the clinic's rules changed (``rules_key``), or when its as-of day no longer holds (a view for an
earlier day, or a dated input — a check-in or booster after the day it was counted for — has come into view).
Every view (page, API, CLI, plot) recounts what is stale first (``refresh``), so the dashboard never shows facts
older than its sources; the sweep calls the same after evaluating patients, so views rarely have anything to do.

The per-course statements are the set-based ones of issue 8, restricted to a batch of courses: the course
infusions from the ``infusions`` JSON; the scored check-ins (full PCL-5s since the course began, up to the as-of
day) read and sorted once in history order, with window functions numbering them, marking the last score of each
day and week, and carrying the position of the last responding score after the course end (which reproduces
``core.relapse.loss_of_response_date``). One ``INSERT ... SELECT`` per batch writes them (nothing per course passes
through Python). PostgreSQL and SQLite alike (``outcomes.sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, distinct, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from tenfour.assessments.models import Assessment
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.core.checkin_schedule import CheckInKind, CheckInStatus
from tenfour.infusions.models import InfusionAdverseEvent, InfusionSession, InfusionVitals
from tenfour.outcomes import sql
from tenfour.outcomes.models import CourseOutcome, InfusionOutcome
from tenfour.outcomes.selection import ClinicScope

COMPLETED, MISSED, PENDING = CheckInStatus.COMPLETED.value, CheckInStatus.MISSED.value, CheckInStatus.PENDING.value
FIRST_24H = CheckInKind.AFTER_FIRST_INFUSION.value
NOTIFY_LEVELS = ("notify", "stop")  # core.vitals levels at or above the notify line during an infusion
# Up to this many stale courses (or sessions) are recounted by their ids: an IN list and a range of ids the planner
# can scan the check-ins' index by. More: by the stale condition itself, reading the clinic's check-ins in one pass
# (at 100,000 patients that is cheaper than index scans for a few thousand courses or more).
IN_LIST_LIMIT = 5_000
COURSE_COLUMNS = ("clinic_id", "patient_id", "plan_id", "is_current", "started", "course_start", "course_end",
                  "infusions_planned", "baseline")
FACT_COLUMNS = ("given_course", "first_booster", "best", "responded", "loss_day", "last_day", "h24_score",
                "h24_completed", "h24_missed", "h24_pending", "checkins_completed", "checkins_missed")


def rules_key(scope: ClinicScope) -> str:
    """The clinic rules the stored facts depend on: the response % and the loss-of-response run."""
    rules = scope.rules.relapse
    return f"{float(rules.response_reduction_pct):g}%:{rules.act_consecutive_checkins}"


def ended(k: Any, as_of: date) -> ColumnElement[bool]:
    return and_(k.course_end.is_not(None), k.course_end <= as_of)


def _changed(o: Any) -> ColumnElement[bool]:
    """Written since it was counted (or never counted): the partial index ``ix_*_outcomes_stale`` finds these."""
    return or_(o.computed_changes.is_(None), o.computed_changes != o.changes)


def _outdated(o: Any, scope: ClinicScope) -> ColumnElement[bool]:
    """Counted under other rules, or for an as-of day that no longer holds."""
    return or_(o.rules_key != rules_key(scope), o.computed_as_of > scope.as_of, o.valid_until <= scope.as_of)


def _holds(o: Any, scope: ClinicScope) -> ColumnElement[bool]:
    """The stored facts hold: the exact complement of ``_changed`` or ``_outdated`` (NULL-safe: rows never counted
    have no facts, and every counted row has its rules and as-of day)."""
    return and_(o.computed_changes.is_not(None), o.computed_changes == o.changes, o.rules_key == rules_key(scope),
                o.computed_as_of <= scope.as_of, or_(o.valid_until.is_(None), o.valid_until > scope.as_of))


def stale_course_ids(db: Session, scope: ClinicScope) -> list[int]:
    """The clinic's courses whose stored facts do not hold: written since, counted under other rules, or for an
    as-of day that no longer holds. (Every course has a row: the triggers add one when a course is created.)"""
    c, o = CheckinCourse, CourseOutcome
    changed = select(o.course_id).join(c, c.id == o.course_id).where(c.clinic_id == scope.clinic_id, _changed(o))
    outdated = select(o.course_id).where(o.clinic_id == scope.clinic_id, o.computed_changes.is_not(None),
                                         _outdated(o, scope))
    return sorted(set(db.scalars(changed)) | set(db.scalars(outdated)))


def stale_session_ids(db: Session, clinic_id: int) -> list[int]:
    s, o = InfusionSession, InfusionOutcome
    return sorted(db.scalars(select(o.session_id).join(s, s.id == o.session_id)
                             .where(s.clinic_id == clinic_id, _changed(o))))


def refresh(db: Session, scope: ClinicScope, now: datetime) -> int:
    """Recount the stale courses and infusion sessions of one clinic (flushes; never commits). Returns how many
    courses were recounted. Up to ``IN_LIST_LIMIT`` of them: one statement for those ids (index scans of their
    check-ins); more (a first count, a change of the clinic's rules): one statement for every stale one of the
    clinic, its check-ins read in one pass."""
    dialect = sql.prepare(db)
    ids = stale_course_ids(db, scope)
    if ids:
        _recount(db, dialect, scope, ids if len(ids) <= IN_LIST_LIMIT else None, now)
    sessions = stale_session_ids(db, scope.clinic_id)
    if sessions:
        _recount_sessions(db, dialect, scope.clinic_id, sessions if len(sessions) <= IN_LIST_LIMIT else None)
    return len(ids)


# --- Counting without writing (a read-only replica) ----------------------------------------------------------------
# A read replica cannot store recounted facts, and it replays the primary's writes late: the recount of a view is
# written on the primary (``refresh``, in the request's transaction, or by the sweep) and reaches the replica only
# after that commit has been replayed. Until then the replica still sees those courses as stale. Instead of adding
# up their old facts, a view on the replica counts them from their records there, in the same statement: the stored
# rows that hold, UNION ALL the very SELECT ``refresh`` would have stored for the stale ones. The numbers are then
# exactly what the replica's records say (no older than its replay lag, which the page shows).

COURSE_FACT_COLUMNS = ("course_id", "changes", "computed_changes", *COURSE_COLUMNS, "rules_key", "computed_as_of",
                       "valid_until", "computed_at", *FACT_COLUMNS, "weekly")
SESSION_FACT_COLUMNS = ("session_id", "changes", "computed_changes", "clinic_id", "patient_id", "plan_id",
                        "infusion_started_at", "stopped_early", "notify", "cadss_total", "adverse")


def courses_now(db: Session, scope: ClinicScope, now: datetime) -> tuple[Any, int]:
    """The clinic's ``course_outcomes`` rows as ``refresh`` would leave them, read without writing: a subquery with
    the table's columns, and how many courses in it were counted from their records (stale in this database)."""
    dialect = sql.prepare(db)
    o = CourseOutcome
    stored = select(*(getattr(o, c) for c in COURSE_FACT_COLUMNS)).where(o.clinic_id == scope.clinic_id,
                                                                        _holds(o, scope))
    ids = stale_course_ids(db, scope)
    if not ids:
        return stored.subquery("course_outcomes_now"), 0
    recounted = _facts_select(dialect, scope, ids if len(ids) <= IN_LIST_LIMIT else None, now)
    return stored.union_all(recounted).subquery("course_outcomes_now"), len(ids)


def sessions_now(db: Session, clinic_id: int) -> Any:
    """The clinic's ``infusion_outcomes`` rows as ``refresh`` would leave them, read without writing."""
    dialect = sql.prepare(db)
    o = InfusionOutcome
    stored = select(*(getattr(o, c) for c in SESSION_FACT_COLUMNS)).where(
        o.clinic_id == clinic_id, o.computed_changes.is_not(None), o.computed_changes == o.changes)
    ids = stale_session_ids(db, clinic_id)
    if not ids:
        return stored.subquery("infusion_outcomes_now")
    recounted = _session_facts_select(dialect, clinic_id, ids if len(ids) <= IN_LIST_LIMIT else None)
    return stored.union_all(recounted).subquery("infusion_outcomes_now")


# --- The per-course statements ------------------------------------------------------------------------------------


def _batch(scope: ClinicScope, course_ids: Sequence[int] | None) -> Any:
    """The courses to recount — these ids, or (None) every stale course of the clinic — with the ``changes`` their
    stored row has now (read in the same statement)."""
    c, o = CheckinCourse, CourseOutcome
    stmt = (select(c.id.label("course_id"), c.baseline_pcl5.label("baseline"), c.course_start, c.course_end,
                   c.timezone, c.clinic_id, c.patient_id, c.plan_id, c.is_current, c.started, c.infusions_planned,
                   func.coalesce(o.changes, 0).label("changes"))
            .outerjoin(o, o.course_id == c.id))
    if course_ids is None:
        return stmt.where(c.clinic_id == scope.clinic_id, or_(_changed(o), _outdated(o, scope))).cte("batch")
    return stmt.where(c.id.in_(list(course_ids))).cte("batch")


def _course_infusions(dialect: str, cohort: Any, as_of: date) -> Any:
    """Per course, from its ``infusions`` JSON (what the check-in schedule follows): the course infusions given, the
    first booster given after the course end (its local day), as ``checkins.boosters.treatment_ends`` reads it, and
    the first booster day after the as-of day (from then on the stored facts no longer hold)."""
    k = cohort.c
    elements, at, given, booster = sql.infusion_elements(dialect, CheckinCourse.infusions)
    day = sql.local_day(at, k.timezone)
    return (select(k.course_id,
                   func.sum(case((and_(given, ~booster), 1), else_=0)).label("given_course"),
                   func.min(case((and_(given, booster, ended(k, as_of), day > k.course_end, day <= as_of), day)))
                   .label("first_booster"),
                   func.min(case((and_(given, booster, day > as_of), day))).label("next_booster"))
            .select_from(cohort).join(CheckinCourse, CheckinCourse.id == k.course_id).join(elements, true())
            .group_by(k.course_id).cte("course_infusions"))


def _history(cohort: Any, infusions: Any, scope: ClinicScope, span: tuple[int, int] | None) -> Any:
    """The scored check-ins of the batch — full PCL-5s since the course began, up to the as-of day, of courses with a
    baseline: what core.relapse sees — read and sorted once, in history order (day, time of submission, id).

    Each row carries: ``pos`` (its place in the history), ``day_end``/``week_end`` (the last score of its day or week),
    ``post`` (after the course end, up to the first booster), ``responds`` (meets the response rule),
    ``first_24h`` (the first score of a 24-hour check-in), and ``last_response_pos`` (where the last responding score
    after the course end was: core.relapse.loss_of_response_date counts the non-responding scores since it)."""
    as_of = scope.as_of
    pct = scope.rules.relapse.response_reduction_pct
    k, i = cohort.c, infusions.c
    ck = CheckIn
    post = and_(ended(k, as_of), ck.completed_on > k.course_end,
                or_(i.first_booster.is_(None), ck.completed_on <= i.first_booster))
    scored = (select(ck.course_id, ck.completed_on, ck.completed_at, ck.id.label("checkin_id"),
                     ck.pcl5_total.label("pcl5"), case((ck.kind == FIRST_24H, 1), else_=0).label("first"),
                     case((post, 1), else_=0).label("post"),
                     case((ck.pcl5_total * 100 <= k.baseline * (100 - pct), 1), else_=0).label("responds"),
                     (sql.days_between(ck.completed_on, k.course_start) // 7).label("week"))
              .join(cohort, k.course_id == ck.course_id).join(infusions, i.course_id == k.course_id, isouter=True)
              .where(ck.status == COMPLETED, ck.pcl5_total.is_not(None), k.baseline.is_not(None),
                     ck.completed_on >= k.course_start, ck.completed_on <= as_of, *_within(ck, span))
              .subquery("scored"))
    r = scored.c
    window = {"partition_by": r.course_id, "order_by": (r.completed_on, r.completed_at, r.checkin_id),
              "rows": (None, 0)}
    numbered = select(
        r.course_id, r.completed_on, r.completed_at, r.checkin_id, r.pcl5, r.post, r.responds, r.week,
        func.row_number().over(**window).label("pos"),
        case((func.lead(r.completed_on).over(**window) == r.completed_on, 0), else_=1).label("day_end"),
        case((func.lead(r.week).over(**window) == r.week, 0), else_=1).label("week_end"),
        case((and_(r.first == 1, func.sum(r.first).over(**window) == 1), 1), else_=0).label("first_24h"),
    ).subquery("numbered")
    n = numbered.c
    return select(
        n.course_id, n.completed_on, n.pcl5, n.post, n.responds, n.week, n.pos, n.day_end, n.week_end, n.first_24h,
        func.max(case((and_(n.post == 1, n.responds == 1), n.pos)))
        .over(partition_by=n.course_id, order_by=(n.completed_on, n.completed_at, n.checkin_id), rows=(None, 0))
        .label("last_response_pos"),
    ).cte("history")


def _checkin_counts(cohort: Any, as_of: date, span: tuple[int, int] | None) -> Any:
    """Per course: check-ins answered and missed, the states of its 24-hour check-ins (None: it has none), and the
    first day after the as-of day with a full PCL-5 (from then on the stored facts no longer hold)."""
    k, ck = cohort.c, CheckIn

    def flag(condition: ColumnElement[bool]) -> Any:
        return func.max(case((ck.kind == FIRST_24H, case((condition, 1), else_=0))))

    return (select(ck.course_id,
                   func.sum(case((ck.status == COMPLETED, 1), else_=0)).label("completed"),
                   func.sum(case((ck.status == MISSED, 1), else_=0)).label("missed"),
                   flag(ck.status == COMPLETED).label("h24_completed"), flag(ck.status == MISSED).label("h24_missed"),
                   flag(ck.status == PENDING).label("h24_pending"),
                   func.min(case((and_(ck.status == COMPLETED, ck.pcl5_total.is_not(None), ck.completed_on > as_of),
                                  ck.completed_on))).label("next_score"))
            .join(cohort, k.course_id == ck.course_id).where(*_within(ck, span))
            .group_by(ck.course_id).subquery("checkin_counts"))


def _within(ck: Any, span: tuple[int, int] | None) -> list[ColumnElement[bool]]:
    """The check-ins of a range of course ids: a range the planner can scan the check-ins' index by."""
    return [] if span is None else [ck.course_id.between(*span)]


def _earliest(a: Any, b: Any) -> Any:
    """The earlier of two days, either of which may be None (LEAST treats NULL differently per dialect)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _facts_select(dialect: str, scope: ClinicScope, course_ids: Sequence[int] | None, now: datetime) -> Any:
    """The facts of each course of the batch (None: every stale course of the clinic), as a SELECT."""
    as_of = scope.as_of
    cohort = _batch(scope, course_ids)
    infusions = _course_infusions(dialect, cohort, as_of)
    span = (min(course_ids), max(course_ids)) if course_ids else None
    history = _history(cohort, infusions, scope, span)
    k, i, h = cohort.c, infusions.c, history.c
    run = scope.rules.relapse.act_consecutive_checkins
    lost_here = and_(h.post == 1, h.day_end == 1, h.last_response_pos.is_not(None),
                     h.pos - h.last_response_pos >= run)
    pair = cast(h.week, String) + ":" + cast(h.pcl5, String)
    weekly = (func.string_agg(case((h.week_end == 1, pair)), literal(",")) if dialect == "postgresql"
              else func.group_concat(case((h.week_end == 1, pair))))
    per_course = select(
        h.course_id,
        weekly.label("weekly"),
        func.min(h.pcl5).label("best"),
        func.max(case((h.post == 1, h.responds))).label("responded"),
        func.min(case((lost_here, h.completed_on))).label("loss_day"),
        func.max(case((h.post == 1, h.completed_on))).label("last_day"),
        func.max(case((h.first_24h == 1, h.pcl5))).label("h24_score"),
    ).group_by(h.course_id).subquery("per_course")
    p = per_course.c
    checkin_counts = _checkin_counts(cohort, as_of, span)
    counts = checkin_counts.c
    facts = (select(k.course_id, k.changes.label("changes"), k.changes.label("computed_changes"),
                    *(getattr(k, c) for c in COURSE_COLUMNS),
                    literal(rules_key(scope)).label("rules_key"), literal(as_of).label("computed_as_of"),
                    _earliest(i.next_booster, counts.next_score).label("valid_until"),
                    literal(now, CourseOutcome.computed_at.type).label("computed_at"),
                    func.coalesce(i.given_course, 0).label("given_course"), i.first_booster, p.best, p.responded,
                    p.loss_day, p.last_day, p.h24_score, counts.h24_completed, counts.h24_missed, counts.h24_pending,
                    func.coalesce(counts.completed, 0).label("checkins_completed"),
                    func.coalesce(counts.missed, 0).label("checkins_missed"), p.weekly)
             .select_from(cohort)
             .join(infusions, i.course_id == k.course_id, isouter=True)
             .join(per_course, p.course_id == k.course_id, isouter=True)
             .join(checkin_counts, counts.course_id == k.course_id, isouter=True)
             .where(k.course_id.is_not(None)))  # SQLite: a WHERE before ON CONFLICT (the upsert's parsing rule)
    return facts


def _recount(db: Session, dialect: str, scope: ClinicScope, course_ids: Sequence[int] | None, now: datetime) -> None:
    db.execute(_upsert(dialect, CourseOutcome, CourseOutcome.course_id, list(COURSE_FACT_COLUMNS),
                       _facts_select(dialect, scope, course_ids, now)))


def _upsert(dialect: str, model: Any, key: Any, columns: list[str], source: Any) -> Any:
    """INSERT ... SELECT, updating existing rows — only if no write was counted since the statement read the
    sources: a write that commits meanwhile leaves the row stale (recounted by the next view), never silently
    behind."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    upsert = insert(model).from_select(columns, source)
    kept = [c for c in columns if c not in (key.key, "changes")]
    return upsert.on_conflict_do_update(index_elements=[key], set_={c: getattr(upsert.excluded, c) for c in kept},
                                        where=model.changes == upsert.excluded.computed_changes)


# --- Each infusion's safety facts -------------------------------------------------------------------------------


def _recount_sessions(db: Session, dialect: str, clinic_id: int, session_ids: Sequence[int] | None) -> None:
    db.execute(_upsert(dialect, InfusionOutcome, InfusionOutcome.session_id, list(SESSION_FACT_COLUMNS),
                       _session_facts_select(dialect, clinic_id, session_ids)))


def _session_facts_select(dialect: str, clinic_id: int, session_ids: Sequence[int] | None) -> Any:
    """The sessions' safety facts (these ids, or None: every stale session of the clinic), as a SELECT: stopped
    early, a reading at the notify line, the CADSS-6 total, the distinct adverse event types."""
    s, o, ae, v = InfusionSession, InfusionOutcome, InfusionAdverseEvent, InfusionVitals
    kinds = (func.string_agg(distinct(ae.event_type), literal(",")) if dialect == "postgresql"
             else func.group_concat(distinct(ae.event_type)))
    adverse = select(ae.session_id, kinds.label("kinds")).group_by(ae.session_id)
    which = [s.clinic_id == clinic_id, _changed(o)] if session_ids is None else [s.id.in_(list(session_ids))]
    if session_ids is not None:
        adverse = adverse.where(ae.session_id.in_(list(session_ids)))
    adverse = adverse.subquery("adverse")
    notify = (select(v.id).where(v.session_id == s.id, v.level.in_(NOTIFY_LEVELS)).exists())
    return (select(s.id.label("session_id"), o.changes.label("changes"), o.changes.label("computed_changes"),
                   s.clinic_id, s.patient_id, s.plan_id, s.infusion_started_at, s.stopped_early,
                   case((notify, 1), else_=0).label("notify"), Assessment.total.label("cadss_total"),
                   adverse.c.kinds.label("adverse"))
            .join(o, o.session_id == s.id)
            .outerjoin(Assessment, Assessment.id == s.cadss_assessment_id)
            .outerjoin(adverse, adverse.c.session_id == s.id)
            .where(*which))
