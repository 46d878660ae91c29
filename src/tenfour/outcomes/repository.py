"""The outcomes queries: a clinic's cohort counted in the database, set-based (no query or loop per patient).

Per clinic, first the courses whose stored facts no longer hold are recounted (``outcomes.facts``: one row per course
kept current, the windowed check-in statements run only for what changed), then three statements:

- courses: the started current courses that match the filters, joined with their stored facts (infusions given, first
  booster after the course, best PCL-5, responded, loss of response, last day seen, the 24-hour check-in, answered and
  missed check-ins); whether a course has ended is judged here, on the as-of day. Everything
  comes back as small grouped counts ``(kind, key1, key2, n)`` — never one row per patient;
- the funnel (referrals, the latest eligibility decision of each patient);
- safety: the infusions given, from their stored safety facts (stopped early, a reading at the notify line, adverse
  event types, CADSS-6 total), grouped by their adverse event types.

The trajectory plot's weekly scores are counted separately (``count_trajectory``), from each course's stored
"week:score" list.

``outcomes.reference`` counts the same patient by patient; both fill ``tallies.Tallies`` and must agree exactly
(tests/integration/test_outcomes_identity.py; bench/outcomes_bench.py at scale). Works on PostgreSQL and SQLite: the
date arithmetic, the local day of an instant and the JSON array walk are compiled per dialect (``outcomes.sql``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from tenfour.checkins import clock
from tenfour.core.checkin_schedule import CheckInKind, CheckInStatus
from tenfour.core.claims import FOURTEEN_WEEKS_DAYS
from tenfour.eligibility.models import EligibilityDecision
from tenfour.outcomes import facts, sql
from tenfour.outcomes import tallies as tally
from tenfour.outcomes.models import CourseOutcome, InfusionOutcome
from tenfour.outcomes.selection import ClinicScope, Selection
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.referrals.models import Referral

COMPLETED, MISSED, PENDING = CheckInStatus.COMPLETED.value, CheckInStatus.MISSED.value, CheckInStatus.PENDING.value
FIRST_24H = CheckInKind.AFTER_FIRST_INFUSION.value
NOTIFY_LEVELS = facts.NOTIFY_LEVELS


# --- The cohort -----------------------------------------------------------------------------------------------


def _patient_filters(selection: Selection) -> list[ColumnElement[bool]]:
    conditions = []
    if selection.responder_role:
        conditions.append(Patient.responder_role == selection.responder_role)
    if selection.agency:
        conditions.append(Patient.agency == selection.agency)
    return conditions


def _matching(stmt: Any, row: Any, selection: Selection) -> Any:
    """``stmt`` over stored outcome rows ``row`` (courses or infusions), narrowed to the patients and protocol chosen:
    the patients and plans are joined as they are now (their role, agency and protocol are not stored)."""
    conditions = _patient_filters(selection)
    if conditions:
        stmt = stmt.join(Patient, Patient.id == row.patient_id).where(*conditions)
    if selection.protocol:
        stmt = stmt.join(TreatmentPlan, TreatmentPlan.id == row.plan_id).where(
            TreatmentPlan.protocol == selection.protocol)
    return stmt


def _kind(name: str) -> ColumnElement[str]:
    return cast(literal(name), String(20))


def _rows(kind: str, key1: Any, key2: Any, n: Any) -> list[Any]:
    return [_kind(kind).label("kind"), cast(key1, Integer).label("key1"), cast(key2, Integer).label("key2"),
            cast(n, BigInteger).label("n")]


def _facts(scope: ClinicScope, selection: Selection, weekly: bool = False, rows: Any = None) -> Any:
    """One row per started current course of the clinic that matches the filters: its stored facts
    (``outcomes.facts``, recounted first where stale) and whether it has ended by the as-of day. ``rows``: the
    facts to read instead of the table (``facts.courses_now``, on a read-only replica)."""
    o = CourseOutcome if rows is None else rows.c
    stmt = select(o.course_id, o.baseline, o.course_start, o.course_end, o.infusions_planned,
                  func.coalesce(o.given_course, 0).label("given_course"), o.first_booster, o.best, o.responded,
                  o.loss_day, o.last_day, o.h24_score, o.h24_completed, o.h24_missed, o.h24_pending,
                  o.checkins_completed, o.checkins_missed,
                  case((facts.ended(o, scope.as_of), 1), else_=0).label("ended"))
    if weekly:
        stmt = stmt.add_columns(o.weekly)
    stmt = _matching(stmt, o, selection).where(o.clinic_id == scope.clinic_id, o.is_current.is_(True),
                                               o.started.is_(True), o.course_start.is_not(None),
                                               o.computed_changes.is_not(None))
    if selection.period_from:
        stmt = stmt.where(o.course_start >= selection.period_from)
    if selection.period_to:
        stmt = stmt.where(o.course_start <= selection.period_to)
    return stmt.cte("facts")


def _course_statement(scope: ClinicScope, selection: Selection, rows: Any = None) -> Any:
    """The cohort's courses added up from their stored facts: one row of plain counts (``TOTALS``), then grouped
    counts ``(kind, key1, key2, n)`` — never one row per patient."""
    as_of = scope.as_of
    facts_cte = _facts(scope, selection, rows=rows)
    f = facts_cte.c
    with_baseline = f.baseline.is_not(None)
    judged = and_(with_baseline, f.ended == 1)
    need_day = case((and_(f.loss_day.is_not(None), or_(f.first_booster.is_(None), f.loss_day < f.first_booster)),
                     f.loss_day), else_=f.first_booster)
    full_window = f.course_end <= as_of - timedelta(days=FOURTEEN_WEEKS_DAYS)

    def total(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    # The plain counts in one pass over the courses (then unpivoted by ``_read_courses``).
    totals = {
        "started": func.count(),
        "completed_induction": total(f.given_course >= f.infusions_planned),
        "no_baseline": total(~with_baseline),
        "in_progress": total(and_(with_baseline, f.ended == 0)),
        "ended_no_score": total(and_(judged, f.best.is_(None))),
        "booster_followed": total(judged),
        "booster_needed": total(and_(judged, need_day.is_not(None))),
        "booster_full_window": total(and_(judged, full_window)),
        "booster_needed_14w": total(and_(judged, full_window, need_day.is_not(None),
                                         sql.days_between(need_day, f.course_end) <= FOURTEEN_WEEKS_DAYS)),
        "checkins_completed": func.coalesce(func.sum(f.checkins_completed), 0),
        "checkins_missed": func.coalesce(func.sum(f.checkins_missed), 0),
    }
    packed = select(*_rows("totals", null(), null(), literal(0)),
                    *(cast(value, BigInteger).label(name) for name, value in totals.items())).select_from(facts_cte)
    assert tuple(totals) == TOTALS
    width = len(totals)
    best_pairs = (select(*_rows("best", f.baseline, f.best, func.count()))
                  .where(judged, f.best.is_not(None)).group_by(f.baseline, f.best))
    duration = sql.days_between(func.coalesce(f.loss_day, f.last_day), f.course_end)
    lost = case((f.loss_day.is_not(None), 1), else_=0)
    survival = (select(*_rows("survival", duration, lost, func.count()))
                .where(f.responded == 1).group_by(duration, lost))

    # The 24-hour check-in of each course with a baseline: its first full PCL-5, or why there is none.
    has_score = f.h24_score.is_not(None)
    h24_kind = case((has_score, "h24"), (f.h24_completed == 1, "h24:" + tally.H24_SHORT_FORM),
                    (f.h24_missed == 1, "h24:" + tally.H24_MISSED), (f.h24_pending == 1, "h24:" + tally.H24_PENDING),
                    else_="h24:" + tally.H24_NOT_SCHEDULED)
    h24_baseline, h24_score = case((has_score, f.baseline)), case((has_score, f.h24_score))
    h24 = (select(cast(h24_kind, String(20)).label("kind"), cast(h24_baseline, Integer).label("key1"),
                  cast(h24_score, Integer).label("key2"), cast(func.count(), BigInteger).label("n"))
           .where(with_baseline).group_by(h24_kind, h24_baseline, h24_score))

    grouped = [stmt.add_columns(*(cast(null(), BigInteger) for _ in range(width)))
               for stmt in (best_pairs, survival, h24)]
    return union_all(packed, *grouped)


def count_trajectory(db: Session, scope: ClinicScope, selection: Selection,
                     rows: Any = None) -> Counter[tuple[int, int]]:
    """PCL-5 by week since the first infusion — the latest score of each week, and the baselines as week -1 —
    as ``(week, score) -> patients``, from the courses' stored weekly scores (for the trajectory plot)."""
    f = _facts(scope, selection, weekly=True, rows=rows).c
    out: Counter[tuple[int, int]] = Counter()
    for baseline, n in db.execute(select(f.baseline, func.count()).where(f.baseline.is_not(None))
                                  .group_by(f.baseline)):
        out[(tally.BASELINE_WEEK, baseline)] += n
    pairs: Counter[str] = Counter()
    for (weekly,) in db.execute(select(f.weekly).where(f.weekly.is_not(None))):
        pairs.update(weekly.split(","))
    for pair, n in pairs.items():
        week, score = pair.split(":")
        out[(int(week), int(score))] += n
    return out


