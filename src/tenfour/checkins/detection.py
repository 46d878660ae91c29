"""Relapse detection in the app: a course's check-ins -> ``core.relapse.evaluate`` -> the stored state, and an alert
for every change to watch, act or urgent. Never commits.

Two ways to build the history, with identical results (bench/sweep_bench.py checks it for every patient):
- ``history_for`` loads one course's check-ins with the ORM (after a submission, on the chart, the baseline loop);
- ``evaluate_batch`` reads a whole batch of courses with one windowed query (``repository.reduced_histories``) and
  feeds the pure rules only the rows they can look at (the sweep).

Alerts (issue 6): a change of state to watch, act or urgent creates an alert with its reasons. An urgent state
comes from a PHQ-9 item 9 or C-SSRS answer that the assessments service has already alerted on, so it points to
that alert instead of raising a second one for the same submission (a fallback urgent alert is raised only if none
exists). While a patient stays on watch or act, a rule that newly holds raises an alert only when no relapse alert
of theirs is still open (so growing warnings are never silent, and an open alert is never repeated).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.alerts import repository as alerts_repository
from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, AlertKind, Severity
from tenfour.audit.service import record
from tenfour.checkins import clock, repository
from tenfour.checkins.models import CheckIn, CheckinCourse, RelapseEvaluation, RelapseTransition
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import maintenance as core_maintenance
from tenfour.core import relapse
from tenfour.core import reminders as core_reminders
from tenfour.core.errors import CoreError
from tenfour.core.relapse import RelapseState

log = logging.getLogger("tenfour.relapse")

ALERTING = {RelapseState.WATCH: Severity.WATCH, RelapseState.ACT: Severity.ACT, RelapseState.URGENT: Severity.URGENT}
TITLES = {
    RelapseState.WATCH: "Early warning of relapse: check in with the patient",
    RelapseState.ACT: "Loss of response: contact the patient, consider a booster",
    RelapseState.URGENT: "Urgent: suicide-risk answer in the latest check-in",
}
STATE_LABELS = {
    "urgent": "Urgent", "act": "Act: loss of response", "watch": "Watch: early warning",
    "non_responder": "Did not respond to the course", "stable": "Stable",
}


@dataclass(frozen=True)
class Rules:
    """A clinic's policy values, as the pure rules take them."""

    values: dict[str, Any]
    relapse: relapse.RelapsePolicy
    maintenance: core_maintenance.MaintenancePolicy
    reminders: core_reminders.ReminderPolicy

    @property
    def overdue_days(self) -> int:
        return self.relapse.watch_overdue_days

    @property
    def urgent_ack_limit_min(self) -> int:
        return int(self.values["alerts.urgent_ack_limit_min"])


def rules_for(db: Session, clinic_id: int) -> Rules:
    values = effective_policy(db, clinic_id)
    return Rules(values, relapse.RelapsePolicy.from_policy(values),
                 core_maintenance.MaintenancePolicy.from_policy(values),
                 core_reminders.ReminderPolicy.from_policy(values))


def keep_last(policy: relapse.RelapsePolicy) -> int:
    """How many of the latest PCL-5 scores the rules can look at (the trend's 3, or the act rule's run)."""
    return max(relapse.TREND_SCORES, policy.act_consecutive_checkins)


# --- Building histories ---------------------------------------------------------------------------------------


def _core_checkin(day: date, pcl5: int | None, item9: int | None, cssrs: str | None, signs: int,
                  names: Sequence[str]) -> relapse.CheckIn:
    return relapse.CheckIn(date=day, pcl5=pcl5, phq9_item9=item9, cssrs_risk=cssrs, warning_signs=tuple(names),
                           warning_sign_count=signs)


