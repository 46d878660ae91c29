"""During and after the infusion: timed vitals with their evaluation and urgent alerts, the actions taken about a
reading, adverse events, and the CADSS-6 at the end of the infusion. Never commits.

Notify- and stop-level readings raise an urgent "vitals" alert at once: it shows on every staff page of the clinic
(the banner) until a clinician acknowledges it; recording the actions taken at the chairside resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, AlertKind, Resolution, Severity
from tenfour.assessments import service as assessments
from tenfour.assessments.models import Assessment, AssessmentContext
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.core import vitals as core_vitals
from tenfour.core.errors import CoreError
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.infusions import clock, repository
from tenfour.infusions.models import (
    AdverseEventType,
    AdverseOutcome,
    AdverseSeverity,
    InfusionAdverseEvent,
    InfusionSession,
    InfusionVitals,
    VitalsAction,
)
from tenfour.infusions.prechecks import reason_dict
from tenfour.infusions.service import (
    CLOCK_SKEW,
    Step,
    clinic_of,
    end_infusion,
    get_session,
    pump_action,
    pump_progress,
    require_step,
    rules_for,
)

RUNNING = (Step.INFUSING, Step.RECOVERY)
BACKDATE_LIMIT = timedelta(minutes=60)  # a reading may be charted up to an hour after it was taken
ALERT_TITLES = {
    core_vitals.Level.STOP: "STOP-level vitals during an infusion: stop the infusion and call the prescriber",
    core_vitals.Level.NOTIFY: "Notify-level vitals during an infusion: tell the prescriber now",
}
ADVERSE_EVENT_KIND = "adverse_event"


@dataclass(frozen=True)
class VitalsInput:
    systolic_bp: int
    diastolic_bp: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None = None
    sedation: str | None = None
    taken_at: datetime | None = None


def phase_started_at(session: InfusionSession) -> datetime:
    started = session.infusion_started_at if session.step is Step.INFUSING else session.infusion_ended_at
    assert started is not None
    return started


def record_vitals(db: Session, ctx: Ctx, session_id: int, data: VitalsInput) -> tuple[InfusionVitals, Alert | None]:
    """Evaluate and store one timed reading while infusing or in recovery (409 otherwise: vitals for a session that
    is not running). Impossible values are refused (422) and nothing is stored."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, RUNNING, "session_not_running", "timed vitals can be recorded")
    clinic = clinic_of(db, session)
    rules = rules_for(db, clinic)
    now = clock.now()
    taken = data.taken_at or now
    since = phase_started_at(session)
    if taken.tzinfo is None:
        raise ValidationFailed.single("taken_at", "timezone_aware", "must include a time zone")
    if taken > now + CLOCK_SKEW:
        raise ValidationFailed.single("taken_at", "not_in_future", "cannot be in the future")
    if taken < since or taken < now - BACKDATE_LIMIT:
        raise ValidationFailed.single("taken_at", "within_phase",
                                      f"must be after the {session.step.label.lower()} phase began and within the "
                                      "last hour")
    phase = core_vitals.Phase(session.status)
    reading = core_vitals.VitalsReading(data.systolic_bp, data.diastolic_bp, data.heart_rate, data.spo2,
                                        data.respiratory_rate, data.sedation or None, taken)
    try:
        evaluation = core_vitals.evaluate(reading, phase, rules.vitals)
    except CoreError as error:
        raise ValidationFailed.from_core(error) from None
    row = InfusionVitals(session_id=session.id, phase=phase.value, taken_at=taken, systolic_bp=data.systolic_bp,
                         diastolic_bp=data.diastolic_bp, heart_rate=data.heart_rate, spo2=data.spo2,
                         respiratory_rate=data.respiratory_rate, sedation=data.sedation or None,
                         level=evaluation.level.value, reasons=[reason_dict(r) for r in evaluation.reasons],
                         recorded_by_id=ctx.actor.user_id, recorded_at=now)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "infusion.vitals", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_vitals", record_id=row.id, detail={"phase": phase.value, "level": row.level})
    alert = None
    if evaluation.level in ALERT_TITLES:
        chair = repository.chair(db, session.chair_id)
        where = f" ({chair.name})" if chair else ""
        alert = alerts.raise_alert(
            db, ctx, clinic_id=session.clinic_id, patient_id=session.patient_id, severity=Severity.URGENT,
            kind=AlertKind.VITALS.value, title=ALERT_TITLES[evaluation.level] + where,
            reasons=[{"rule": r.rule, "message": r.message} for r in evaluation.reasons],
            source_type="infusion_vitals", source_id=row.id)
        row.alert_id = alert.id
        db.flush()
    return row, alert


