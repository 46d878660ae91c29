"""Use cases of intake: the invitation, the account it creates, and the resumable intake on a phone. Never commits.

Each step is saved on its own, so a patient can stop between calls and carry on later; the intake is sent once,
after which its answers are the clinic's to change. The questionnaires are assessments with context ``intake``:
a PHQ-9 item 9 above 0 or a high C-SSRS raises an urgent alert the moment it is stored (assessments.service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour import mail, ratelimit
from tenfour.accounts import passwords
from tenfour.accounts import repository as accounts_repository
from tenfour.accounts import service as accounts
from tenfour.accounts.models import Role, User
from tenfour.alerts.models import Alert
from tenfour.assessments import repository as assessments_repository
from tenfour.assessments import service as assessments
from tenfour.assessments.models import Assessment, AssessmentContext
from tenfour.audit.service import Actor, record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.core import dosing, rosters
from tenfour.core import eligibility as rules
from tenfour.core.errors import CoreError
from tenfour.db import utcnow
from tenfour.eligibility import service as eligibility
from tenfour.eligibility.models import EligibilityDecision
from tenfour.errors import Conflict, NotFound, Problem, ValidationFailed
from tenfour.intake import repository, screening
from tenfour.intake.models import IntakeForm
from tenfour.intake.repository import INVITATION_PURPOSE
from tenfour.intake.schemas import AboutIn, HealthIn, MeasurementsIn, WorkIn
from tenfour.links import service as links
from tenfour.links.models import AccessLink
from tenfour.links.service import LinkInvalid, LinkProblem
from tenfour.patients import repository as patients_repository
from tenfour.patients import service as patients
from tenfour.patients.models import Patient, PatientStatus
from tenfour.patients.schemas import PatientUpdate
from tenfour.referrals import service as referrals

# Default of the setting invitations_sent_per_hour, for callers without the app's settings (the referral pages).
INVITATIONS_PER_HOUR = 30
INVITATION_TTL = timedelta(days=7)  # operations: long enough for a 48/96 roster to reach a day off
OLDEST_READING = timedelta(days=365)  # a "recent" reading older than a year is not recent
LB_TO_KG = Decimal("0.45359237")
CM_PER_INCH = Decimal("2.54")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    summary: str
    questionnaire: bool = False

    @property
    def path(self) -> str:
        return f"/me/intake/questionnaires/{self.key}" if self.questionnaire else f"/me/intake/{self.key}"


STEPS: tuple[Step, ...] = (
    Step("about", "About you", "Date of birth, and how and when to reach you"),
    Step("work", "Your work and shifts", "Role, agency and duty roster, so visits fit your shifts"),
    Step("pcl5", "Stress after hard events", "PCL-5 · 20 questions · about 5 minutes", questionnaire=True),
    Step("phq9", "Mood", "PHQ-9 · 9 questions · about 2 minutes", questionnaire=True),
    Step("gad7", "Worry and anxiety", "GAD-7 · 7 questions · about 2 minutes", questionnaire=True),
    Step("cssrs-screen", "Safety questions", "C-SSRS screener · up to 7 yes/no questions", questionnaire=True),
    Step("health", "Health and medicines", "Conditions, medicines, pregnancy, alcohol and drugs"),
    Step("measurements", "Blood pressure and weight", "Your most recent readings"),
)
STEP_BY_KEY = {step.key: step for step in STEPS}
QUESTIONNAIRES = tuple(step.key for step in STEPS if step.questionnaire)
# Statuses in which a patient may still fill their intake (before it is sent).
INTAKE_STATUSES = frozenset({PatientStatus.REFERRED, PatientStatus.INTAKE})
BEFORE_TREATMENT = INTAKE_STATUSES | {PatientStatus.ASSESSMENT, PatientStatus.INELIGIBLE}


# --- The patient's own intake ------------------------------------------------------------------------------


def own_patient(db: Session, ctx: Ctx) -> Patient:
    assert ctx.principal is not None
    patient = patients_repository.by_user_id(db, ctx.principal.user.id)
    if patient is None:
        raise NotFound("Your account is not linked to a patient record yet. Please call the clinic.")
    return patient


def start(db: Session, patient: Patient) -> IntakeForm:
    """The patient's intake form, created on first use."""
    form = repository.form_for_patient(db, patient.id)
    if form is None:
        form = IntakeForm(clinic_id=patient.clinic_id, patient_id=patient.id, steps_done=[], conditions=[],
                          medications=[])
        db.add(form)
        db.flush()
    return form


