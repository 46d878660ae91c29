"""What the check-in pages show, gathered in one place: the clinician's chart panel, the patient's own view, the
clinic's board. Read-only (the sweep and submissions write)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.checkins import charts, clock, courses, detection, repository, service
from tenfour.checkins.models import (
    EXTRA,
    BoosterProposal,
    BoosterRequest,
    CheckIn,
    CheckinCourse,
    ProposalStatus,
    RelapseEvaluation,
)
from tenfour.clinics.service import effective_policy
from tenfour.core import relapse
from tenfour.core import reminders as core_reminders
from tenfour.core.checkin_schedule import CheckInStatus
from tenfour.patients.models import Patient

KIND_LABELS = {
    "after_first_infusion": "24 hours after the first infusion", "after_infusion": "Day after an infusion",
    "weekly": "Weekly", "monthly": "Monthly", EXTRA: "Extra (patient's own)",
}
STATE_LABELS_PLURAL = {"urgent": "Urgent", "act": "Act: loss of response", "watch": "Watch: early warning",
                       "non_responder": "Did not respond: for the prescriber's review", "stable": "Stable"}
STATE_LABELS_SHORT = {"urgent": "urgent", "act": "act", "watch": "watch", "non_responder": "did not respond",
                      "stable": "stable"}
RULE_POLICY = {rule.value: keys for rule, keys in relapse.RULE_POLICY_KEYS.items()}


def kind_label(row: CheckIn) -> str:
    label = KIND_LABELS.get(row.kind, row.kind)
    if row.kind == "weekly" and row.week:
        return f"Week {row.week} after the course"
    return label


@dataclass
class Trajectory:
    points: list[tuple[date, int]]
    lines: charts.Lines | None
    infusions: list[datetime]


def trajectory(db: Session, patient: Patient, course: CheckinCourse | None,
               course_rows: list[CheckIn] | None = None) -> Trajectory:
    """``course_rows``: the course's check-ins already read (``course_checkins``), to spare reading its completed
    ones again."""
    if course is None:
        return Trajectory([], None, [])
    rows = (repository.completed_checkins(db, course.id) if course_rows is None
            else repository.completed_in(course_rows))
    points = [(c.completed_on, c.pcl5_total) for c in rows if c.pcl5_total is not None and c.completed_on]
    values = effective_policy(db, patient.clinic_id)
    lines = None
    if course.baseline_pcl5 is not None:
        limit = relapse.response_limit_pcl5(course.baseline_pcl5, int(values["outcome.response_reduction_pct"]))
        best = min((s for _, s in points), default=None)
        lines = charts.Lines(course.baseline_pcl5, limit, best, int(values["pcl5.reliable_change"]))
    infusions = [datetime.fromisoformat(i["at"]) for i in course.infusions or [] if i.get("given")]
    return Trajectory(points, lines, infusions)  # type: ignore[arg-type]


def trajectory_svg(db: Session, patient: Patient, for_patient: bool) -> bytes:
    course = repository.current_course(db, patient.id)
    data = trajectory(db, patient, course)
    zone = ZoneInfo(course.timezone if course else courses.patient_timezone(db, patient))
    return charts.trajectory_svg(data.points, data.lines, [i.astimezone(zone) for i in data.infusions],
                                 for_patient=for_patient)


@dataclass
class Schedule:
    open: CheckIn | None
    upcoming: list[CheckIn]
    completed: list[CheckIn]
    missed: list[CheckIn]
    all: list[CheckIn]
    next_due: date | None
    today: date


def schedule(db: Session, course: CheckinCourse | None, now: datetime | None = None) -> Schedule:
    if course is None:
        return Schedule(None, [], [], [], [], None, (now or clock.now()).date())
    today = courses.local_today(course.timezone, now or clock.now())
    rows = repository.course_checkins(db, course.id)
    return Schedule(
        open=repository.open_in(rows, today),
        upcoming=[c for c in rows if c.status == CheckInStatus.PENDING.value and c.due_on > today],
        completed=sorted((c for c in rows if c.status == CheckInStatus.COMPLETED.value),
                         key=lambda c: (c.completed_at or datetime.min.replace(tzinfo=ZoneInfo("UTC"))),
                         reverse=True),
        missed=[c for c in rows if c.status == CheckInStatus.MISSED.value],
        all=rows, next_due=repository.next_due_in(rows), today=today)


@dataclass
class ReminderView:
    hour: int
    chosen: bool
    enabled: bool
    has_account: bool
    quiet: str
    timezone: str
    recent: list[Any] = field(default_factory=list)
    hours: list[int] = field(default_factory=list)  # the hours a patient may choose


def reminder_view(db: Session, patient: Patient) -> ReminderView:
    policy = service.reminder_policy(db, patient.clinic_id)
    pref = repository.preference(db, patient.id)
    hours = [h for h in range(24) if not core_reminders.in_quiet_hours(datetime(2000, 1, 1, h), policy)]
    return ReminderView(
        hour=pref.reminder_hour if pref and pref.reminder_hour is not None else policy.default_hour,
        chosen=bool(pref and pref.reminder_hour is not None), enabled=pref.reminders_enabled if pref else True,
        has_account=patient.user_id is not None and bool(patient.email),
        quiet=f"{policy.quiet_start_h:02d}:00 to {policy.quiet_end_h:02d}:00", timezone=courses.patient_timezone(
            db, patient), recent=repository.patient_reminders(db, patient.id, 5), hours=hours)


@dataclass
class Maintenance:
    proposal: BoosterProposal | None
    requests: list[BoosterRequest]
    overdue: bool


def maintenance(db: Session, patient: Patient, today: date) -> Maintenance:
    proposal = repository.open_proposal(db, patient.id)
    requests = repository.patient_requests(db, patient.clinic_id, patient.id)
    return Maintenance(proposal, requests, bool(proposal and proposal.window_end < today))


def with_policy(reasons: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{**r, "policy": RULE_POLICY.get(r["rule"], ())} for r in reasons]


@dataclass
class ChartView:
    course: CheckinCourse | None
    evaluation: RelapseEvaluation | None
    reasons: list[dict[str, Any]]
    schedule: Schedule
    signs: list[service.SignStat]
    catalogue: dict[str, str]
    reminders: ReminderView
    maintenance: Maintenance
    transitions: list[Any]
    trajectory: Trajectory
    state_label: str | None
    policy: dict[str, Any]


def chart(db: Session, patient: Patient) -> ChartView:
    from tenfour.checkins.signs import WARNING_SIGNS

    course = repository.current_course(db, patient.id)
    evaluation = repository.evaluation(db, patient.id)
    plan = schedule(db, course)
    return ChartView(
        course=course, evaluation=evaluation, reasons=with_policy(evaluation.reasons) if evaluation else [],
        schedule=plan, signs=service.sign_stats(db, patient.id), catalogue=WARNING_SIGNS,
        reminders=reminder_view(db, patient), maintenance=maintenance(db, patient, plan.today),
        transitions=repository.transitions(db, patient.id, 10), trajectory=trajectory(db, patient, course, plan.all),
        state_label=detection.STATE_LABELS.get(evaluation.state) if evaluation else None,
        policy=effective_policy(db, patient.clinic_id))


@dataclass
class BoardView:
    by_state: dict[str, list[tuple[RelapseEvaluation, Patient]]]  # the first BOARD_ROWS of each state but stable
    missed: list[tuple[CheckIn, Patient]]  # the first BOARD_ROWS
    due_today: int
    proposals: list[tuple[BoosterProposal, Patient]]
    last_sweep: Any
    today: date
    counts: dict[str, int]  # every state, stable included
    missed_total: int


BOARD_ROWS = 100  # per list: a clinic of thousands lists the most recent changes, with the totals beside them


def board(db: Session, clinic_id: int, clinic_tz: str) -> BoardView:
    """The check-ins board: counts of every state, and for each state but stable its most recent changes."""
    today = courses.local_today(clinic_tz, clock.now())
    counts = repository.clinic_state_counts(db, clinic_id)
    by_state: dict[str, list[tuple[RelapseEvaluation, Patient]]] = {}
    ordered = [s.value for s in relapse.SEVERITY_ORDER]
    for state in ordered + sorted(set(counts) - set(ordered)):
        counts.setdefault(state, 0)
        by_state[state] = ([] if state == relapse.RelapseState.STABLE.value or not counts[state]
                           else repository.clinic_states(db, clinic_id, state, BOARD_ROWS))
    since = today - timedelta(days=14)
    return BoardView(by_state, repository.clinic_missed(db, clinic_id, since, BOARD_ROWS),
                     repository.clinic_due_today(db, clinic_id, today),
                     repository.clinic_proposals(db, clinic_id, [ProposalStatus.PROPOSED.value]),
                     repository.last_sweep(db), today, counts, repository.clinic_missed_count(db, clinic_id, since))