TOTALS = ("started", "completed_induction", "no_baseline", "in_progress", "ended_no_score", "booster_followed",
          "booster_needed", "booster_full_window", "booster_needed_14w", "checkins_completed", "checkins_missed")


def _read_courses(t: tally.Tallies, rows: Iterator[Any], rules: tally.ClinicRules) -> None:
    for kind, key1, key2, count, *totals in rows:
        n = int(count)
        if kind == "totals":
            for name, value in zip(TOTALS, totals, strict=True):
                setattr(t, name, getattr(t, name) + int(value))
        elif kind == "best":
            tally.add_best(t, key1, key2, n, rules)
        elif kind == "survival":
            t.survival[(key1, bool(key2))] += n
        elif kind == "h24":
            tally.add_24h(t, key1, key2, n, rules)
        elif kind.startswith("h24:"):
            t.h24_missing[kind.removeprefix("h24:")] += n
        else:  # pragma: no cover - the statement above names every kind
            raise AssertionError(f"unknown row kind {kind!r}")


# --- Funnel and safety ------------------------------------------------------------------------------------------


def _funnel(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection) -> None:
    start, end = scope.instants(selection)
    r = Referral
    referrals = select(func.count()).select_from(r).where(r.clinic_id == scope.clinic_id)
    if selection.responder_role or selection.agency:  # the patients are read only to filter by them
        referrals = referrals.outerjoin(Patient, Patient.id == r.patient_id)
    if selection.responder_role:
        referrals = referrals.where(func.coalesce(Patient.responder_role, r.responder_role) == selection.responder_role)
    if selection.agency:
        referrals = referrals.where(func.coalesce(Patient.agency, r.agency) == selection.agency)
    if start:
        referrals = referrals.where(r.created_at >= start)
    if end:
        referrals = referrals.where(r.created_at < end)
    t.referred += db.scalar(referrals) or 0

    d = EligibilityDecision
    latest = (select(func.max(d.id).label("id")).where(d.clinic_id == scope.clinic_id).group_by(d.patient_id)
              .subquery("latest_decision"))
    final = func.coalesce(d.override_outcome, d.outcome)
    decisions = (select(func.count(), func.coalesce(func.sum(case((final == "eligible", 1), else_=0)), 0))
                 .select_from(latest).join(d, d.id == latest.c.id))
    if _patient_filters(selection):  # every decision has its patient (a foreign key): joined only to filter
        decisions = decisions.join(Patient, Patient.id == d.patient_id).where(*_patient_filters(selection))
    if start:
        decisions = decisions.where(d.created_at >= start)
    if end:
        decisions = decisions.where(d.created_at < end)
    decided, eligible = db.execute(decisions).one()
    t.eligibility_decided += decided
    t.eligible += eligible


