"""Pages of shift-aware scheduling.

Staff: the waiting list with "schedule waiting requests" (/schedule), the preview of a run, the clinic calendar by
chair (day and week), rescheduling one session, adding a request, the clinic's nurses and closures.
Patients: their roster with a six-week calendar and one-off changes (/me/roster), and choosing the slots of their
series one session at a time (/me/schedule), with an .ics file of their appointments.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.core import rosters as core_rosters
from tenfour.core.infusion import Step
from tenfour.errors import TenFourError, ValidationFailed
from tenfour.infusions import repository as infusions_repository
from tenfour.infusions import service as infusions
from tenfour.patients.models import Patient
from tenfour.plans import repository as plans_repository
from tenfour.policy import Permission
from tenfour.scheduling import clock, planner, repository, selfbook, settings
from tenfour.scheduling import requests as requests_service
from tenfour.scheduling import rosters as roster_service
from tenfour.scheduling.instance import local_midnight, nurses_by_weekday, opening_hours
from tenfour.scheduling.models import RequestStatus
from tenfour.scheduling.routes import working_clinic
from tenfour.web.deps import DbSession, RecordId, authorize, verify_csrf
from tenfour.web.forms import FormErrors, errors_from, form_values
from tenfour.web.panels import own_panel, patient_panel
from tenfour.web.templating import flash, render

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
View = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_VIEW))]
Manage = Annotated[Ctx, Depends(authorize(Permission.SCHEDULE_MANAGE))]
SelfRead = Annotated[Ctx, Depends(authorize(Permission.SELF_READ))]
SelfWrite = Annotated[Ctx, Depends(authorize(Permission.SELF_WRITE))]
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CHANGE_KINDS = (("leave", "Leave (off duty)"), ("overtime", "Overtime (extra shift)"),
                ("trade_in", "Traded in (I work a colleague's shift)"),
                ("trade_out", "Traded out (a colleague works my shift)"))
PATTERN_CHOICES = [("", "No roster (not on shifts)")] + [(k, s.label) for k, s in core_rosters.PATTERNS.items()]
PATTERN_LABELS = dict(PATTERN_CHOICES[1:])


def _date(raw: Any, field: str, required: bool = True) -> date | None:
    text = str(raw or "").strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single(field, "date", "choose a date") from None


def _time(raw: Any, field: str, required: bool = True) -> time | None:
    text = str(raw or "").strip()
    if not text and not required:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single(field, "time", "choose a time like 07:00") from None


def _last_days(rows: list[Any], zone: ZoneInfo) -> dict[int, date]:
    """The last local day of each request's window (``latest_end`` is the exclusive midnight after it)."""
    return {row.id: (row.latest_end - timedelta(microseconds=1)).astimezone(zone).date()
            for row in rows if row.latest_end is not None}


def _int(raw: Any, field: str, low: int, high: int) -> int:
    text = str(raw or "").strip()
    if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise ValidationFailed.single(field, "whole_number_range", f"must be a whole number from {low} to {high}")
    return int(text)


# --- The waiting list and runs ------------------------------------------------------------------------------------


def _queue_context(db: Session, ctx: Ctx, values: dict[str, Any] | None = None,
                   errors: FormErrors | None = None) -> dict[str, Any]:
    clinic = working_clinic(db, ctx)
    requests_service.sync(db, ctx, clinic)
    waiting = repository.requests(db, clinic.id, [RequestStatus.WAITING.value])
    patients_by_id = {p.id: p for _, p in waiting}
    rosters_by_id = roster_service.patient_rosters(db, list(patients_by_id.values()), clinic.timezone)
    no_roster = {pid for pid, roster in rosters_by_id.items() if roster is None}
    return {"clinic": clinic, "waiting": waiting, "no_roster": no_roster,
            "runs": repository.recent_runs(db, clinic.id, 5), "values": values or {"time_limit_s": "10",
                                                                                   "horizon_days": "28"},
            "errors": errors or FormErrors(), "now": clock.now(), "pattern_labels": PATTERN_LABELS,
            "last_days": _last_days([r for r, _ in waiting], ZoneInfo(clinic.timezone))}