def record_actions(db: Session, ctx: Ctx, session_id: int, reading_id: int, actions: list[str],
                   note: str | None = None, new_rate_ml_per_h: Decimal | None = None) -> InfusionVitals:
    """What was done about a reading: rate reduced (with the new rate), paused, stopped (the infusion ends now and
    recovery begins), medication given (named in the note), prescriber called. The pump changes happen here; the
    reading's alert is resolved as 'action taken at the chairside'."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, RUNNING, "session_not_running", "actions can be recorded")
    reading = repository.vitals_reading(db, reading_id)
    if reading is None or reading.session_id != session.id:
        raise NotFound("No such reading for this session.")
    if reading.actions:
        raise Conflict("Actions for this reading are already recorded.",
                       [Problem("actions", "already_recorded", "already recorded")])
    try:
        chosen = [VitalsAction(a) for a in dict.fromkeys(actions)]
    except ValueError:
        raise ValidationFailed.single("actions", "known_choice",
                                      "each must be one of: " + ", ".join(a.value for a in VitalsAction)) from None
    if not chosen:
        raise ValidationFailed.single("actions", "required", "choose at least one action")
    text = (note or "").strip() or None
    if text and len(text) > 1000:
        raise ValidationFailed.single("note", "max_length", "must be at most 1000 characters")
    if VitalsAction.MEDICATION_GIVEN in chosen and not text:
        raise ValidationFailed.single("note", "medication_named", "name the medication, dose and route given")
    pump = {VitalsAction.RATE_REDUCED, VitalsAction.PAUSED, VitalsAction.STOPPED} & set(chosen)
    if pump and session.step is not Step.INFUSING:
        raise ValidationFailed.single("actions", "infusion_not_running",
                                      "the infusion has ended: the rate cannot be reduced, paused or stopped")
    if VitalsAction.STOPPED in chosen and len(pump) > 1:
        raise ValidationFailed.single("actions", "stop_alone", "a stopped infusion is not also paused or slowed")
    now = clock.now()
    if VitalsAction.RATE_REDUCED in chosen:
        state = pump_progress(db, session, now)
        if new_rate_ml_per_h is None:
            raise ValidationFailed.single("new_rate_ml_per_h", "required", "give the reduced rate in mL/h")
        if state is not None and new_rate_ml_per_h >= state.rate_ml_per_h:
            raise ValidationFailed.single("new_rate_ml_per_h", "rate_reduced",
                                          f"must be below the current rate of {state.rate_ml_per_h} mL/h")
        pump_action(db, ctx, session.id, "rate", rate_ml_per_h=new_rate_ml_per_h, note=text, vitals_id=reading.id,
                    session=session)
    if VitalsAction.PAUSED in chosen:
        pump_action(db, ctx, session.id, "pause", note=text, vitals_id=reading.id, session=session)
    if VitalsAction.STOPPED in chosen:
        end_infusion(db, ctx, session.id, stopped_early=True, vitals_id=reading.id, session=session,
                     note=f"stopped after a {reading.level}-level reading"
                          f" ({reading.systolic_bp}/{reading.diastolic_bp} mmHg, SpO2 {reading.spo2}%)")
    reading.actions = [a.value for a in chosen]
    reading.action_note = text
    reading.actions_recorded_by_id = ctx.actor.user_id
    reading.actions_recorded_at = now
    db.flush()
    record(db, ctx.actor, "infusion.vitals_actions", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_vitals", record_id=reading.id, detail={"actions": reading.actions})
    if reading.alert_id is not None:
        alert = alerts.get_alert(db, ctx, reading.alert_id)
        if alert.resolved_at is None:
            summary = ", ".join(a.label.lower() for a in chosen) + (f": {text}" if text else "")
            alerts.resolve(db, ctx, alert.id, Resolution.INFUSION_ACTION.value, summary[:2000])
    return reading


@dataclass(frozen=True)
class AdverseEventInput:
    event_type: str
    severity: str
    action_taken: str
    outcome: str
    description: str | None = None
    onset_at: datetime | None = None


def record_adverse_event(db: Session, ctx: Ctx, session_id: int,
                         data: AdverseEventInput) -> tuple[InfusionAdverseEvent, Alert | None]:
    """An adverse event with type, severity, time of onset, action and outcome. A severe event raises an urgent
    alert for the clinic at once."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, (Step.ARRIVED, Step.PRECHECKS_PASSED, Step.INFUSING, Step.RECOVERY),
                 "session_not_running", "adverse events can be recorded")
    problems: list[Problem] = []
    choices: dict[str, Any] = {}
    for field, enum, value in (("event_type", AdverseEventType, data.event_type),
                               ("severity", AdverseSeverity, data.severity),
                               ("outcome", AdverseOutcome, data.outcome)):
        try:
            choices[field] = enum(value)
        except ValueError:
            problems.append(Problem(field, "known_choice", "must be one of: " + ", ".join(e.value for e in enum)))
    description = (data.description or "").strip() or None
    action = (data.action_taken or "").strip()
    if choices.get("event_type") is AdverseEventType.OTHER and not description:
        problems.append(Problem("description", "required_for_other", "describe the event"))
    if description and len(description) > 500:
        problems.append(Problem("description", "max_length", "must be at most 500 characters"))
    if len(action) < 2:
        problems.append(Problem("action_taken", "required", "say what was done (or 'none needed')"))
    elif len(action) > 1000:
        problems.append(Problem("action_taken", "max_length", "must be at most 1000 characters"))
    now = clock.now()
    onset = data.onset_at or now
    arrived = next((t.at for t in session.transitions if t.to_status == Step.ARRIVED.value), None)
    if onset.tzinfo is None:
        problems.append(Problem("onset_at", "timezone_aware", "must include a time zone"))
    elif onset > now + CLOCK_SKEW:
        problems.append(Problem("onset_at", "not_in_future", "cannot be in the future"))
    elif arrived is not None and onset < arrived - CLOCK_SKEW:
        problems.append(Problem("onset_at", "during_session", "must be after the patient arrived"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    event = InfusionAdverseEvent(session_id=session.id, event_type=choices["event_type"].value,
                                 description=description, severity=choices["severity"].value, onset_at=onset,
                                 action_taken=action, outcome=choices["outcome"].value,
                                 recorded_by_id=ctx.actor.user_id, recorded_at=now)
    db.add(event)
    db.flush()
    record(db, ctx.actor, "infusion.adverse_event", clinic_id=session.clinic_id, patient_id=session.patient_id,
           record_type="infusion_adverse_event", record_id=event.id,
           detail={"type": event.event_type, "severity": event.severity})
    alert = None
    if choices["severity"] is AdverseSeverity.SEVERE:
        label = choices["event_type"].label
        alert = alerts.raise_alert(
            db, ctx, clinic_id=session.clinic_id, patient_id=session.patient_id, severity=Severity.URGENT,
            kind=ADVERSE_EVENT_KIND, title=f"Severe adverse event during an infusion: {label.lower()}",
            reasons=[{"rule": "adverse_event.severe", "message": f"{label} ({event.severity}); action: {action}"}],
            source_type="infusion_adverse_event", source_id=event.id)
        event.alert_id = alert.id
        db.flush()
    return event, alert


def record_cadss6(db: Session, ctx: Ctx, session_id: int, answers: dict[str, Any]) -> Assessment:
    """The CADSS-6 at the end of the infusion (clinician-administered), stored as an assessment in the
    'post_infusion' context and linked to the session. Once per session; a mistake is corrected on the
    assessment (a new version with a reason)."""
    session = get_session(db, ctx, session_id, for_update=True, audit_action=None)
    require_step(session, RUNNING, "session_not_running", "the CADSS-6 can be recorded")
    if session.cadss_assessment_id is not None:
        raise Conflict("The CADSS-6 of this session is already recorded; correct it on the assessment instead.",
                       [Problem("cadss6", "once_per_session", "already recorded for this session")])
    assessment, _ = assessments.submit(db, ctx, session.patient_id, instrument_id="cadss6", answers=answers,
                                       context=AssessmentContext.POST_INFUSION, administered_at=clock.now())
    session.cadss_assessment_id = assessment.id
    db.flush()
    return assessment