def history_for(db: Session, course: CheckinCourse, as_of: date) -> relapse.PatientHistory | None:
    """The whole history of a course as of a day (None when it cannot be evaluated: not started, no baseline)."""
    if not course.started or course.baseline_pcl5 is None or course.course_start is None:
        return None
    rows = [c for c in repository.completed_checkins(db, course.id)
            if c.completed_on is not None and course.course_start <= c.completed_on <= as_of]
    names = repository.sign_names(db, [c.id for c in rows])
    checkins = [_core_checkin(c.completed_on, c.pcl5_total, c.phq9_item9, c.cssrs_risk, c.signs_endorsed,  # type: ignore[arg-type]
                              names.get(c.id, ())) for c in rows]
    return relapse.PatientHistory(baseline_pcl5=course.baseline_pcl5, course_start=course.course_start,
                                  course_end=course.course_end, as_of=as_of, checkins=checkins,
                                  next_due=repository.next_due(db, course.id))


def evaluate_course(db: Session, course: CheckinCourse, as_of: date, rules: Rules) -> relapse.Assessment | None:
    history = history_for(db, course, as_of)
    if history is None:
        return None
    try:
        return relapse.evaluate(history, rules.relapse)
    except CoreError as error:
        log.warning("course %s not evaluated: %s", course.id, error)
        return None


def evaluate_batch(db: Session, course_ids: Sequence[int], now: datetime,
                   rules: Rules) -> dict[int, relapse.Assessment]:
    """The sweep's evaluation of a batch of one clinic's courses, each as of its own local day at ``now``: three
    queries (the rows the rules can look at, the next due check-ins, the latest check-ins' warning signs), then the
    pure rules per course."""
    if not course_ids:
        return {}
    repository.sort_in_memory(db)
    courses = repository.course_rows(db, course_ids)
    as_of = {c.id: now.astimezone(ZoneInfo(c.timezone)).date() for c in courses}
    rows = repository.reduced_histories(db, course_ids, rules.relapse.response_reduction_pct,
                                        keep_last(rules.relapse), max(as_of.values(), default=date.max))
    due = repository.next_due_by_course(db, course_ids)
    names = repository.sign_names(db, [r[-1].id for r in rows.values() if r and r[-1].signs_endorsed])
    results: dict[int, relapse.Assessment] = {}
    for course in courses:
        day = as_of[course.id]
        history = relapse.PatientHistory(
            baseline_pcl5=course.baseline_pcl5, course_start=course.course_start, course_end=course.course_end,
            as_of=day, next_due=due.get(course.id),
            checkins=[relapse.CheckIn(r.completed_on, r.pcl5_total, r.phq9_item9, r.cssrs_risk,
                                      names.get(r.id, ()), r.signs_endorsed)
                      for r in rows.get(course.id, ()) if r.completed_on <= day])
        try:
            results[course.id] = relapse.evaluate(history, rules.relapse)
        except CoreError as error:  # a record the rules refuse must not stop everyone else's evaluation
            log.warning("course %s not evaluated: %s", course.id, error)
    return results


# --- Storing the result, alerting on a change ---------------------------------------------------------------------


def fingerprint(result: relapse.Assessment) -> str:
    data = {"state": result.state.value, "reasons": [[r.rule.value, r.message] for r in result.reasons],
            "responded": result.responded, "best": result.best_pcl5, "latest": result.latest_pcl5}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def reasons_json(result: relapse.Assessment) -> list[dict[str, str]]:
    return [{"rule": r.rule.value, "message": r.message} for r in result.reasons]


@dataclass
class Applied:
    evaluation: RelapseEvaluation
    changed: bool  # the state changed
    transition: RelapseTransition | None
    alert: Alert | None  # an alert this evaluation raised (not one it points to)
    linked_alert: Alert | None  # the safety alert an urgent state points to


