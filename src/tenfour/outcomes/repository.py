"""The outcomes queries: a clinic's cohort counted in the database, set-based (no query or loop per patient).

Per clinic, three statements:

- courses (one statement, its parts as CTEs): the started courses that match the filters; from each course's
  ``infusions`` JSON the course infusions given and the first booster after the course end; the best PCL-5 since the
  course began; the loss of response after the course end (window functions reproduce
  ``core.relapse.loss_of_response_date``: a running position of the last responding score and the end of each day);
  the 24-hour check-in; the latest score of each week since the first infusion. Everything comes back as small
  grouped counts ``(kind, key1, key2, n)`` — never one row per patient;
- the funnel (referrals, the latest eligibility decision of each patient);
- safety (the infusions given, stops, readings at the notify line, adverse events by type, CADSS-6 totals).

``outcomes.reference`` counts the same patient by patient; both fill ``tallies.Tallies`` and must agree exactly
(tests/integration/test_outcomes_identity.py; bench/outcomes_bench.py at scale). Works on PostgreSQL and SQLite: the
date arithmetic, the local day of an instant and the JSON array walk are compiled per dialect (``outcomes.sql``).
"""

from __future__ import annotations

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
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from tenfour.assessments.models import Assessment
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.core.checkin_schedule import CheckInKind, CheckInStatus
from tenfour.core.claims import FOURTEEN_WEEKS_DAYS
from tenfour.eligibility.models import EligibilityDecision
from tenfour.infusions.models import InfusionAdverseEvent, InfusionSession, InfusionVitals
from tenfour.outcomes import sql
from tenfour.outcomes import tallies as tally
from tenfour.outcomes.selection import ClinicScope, Selection
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.referrals.models import Referral

COMPLETED, MISSED, PENDING = CheckInStatus.COMPLETED.value, CheckInStatus.MISSED.value, CheckInStatus.PENDING.value
FIRST_24H = CheckInKind.AFTER_FIRST_INFUSION.value
NOTIFY_LEVELS = ("notify", "stop")  # core.vitals levels at or above the notify line during an infusion


# --- The cohort -----------------------------------------------------------------------------------------------


def _patient_filters(selection: Selection) -> list[ColumnElement[bool]]:
    conditions = []
    if selection.responder_role:
        conditions.append(Patient.responder_role == selection.responder_role)
    if selection.agency:
        conditions.append(Patient.agency == selection.agency)
    return conditions


def _cohort(scope: ClinicScope, selection: Selection) -> Any:
    """The started current courses of the clinic that match the filters (one per patient)."""
    c = CheckinCourse
    stmt = (select(c.id.label("course_id"), c.baseline_pcl5.label("baseline"), c.course_start, c.course_end,
                   c.infusions_planned, c.timezone)
            .join(Patient, Patient.id == c.patient_id)
            .where(c.clinic_id == scope.clinic_id, c.is_current.is_(True), c.started.is_(True),
                   c.course_start.is_not(None), *_patient_filters(selection)))
    if selection.protocol:
        stmt = stmt.join(TreatmentPlan, TreatmentPlan.id == c.plan_id).where(
            TreatmentPlan.protocol == selection.protocol)
    if selection.period_from:
        stmt = stmt.where(c.course_start >= selection.period_from)
    if selection.period_to:
        stmt = stmt.where(c.course_start <= selection.period_to)
    return stmt.cte("cohort")


def _kind(name: str) -> ColumnElement[str]:
    return cast(literal(name), String(20))


def _rows(kind: str, key1: Any, key2: Any, n: Any) -> list[Any]:
    return [_kind(kind).label("kind"), cast(key1, Integer).label("key1"), cast(key2, Integer).label("key2"),
            cast(n, BigInteger).label("n")]


def _ended(k: Any, as_of: date) -> ColumnElement[bool]:
    return and_(k.course_end.is_not(None), k.course_end <= as_of)


