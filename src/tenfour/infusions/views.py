"""Read models for the chairside: where a session is (phase, time remaining, vitals due or overdue, open alerts),
one chair row of the board, and everything the nurse's session screen and the discharge sheet show."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.alerts.models import Alert
from tenfour.clinics.models import Chair, Clinic
from tenfour.core import infusion as core
from tenfour.core import vitals as core_vitals
from tenfour.infusions import repository
from tenfour.infusions.models import InfusionDose, InfusionPumpEvent, InfusionSession, InfusionVitals
from tenfour.infusions.service import ClinicRules
from tenfour.patients.models import Patient

Step = core.Step


def number(value: Any) -> str:
    """A quantity for people: no exponent, no trailing zeros (40.50 -> 40.5, 40.0 -> 40)."""
    if value is None:
        return ""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


@dataclass
class SessionState:
    """One session at ``now``: phase, minutes left, vitals due, open alerts."""

    session: InfusionSession
    patient: Patient
    chair: Chair
    dose: InfusionDose | None
    progress: core.Progress | None
    due: core_vitals.Due | None
    observation_ends_at: datetime | None
    minutes_remaining: int | None
    remaining_label: str
    last_vitals: InfusionVitals | None
    open_alerts: list[Alert] = field(default_factory=list)
    needs_action: list[InfusionVitals] = field(default_factory=list)

    @property
    def step(self) -> Step:
        return self.session.step

    @property
    def board_name(self) -> str:
        """First name and last initial: the board is read across a room where other patients sit."""
        first = self.patient.preferred_name or self.patient.first_name
        return f"{first} {self.patient.last_name[:1]}."

    @property
    def dose_to_verify(self) -> bool:
        return self.step is Step.PRECHECKS_PASSED and self.dose is not None and not self.dose.is_verified

    @property
    def urgent(self) -> bool:
        return bool(self.open_alerts) or bool(self.needs_action) or bool(self.due and self.due.overdue)


def session_state(session: InfusionSession, patient: Patient, chair: Chair, rules: ClinicRules, now: datetime,
                  vitals_rows: list[InfusionVitals], pump_rows: list[InfusionPumpEvent], dose: InfusionDose | None,
                  open_alerts: list[Alert]) -> SessionState:
    step = session.step
    progress = None
    if dose is not None and pump_rows:
        progress = core.progress([core.PumpEvent(e.at, e.action, e.rate_ml_per_h) for e in pump_rows],
                                 dose.volume_ml, now)
    due = None
    observation_ends = None
    minutes = None
    label = ""
    timed = [v for v in vitals_rows if v.phase == step.value]
    if step is Step.INFUSING and session.infusion_started_at is not None:
        due = _due("infusing", session.infusion_started_at, timed, now, rules)
        if progress is not None and progress.minutes_remaining is not None:
            minutes = progress.minutes_remaining
            label = f"{minutes} min left"
        elif progress is not None and progress.paused:
            label = "paused"
    elif step is Step.RECOVERY and session.infusion_ended_at is not None:
        due = _due("recovery", session.infusion_ended_at, timed, now, rules)
        observation_ends = session.infusion_ended_at + timedelta(minutes=rules.vitals.min_observation_min)
        left = (observation_ends - now).total_seconds() / 60
        minutes = max(0, math.ceil(left))
        label = f"{minutes} min to discharge" if minutes else "observation complete"
    elif step in (Step.SCHEDULED, Step.ARRIVED, Step.PRECHECKS_PASSED):
        start_in = math.ceil((session.scheduled_start - now).total_seconds() / 60)
        label = f"booked {session.scheduled_start.astimezone(ZoneInfo(rules.timezone)):%H:%M}"
        if step is Step.SCHEDULED and start_in < -15:
            label += " (late)"
    needs_action = [v for v in vitals_rows if v.needs_action]
    return SessionState(session, patient, chair, dose, progress, due, observation_ends, minutes, label,
                        vitals_rows[-1] if vitals_rows else None, open_alerts, needs_action)


def _due(phase: str, started: datetime, timed: list[InfusionVitals], now: datetime,
         rules: ClinicRules) -> core_vitals.Due:
    """Next reading due in this phase. A reading charted with a time a little ahead of ours (clock skew) must not
    make the rule refuse: 'now' is at least the phase start and the last reading."""
    last_at = timed[-1].taken_at if timed else None
    moment = max(now, started, last_at or started)
    return core_vitals.vitals_due(phase, started, last_at, moment.astimezone(ZoneInfo(rules.timezone)), rules.vitals)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)


@dataclass
class ChairRow:
    chair: Chair
    sessions: list[SessionState]
    current: SessionState | None

    @property
    def later(self) -> list[SessionState]:
        return [s for s in self.sessions if s is not self.current and s.step is Step.SCHEDULED]


def board(db: Session, clinic: Clinic, rules: ClinicRules, day: date, now: datetime) -> list[ChairRow]:
    """Today's chairs: each chair with its sessions of the day and the one in the chair now (or next)."""
    start, end = day_bounds(day, clinic.timezone)
    rows = repository.for_clinic_between(db, clinic.id, start, end)
    ids = [s.id for s, _, _ in rows]
    vitals_by = repository.vitals_for_sessions(db, ids)
    pump_by = repository.pump_events_for_sessions(db, ids)
    dose_by = repository.current_doses_for_sessions(db, ids)
    alerts_by = repository.open_alerts_for_sessions(db, ids)
    states: dict[int, list[SessionState]] = {}
    for session, patient, chair in rows:
        state = session_state(session, patient, chair, rules, now, vitals_by[session.id], pump_by[session.id],
                              dose_by.get(session.id), alerts_by[session.id])
        states.setdefault(chair.id, []).append(state)
    result = []
    for chair in repository.chairs(db, clinic.id):
        sessions = states.pop(chair.id, [])
        result.append(ChairRow(chair, sessions, _current(sessions)))
    for sessions in states.values():  # sessions on a chair made inactive since booking
        result.append(ChairRow(sessions[0].chair, sessions, _current(sessions)))
    return result


