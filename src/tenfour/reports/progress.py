"""The patient progress report: what it says, gathered and put in plain words (the PDF is drawn by ``pdf.py``).

For the patient, and with their consent for their own clinician; never for an employer. Reading it is a read of the
chart: ``report_for`` checks the reader's scope (staff of the patient's clinic, or the patient) and audits it.
Never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour import crisis
from tenfour.assessments import repository as assessments_repository
from tenfour.assessments.models import Assessment
from tenfour.audit.service import record
from tenfour.checkins import courses
from tenfour.checkins import repository as checkins_repository
from tenfour.checkins import service as checkins
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import outcomes
from tenfour.core import relapse as core_relapse
from tenfour.db import utcnow
from tenfour.errors import ValidationFailed
from tenfour.infusions import repository as infusions_repository
from tenfour.patients import service as patients
from tenfour.patients.models import ConsentKind, Patient

PCL5_FULL = ("pcl5", "pcl5-week")
MAX_ROWS = 12  # the score table shows the latest scores; the chart shows them all (two pages at most)
NEVER_SENT = ("This report is yours. TenFour never sends it to your employer, agency, supervisor, union or to "
              "whoever referred you, and no one there can ask the clinic for it. Share it only if you choose.")


class Purpose(StrEnum):
    """Who the report is printed for. ``own_clinician``: the patient's own clinician (therapist, family doctor),
    which needs the patient's consent 'share_with_own_clinician'."""

    PATIENT = "patient"
    OWN_CLINICIAN = "own_clinician"


@dataclass(frozen=True)
class Score:
    at: datetime
    total: int
    context: str


@dataclass(frozen=True)
class Sign:
    label: str
    endorsed: int
    asked: int


@dataclass
class ProgressReport:
    patient: Patient
    clinic: Clinic
    purpose: Purpose
    generated_at: datetime
    tz: str
    pcl5: list[Score]
    baseline: int | None
    response_limit: int | None
    cutoff: int
    reliable_points: int
    response_pct: float
    changes: list[str]
    other_measures: list[str]
    state_words: str | None
    signs: list[Sign]
    next_steps: list[str]
    crisis_lines: list[crisis.CrisisLine]
    infusions_given: int
    consent_given_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def local(self, value: datetime, fmt: str = "%d %b %Y") -> str:
        return value.astimezone(ZoneInfo(self.tz)).strftime(fmt)


STATE_WORDS = {
    "stable": "your recent check-ins look steady.",
    "watch": "your recent check-ins show some early signs that symptoms may be coming back. Your care team has "
             "seen this and will be in touch.",
    "act": "your recent check-ins show that the improvement has faded. Your care team will talk with you about "
           "what comes next, for example a booster infusion.",
    "urgent": "one of your recent answers asked for a same-day safety conversation. If you have not spoken to the "
              "clinic yet, call now, or call or text 988.",
    "non_responder": "the infusions have not brought the change we hoped for yet. Your prescriber will go through "
                     "the options with you.",
}


def _consent(patient: Patient) -> datetime | None:
    for consent in reversed(patient.consents):
        if consent.kind == ConsentKind.SHARE_WITH_OWN_CLINICIAN.value and consent.withdrawn_at is None:
            return consent.given_at
    return None


def _purpose(value: str | None) -> Purpose:
    try:
        return Purpose(value or Purpose.PATIENT.value)
    except ValueError:
        raise ValidationFailed.single("purpose", "known_choice",
                                      "must be patient or own_clinician") from None


def own_report(db: Session, ctx: Ctx) -> ProgressReport:
    """The signed-in patient's own report."""
    from tenfour.patients import repository as patients_repository

    assert ctx.principal is not None
    own = patients_repository.by_user_id(db, ctx.principal.user.id)
    if own is None:
        from tenfour.errors import NotFound

        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return report_for(db, ctx, own.id, Purpose.PATIENT.value)