def _course_infusions(dialect: str, cohort: Any, as_of: date) -> Any:
    """Per course, from its ``infusions`` JSON (what the check-in schedule follows): the course infusions given, and
    the first booster given after the course end (its local day), as ``checkins.boosters.treatment_ends`` reads it."""
    k = cohort.c
    ended = _ended(k, as_of)
    elements, at, given, booster = sql.infusion_elements(dialect, CheckinCourse.infusions)
    day = sql.local_day(at, k.timezone)
    infusions = (select(k.course_id,
                        func.sum(case((and_(given, ~booster), 1), else_=0)).label("given_course"),
                        func.min(case((and_(given, booster, ended, day > k.course_end, day <= as_of), day)))
                        .label("first_booster"))
                 .select_from(cohort).join(CheckinCourse, CheckinCourse.id == k.course_id).join(elements, true())
                 .group_by(k.course_id).cte("course_infusions"))
    return infusions


def _history(cohort: Any, infusions: Any, scope: ClinicScope) -> Any:
    """The scored check-ins of the cohort — full PCL-5s since the course began, up to the as-of day, of courses with a
    baseline: what core.relapse sees — read and sorted once, in history order (day, time of submission, id).

    Each row carries: ``pos`` (its place in the history), ``day_end``/``week_end`` (the last score of its day or week),
    ``post`` (after the course end, up to the first booster), ``responds`` (meets the response rule),
    ``first_24h`` (the first score of a 24-hour check-in), and ``last_response_pos`` (where the last responding score
    after the course end was: core.relapse.loss_of_response_date counts the non-responding scores since it)."""
    as_of = scope.as_of
    pct = scope.rules.relapse.response_reduction_pct
    k, i = cohort.c, infusions.c
    ck = CheckIn
    post = and_(_ended(k, as_of), ck.completed_on > k.course_end,
                or_(i.first_booster.is_(None), ck.completed_on <= i.first_booster))
    scored = (select(ck.course_id, ck.completed_on, ck.completed_at, ck.id.label("checkin_id"),
                     ck.pcl5_total.label("pcl5"), case((ck.kind == FIRST_24H, 1), else_=0).label("first"),
                     case((post, 1), else_=0).label("post"),
                     case((ck.pcl5_total * 100 <= k.baseline * (100 - pct), 1), else_=0).label("responds"),
                     (sql.days_between(ck.completed_on, k.course_start) // 7).label("week"))
              .join(cohort, k.course_id == ck.course_id).join(infusions, i.course_id == k.course_id, isouter=True)
              .where(ck.status == COMPLETED, ck.pcl5_total.is_not(None), k.baseline.is_not(None),
                     ck.completed_on >= k.course_start, ck.completed_on <= as_of)
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


def _first_checkin(cohort: Any) -> Any:
    """Per course, the states of its 24-hour check-ins (answered, missed, still pending)."""
    k, ck = cohort.c, CheckIn
    return (select(ck.course_id,
                   func.max(case((ck.status == COMPLETED, 1), else_=0)).label("completed"),
                   func.max(case((ck.status == MISSED, 1), else_=0)).label("missed"),
                   func.max(case((ck.status == PENDING, 1), else_=0)).label("pending"))
            .join(cohort, k.course_id == ck.course_id).where(ck.kind == FIRST_24H)
            .group_by(ck.course_id).subquery("first_checkin"))


def _facts(cohort: Any, infusions: Any, history: Any, scope: ClinicScope) -> Any:
    """One row per course: its infusions, best score, loss of response after the course, 24-hour check-in."""
    k, i, h = cohort.c, infusions.c, history.c
    run = scope.rules.relapse.act_consecutive_checkins
    lost_here = and_(h.post == 1, h.day_end == 1, h.last_response_pos.is_not(None),
                     h.pos - h.last_response_pos >= run)
    per_course = select(
        h.course_id,
        func.min(h.pcl5).label("best"),
        func.max(case((h.post == 1, h.responds))).label("responded"),
        func.min(case((lost_here, h.completed_on))).label("loss_day"),
        func.max(case((h.post == 1, h.completed_on))).label("last_day"),
        func.max(case((h.first_24h == 1, h.pcl5))).label("h24_score"),
    ).group_by(h.course_id).subquery("per_course")
    p = per_course.c
    first_checkin = _first_checkin(cohort)
    first = first_checkin.c
    return (select(k.course_id, k.baseline, k.course_start, k.course_end, k.infusions_planned,
                   func.coalesce(i.given_course, 0).label("given_course"), i.first_booster, p.best, p.responded,
                   p.loss_day, p.last_day, p.h24_score, first.completed.label("h24_completed"),
                   first.missed.label("h24_missed"), first.pending.label("h24_pending"),
                   case((_ended(k, scope.as_of), 1), else_=0).label("ended"))
            .select_from(cohort)
            .join(infusions, i.course_id == k.course_id, isouter=True)
            .join(per_course, p.course_id == k.course_id, isouter=True)
            .join(first_checkin, first.course_id == k.course_id, isouter=True)
            .cte("facts"))


def _course_statement(dialect: str, scope: ClinicScope, selection: Selection) -> Any:
    as_of = scope.as_of
    cohort = _cohort(scope, selection)
    infusions = _course_infusions(dialect, cohort, as_of)
    history = _history(cohort, infusions, scope)
    facts = _facts(cohort, infusions, history, scope)
    k, h, f = cohort.c, history.c, facts.c
    with_baseline = f.baseline.is_not(None)
    judged = and_(with_baseline, f.ended == 1)
    need_day = case((and_(f.loss_day.is_not(None), or_(f.first_booster.is_(None), f.loss_day < f.first_booster)),
                     f.loss_day), else_=f.first_booster)
    full_window = f.course_end <= as_of - timedelta(days=FOURTEEN_WEEKS_DAYS)

    def total(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = [
        select(*_rows("started", null(), null(), func.count())),
        select(*_rows("completed_induction", null(), null(), total(f.given_course >= f.infusions_planned))),
        select(*_rows("no_baseline", null(), null(), total(~with_baseline))),
        select(*_rows("in_progress", null(), null(), total(and_(with_baseline, f.ended == 0)))),
        select(*_rows("ended_no_score", null(), null(), total(and_(judged, f.best.is_(None))))),
        select(*_rows("booster_followed", null(), null(), total(judged))),
        select(*_rows("booster_needed", null(), null(), total(and_(judged, need_day.is_not(None))))),
        select(*_rows("booster_full_window", null(), null(), total(and_(judged, full_window)))),
        select(*_rows("booster_needed_14w", null(), null(), total(and_(
            judged, full_window, need_day.is_not(None),
            sql.days_between(need_day, f.course_end) <= FOURTEEN_WEEKS_DAYS)))),
    ]
    counts = [stmt.select_from(facts) for stmt in counts]
    ck = CheckIn
    status_kind = case((ck.status == COMPLETED, "checkins_completed"), else_="checkins_missed")
    statuses = (select(cast(status_kind, String(20)).label("kind"), cast(null(), Integer).label("key1"),
                       cast(null(), Integer).label("key2"), cast(func.count(), BigInteger).label("n"))
                .join(cohort, k.course_id == ck.course_id).where(ck.status.in_((COMPLETED, MISSED)))
                .group_by(status_kind))
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

    # The latest score of each week since the first infusion, and the baselines (week -1).
    trajectory = (select(*_rows("trajectory", h.week, h.pcl5, func.count()))
                  .where(h.week_end == 1).group_by(h.week, h.pcl5))
    baselines = (select(*_rows("trajectory", literal(tally.BASELINE_WEEK), k.baseline, func.count()))
                 .where(k.baseline.is_not(None)).group_by(k.baseline))
    return union_all(*counts, best_pairs, survival, h24, trajectory, baselines, statuses)


def _read_courses(t: tally.Tallies, rows: Iterator[Any], rules: tally.ClinicRules) -> None:
    for kind, key1, key2, count in rows:
        n = int(count)
        if kind in ("started", "completed_induction", "no_baseline", "in_progress", "ended_no_score",
                    "booster_followed", "booster_needed", "booster_full_window", "booster_needed_14w",
                    "checkins_completed", "checkins_missed"):
            setattr(t, kind, getattr(t, kind) + n)
        elif kind == "best":
            tally.add_best(t, key1, key2, n, rules)
        elif kind == "survival":
            t.survival[(key1, bool(key2))] += n
        elif kind == "h24":
            tally.add_24h(t, key1, key2, n, rules)
        elif kind.startswith("h24:"):
            t.h24_missing[kind.removeprefix("h24:")] += n
        elif kind == "trajectory":
            t.trajectory[(key1, key2)] += n
        else:  # pragma: no cover - the statement above names every kind
            raise AssertionError(f"unknown row kind {kind!r}")


# --- Funnel and safety ------------------------------------------------------------------------------------------


def _funnel(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection) -> None:
    start, end = scope.instants(selection)
    r = Referral
    referrals = select(func.count()).select_from(r).outerjoin(Patient, Patient.id == r.patient_id).where(
        r.clinic_id == scope.clinic_id)
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
                 .select_from(latest).join(d, d.id == latest.c.id).join(Patient, Patient.id == d.patient_id)
                 .where(*_patient_filters(selection)))
    if start:
        decisions = decisions.where(d.created_at >= start)
    if end:
        decisions = decisions.where(d.created_at < end)
    decided, eligible = db.execute(decisions).one()
    t.eligibility_decided += decided
    t.eligible += eligible


def _safety(db: Session, t: tally.Tallies, scope: ClinicScope, selection: Selection) -> None:
    start, end = scope.instants(selection)
    s = InfusionSession
    given = (select(s.id, s.stopped_early, s.cadss_assessment_id).join(Patient, Patient.id == s.patient_id)
             .where(s.clinic_id == scope.clinic_id, s.infusion_started_at.is_not(None),
                    *_patient_filters(selection)))
    if selection.protocol:
        given = given.join(TreatmentPlan, TreatmentPlan.id == s.plan_id).where(
            TreatmentPlan.protocol == selection.protocol)
    if start:
        given = given.where(s.infusion_started_at >= start)
    if end:
        given = given.where(s.infusion_started_at < end)
    g = given.cte("given_infusions")
    notify = (select(InfusionVitals.session_id).where(InfusionVitals.level.in_(NOTIFY_LEVELS))
              .distinct().subquery("notify"))
    a = Assessment
    row = db.execute(
        select(func.count(), func.coalesce(func.sum(case((g.c.stopped_early.is_(True), 1), else_=0)), 0),
               func.count(notify.c.session_id), func.count(a.total), func.coalesce(func.sum(a.total), 0),
               func.coalesce(func.sum(a.total * a.total), 0))
        .select_from(g).outerjoin(notify, notify.c.session_id == g.c.id)
        .outerjoin(a, a.id == g.c.cadss_assessment_id)).one()
    infusions, stopped, notified, cadss_n, cadss_sum, cadss_sum_sq = (int(x) for x in row)
    t.infusions += infusions
    t.stopped_early += stopped
    t.notify_vitals += notified
    t.cadss_n += cadss_n
    t.cadss_sum += cadss_sum
    t.cadss_sum_sq += cadss_sum_sq
    t.cadss_missing += infusions - cadss_n
    ae = InfusionAdverseEvent
    for event_type, count in db.execute(
            select(ae.event_type, func.count(func.distinct(ae.session_id))).join(g, g.c.id == ae.session_id)
            .group_by(ae.event_type)):
        t.adverse[event_type] += count


def tally_clinic(db: Session, scope: ClinicScope, selection: Selection) -> tally.Tallies:
    """One clinic's cohort, counted in the database (three statements; see the module doc)."""
    dialect = sql.prepare(db)
    t = tally.Tallies()
    _read_courses(t, iter(db.execute(_course_statement(dialect, scope, selection))), scope.rules)
    _funnel(db, t, scope, selection)
    _safety(db, t, scope, selection)
    return t


def agencies(db: Session, clinic_ids: list[int]) -> list[str]:
    """The agencies named on the patients of these clinics (for the filter's choices)."""
    stmt = (select(Patient.agency).where(Patient.clinic_id.in_(clinic_ids), Patient.agency.is_not(None))
            .distinct().order_by(Patient.agency))
    return [a for a in db.scalars(stmt) if a]


def today_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()