def apply(db: Session, ctx: Ctx, course: CheckinCourse, result: relapse.Assessment, as_of: date, *,
          source: str, checkin: CheckIn | None = None) -> Applied | None:
    """Store a patient's evaluation; on a change to watch/act/urgent, alert. None when nothing changed."""
    stored = repository.evaluation(db, course.patient_id, for_update=True)
    digest = fingerprint(result)
    if stored is not None and stored.fingerprint == digest:
        return None
    now = clock.now()
    previous_state = RelapseState(stored.state) if stored is not None else None
    previous_rules = {r["rule"] for r in stored.reasons} if stored is not None else set()
    if stored is None:
        stored = RelapseEvaluation(clinic_id=course.clinic_id, patient_id=course.patient_id, state_since=now)
        db.add(stored)
    stored.clinic_id, stored.course_id = course.clinic_id, course.id
    stored.state = result.state.value
    stored.reasons = reasons_json(result)
    stored.responded, stored.best_pcl5 = result.responded, result.best_pcl5
    stored.baseline_pcl5, stored.latest_pcl5 = result.baseline_pcl5, result.latest_pcl5
    stored.slope_points_per_week = result.slope_points_per_week
    stored.as_of, stored.evaluated_at, stored.fingerprint = as_of, now, digest
    changed = previous_state != result.state
    linked = _safety_alert(db, course) if result.state == RelapseState.URGENT else None
    transition = raised = None
    if changed:
        stored.state_since = now
        stored.alert_id = None
        transition = RelapseTransition(clinic_id=course.clinic_id, patient_id=course.patient_id,
                                       from_state=previous_state.value if previous_state else None,
                                       to_state=result.state.value, reasons=stored.reasons, as_of=as_of,
                                       source=source, checkin_id=checkin.id if checkin else None, created_at=now)
        db.add(transition)
        db.flush()
        record(db, ctx.actor, "relapse.state_change", clinic_id=course.clinic_id, patient_id=course.patient_id,
               record_type="relapse_transition", record_id=transition.id,
               detail={"from": transition.from_state, "to": transition.to_state,
                       "rules": [r.rule.value for r in result.reasons]})
    new_rules = {r.rule.value for r in result.reasons} - previous_rules
    grew = (not changed and result.state in (RelapseState.WATCH, RelapseState.ACT) and new_rules
            and not _open_relapse_alert(db, course.patient_id))
    if result.state in ALERTING and (changed or grew):
        if result.state == RelapseState.URGENT and linked is not None:
            stored.alert_id = linked.id
        else:
            raised = _raise(db, ctx, course, result, transition, grew=bool(grew and not changed))
            stored.alert_id = raised.id
        if transition is not None:
            transition.alert_id = stored.alert_id
    elif result.state == RelapseState.URGENT and linked is not None:
        stored.alert_id = linked.id  # still urgent after a newer flagged check-in: point to its alert
    db.flush()
    return Applied(stored, changed, transition, raised, linked)


def _safety_alert(db: Session, course: CheckinCourse) -> Alert | None:
    """The newest urgent alert the assessments service raised for the latest day's check-ins."""
    rows = repository.completed_checkins(db, course.id)
    if not rows:
        return None
    last_day = rows[-1].completed_on
    ids = [i for c in rows if c.completed_on == last_day for i in (c.phq9_assessment_id, c.cssrs_assessment_id)
           if i is not None]
    found = repository.safety_alerts_for(db, ids)
    return found[0] if found else None


def _open_relapse_alert(db: Session, patient_id: int) -> bool:
    return any(a.kind == AlertKind.RELAPSE.value and a.resolved_at is None
               for a in alerts_repository.for_patient(db, patient_id))


def _raise(db: Session, ctx: Ctx, course: CheckinCourse, result: relapse.Assessment,
           transition: RelapseTransition | None, *, grew: bool) -> Alert:
    title = TITLES[result.state]
    if grew:
        title = f"{title} (new warning)"
    return alerts.raise_alert(db, ctx, clinic_id=course.clinic_id, patient_id=course.patient_id,
                              severity=ALERTING[result.state], kind=AlertKind.RELAPSE.value, title=title,
                              reasons=reasons_json(result),
                              source_type="relapse_transition" if transition else "relapse_evaluation",
                              source_id=transition.id if transition else None)