def report_for(db: Session, ctx: Ctx, patient_id: int, purpose: str | None) -> ProgressReport:
    """A patient's report for ``purpose`` (the reader's scope checked, 404 otherwise; audited). Printing it for the
    patient's own clinician needs their consent (422 naming ``purpose`` without it)."""
    chosen = _purpose(purpose)
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    consent_at = _consent(patient)
    if chosen == Purpose.OWN_CLINICIAN and consent_at is None:
        raise ValidationFailed.single("purpose", "consent_required",
                                      "the patient has not agreed to share progress reports with their own "
                                      "clinician (consent 'share_with_own_clinician'); print it for the patient")
    report = build(db, patient, chosen)
    report.consent_given_at = consent_at
    record(db, ctx.actor, "report.progress_pdf", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id,
           detail={"purpose": chosen.value, "by": "patient" if ctx.principal and not ctx.principal.is_staff
                   else "staff", "scores": len(report.pcl5)})
    return report


def _latest(rows: list[Assessment], instrument_id: str) -> tuple[Assessment | None, Assessment | None]:
    mine = [a for a in rows if a.instrument_id == instrument_id and a.total is not None]
    return (mine[0], mine[-1]) if mine else (None, None)


def _band(row: Assessment) -> str:
    label = (row.result or {}).get("band_label")
    return f" ({label.lower()})" if label else ""


def build(db: Session, patient: Patient, purpose: Purpose) -> ProgressReport:
    """Gather the report (no scope check, no audit: ``report_for`` does both)."""
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    values = effective_policy(db, clinic.id)
    rules = outcomes.OutcomesPolicy.from_policy(values)
    tz = courses.patient_timezone(db, patient)
    now = utcnow()
    rows = assessments_repository.for_patient(db, patient.id, [*PCL5_FULL, "phq9", "gad7"], current_only=True)
    pcl5 = [Score(a.administered_at, a.total, a.context) for a in rows
            if a.instrument_id in PCL5_FULL and a.total is not None]
    course = checkins_repository.current_course(db, patient.id)
    baseline = course.baseline_pcl5 if course and course.baseline_pcl5 is not None else (pcl5[0].total if pcl5
                                                                                          else None)
    limit = core_relapse.response_limit_pcl5(baseline, int(rules.response_reduction_pct)) if baseline else None
    report = ProgressReport(
        patient=patient, clinic=clinic, purpose=purpose, generated_at=now, tz=tz, pcl5=pcl5, baseline=baseline,
        response_limit=limit, cutoff=rules.provisional_cutoff, reliable_points=rules.reliable_change_points,
        response_pct=rules.response_reduction_pct, changes=[], other_measures=[], state_words=None, signs=[],
        next_steps=[], crisis_lines=[*crisis.NATIONAL_LINES, *crisis.parse_clinic_lines(clinic.crisis_lines)],
        infusions_given=sum(1 for s in infusions_repository.for_patient(db, patient.id)
                            if s.infusion_started_at is not None))
    report.changes = _changes(report, rules)
    for instrument_id, name, what in (("phq9", "PHQ-9", "low mood"), ("gad7", "GAD-7", "worry and anxiety")):
        first, last = _latest(rows, instrument_id)
        if first is None or last is None:
            continue
        if first.id == last.id:
            report.other_measures.append(f"{name} ({what}): {last.total}{_band(last)} on "
                                         f"{report.local(last.administered_at)}.")
        else:
            report.other_measures.append(f"{name} ({what}): {first.total}{_band(first)} on "
                                         f"{report.local(first.administered_at)}, {last.total}{_band(last)} on "
                                         f"{report.local(last.administered_at)}.")
    evaluation = checkins_repository.evaluation(db, patient.id)
    if evaluation is not None and evaluation.state in STATE_WORDS:
        report.state_words = f"As of your check-in of {evaluation.as_of:%d %b %Y}: {STATE_WORDS[evaluation.state]}"
    report.signs = [Sign(s.sign.label, s.endorsed, s.asked) for s in checkins.sign_stats(db, patient.id)
                    if s.sign.removed_at is None]
    report.next_steps = _next_steps(db, report, course, now)
    if patient.is_synthetic:
        report.notes.append("Synthetic demo record: not a real person.")
    return report