def _current(sessions: list[SessionState]) -> SessionState | None:
    in_chair = [s for s in sessions if s.step.is_in_chair]
    if in_chair:
        return in_chair[0]
    upcoming = [s for s in sessions if s.step is Step.SCHEDULED]
    return upcoming[0] if upcoming else None


def summary_counts(chairs: list[ChairRow]) -> dict[str, int]:
    counts = {"infusing": 0, "recovery": 0, "waiting": 0, "overdue": 0, "alerts": 0, "discharged": 0}
    for row in chairs:
        for state in row.sessions:
            if state.step is Step.INFUSING:
                counts["infusing"] += 1
            elif state.step is Step.RECOVERY:
                counts["recovery"] += 1
            elif state.step in (Step.ARRIVED, Step.PRECHECKS_PASSED):
                counts["waiting"] += 1
            elif state.step is Step.DISCHARGED:
                counts["discharged"] += 1
            if state.due and state.due.overdue:
                counts["overdue"] += 1
            counts["alerts"] += len(state.open_alerts)
    return counts


def load_state(db: Session, session: InfusionSession, patient: Patient, rules: ClinicRules,
               now: datetime) -> SessionState:
    chair = repository.chair(db, session.chair_id)
    assert chair is not None
    return session_state(session, patient, chair, rules, now, repository.vitals(db, session.id),
                         repository.pump_events(db, session.id), repository.current_dose(db, session.id),
                         repository.open_alerts_for_sessions(db, [session.id])[session.id])


def people(db: Session, session: InfusionSession, extra: list[int | None] | None = None) -> dict[int, str]:
    """Names of everyone who touched the session, for the record ('who and when')."""
    ids: list[int | None] = [t.by_user_id for t in session.transitions]
    ids += [session.booked_by_id, session.duty_override_by_id, *(extra or [])]
    for dose in repository.doses(db, session.id):
        ids += [dose.calculated_by_id, dose.verified_by_id]
    for reading in repository.vitals(db, session.id):
        ids += [reading.recorded_by_id, reading.actions_recorded_by_id]
    for event in repository.adverse_events(db, session.id):
        ids.append(event.recorded_by_id)
    return repository.user_names(db, ids)


def timeline(session: InfusionSession) -> list[dict[str, Any]]:
    return [{"from": t.from_status, "to": t.to_status, "at": t.at, "by": t.by_user_id, "note": t.note}
            for t in session.transitions]
