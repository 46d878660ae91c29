"""Schedule waiting requests: CP-SAT with a time limit beside the front desk's first-come-first-served answer, a
preview checked by the independent checker, then a commit that books every session through the infusion booking
service (chair row locked, overlaps checked: one place). Rescheduling one session keeps the series' rules, checked
by the same independent checker; nothing moves unless the user confirms. Never commits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import scheduling as core
from tenfour.core.errors import CoreError
from tenfour.core.scheduling.model import MAX_HORIZON_DAYS as MAX_ENGINE_DAYS
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.infusions import booking
from tenfour.infusions import service as infusions
from tenfour.infusions.models import InfusionSession
from tenfour.plans import repository as plans_repository
from tenfour.policy import ensure_clinic
from tenfour.scheduling import clock, repository
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling.instance import duty_for, local_midnight, picture, policy_for, session_request
from tenfour.scheduling.models import (
    RequestKind,
    RequestStatus,
    RunStatus,
    SchedulingRequest,
    SchedulingRequestSession,
    SchedulingRun,
)

DEFAULT_TIME_LIMIT_S = 10.0
MAX_TIME_LIMIT_S = 60.0
DEFAULT_HORIZON_DAYS = 28
MAX_HORIZON_DAYS = 56
SERIES_RULES = ("series_spacing", "series_per_week", "series_window", "series_count")


def horizon_start(clinic: Clinic, now: datetime) -> datetime:
    """Plans start tomorrow (local midnight): a patient needs a day's notice for fasting, an escort and duty
    (product choice)."""
    zone = ZoneInfo(clinic.timezone)
    return local_midnight(now.astimezone(zone).date() + timedelta(days=1), zone)


def _label(patient: Any) -> str:
    return f"{patient.first_name} {patient.last_name}"


def _pre_unplaced(row: SchedulingRequest, rules: core.SchedulingPolicy, start: datetime) -> dict[str, str] | None:
    """A request no scheduler can place, said before solving (the engine refuses such input)."""
    if row.latest_end is not None and row.latest_end <= start:
        return {"reason": "window_passed",
                "explanation": "The request's window has passed; cancel it or add a new one."}
    if row.kind == RequestKind.INDUCTION.value and row.sessions > 1 and \
            (row.sessions - 1) * rules.min_date_gap_days > rules.series_window_days - 1:
        return {"reason": "series_cannot_fit",
                "explanation": f"A series of {row.sessions} cannot fit within {rules.series_window_days} days with "
                               f"{rules.min_days_between_sessions} clear day(s) between sessions (clinic policy "
                               "course.series_window_days, course.min_days_between_sessions)."}
    return None


def run(db: Session, ctx: Ctx, clinic: Clinic, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        horizon_days: int = DEFAULT_HORIZON_DAYS) -> SchedulingRun:
    """Plan every waiting request of the clinic and store the preview (nothing is booked)."""
    problems = []
    if not 1 <= time_limit_s <= MAX_TIME_LIMIT_S:
        problems.append(Problem("time_limit_s", "time_limit_range", f"must be 1 to {MAX_TIME_LIMIT_S:g} seconds"))
    if not 7 <= horizon_days <= MAX_HORIZON_DAYS:
        problems.append(Problem("horizon_days", "horizon_range", f"must be 7 to {MAX_HORIZON_DAYS} days"))
    if not repository.chairs(db, clinic.id):
        problems.append(Problem("clinic", "chairs_required", "the clinic has no active chair"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    requests_service.sync(db, ctx, clinic)
    now = clock.now()
    start = horizon_start(clinic, now)
    waiting = repository.requests(db, clinic.id, [RequestStatus.WAITING.value])
    plans = {row.plan_id: plans_repository.by_id(db, row.plan_id) for row, _ in waiting if row.plan_id}
    longest = max([p.infusion_duration_min for p in plans.values() if p is not None], default=None)
    rules = policy_for(db, clinic, longest)
    pic = picture(db, clinic, start, horizon_days, rules)
    pre: dict[int, dict[str, str]] = {}
    schedulable = []
    for row, _patient in waiting:
        reason = _pre_unplaced(row, rules, start)
        if reason:
            pre[row.id] = reason
        else:
            schedulable.append(row)
    people = {p.id: p for _, p in waiting}
    duty = duty_for(db, pic, [people[row.patient_id] for row in schedulable])
    for fixed in pic.fixed:
        duty.setdefault(fixed.patient_id, ())
    instance = core.SchedulingInstance(
        clinic=pic.core_clinic, start=start, days=horizon_days,
        requests=tuple(session_request(row, start) for row in schedulable), on_duty=duty, fixed_sessions=pic.fixed,
        policy=rules)
    try:
        baseline = core.schedule_fcfs(instance)
        best = core.schedule_cpsat(instance, core.SolverOptions(time_limit_s=time_limit_s), hint=baseline)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    violations = core.check_schedule(instance, best)
    base_violations = core.check_schedule(instance, baseline)
    result = _result(instance, best, baseline, waiting, pre, pic, violations, base_violations)
    row = SchedulingRun(clinic_id=clinic.id, status=RunStatus.PREVIEW.value, horizon_start=start,
                        horizon_days=horizon_days, time_limit_s=time_limit_s, solver_status=best.status,
                        objective=best.objective, best_bound=best.best_bound, gap=best.gap,
                        solve_seconds=best.solve_seconds, result=result, created_at=now,
                        created_by_id=ctx.actor.user_id)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "scheduling.run", clinic_id=clinic.id, record_type="scheduling_run", record_id=row.id,
           detail={"requests": len(waiting), "placed_sessions": len(best.sessions), "status": best.status,
                   "gap": best.gap, "violations": len(violations)})
    return row


def _result(instance: core.SchedulingInstance, best: core.Schedule, baseline: core.Schedule, waiting: list,
            pre: dict[int, dict[str, str]], pic: Any, violations: list, base_violations: list) -> dict[str, Any]:
    people = {row.id: patient for row, patient in waiting}
    rows = {row.id: row for row, _ in waiting}
    sessions = [{"request_id": int(s.request_id), "patient_id": int(s.patient_id),
                 "patient": _label(people[int(s.request_id)]), "session_index": s.session_index,
                 "chair_id": int(s.chair_id), "chair": pic.chair_names.get(s.chair_id, s.chair_id),
                 "start": s.start.isoformat(), "end": s.end.isoformat()} for s in best.sessions]
    unplaced = [{"request_id": int(u.request_id), "patient_id": int(u.patient_id),
                 "patient": _label(people[int(u.request_id)]), "reason": str(u.reason),
                 "explanation": u.explanation} for u in best.unplaced]
    unplaced += [{"request_id": rid, "patient_id": rows[rid].patient_id, "patient": _label(people[rid]), **why}
                 for rid, why in pre.items()]
    base = core.schedule_metrics(instance, baseline)
    mine = core.schedule_metrics(instance, best)
    keys = ("sessions_placed", "series_started", "series_started_within_target", "mean_days_to_first_infusion",
            "boosters_placed", "chair_utilisation", "preferred_time_met", "violations")
    return {
        "sessions": sessions, "unplaced": unplaced,
        "violations": [v.to_dict() for v in violations],
        "requests": [{"request_id": row.id, "patient_id": patient.id, "patient": _label(patient), "kind": row.kind,
                      "sessions": row.sessions} for row, patient in waiting],
        "no_roster": sorted(int(p) for p in pic.no_roster),
        "chair_min": instance.policy.chair_min, "infusion_min": instance.policy.infusion_min,
        "cpsat": {k: mine[k] for k in keys}, "baseline": {k: base[k] for k in keys},
        "baseline_violations": len(base_violations),
    }


def get_run(db: Session, ctx: Ctx, run_id: int, *, for_update: bool = False) -> SchedulingRun:
    assert ctx.principal is not None
    row = repository.run(db, run_id, for_update=for_update)
    if row is None:
        raise NotFound("No such scheduling run.")
    try:
        ensure_clinic(ctx.principal, row.clinic_id)
    except NotFound:
        raise NotFound("No such scheduling run.") from None
    return row


def _open_run(db: Session, ctx: Ctx, run_id: int) -> SchedulingRun:
    row = get_run(db, ctx, run_id, for_update=True)
    if row.status != RunStatus.PREVIEW.value:
        raise Conflict(f"This run is {row.status}; only a preview can be committed or discarded.",
                       [Problem("status", "run_preview", f"the run is {row.status}")])
    return row


def commit(db: Session, ctx: Ctx, run_id: int) -> list[InfusionSession]:
    """Book every session of the preview through the infusion booking service (all or nothing: the caller's
    transaction rolls back on the first refusal, which names the rule)."""
    row = _open_run(db, ctx, run_id)
    if row.result.get("violations"):
        raise Conflict("The independent checker found rule violations in this preview; nothing was booked.",
                       [Problem("run", v["rule"], v["message"]) for v in row.result["violations"]])
    now = clock.now()
    by_request: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for placed in row.result.get("sessions", []):
        by_request[placed["request_id"]].append(placed)
    booked: list[InfusionSession] = []
    for request_id in sorted(by_request):
        request = repository.request(db, request_id, for_update=True)
        if request is None or request.status != RequestStatus.WAITING.value:
            raise Conflict("A request of this preview is no longer waiting: run the scheduler again.",
                           [Problem("run", "request_waiting", f"request {request_id} is no longer waiting")])
        for placed in sorted(by_request[request_id], key=lambda p: p["session_index"]):
            start = datetime.fromisoformat(placed["start"])
            if start < now:
                raise Conflict("This preview has sessions in the past: run the scheduler again.",
                               [Problem("run", "run_stale", "the preview starts before now")])
            session = booking.book(db, ctx, patient_id=placed["patient_id"], chair_id=placed["chair_id"], start=start)
            db.add(SchedulingRequestSession(request_id=request.id, infusion_session_id=session.id,
                                            session_index=placed["session_index"]))
            booked.append(session)
        requests_service.mark_scheduled(db, request, now)
    row.status, row.decided_at, row.decided_by_id = RunStatus.COMMITTED.value, now, ctx.actor.user_id
    db.flush()
    record(db, ctx.actor, "scheduling.commit", clinic_id=row.clinic_id, record_type="scheduling_run",
           record_id=row.id, detail={"sessions": len(booked)})
    return booked


def discard(db: Session, ctx: Ctx, run_id: int) -> SchedulingRun:
    row = _open_run(db, ctx, run_id)
    row.status, row.decided_at, row.decided_by_id = RunStatus.DISCARDED.value, clock.now(), ctx.actor.user_id
    db.flush()
    record(db, ctx.actor, "scheduling.discard", clinic_id=row.clinic_id, record_type="scheduling_run",
           record_id=row.id)
    return row


# --- Rescheduling one session ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RescheduleCheck:
    session: InfusionSession
    start: datetime
    chair_id: int
    problems: list[Problem]
    series: list[InfusionSession]  # the other sessions of its series (not aborted)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_reschedule(db: Session, ctx: Ctx, session_id: int, *, chair_id: int, start: datetime) -> RescheduleCheck:
    """Would moving the session to ``start`` on ``chair_id`` keep every rule (the series', the patient's roster and
    no-duty window, opening hours, closures, chairs, nurses)? Checked by the independent checker; nothing moves."""
    session = infusions.get_session(db, ctx, session_id, audit_action=None)
    infusions.require_step(session, (infusions.Step.SCHEDULED, infusions.Step.ARRIVED,
                                     infusions.Step.PRECHECKS_PASSED), "reschedule_before_start",
                           "a session can be rescheduled")
    if start.tzinfo is None:
        raise ValidationFailed.single("start", "timezone_aware", "must include a time zone")
    clinic = clinics_repository.by_id(db, session.clinic_id)
    assert clinic is not None
    if chair_id not in {c.id for c in repository.chairs(db, clinic.id)}:
        raise ValidationFailed.single("chair_id", "active_chair", "is not an active chair of this clinic")
    link = repository.link_for_session(db, session.id)
    series: list[InfusionSession] = []
    request: SchedulingRequest | None = None
    if link is not None:
        request = repository.request(db, link.request_id)
        series = [s for _, s in repository.request_sessions(db, link.request_id)
                  if s.id != session.id and s.status != infusions.Step.ABORTED.value]
    zone = ZoneInfo(clinic.timezone)
    problems: list[Problem] = []
    now = clock.now()
    if start < now:
        problems.append(Problem("start", "not_in_past", "cannot be in the past"))
    if abs(start - session.scheduled_start) < timedelta(minutes=1) and chair_id == session.chair_id:
        problems.append(Problem("start", "different_slot",
                                "is when and where the session is booked already: choose another day, time or chair"))
    moments = [start, *(s.scheduled_start for s in series)]
    first_day = min(m.astimezone(zone).date() for m in moments)
    last_day = max(m.astimezone(zone).date() for m in moments)
    days = (last_day - first_day).days + 1
    if days > MAX_ENGINE_DAYS:
        problems.append(Problem("start", "series_window", "too far from the rest of its series"))
    if problems:
        return RescheduleCheck(session, start, chair_id, problems, series)
    rules = policy_for(db, clinic)
    rules = replace(rules, infusion_min=session.infusion_duration_min)
    origin = local_midnight(first_day, zone)
    pic = picture(db, clinic, origin, days, rules, exclude_session_ids={session.id, *(s.id for s in series)})
    patient = repository.patients(db, [session.patient_id])[session.patient_id]
    duty = duty_for(db, pic, [patient])
    for fixed in pic.fixed:
        duty.setdefault(fixed.patient_id, ())
    rid = str(request.id) if request is not None else f"session-{session.id}"
    ordered = sorted([*series, None], key=lambda s: start if s is None else s.scheduled_start)
    index_of_moved = ordered.index(None)
    is_series = request is not None and request.kind == RequestKind.INDUCTION.value and len(ordered) > 1
    latest_end = request.latest_end if request is not None and request.kind == RequestKind.BOOSTER.value else None
    core_request = core.SessionRequest(rid, str(session.patient_id),
                                       core.RequestKind.INDUCTION if is_series else core.RequestKind.SINGLE,
                                       arrival=origin, earliest_start=origin, latest_end=latest_end,
                                       sessions=len(ordered) if is_series else None)
    placed = []
    for index, other in enumerate(ordered):
        begin = start if other is None else other.scheduled_start
        infusion_start = begin + timedelta(minutes=rules.prep_min)
        infusion_end = infusion_start + timedelta(minutes=rules.infusion_min)
        end = infusion_end + timedelta(minutes=rules.recovery_min)
        chair = str(chair_id) if other is None else str(other.chair_id)
        placed.append(core.PlacedSession(rid, str(session.patient_id), index, chair, begin, end, infusion_start,
                                         infusion_end))
    instance = core.SchedulingInstance(pic.core_clinic, origin, days, (core_request,), duty, pic.fixed, rules)
    proposal = core.Schedule("reschedule", "check", tuple(placed) if is_series else (placed[index_of_moved],), ())
    moved = f"{rid}#{index_of_moved if is_series else 0}"
    for violation in core.check_schedule(instance, proposal):
        if moved in violation.message or (is_series and violation.rule in SERIES_RULES):
            problems.append(Problem("start", violation.rule, _plain(violation.message, zone)))
    return RescheduleCheck(session, start, chair_id, problems, series)


_LABEL = re.compile(r"^([\w-]+#\d+:?|[\w-]+:)\s+")  # the checker's "7#0: " (request 7, session 0) or "7: "
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")
_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _plain(message: str, zone: ZoneInfo) -> str:
    """The independent checker's message in the coordinator's words: without the engine's request#session label,
    with times in the clinic's zone ("Sat 28 Nov 07:00") rather than UTC ISO stamps."""
    text = _LABEL.sub(lambda m: "" if m.group(1).endswith(":") else "the session ", message, count=1)
    text = re.sub(r"\bpatient \d+ ", "the patient ", text)
    text = _MOMENT.sub(lambda m: datetime.fromisoformat(m.group().replace("Z", "+00:00")).astimezone(zone)
                       .strftime("%a %d %b %H:%M"), text)
    return _DAY.sub(lambda m: date.fromisoformat(m.group()).strftime("%a %d %b"), text)


def reschedule(db: Session, ctx: Ctx, session_id: int, *, chair_id: int, start: datetime, reason: str | None,
               confirm: bool) -> tuple[RescheduleCheck, InfusionSession | None]:
    """Check, and move only when ``confirm`` is true and every rule holds (422 naming the rule otherwise)."""
    check = check_reschedule(db, ctx, session_id, chair_id=chair_id, start=start)
    if not check.ok:
        raise ValidationFailed("; ".join(f"{p.field} ({p.rule}): {p.message}" for p in check.problems), check.problems)
    if not confirm:
        return check, None
    link = repository.link_for_session(db, session_id)
    new = booking.reschedule(db, ctx, session_id, chair_id=chair_id, start=start, reason=reason)
    if link is not None:
        link.infusion_session_id = new.id
        db.flush()
    record(db, ctx.actor, "scheduling.reschedule", clinic_id=new.clinic_id, patient_id=new.patient_id,
           record_type="infusion_session", record_id=new.id, detail={"from": session_id, "start": start.isoformat()})
    return check, new