def own_intake(db: Session, ctx: Ctx) -> tuple[Patient, IntakeForm]:
    patient = own_patient(db, ctx)
    return patient, start(db, patient)


def next_step(form: IntakeForm) -> Step | None:
    return next((step for step in STEPS if step.key not in form.steps_done), None)


def _open(form: IntakeForm) -> None:
    if form.is_submitted:
        raise Conflict("Your intake has been sent. To change an answer, please call the clinic.")


def _mark_done(form: IntakeForm, key: str) -> None:
    if key not in form.steps_done:
        form.steps_done = [*form.steps_done, key]  # a new list: JSON columns track assignment, not mutation
    form.updated_at = utcnow()


def _clinic(db: Session, clinic_id: int) -> Clinic:
    clinic = clinics_repository.by_id(db, clinic_id)
    assert clinic is not None
    return clinic


def today_for(db: Session, patient: Patient) -> date:
    zone = patient.timezone or _clinic(db, patient.clinic_id).timezone
    return datetime.now(ZoneInfo(zone)).date()


def save_about(db: Session, ctx: Ctx, data: AboutIn) -> IntakeForm:
    patient, form = own_intake(db, ctx)
    _open(form)
    patients.update_patient(db, ctx, patient.id, PatientUpdate(**data.model_dump()))
    _mark_done(form, "about")
    db.flush()
    return form


# core.rosters names its fields by the roster's words; the form by the patient record's.
ROSTER_FIELDS = {"pattern": "roster_pattern", "anchor_date": "roster_anchor_date", "shift_start": "roster_shift_start",
                 "platoon": "roster_platoon"}


def roster_for(db: Session, patient: Patient, pattern: str, anchor: date, shift_start: Any,
               platoon: str | None) -> rosters.Roster:
    zone = patient.timezone or _clinic(db, patient.clinic_id).timezone
    return rosters.Roster(pattern=pattern, anchor_date=anchor, shift_start=shift_start, timezone=zone,
                          platoon=platoon or "A")


def save_work(db: Session, ctx: Ctx, data: WorkIn) -> IntakeForm:
    """Role, agency and the duty roster (checked by core.rosters; a custom roster is set up with the team)."""
    patient, form = own_intake(db, ctx)
    _open(form)
    values = data.model_dump()
    pattern = values["roster_pattern"]
    problems: list[Problem] = []
    if pattern and pattern != "custom":
        if values["roster_anchor_date"] is None:
            problems.append(Problem("roster_anchor_date", "required_with_pattern",
                                    "is needed with a shift pattern: the first day of your rotation"))
        if values["roster_shift_start"] is None:
            problems.append(Problem("roster_shift_start", "required_with_pattern",
                                    "is needed with a shift pattern: the time your shift starts"))
        if not problems:
            roster = roster_for(db, patient, pattern, values["roster_anchor_date"], values["roster_shift_start"],
                                values["roster_platoon"])
            problems += [Problem(ROSTER_FIELDS.get(p.field, "roster_pattern"), p.rule, p.message)
                         for p in rosters.roster_problems(roster, today=today_for(db, patient))]
        values["roster_platoon"] = values["roster_platoon"] or "A"
    elif not pattern:
        values.update(roster_anchor_date=None, roster_shift_start=None, roster_platoon=None)
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    patients.update_patient(db, ctx, patient.id, PatientUpdate(**values))
    _mark_done(form, "work")
    db.flush()
    return form


def upcoming_shifts(db: Session, patient: Patient, days: int = 14) -> list[rosters.DutyInterval]:
    """The patient's next shifts as the roster computes them, for them to check."""
    if not patient.roster_pattern or patient.roster_pattern == "custom" or patient.roster_anchor_date is None \
            or patient.roster_shift_start is None:
        return []
    roster = roster_for(db, patient, patient.roster_pattern, patient.roster_anchor_date, patient.roster_shift_start,
                        patient.roster_platoon)
    start_day = today_for(db, patient)
    try:
        return rosters.preview(roster.pattern, roster.anchor_date, roster.shift_start, roster.platoon,
                               roster.timezone, days, start_day)
    except CoreError:  # a roster saved before today's checks: no preview rather than an error
        return []