@router.get("/schedule")
def queue(request: Request, db: DbSession, ctx: View) -> Response:
    return render(request, db, "scheduling/queue.html", _queue_context(db, ctx), nav_key="schedule")


@router.post("/schedule/runs")
async def run(request: Request, db: DbSession, ctx: Manage) -> Response:
    values = form_values(await request.form())
    clinic = working_clinic(db, ctx)
    try:
        limit = _int(values.get("time_limit_s"), "time_limit_s", 1, int(planner.MAX_TIME_LIMIT_S))
        horizon = _int(values.get("horizon_days"), "horizon_days", 7, planner.MAX_HORIZON_DAYS)
        row = planner.run(db, ctx, clinic, time_limit_s=float(limit), horizon_days=horizon)
    except TenFourError as error:
        db.rollback()
        return render(request, db, "scheduling/queue.html", _queue_context(db, ctx, values, errors_from(error)),
                      status_code=error.status_code, nav_key="schedule")
    return RedirectResponse(f"/schedule/runs/{row.id}", status_code=303)


@router.get("/schedule/runs/{run_id}")
def run_preview(request: Request, db: DbSession, ctx: View, run_id: RecordId) -> Response:
    row = planner.get_run(db, ctx, run_id)
    clinic = working_clinic(db, ctx)
    result = row.result or {}
    by_request: dict[int, list[dict[str, Any]]] = {}
    for placed in result.get("sessions", []):
        placed = {**placed, "start_at": datetime.fromisoformat(placed["start"]),
                  "end_at": datetime.fromisoformat(placed["end"])}
        by_request.setdefault(placed["request_id"], []).append(placed)
    requests = {r["request_id"]: r for r in result.get("requests", [])}
    return render(request, db, "scheduling/run.html",
                  {"run": row, "clinic": clinic, "result": result, "by_request": by_request, "requests": requests,
                   "placed_requests": sorted(by_request, key=lambda rid: by_request[rid][0]["start"])},
                  nav_key="schedule")


@router.post("/schedule/runs/{run_id}/commit")
def run_commit(request: Request, db: DbSession, ctx: Manage, run_id: RecordId) -> Response:
    try:
        booked = planner.commit(db, ctx, run_id)
    except TenFourError as error:
        if error.status_code == 404:  # another clinic's run: not found, as for a missing one
            raise
        db.rollback()
        return flash(request, RedirectResponse(f"/schedule/runs/{run_id}", status_code=303),
                     f"Nothing was booked: {error.message}", kind="error")
    clinic = working_clinic(db, ctx)
    first = min((s.scheduled_start for s in booked), default=clock.now())
    day = first.astimezone(ZoneInfo(clinic.timezone)).date()
    return flash(request, RedirectResponse(f"/schedule/calendar?view=week&day={day.isoformat()}", status_code=303),
                 f"Booked {len(booked)} session(s). The week of the first one is shown.")


@router.post("/schedule/runs/{run_id}/discard")
def run_discard(request: Request, db: DbSession, ctx: Manage, run_id: RecordId) -> Response:
    planner.discard(db, ctx, run_id)
    return flash(request, RedirectResponse("/schedule", status_code=303), "The preview was discarded.")


# --- Requests -----------------------------------------------------------------------------------------------------