def _safety(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection, rows: Any = None) -> None:
    """The infusions given (in the period) from their stored safety facts, grouped by their adverse event types."""
    start, end = scope.instants(selection)
    io = InfusionOutcome if rows is None else rows.c
    stopped = func.coalesce(func.sum(case((io.stopped_early.is_(True), 1), else_=0)), 0)
    stmt = select(io.adverse, func.count(), stopped, func.coalesce(func.sum(io.notify), 0), func.count(io.cadss_total),
                  func.coalesce(func.sum(io.cadss_total), 0),
                  func.coalesce(func.sum(io.cadss_total * io.cadss_total), 0))
    stmt = _matching(stmt, io, selection).where(io.clinic_id == scope.clinic_id, io.infusion_started_at.is_not(None),
                                                io.computed_changes.is_not(None)).group_by(io.adverse)
    if start:
        stmt = stmt.where(io.infusion_started_at >= start)
    if end:
        stmt = stmt.where(io.infusion_started_at < end)
    for adverse, *counts in db.execute(stmt):
        infusions, stopped_early, notified, cadss_n, cadss_sum, cadss_sum_sq = (int(x) for x in counts)
        t.infusions += infusions
        t.stopped_early += stopped_early
        t.notify_vitals += notified
        t.cadss_n += cadss_n
        t.cadss_sum += cadss_sum
        t.cadss_sum_sq += cadss_sum_sq
        t.cadss_missing += infusions - cadss_n
        for event_type in (adverse or "").split(","):
            if event_type:
                t.adverse[event_type] += infusions