def submit_questionnaire(db: Session, ctx: Ctx, instrument_id: str, answers: dict[str, Any],
                         version: str | None) -> tuple[Assessment, list[Alert]]:
    """One intake questionnaire, once. Safety alerts are raised by the assessments service at once."""
    if instrument_id not in QUESTIONNAIRES:
        raise NotFound("No such questionnaire in intake.")
    patient, form = own_intake(db, ctx)
    _open(form)
    if instrument_id in form.steps_done:
        raise Conflict("You have already answered this questionnaire. Your care team can see your answers.")
    assessment, raised = assessments.submit(db, ctx, patient.id, instrument_id=instrument_id, answers=answers,
                                            version=version, context=AssessmentContext.INTAKE)
    _mark_done(form, instrument_id)
    db.flush()
    return assessment, raised


def intake_assessments(db: Session, patient_id: int) -> dict[str, Assessment]:
    """The latest intake administration of each intake questionnaire."""
    latest: dict[str, Assessment] = {}
    for row in assessments_repository.for_patient(db, patient_id, QUESTIONNAIRES, current_only=True):
        if row.context == AssessmentContext.INTAKE:
            latest[row.instrument_id] = row
    return latest


def intake_assessments_among(rows: list[Assessment]) -> dict[str, Assessment]:
    """``intake_assessments`` among every assessment of the patient already read (``assessments_repository.
    for_patient`` without filters, in its order), without another query: a row some other row supersedes is left
    out, as the query's ``current_only`` leaves it out."""
    superseded = {row.supersedes_id for row in rows if row.supersedes_id is not None}
    latest: dict[str, Assessment] = {}
    for row in rows:
        if row.instrument_id in QUESTIONNAIRES and row.id not in superseded \
                and row.context == AssessmentContext.INTAKE:
            latest[row.instrument_id] = row
    return latest