def _request_form_context(db: Session, ctx: Ctx, values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    from tenfour.infusions import repository as infusions_repository

    clinic = working_clinic(db, ctx)
    return {"clinic": clinic, "candidates": infusions_repository.bookable_patients(db, clinic.id), "values": values,
            "errors": errors}


@router.get("/schedule/requests/new")
def request_new(request: Request, db: DbSession, ctx: Manage,
                patient_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None) -> Response:
    clinic = working_clinic(db, ctx)
    today = clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
    values = {"kind": "single", "earliest": (today + timedelta(days=1)).isoformat(), "priority": "2",
              "preferred_time": "any", "patient_id": str(patient_id or "")}
    return render(request, db, "scheduling/request_form.html",
                  _request_form_context(db, ctx, values, FormErrors()), nav_key="schedule")


@router.post("/schedule/requests/new")
async def request_create(request: Request, db: DbSession, ctx: Manage) -> Response:
    values = form_values(await request.form())
    clinic = working_clinic(db, ctx)
    try:
        sessions = None
        if str(values.get("sessions") or "").strip():
            sessions = _int(values.get("sessions"), "sessions", 1, 12)
        requests_service.create(
            db, ctx, clinic, patient_id=_int(values.get("patient_id"), "patient_id", 1, 2_147_483_647),
            kind=str(values.get("kind") or ""), earliest=_date(values.get("earliest"), "earliest"),  # type: ignore[arg-type]
            latest=_date(values.get("latest"), "latest", required=False),
            priority=_int(values.get("priority"), "priority", 1, 3),
            preferred_time=str(values.get("preferred_time") or "any"), sessions=sessions,
            note=values.get("note"))
    except TenFourError as error:
        db.rollback()
        return render(request, db, "scheduling/request_form.html",
                      _request_form_context(db, ctx, values, errors_from(error)), status_code=error.status_code,
                      nav_key="schedule")
    return flash(request, RedirectResponse("/schedule", status_code=303), "The request is on the waiting list.")


@router.post("/schedule/requests/{request_id}/cancel")
async def request_cancel(request: Request, db: DbSession, ctx: Manage, request_id: RecordId) -> Response:
    values = form_values(await request.form())
    try:
        requests_service.cancel(db, ctx, request_id, values.get("reason"))
    except ValidationFailed as error:
        db.rollback()
        return flash(request, RedirectResponse("/schedule", status_code=303), error.message, kind="error")
    return flash(request, RedirectResponse("/schedule", status_code=303), "The request was cancelled.")


# --- The calendar by chair -----------------------------------------------------------------------------------------


@router.get("/schedule/calendar")
def calendar(request: Request, db: DbSession, ctx: View,
             day: Annotated[date | None, Query()] = None,
             view: Annotated[str, Query(pattern="^(day|week)$")] = "day") -> Response:
    clinic = working_clinic(db, ctx)
    zone = ZoneInfo(clinic.timezone)
    today = clock.now().astimezone(zone).date()
    shown = day or today
    first = shown - timedelta(days=shown.weekday()) if view == "week" else shown
    days = 7 if view == "week" else 1
    lo, hi = local_midnight(first, zone), local_midnight(first + timedelta(days=days), zone)
    rows = sorted(repository.calendar(db, clinic.id, lo, hi), key=lambda row: row[0].scheduled_start)
    chairs = repository.chairs(db, clinic.id)
    closures = {c.day: c for c in repository.closures(db, clinic.id, first, first + timedelta(days=days))}
    hours = opening_hours(clinic)
    staffing = nurses_by_weekday(db, clinic.id)
    dates = [first + timedelta(days=n) for n in range(days)]
    cells: dict[tuple[int, date], list[Any]] = {}
    for session, patient, chair in rows:
        cells.setdefault((chair.id, session.scheduled_start.astimezone(zone).date()), []).append((session, patient))
    # day view: a time grid from the earliest opening to the latest closing (15-minute rows)
    grid = None
    if view == "day":
        blocks = hours.get(shown.weekday(), ())
        open_h = min([b[0] for b in blocks], default=time(8))
        close_h = max([b[1] for b in blocks], default=time(18))
        start_min = open_h.hour * 60 + open_h.minute
        end_min = max(close_h.hour * 60 + close_h.minute, start_min + 60)
        items = []
        for session, patient, chair in rows:
            a = session.scheduled_start.astimezone(zone)
            b = session.scheduled_end.astimezone(zone)
            top = max(0, (a.hour * 60 + a.minute - start_min) // 15)
            span = max(1, -(-((b - a).total_seconds() // 60) // 15))
            col = next((i for i, c in enumerate(chairs) if c.id == chair.id), 0)
            items.append({"session": session, "patient": patient, "chair": chair, "row": int(top) + 2,
                          "span": int(span), "col": col + 2})
        items.sort(key=lambda item: (item["session"].scheduled_start, item["col"]))
        grid = {"start_min": start_min, "rows": (end_min - start_min) // 15,
                "labels": [(i, f"{(start_min + i * 15) // 60:02d}:{(start_min + i * 15) % 60:02d}")
                           for i in range(0, (end_min - start_min) // 15, 4)], "items": items}
    from tenfour.audit.service import record

    record(db, ctx.actor, "scheduling.calendar_view", clinic_id=clinic.id, record_type="calendar",
           record_id=first.isoformat())
    step = timedelta(days=days)
    return render(request, db, "scheduling/calendar.html",
                  {"clinic": clinic, "view": view, "shown": shown, "first": first, "dates": dates, "chairs": chairs,
                   "cells": cells, "closures": closures, "hours": hours, "staffing": staffing, "grid": grid,
                   "today": today, "previous": first - step, "next": first + step, "rows": rows},
                  nav_key="schedule")


# --- Rescheduling ---------------------------------------------------------------------------------------------------


def _reschedule_context(db: Session, ctx: Ctx, session_id: int, values: dict[str, Any],
                        errors: FormErrors, check: Any = None) -> dict[str, Any]:
    session = infusions.get_session(db, ctx, session_id)
    clinic = working_clinic(db, ctx)
    link = repository.link_for_session(db, session.id)
    series = repository.request_sessions(db, link.request_id) if link else []
    patient = repository.patients(db, [session.patient_id])[session.patient_id]
    return {"session": session, "clinic": clinic, "chairs": repository.chairs(db, clinic.id), "values": values,
            "errors": errors, "check": check, "series": series, "link": link, "patient": patient}


@router.get("/schedule/sessions/{session_id}/reschedule")
def reschedule_form(request: Request, db: DbSession, ctx: Manage, session_id: RecordId) -> Response:
    session = infusions.get_session(db, ctx, session_id, audit_action=None)
    clinic = working_clinic(db, ctx)
    local = session.scheduled_start.astimezone(ZoneInfo(clinic.timezone))
    values = {"date": local.date().isoformat(), "time": local.strftime("%H:%M"), "chair_id": str(session.chair_id)}
    return render(request, db, "scheduling/reschedule.html",
                  _reschedule_context(db, ctx, session_id, values, FormErrors()), nav_key="schedule")


@router.post("/schedule/sessions/{session_id}/reschedule")
async def reschedule(request: Request, db: DbSession, ctx: Manage, session_id: RecordId) -> Response:
    values = form_values(await request.form())
    clinic = working_clinic(db, ctx)
    confirm = values.get("confirm") == "yes"
    try:
        day = _date(values.get("date"), "date")
        at = _time(values.get("time"), "time")
        start = datetime.combine(day, at, tzinfo=ZoneInfo(clinic.timezone))  # type: ignore[arg-type]
        chair_id = _int(values.get("chair_id"), "chair_id", 1, 2_147_483_647)
        check, new = planner.reschedule(db, ctx, session_id, chair_id=chair_id, start=start,
                                        reason=values.get("reason"), confirm=confirm)
    except TenFourError as error:
        db.rollback()
        return render(request, db, "scheduling/reschedule.html",
                      _reschedule_context(db, ctx, session_id, values, errors_from(error),
                                          check={"problems": error.problems}),
                      status_code=error.status_code, nav_key="schedule")
    if new is None:  # checked: every rule holds; ask to confirm exactly this move
        chair_name = next((c.name for c in repository.chairs(db, clinic.id) if c.id == check.chair_id), "")
        return render(request, db, "scheduling/reschedule.html",
                      _reschedule_context(db, ctx, session_id, values, FormErrors(),
                                          check={"problems": [], "ok": True, "start": check.start,
                                                 "chair": chair_name}),
                      nav_key="schedule")
    local = new.scheduled_start.astimezone(ZoneInfo(clinic.timezone))
    return flash(request, RedirectResponse(f"/schedule/calendar?day={local.date().isoformat()}", status_code=303),
                 f"Moved to {local:%a %d %b at %H:%M}.")


# --- Clinic settings ------------------------------------------------------------------------------------------------


def _settings_context(db: Session, ctx: Ctx, errors: FormErrors | None = None,
                      values: dict[str, Any] | None = None) -> dict[str, Any]:
    clinic = working_clinic(db, ctx)
    nurses = nurses_by_weekday(db, clinic.id)
    today = clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
    return {"clinic": clinic, "nurses": nurses, "weekdays": WEEKDAY_NAMES, "hours": opening_hours(clinic),
            "closures": repository.closures(db, clinic.id, today), "errors": errors or FormErrors(),
            "values": values or {f"nurses_{d}": str(n) for d, n in nurses.items()},
            "per_nurse": infusions.rules_for(db, clinic).values["schedule.max_infusing_per_nurse"]}


@router.get("/schedule/settings")
def settings_page(request: Request, db: DbSession, ctx: View) -> Response:
    return render(request, db, "scheduling/settings.html", _settings_context(db, ctx), nav_key="schedule")


@router.post("/schedule/settings/nurses")
async def settings_nurses(request: Request, db: DbSession, ctx: Manage) -> Response:
    values = form_values(await request.form())
    clinic = working_clinic(db, ctx)
    try:
        counts = {d: _int(values.get(f"nurses_{d}"), f"nurses_{d}", 0, settings.MAX_NURSES) for d in range(7)}
        settings.set_nurses(db, ctx, clinic, counts)
    except TenFourError as error:
        db.rollback()
        return render(request, db, "scheduling/settings.html", _settings_context(db, ctx, errors_from(error), values),
                      status_code=error.status_code, nav_key="schedule")
    return flash(request, RedirectResponse("/schedule/settings", status_code=303), "Nurses on duty saved.")


@router.post("/schedule/settings/closures")
async def settings_closure_add(request: Request, db: DbSession, ctx: Manage) -> Response:
    values = form_values(await request.form())
    clinic = working_clinic(db, ctx)
    try:
        day = _date(values.get("day"), "day")
        settings.add_closure(db, ctx, clinic, day, values.get("reason"))  # type: ignore[arg-type]
    except TenFourError as error:
        db.rollback()
        context = _settings_context(db, ctx, errors_from(error))
        context["closure_values"] = values
        return render(request, db, "scheduling/settings.html", context, status_code=error.status_code,
                      nav_key="schedule")
    return flash(request, RedirectResponse("/schedule/settings", status_code=303), "Closure added.")


@router.post("/schedule/settings/closures/{closure_id}/delete")
def settings_closure_delete(request: Request, db: DbSession, ctx: Manage, closure_id: RecordId) -> Response:
    settings.delete_closure(db, ctx, working_clinic(db, ctx), closure_id)
    return flash(request, RedirectResponse("/schedule/settings", status_code=303), "Closure removed.")


# --- The patient's roster -------------------------------------------------------------------------------------------


def _hm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def _duty_cells(weeks: list[list[roster_service.CalendarDay]], zone: ZoneInfo,
                today: date) -> list[list[dict[str, Any]]]:
    """The duty calendar as the page draws it: per day a short label for a phone ("07:00→", "→07:00"), a longer one
    for wider screens, a sentence for screen readers, and whether most of the day is on duty (a shift that only ends
    in the morning leaves the rest of the day free, and is drawn lighter)."""
    out = []
    for week in weeks:
        row = []
        for cell in week:
            day_start = datetime.combine(cell.day, time(), tzinfo=zone)
            day_end = datetime.combine(cell.day + timedelta(days=1), time(), tzinfo=zone)
            pieces, said, on_h, extra = [], [], 0.0, False
            for a, b, source in cell.duty:
                starts, ends = a >= day_start, b <= day_end
                on_h += (min(b, day_end) - max(a, day_start)).total_seconds() / 3600
                kind = "" if source == "roster" else source.replace("_", " ")
                extra = extra or bool(kind)
                if starts and ends:
                    long, short, words = f"{_hm(a, zone)}–{_hm(b, zone)}", f"{_hm(a, zone)[:2]}–{_hm(b, zone)[:2]}", \
                        f"on duty {_hm(a, zone)} to {_hm(b, zone)}"
                elif starts:
                    long, short, words = f"from {_hm(a, zone)}", f"{_hm(a, zone)}→", f"on duty from {_hm(a, zone)}"
                elif ends:
                    long, short, words = f"until {_hm(b, zone)}", f"→{_hm(b, zone)}", f"on duty until {_hm(b, zone)}"
                else:
                    long, short, words = "all day", "all day", "on duty all day"
                pieces.append({"long": long + (f" ({kind})" if kind else ""), "short": short,
                               "kind": kind})
                said.append(words + (f" ({kind})" if kind else ""))
            infusions_at = [_hm(s.scheduled_start, zone) for s in cell.sessions]
            said += [f"infusion at {at}" for at in infusions_at]
            classes = ["sched-day"]
            if cell.duty:
                classes.append("sched-on" if on_h >= 12 else "sched-on-part")
            if extra:
                classes.append("sched-on-extra")
            if cell.day < today:
                classes.append("sched-past")
            if cell.day == today:
                classes.append("sched-today")
            if cell.sessions:
                classes.append("sched-has-session")
            label = cell.day.strftime("%A %d %B") + (" (today)" if cell.day == today else "")
            row.append({"day": cell.day, "classes": " ".join(classes), "pieces": pieces, "infusions": infusions_at,
                        "sentence": f"{label}: {'; '.join(said) if said else 'off duty'}."})
        out.append(row)
    return out


def _roster_context(db: Session, ctx: Ctx, patient: Patient, values: dict[str, Any] | None = None,
                    errors: FormErrors | None = None, change_values: dict[str, Any] | None = None,
                    change_errors: FormErrors | None = None) -> dict[str, Any]:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    zone = selfbook.zone_of(db, patient)
    now = clock.now()
    roster = roster_service.patient_roster(db, patient, clinic.timezone)
    today = now.astimezone(zone).date()
    sessions = repository.patient_sessions(db, patient.id)
    weeks = _duty_cells(roster_service.duty_calendar(roster, zone, today, roster_service.CALENDAR_DAYS, sessions),
                        zone, today)
    window = float(infusions.rules_for(db, clinic).values["duty.no_duty_window_h"])
    return {"patient": patient, "clinic": clinic, "values": values or roster_service.roster_values(db, patient),
            "errors": errors or FormErrors(), "weeks": weeks, "today": today, "zone": zone, "roster": roster,
            "changes": repository.duty_changes(db, [patient.id], start=now - timedelta(days=1)),
            "change_values": change_values or {"kind": "leave"}, "change_errors": change_errors or FormErrors(),
            "patterns": PATTERN_CHOICES, "change_kinds": CHANGE_KINDS, "window_h": window,
            "pattern_platoons": {k: s.platoon_names for k, s in core_rosters.PATTERNS.items()}}


@router.get("/me/roster")
def my_roster(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = selfbook.own_patient(db, ctx)
    return render(request, db, "scheduling/my_roster.html", _roster_context(db, ctx, patient), nav_key="me")


@router.post("/me/roster")
async def my_roster_save(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = selfbook.own_patient(db, ctx)
    values = form_values(await request.form())
    try:
        data = roster_service.RosterInput(
            pattern=str(values.get("pattern") or "") or None,
            anchor_date=_date(values.get("anchor_date"), "anchor_date", required=False),
            shift_start=_time(values.get("shift_start"), "shift_start", required=False),
            platoon=str(values.get("platoon") or "") or None, timezone=str(values.get("timezone") or "") or None,
            custom_on_off_h=roster_service.parse_on_off(values.get("custom_on_off_h")))
        roster_service.save_roster(db, ctx, patient, data)
    except TenFourError as error:
        db.rollback()
        patient = selfbook.own_patient(db, ctx)
        return render(request, db, "scheduling/my_roster.html",
                      _roster_context(db, ctx, patient, values, errors_from(error)),
                      status_code=error.status_code, nav_key="me")
    return flash(request, RedirectResponse("/me/roster", status_code=303), "Your roster is saved.")


@router.post("/me/roster/changes")
async def my_change_add(request: Request, db: DbSession, ctx: SelfWrite) -> Response:
    patient = selfbook.own_patient(db, ctx)
    values = form_values(await request.form())
    zone = selfbook.zone_of(db, patient)
    try:
        start_day = _date(values.get("start_date"), "start_date")
        start_time = _time(values.get("start_time"), "start_time", required=False) or time(0)
        end_day = _date(values.get("end_date"), "end_date")
        end_time = _time(values.get("end_time"), "end_time", required=False) or time(0)
        start = datetime.combine(start_day, start_time, tzinfo=zone)  # type: ignore[arg-type]
        end = datetime.combine(end_day, end_time, tzinfo=zone)  # type: ignore[arg-type]
        if not values.get("end_time"):
            end += timedelta(days=1)  # a whole last day
        roster_service.add_duty_change(db, ctx, patient, kind=str(values.get("kind") or ""), start=start, end=end,
                                       note=values.get("note"))
    except TenFourError as error:
        db.rollback()
        patient = selfbook.own_patient(db, ctx)
        return render(request, db, "scheduling/my_roster.html",
                      _roster_context(db, ctx, patient, change_values=values, change_errors=errors_from(error)),
                      status_code=error.status_code, nav_key="me")
    return flash(request, RedirectResponse("/me/roster#changes", status_code=303), "The change is saved.")


@router.post("/me/roster/changes/{change_id}/delete")
def my_change_delete(request: Request, db: DbSession, ctx: SelfWrite, change_id: RecordId) -> Response:
    roster_service.delete_duty_change(db, ctx, selfbook.own_patient(db, ctx), change_id)
    return flash(request, RedirectResponse("/me/roster#changes", status_code=303), "The change is removed.")


# --- The patient chooses their slots ----------------------------------------------------------------------------------


@router.get("/me/schedule")
def my_schedule(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    patient = selfbook.own_patient(db, ctx)
    now = clock.now()
    zone = selfbook.zone_of(db, patient)
    waiting = selfbook.waiting_requests(db, ctx, patient)
    return render(request, db, "scheduling/my_schedule.html",
                  {"patient": patient, "waiting": waiting, "last_days": _last_days(waiting, zone),
                   "upcoming": selfbook.upcoming(db, patient, now), "zone": zone,
                   "has_roster": bool(patient.roster_pattern), "now": now},
                  nav_key="me")


@router.get("/me/schedule/{request_id}")
def my_choose(request: Request, db: DbSession, ctx: SelfRead, request_id: RecordId,
              chosen: Annotated[list[str] | None, Query(max_length=12)] = None) -> Response:
    patient = selfbook.own_patient(db, ctx)
    zone = selfbook.zone_of(db, patient)
    try:
        offer = selfbook.offer(db, ctx, request_id, chosen or [])
    except ValidationFailed as error:
        reason = error.problems[0].message if error.problems else error.message
        if chosen:  # a stale choice (someone took the chair): start again from the first infusion
            return flash(request, RedirectResponse(f"/me/schedule/{request_id}", status_code=303),
                         f"Please choose again: {reason}", kind="error")
        # Nothing can be offered (e.g. the clinic's bookings need a coordinator's attention): back to the
        # overview (never a redirect to this page), in plain words; the reason goes to the log for the clinic.
        log.warning("self-booking offer for request %s refused: %s", request_id, reason)
        return flash(request, RedirectResponse("/me/schedule", status_code=303),
                     "No times can be offered online right now. The clinic will book your infusions with you, "
                     "or try again later.", kind="error")
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    window = float(infusions.rules_for(db, clinic).values["duty.no_duty_window_h"]) if clinic else 24.0
    plan = plans_repository.current_signed_plan(db, patient.id)
    return render(request, db, "scheduling/my_choose.html",
                  {"patient": patient, "offer": offer, "zone": zone, "window_h": window, "plan": plan,
                   "chosen_iso": [c.isoformat() for c in offer.chosen], "rules": offer.instance.policy,
                   "chosen_rows": [(c, c + timedelta(minutes=offer.instance.policy.chair_min)) for c in offer.chosen],
                   "has_roster": bool(patient.roster_pattern)},
                  nav_key="me")


@router.post("/me/schedule/{request_id}/book")
async def my_book(request: Request, db: DbSession, ctx: SelfWrite, request_id: RecordId) -> Response:
    form = await request.form()
    starts = [v for v in form.getlist("starts") if isinstance(v, str)]
    try:
        booked = selfbook.book(db, ctx, request_id, starts)
    except TenFourError as error:
        if error.status_code == 404:  # another patient's request: not found, as for a missing one
            raise
        db.rollback()
        return flash(request, RedirectResponse(f"/me/schedule/{request_id}", status_code=303),
                     f"Nothing was booked: {error.message}. Please choose again.", kind="error")
    count = len(booked)
    return flash(request, RedirectResponse("/me/schedule", status_code=303),
                 f"Your {count} infusion{'s are' if count != 1 else ' is'} booked. Add them to your phone's calendar "
                 "with the button below.")


# --- Panels ---------------------------------------------------------------------------------------------------------


@patient_panel("scheduling", "scheduling/_patient_panel.html", order=45, permission=Permission.SCHEDULE_VIEW)
def chart_panel(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    if clinic is None:
        return None
    change_rows = repository.duty_changes(db, [patient.id])  # read once: for the roster and the list below
    roster = roster_service.patient_roster(db, patient, clinic.timezone, change_rows)
    now = clock.now()
    next_shift = core_rosters.next_shift_start(roster, now) if roster is not None else None
    # The infusions panel (always shown beside this one) has read the patient's sessions in this request.
    sessions = sorted((s for s in infusions_repository.for_patient(db, patient.id)
                       if s.status != Step.ABORTED.value and s.scheduled_start >= now),
                      key=lambda s: (s.scheduled_start, s.id))
    return {"roster": roster, "next_shift": next_shift,
            "requests": repository.patient_requests(db, patient.id, [RequestStatus.WAITING.value]),
            "upcoming": sessions[:8], "changes": [c for c in change_rows if c.end > now]}


@own_panel("scheduling", "scheduling/_own_panel.html", order=15)
def own(db: Session, ctx: Ctx, patient: Patient) -> dict[str, Any] | None:
    return {"waiting": selfbook.waiting_requests(db, ctx, patient), "has_roster": bool(patient.roster_pattern)}


# --- Calendar files (pages: the session cookie; the API has its own with a Bearer token) ------------------------------


@router.get("/me/appointments.ics")
def my_ics(request: Request, db: DbSession, ctx: SelfRead) -> Response:
    from tenfour.scheduling.routes import my_ics as api_my_ics

    return api_my_ics(db, ctx)


@router.get("/patients/{patient_id}/appointments.ics")
def patient_ics(request: Request, db: DbSession, ctx: View, patient_id: RecordId) -> Response:
    from tenfour.scheduling.routes import patient_ics as api_patient_ics

    return api_patient_ics(patient_id, db, ctx)
