"""One infusion charted at the chair through the infusions services, step by step on the simulated clock: arrival,
pre-checks, the dose and its second-person check, the pump, timed vitals (now and then one at the notify or stop
line, with what was done about it), the end of the infusion, the CADSS-6, any adverse event, recovery vitals and the
discharge. Never commits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Severity
from tenfour.infusions import doses, monitoring, prechecks
from tenfour.infusions import service as infusions
from tenfour.infusions.models import InfusionSession
from tenfour.simulate.cohort import Person, answers_for
from tenfour.simulate.params import SimulationParams
from tenfour.simulate.world import SimClock, World

NOTE = " (synthetic)"
ADVERSE_KINDS = ("nausea_vomiting", "hypertension", "agitation", "tachycardia", "emergence_reaction")
ADVERSE_WEIGHTS = (50, 20, 10, 10, 10)  # assumption (docs/simulate.md)


class SimulationError(RuntimeError):
    """The services did something the simulator did not expect (a bug in one or the other): stop and say what."""


@dataclass
class Charted:
    adverse_events: int = 0
    alerts_answered: int = 0


def answer_alerts(db: Session, world: World, clock: SimClock, raised: list[Any], resolution: str = "called") -> int:
    """The prescriber acknowledges and resolves what was raised (urgent ones within minutes), as a clinic would;
    nothing is left to escalate afterwards. Returns how many were answered."""
    answered = 0
    for alert in raised:
        if alert.resolved_at is not None:
            continue
        clock.advance(minutes=8 if alert.severity == Severity.URGENT else 25)
        alerts.acknowledge(db, world.prescriber, alert.id)
        alerts.resolve(db, world.prescriber, alert.id, resolution, "Synthetic: called the patient; plan agreed.")
        answered += 1
    return answered


def _vitals(rng: random.Random, sedation: str, systolic: int | None = None,
            recovery: bool = False) -> monitoring.VitalsInput:
    return monitoring.VitalsInput(
        systolic_bp=systolic or rng.randint(118, 138 if recovery else 156), diastolic_bp=rng.randint(68, 92),
        heart_rate=rng.randint(62, 96), spo2=rng.randint(95, 99), respiratory_rate=rng.randint(12, 18),
        sedation=sedation)


def chart_infusion(db: Session, world: World, clock: SimClock, params: SimulationParams, rng: random.Random,
                   person: Person, session: InfusionSession) -> Charted:
    nurse, prescriber, sid = world.nurse, world.prescriber, session.id
    done = Charted()
    clock.set(session.scheduled_start)
    infusions.arrive(db, nurse, sid)
    clock.advance(minutes=5)
    check, _ = prechecks.record_prechecks(db, nurse, sid, prechecks.PrecheckInput(
        weight_kg=Decimal(person.weight_kg) + Decimal(rng.randint(-10, 10)) / 10,
        systolic_bp=person.systolic_bp + rng.randint(-6, 4), diastolic_bp=person.diastolic_bp + rng.randint(-4, 3),
        heart_rate=rng.randint(60, 88), spo2=rng.randint(96, 99), respiratory_rate=rng.randint(12, 18),
        sedation="alert", weight_measured_at=clock.now, fasting_hours=Decimal(rng.randint(5, 12)),
        escort_confirmed=True, escort_name="Synthetic escort",
        pregnancy_result="negative" if person.sex != "male" else None, no_shift_in_window=True))
    if not check.passed:
        raise SimulationError(f"session {sid}: pre-checks did not pass: {check.findings}")
    clock.advance(minutes=4)
    dose = doses.calculate_for_session(db, nurse, sid, doses.DoseInput())
    clock.advance(minutes=3)
    doses.verify(db, prescriber, sid, dose.id)
    start = clock.set(session.scheduled_start + timedelta(minutes=world.prep_min))
    infusions.start_infusion(db, nurse, sid)
    stop = rng.random() < params.stop_vitals_rate
    notify = not stop and rng.random() < params.notify_vitals_rate
    clock.set(start + timedelta(minutes=10))
    monitoring.record_vitals(db, nurse, sid, _vitals(rng, "drowsy"))
    if notify or stop:
        clock.set(start + timedelta(minutes=rng.randint(20, 30)))
        reading, _ = monitoring.record_vitals(db, nurse, sid, _vitals(
            rng, "drowsy", systolic=rng.randint(202, 212) if stop else rng.randint(181, 192)))
        clock.advance(minutes=2)
        monitoring.record_actions(db, nurse, sid, reading.id, ["stopped"] if stop else ["prescriber_called"],
                                  note="Synthetic: prescriber informed.")  # resolves the reading's alert
    if not stop:
        clock.set(start + timedelta(minutes=session.infusion_duration_min))
        infusions.end_infusion(db, nurse, sid)
    ended = clock.now
    clock.advance(minutes=5)
    monitoring.record_cadss6(db, nurse, sid, answers_for("cadss6", max(0, round(rng.gammavariate(2.0, 2.5))), rng))
    if rng.random() < params.adverse_event_rate:
        severe = rng.random() < params.severe_adverse_event_share
        kind = rng.choices(ADVERSE_KINDS, weights=ADVERSE_WEIGHTS)[0]
        _, alert = monitoring.record_adverse_event(db, nurse, sid, monitoring.AdverseEventInput(
            event_type=kind, severity="severe" if severe else rng.choice(("mild", "mild", "mild", "moderate")),
            action_taken="Observed; reassured" + NOTE, outcome="resolved", onset_at=clock.now))
        done.adverse_events += 1
        if alert is not None:
            done.alerts_answered += answer_alerts(db, world, clock, [alert], resolution="seen_in_clinic")
    for minutes in (15, 40):
        clock.set(ended + timedelta(minutes=minutes))
        monitoring.record_vitals(db, nurse, sid, _vitals(rng, "alert", recovery=True))
    infusions.discharge(db, nurse, sid, alert_and_oriented=True, escort_present=True, escort_name="Synthetic escort")
    return done