def save_health(db: Session, ctx: Ctx, data: HealthIn) -> IntakeForm:
    """The medical screening in the eligibility vocabulary (an unknown term names itself and is refused)."""
    _, form = own_intake(db, ctx)
    _open(form)
    problems: list[Problem] = []
    for field, vocabulary in (("conditions", rules.CONDITIONS), ("medications", rules.MEDICATIONS)):
        for term in getattr(data, field):
            if term not in vocabulary:
                problems.append(Problem(field, "known_term", f"{term!r} is not on the list"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    form.conditions = sorted(set(data.conditions))
    form.medications = sorted(set(data.medications))
    form.other_medications = data.other_medications
    form.health_notes = data.health_notes
    _mark_done(form, "health")
    db.flush()
    return form


def _to_kg(value: Decimal, unit: str) -> Decimal:
    kg = value * LB_TO_KG if unit == "lb" else value
    return kg.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _to_cm(value: Decimal, unit: str) -> Decimal:
    cm = value * CM_PER_INCH if unit == "in" else value
    return cm.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _reading_date(value: date | None, field: str, today: date, problems: list[Problem]) -> None:
    if value is None:
        problems.append(Problem(field, "required", "is required: the day it was measured"))
    elif value > today:
        problems.append(Problem(field, "not_future", "cannot be in the future"))
    elif value < today - OLDEST_READING:
        problems.append(Problem(field, "recent", "is more than a year ago; please use a recent reading, or tick "
                                                 "that you do not have one"
                                if field == "bp_measured_on" else "is more than a year ago; please weigh yourself"))


def save_measurements(db: Session, ctx: Ctx, data: MeasurementsIn) -> IntakeForm:
    """Recent blood pressure (or none known) and weight, checked for plausibility by the core's limits."""
    patient, form = own_intake(db, ctx)
    _open(form)
    today = today_for(db, patient)
    problems: list[Problem] = []
    if not data.bp_unknown:
        if data.systolic_bp is None:
            problems.append(Problem("systolic_bp", "required", "is required (the top number), or tick that you "
                                                               "do not know a recent reading"))
        if data.diastolic_bp is None:
            problems.append(Problem("diastolic_bp", "required", "is required (the bottom number)"))
        if data.systolic_bp is not None and data.diastolic_bp is not None:
            # The same plausibility checks the eligibility rules apply (BP 400/20 is a typing error).
            try:
                rules.check_input(rules.EligibilityInput(age_years=30, systolic_bp=data.systolic_bp,
                                                         diastolic_bp=data.diastolic_bp))
            except CoreError as error:
                problems += [Problem(p.field, p.rule, p.message) for p in error.problems]
        _reading_date(data.bp_measured_on, "bp_measured_on", today, problems)
    weight_kg = None
    if data.weight is None:
        problems.append(Problem("weight", "required", "is required"))
    else:
        weight_kg = _to_kg(data.weight, data.weight_unit)
        if not dosing.MIN_WEIGHT_KG < weight_kg <= dosing.MAX_WEIGHT_KG:
            low, high = dosing.MIN_WEIGHT_KG, dosing.MAX_WEIGHT_KG
            if data.weight_unit == "lb":
                low, high = ((limit / LB_TO_KG).quantize(Decimal(1)) for limit in (low, high))
            problems.append(Problem("weight", "plausible_range",
                                    f"{data.weight:f} {data.weight_unit} is not a plausible weight (more than {low} "
                                    f"and at most {high} {data.weight_unit})"))
    _reading_date(data.weight_measured_on, "weight_measured_on", today, problems)
    height_cm = None
    if data.height is not None:
        height_cm = _to_cm(data.height, data.height_unit)
        if not dosing.MIN_HEIGHT_CM <= height_cm <= dosing.MAX_HEIGHT_CM:
            problems.append(Problem("height", "plausible_range",
                                    f"{data.height:f} {data.height_unit} is not a plausible height"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    form.bp_unknown = data.bp_unknown
    form.systolic_bp = None if data.bp_unknown else data.systolic_bp
    form.diastolic_bp = None if data.bp_unknown else data.diastolic_bp
    form.bp_measured_on = None if data.bp_unknown else data.bp_measured_on
    form.weight_g = int(weight_kg * 1000) if weight_kg is not None else None
    form.weight_measured_on = data.weight_measured_on
    form.height_cm = int(height_cm) if height_cm is not None else None
    _mark_done(form, "measurements")
    db.flush()
    return form


def submit_intake(db: Session, ctx: Ctx) -> EligibilityDecision | None:
    """Send the intake: every step done, then the eligibility rules decide (when a blood pressure is known),
    the patient moves to ``assessment`` and their referral to ``intake complete``."""
    patient, form = own_intake(db, ctx)
    _open(form)
    missing = [step for step in STEPS if step.key not in form.steps_done]
    if missing:
        problems = [Problem(step.key, "step_required", f"“{step.title}” is not done yet") for step in missing]
        raise ValidationFailed("; ".join(p.message for p in problems), problems)
    decision = eligibility.evaluate_intake(db, ctx, patient, form)  # validates before it writes anything
    form.submitted_at = utcnow()
    if patient.status in INTAKE_STATUSES:
        patient.status = PatientStatus.ASSESSMENT.value
    referrals.on_intake_complete(db, ctx, patient.id)
    db.flush()
    record(db, ctx.actor, "intake.submit", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="intake_form", record_id=form.id,
           detail={"eligibility": decision.outcome if decision else None, "bp_unknown": form.bp_unknown})
    return decision


# --- Invitation (staff) and the account it creates (the patient) -----------------------------------------------


def send_invitation(db: Session, ctx: Ctx, patient_id: int, base_url: str, *,
                    per_hour: int = INVITATIONS_PER_HOUR) -> AccessLink:
    """Email a single-use link to set a password and start intake; any older link stops working.

    At most ``per_hour`` invitations per staff member an hour (setting ``invitations_sent_per_hour``): a misused
    account cannot flood patients' inboxes.
    """
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    sender = f"user:{ctx.actor.user_id}" if ctx.actor.user_id is not None else f"actor:{ctx.actor.label[:200]}"
    ratelimit.enforce(db, ratelimit.INVITATION_SEND, sender, per_hour, ratelimit.HOUR,
                      ratelimit.INVITATION_SEND_MESSAGE)
    if not patient.email:
        raise ValidationFailed.single("email", "required_for_invitation",
                                      "add the patient's email address to their record first")
    clinic = _clinic(db, patient.clinic_id)
    token, link = links.issue(db, purpose=INVITATION_PURPOSE, ttl=INVITATION_TTL, patient_id=patient.id,
                              created_by_id=ctx.actor.user_id, revoke_previous=True)
    until = link.expires_at.astimezone(ZoneInfo(clinic.timezone)).strftime("%A %d %B %Y, %H:%M")
    mail.enqueue(db, to=patient.email, subject="Set up your TenFour account", purpose="invitation",
                 patient_id=patient.id, body=invitation_email(clinic, f"{base_url.rstrip('/')}/invite/{token}", until))
    record(db, ctx.actor, "intake.invitation_sent", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="access_link", record_id=link.id, detail={"expires_at": link.expires_at.isoformat()})
    referrals.on_invitation_sent(db, ctx, patient.id, f"Invitation emailed; the link works until {until}.")
    ratelimit.hit(db, ratelimit.INVITATION_SEND, sender)
    return link


def invitation_email(clinic: Clinic, url: str, until: str) -> str:
    """The email: the link and how long it works. Never a score, a diagnosis or the word ketamine."""
    call = f" on {clinic.phone}" if clinic.phone else ""
    return (
        "Hello,\n\n"
        f"{clinic.name} has set up a private TenFour account for you. Open this link to choose your password and "
        "start your questions (about 20 minutes, on your phone is fine; you can stop and carry on later):\n\n"
        f"{url}\n\n"
        f"The link works once, until {until}. If it has expired, call the clinic{call} and ask for a new one.\n\n"
        "If you did not expect this email, you can ignore it.\n\n"
        "TenFour (this email is automatic; please do not reply)\n"
    )


def check_invitation(db: Session, token: str) -> tuple[AccessLink, Patient]:
    """The invitation behind a token, still usable (LinkInvalid saying why otherwise). Consumes nothing."""
    link = links.check(db, token, INVITATION_PURPOSE)
    patient = patients_repository.by_id(db, link.patient_id) if link.patient_id else None
    if patient is None:
        raise LinkInvalid(LinkProblem.UNKNOWN)
    return link, patient


def accept_invitation(db: Session, ctx: Ctx, token: str, password: str, password_confirm: str) -> User:
    """Set the password from an invitation: creates the patient's account (or sets a new password on it), links it
    to the patient record and uses up the link. Everything is checked before anything is written."""
    _, patient = check_invitation(db, token)
    problems: list[Problem] = []
    try:
        passwords.check_password_rules(password, email=patient.email)
    except ValidationFailed as error:
        problems += error.problems
    if password != password_confirm:
        problems.append(Problem("password_confirm", "matches", "does not match the password"))
    user = accounts_repository.user_by_id(db, patient.user_id) if patient.user_id else None
    email = accounts.normalize_email(patient.email or "")
    if user is None and accounts_repository.user_by_email(db, email) is not None:
        raise Conflict("An account already uses this email address. Please call the clinic.")
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    links.redeem(db, token, INVITATION_PURPOSE)
    actor = ctx.actor
    if user is None:
        user = accounts.create_user(db, actor, email=email, full_name=patient.display_name[:120],
                                    role=Role.PATIENT.value, password=password)
        patient.user_id = user.id
        action = "intake.account_created"
    else:
        accounts.set_password(db, actor, user, password)
        action = "intake.password_set"
    if patient.status == PatientStatus.REFERRED:
        patient.status = PatientStatus.INTAKE.value
    start(db, patient)
    db.flush()
    record(db, Actor(user.id, f"{user.full_name} <{user.email}>", user.role, actor.ip_address, actor.user_agent),
           action, clinic_id=patient.clinic_id, patient_id=patient.id, record_type="user", record_id=user.id)
    return user


# --- Staff view ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeView:
    form: IntakeForm | None
    invitation: AccessLink | None
    assessments: dict[str, Assessment]


def for_staff(db: Session, patient: Patient, *, chart: bool = False) -> IntakeView:
    """A patient's intake for their chart (the caller has checked the patient's scope). ``chart``: for the chart
    page, whose scores panel reads every assessment of the patient anyway (the intake ones are found among them)."""
    found = (intake_assessments_among(assessments_repository.for_patient(db, patient.id)) if chart
             else intake_assessments(db, patient.id))
    return IntakeView(repository.form_for_patient(db, patient.id), repository.latest_invitation(db, patient.id),
                      found)


def invitation_state(link: AccessLink | None) -> str | None:
    """used, revoked, expired or waiting (None: never invited)."""
    if link is None:
        return None
    if link.used_at is not None:
        return "used"
    if link.revoked_at is not None:
        return "revoked"
    if utcnow() >= link.expires_at:
        return "expired"
    return "waiting"


def screening_labels(terms: list[str]) -> list[str]:
    return [screening.LABELS.get(term, term) for term in terms]