def count_clinic(db: Session, scope: ClinicScope, selection: Selection, now: datetime | None = None,
                 trajectory: bool = True) -> tuple[tally.Tallies, int]:
    """One clinic's cohort, counted in the database (see the module doc), and how many of its courses had to be
    recounted first because their stored facts no longer held. ``trajectory`` False: without the weekly scores
    (only the trajectory plot draws them; the page and the API show none of them)."""
    sql.prepare(db)
    recounted = facts.refresh(db, scope, now or clock.now())
    t = tally.Tallies()
    _read_courses(t, iter(db.execute(_course_statement(scope, selection))), scope.rules)
    if trajectory:
        t.trajectory = count_trajectory(db, scope, selection)
    _funnel(db, t, scope, selection)
    _safety(db, t, scope, selection)
    return t, recounted


def count_clinic_read_only(db: Session, scope: ClinicScope, selection: Selection, now: datetime | None = None,
                           trajectory: bool = True) -> tuple[tally.Tallies, int]:
    """``count_clinic`` without writing, for a read-only replica: the courses and infusions whose stored facts do not
    hold in this database are counted from their records in the same statements (``facts.courses_now``). Returns
    the tallies and how many courses were counted that way."""
    now = now or clock.now()
    courses, recounted = facts.courses_now(db, scope, now)
    t = tally.Tallies()
    _read_courses(t, iter(db.execute(_course_statement(scope, selection, courses))), scope.rules)
    if trajectory:
        t.trajectory = count_trajectory(db, scope, selection, courses)
    _funnel(db, t, scope, selection)
    _safety(db, t, scope, selection, facts.sessions_now(db, scope.clinic_id))
    return t, recounted


def tally_clinic(db: Session, scope: ClinicScope, selection: Selection) -> tally.Tallies:
    """One clinic's cohort, counted in the database (stale course facts recounted first)."""
    return count_clinic(db, scope, selection)[0]


def agencies(db: Session, clinic_ids: list[int]) -> list[str]:
    """The agencies named on the patients of these clinics (for the filter's choices)."""
    stmt = (select(Patient.agency).where(Patient.clinic_id.in_(clinic_ids), Patient.agency.is_not(None))
            .distinct().order_by(Patient.agency))
    return [a for a in db.scalars(stmt) if a]


def today_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()