def _changes(report: ProgressReport, rules: outcomes.OutcomesPolicy) -> list[str]:
    """What changed, in plain words, with the rule each judgement uses."""
    if report.baseline is None or not report.pcl5:
        return ["There are no PCL-5 scores yet. Your first one is part of your intake questions."]
    latest = report.pcl5[-1]
    if len(report.pcl5) == 1:
        return [f"Your first PCL-5 score is {latest.total} (of 80) on {report.local(latest.at)}. The next ones will "
                "show how it changes."]
    delta = outcomes.change(report.baseline, latest.total)
    lines = [f"When your course started your PCL-5 score was {report.baseline}; your latest, on "
             f"{report.local(latest.at)}, is {latest.total}."]
    if delta.change_pct is not None and delta.change_points < 0:
        lines.append(f"That is {-delta.change_points} points ({-delta.change_pct:.0f}%) lower.")
    elif delta.change_points > 0:
        lines.append(f"That is {delta.change_points} points higher.")
    else:
        lines.append("That is the same score.")
    reliable = outcomes.reliable_change(report.baseline, latest.total, rules)
    if reliable.direction == outcomes.IMPROVED:
        lines.append(f"A change of {rules.reliable_change_points} points or more is more than day-to-day ups and "
                     "downs: this is a real improvement.")
    elif reliable.direction == outcomes.WORSENED:
        lines.append(f"A rise of {rules.reliable_change_points} points or more is more than day-to-day ups and "
                     "downs: please talk to your care team about it.")
    response = outcomes.response(report.baseline, latest.total, rules)
    if response.met:
        lines.append(f"A score {rules.response_reduction_pct:g}% or more below where you started is what we call "
                     "a response to treatment, and you are there.")
    remission = outcomes.remission(report.baseline, latest.total, rules)
    if remission.met:
        lines.append(f"Your score is below {rules.provisional_cutoff}, the level at which PTSD symptoms usually "
                     "need care.")
    best = min(s.total for s in report.pcl5)
    if best < latest.total:
        lines.append(f"Your best score so far was {best}.")
    return lines


def _next_steps(db: Session, report: ProgressReport, course: object, now: datetime) -> list[str]:
    steps = []
    patient = report.patient
    upcoming = sorted((s for s in infusions_repository.for_patient(db, patient.id)
                       if s.status == "scheduled" and s.scheduled_start > now), key=lambda s: s.scheduled_start)
    if upcoming:
        steps.append(f"Your next infusion is booked for {report.local(upcoming[0].scheduled_start, '%A %d %B, %H:%M')}"
                     ". No driving and no duty shift for 24 hours after it.")
    due = checkins_repository.next_due(db, course.id) if course is not None else None  # type: ignore[attr-defined]
    if due is not None:
        steps.append(f"Your next check-in is due on {_day(due)}. It takes about four minutes on your phone.")
    proposal = checkins_repository.open_proposal(db, patient.id)
    if proposal is not None and proposal.window_end >= now.astimezone(ZoneInfo(report.tz)).date():
        steps.append(f"Your care team suggests a booster infusion between {_day(proposal.window_start)} and "
                     f"{_day(proposal.window_end)}, before symptoms usually return for you.")
    if report.signs:
        steps.append("Keep an eye on your warning signs. If two or three show up together, check in early or call "
                     "the clinic: acting early works better.")
    steps.append("Bring this report to your next visit if you would like to talk it through.")
    return steps


def _day(value: date) -> str:
    return value.strftime("%A %d %B %Y")
