"""Use cases of referrals: receive one in confidence, triage it, turn it into a patient. Never commits.

What a referrer is told is fixed: a reference number and a plain thank-you. Nothing here returns a referral to
anyone but the triage staff of its clinic (``get_referral`` checks the clinic; a referral elsewhere is 404).
"""

from __future__ import annotations

import secrets
import statistics
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from tenfour import policy, ratelimit
from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from tenfour.patients import service as patients
from tenfour.patients.models import ConsentKind, Patient, PatientStatus
from tenfour.patients.schemas import ConsentIn, PatientCreate
from tenfour.patients.service import RECORD_ALPHABET
from tenfour.referrals import repository
from tenfour.referrals.models import (
    OPEN_STATUSES,
    EventKind,
    Referral,
    ReferralEvent,
    ReferralStatus,
    ReferrerRelation,
)
from tenfour.referrals.schemas import ReferralIn

# Abuse protection without trackers: referrals per client address per hour. A fire station or a police
# department may share one address, so the limit leaves room for a peer-support officer referring several people.
RATE_LIMIT_BUCKET = "referral"
RATE_LIMIT_PER_HOUR = 10
RATE_LIMIT_WINDOW = timedelta(hours=1)
RATE_LIMIT_MESSAGE = ("Several referrals have been sent from this connection in the last hour. Please wait "
                      "{minutes} and try again, or call the clinic.")
CONSENT_VERSION = "2026-11"  # the wording of the contact consent on the referral form

# What triage staff may set by hand. "Invited" follows sending an invitation, "intake complete" the patient's
# own submission: they record facts, so they are never set by hand.
MANUAL_TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.NEW: frozenset({ReferralStatus.CONTACTED, ReferralStatus.UNREACHABLE, ReferralStatus.DECLINED,
                                   ReferralStatus.CLOSED}),
    ReferralStatus.CONTACTED: frozenset({ReferralStatus.UNREACHABLE, ReferralStatus.DECLINED,
                                         ReferralStatus.CLOSED}),
    ReferralStatus.INVITED: frozenset({ReferralStatus.UNREACHABLE, ReferralStatus.DECLINED, ReferralStatus.CLOSED}),
    ReferralStatus.UNREACHABLE: frozenset({ReferralStatus.CONTACTED, ReferralStatus.DECLINED,
                                           ReferralStatus.CLOSED}),
    ReferralStatus.DECLINED: frozenset({ReferralStatus.CONTACTED, ReferralStatus.CLOSED}),
    ReferralStatus.INTAKE_COMPLETE: frozenset({ReferralStatus.CLOSED}),
    ReferralStatus.CLOSED: frozenset({ReferralStatus.CONTACTED}),  # reopened: they called back
}
INVITABLE = frozenset({ReferralStatus.NEW, ReferralStatus.CONTACTED, ReferralStatus.UNREACHABLE,
                       ReferralStatus.INVITED})
REFERENCE_ATTEMPTS = 20
CHOOSE_CLINIC = "choose the clinic you would like to contact"


def public_clinics(db: Session) -> list[Clinic]:
    """Clinics a referral can be sent to (their names are public: they are on the clinic's door)."""
    return clinics_repository.list_clinics(db)


def _random_reference() -> str:
    code = "".join(secrets.choice(RECORD_ALPHABET) for _ in range(8))
    return f"R-{code[:4]}-{code[4:]}"


def _new_reference(db: Session) -> str:
    for _ in range(REFERENCE_ATTEMPTS):
        reference = _random_reference()
        if not repository.reference_taken(db, reference):
            return reference
    raise Conflict("Could not allocate a reference; please try again.")


def _client_key(ctx: Ctx) -> str:
    return f"ip:{ctx.actor.ip_address or '-'}"


def check_rate_limit(db: Session, ctx: Ctx) -> None:
    """TooManyRequests when this address has sent too many referrals in the last hour."""
    wait = ratelimit.is_limited(db, RATE_LIMIT_BUCKET, _client_key(ctx), RATE_LIMIT_PER_HOUR, RATE_LIMIT_WINDOW)
    if wait is not None:
        minutes = max(1, -(-wait // 60))
        raise TooManyRequests(RATE_LIMIT_MESSAGE.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}"),
                              retry_after_s=wait)


def fake_reference() -> str:
    """A reference that looks real and names nothing: the answer to a bot that filled the honeypot field."""
    return _random_reference()


def count_discarded(db: Session, ctx: Ctx) -> None:
    """A submission that was thrown away (honeypot): it still counts against the address's limit."""
    ratelimit.hit(db, RATE_LIMIT_BUCKET, _client_key(ctx))


def _resolve_clinic(db: Session, slug: str | None) -> Clinic:
    clinics = public_clinics(db)
    if slug:
        clinic = next((c for c in clinics if c.slug == slug), None)
        if clinic is None:
            raise ValidationFailed.single("clinic", "known_clinic", "choose one of the clinics in the list")
        return clinic
    if len(clinics) == 1:
        return clinics[0]
    if not clinics:
        raise Conflict("No clinic is taking referrals yet.")
    raise ValidationFailed.single("clinic", "required", CHOOSE_CLINIC)


def submit(db: Session, ctx: Ctx, data: ReferralIn, *, is_synthetic: bool = False) -> Referral:
    """Store a referral from anyone, without an account. Counts against the address's hourly limit.

    The caller tells the referrer the reference and nothing else.
    """
    check_rate_limit(db, ctx)
    clinic = _resolve_clinic(db, data.clinic)
    values = data.model_dump(exclude={"clinic"})
    values["referrer_relation"] = data.referrer_relation.value
    values["preferred_contact"] = data.preferred_contact.value
    values["responder_role"] = data.responder_role.value if data.responder_role else None
    if data.referrer_relation == ReferrerRelation.SELF:
        values["referrer_name"] = None  # the person themself: their name is already the person's name
    referral = Referral(clinic_id=clinic.id, reference=_new_reference(db), status=ReferralStatus.NEW.value,
                        is_synthetic=is_synthetic, **values)
    referral.events = [ReferralEvent(kind=EventKind.RECEIVED.value, to_status=ReferralStatus.NEW.value,
                                     by_label="Referral form")]
    db.add(referral)
    db.flush()
    ratelimit.hit(db, RATE_LIMIT_BUCKET, _client_key(ctx))
    record(db, ctx.actor, "referral.receive", clinic_id=clinic.id, record_type="referral", record_id=referral.id,
           detail={"relation": referral.referrer_relation})
    return referral


# --- Triage (staff of the referral's clinic) -----------------------------------------------------------------


def _working_clinic(ctx: Ctx) -> int:
    assert ctx.principal is not None
    clinic_id = policy.active_clinic_id(ctx.principal)
    if clinic_id is None:
        raise NotFound("Your account does not belong to a clinic yet.")
    return clinic_id


@dataclass(frozen=True)
class Queue:
    referrals: list[Referral]
    counts: dict[str, int]
    median_hours_to_first_contact: float | None
    waiting_for_first_contact: int


def queue(db: Session, ctx: Ctx, view: str) -> Queue:
    """The triage queue of the working clinic: open referrals oldest first, or one status, or all."""
    clinic_id = _working_clinic(ctx)
    if view == "open":
        rows = repository.queue(db, clinic_id, [s.value for s in OPEN_STATUSES], oldest_first=True)
    elif view == "all":
        rows = repository.queue(db, clinic_id, None, oldest_first=False)
    else:
        rows = repository.queue(db, clinic_id, [ReferralStatus(view).value], oldest_first=False)
    counts = repository.count_by_status(db, clinic_id)
    recent = repository.received_since(db, clinic_id, utcnow() - timedelta(days=90))
    delays = [(r.first_contact_at - r.created_at).total_seconds() / 3600 for r in recent if r.first_contact_at]
    record(db, ctx.actor, "referral.list", clinic_id=clinic_id, record_type="referral",
           detail={"view": view, "results": len(rows)})
    return Queue(rows, counts, statistics.median(delays) if delays else None, counts.get(ReferralStatus.NEW, 0))


def get_referral(db: Session, ctx: Ctx, referral_id: int, *, audit: bool = True) -> Referral:
    """A referral of one of the staff member's clinics (404 otherwise, worded as for a missing one)."""
    assert ctx.principal is not None
    referral = repository.by_id(db, referral_id)
    if referral is None or not ctx.principal.is_staff or referral.clinic_id not in ctx.principal.clinic_ids:
        raise NotFound("No such referral.")
    if audit:
        record(db, ctx.actor, "referral.view", clinic_id=referral.clinic_id, patient_id=referral.patient_id,
               record_type="referral", record_id=referral.id)
    return referral


def _event(ctx: Ctx, referral: Referral, kind: EventKind, to_status: ReferralStatus, note: str | None,
           by_label: str | None = None) -> ReferralEvent:
    event = ReferralEvent(kind=kind.value, from_status=referral.status, to_status=to_status.value,
                          note=(note or "").strip()[:2000] or None, at=utcnow(), by_user_id=ctx.actor.user_id,
                          by_label=by_label or _who(ctx))
    referral.events.append(event)
    referral.status = to_status.value
    referral.updated_at = event.at
    return event


def _who(ctx: Ctx) -> str:
    principal = ctx.principal
    if principal is None:
        return ctx.actor.label[:120]
    if not principal.is_staff:
        return "The patient"
    return principal.user.full_name[:120]


def change_status(db: Session, ctx: Ctx, referral_id: int, to_status: ReferralStatus | str, note: str) -> Referral:
    """Move a referral on by hand (contacted, unreachable, declined, closed), always with a note."""
    referral = get_referral(db, ctx, referral_id, audit=False)
    current = ReferralStatus(referral.status)
    try:
        target = ReferralStatus(to_status)
    except ValueError:
        raise ValidationFailed.single("status", "known_status",
                                      f"must be one of: {', '.join(s.value for s in ReferralStatus)}") from None
    allowed = MANUAL_TRANSITIONS[current]
    if target not in allowed:
        choices = ", ".join(sorted(s.label.lower() for s in allowed)) or "nothing"
        why = " (it follows from sending an invitation or the patient's own intake)" if target in (
            ReferralStatus.INVITED, ReferralStatus.INTAKE_COMPLETE) else ""
        raise ValidationFailed.single("status", "allowed_transition",
                                      f"a {current.label.lower()} referral can be set to: {choices}{why}")
    note = (note or "").strip()
    if len(note) < 3:
        raise ValidationFailed.single("note", "required", "say what happened (for example: spoke, left voicemail)")
    _event(ctx, referral, EventKind.STATUS, target, note)
    db.flush()
    record(db, ctx.actor, "referral.status", clinic_id=referral.clinic_id, patient_id=referral.patient_id,
           record_type="referral", record_id=referral.id, detail={"from": current.value, "to": target.value})
    return referral


def add_note(db: Session, ctx: Ctx, referral_id: int, note: str) -> Referral:
    referral = get_referral(db, ctx, referral_id, audit=False)
    note = (note or "").strip()
    if len(note) < 3:
        raise ValidationFailed.single("note", "required", "write the note")
    _event(ctx, referral, EventKind.NOTE, ReferralStatus(referral.status), note)
    db.flush()
    record(db, ctx.actor, "referral.note", clinic_id=referral.clinic_id, patient_id=referral.patient_id,
           record_type="referral", record_id=referral.id)
    return referral


def convert_to_patient(db: Session, ctx: Ctx, referral_id: int, date_of_birth: date) -> Patient:
    """One action: the referral becomes a patient record (status ``referred``) in the referral's clinic."""
    referral = get_referral(db, ctx, referral_id, audit=False)
    if referral.patient_id is not None:
        raise Conflict("This referral is already a patient record.")
    if referral.status not in {s.value for s in OPEN_STATUSES}:
        raise Conflict(f"This referral is {ReferralStatus(referral.status).label.lower()}; reopen it first "
                       "(set it to contacted).")
    clinic = clinics_repository.by_id(db, referral.clinic_id)
    assert clinic is not None
    consents = []
    if referral.referrer_relation == ReferrerRelation.SELF and referral.consent_to_contact:
        consents.append(ConsentIn(kind=ConsentKind.CONTACT, version=CONSENT_VERSION))
    data = PatientCreate(
        first_name=referral.first_name, last_name=referral.last_name, date_of_birth=date_of_birth,
        email=referral.email, phone=referral.phone, preferred_contact=referral.preferred_contact,
        contact_times=referral.contact_times, responder_role=referral.responder_role or "other",
        agency=referral.agency, notes=f"From referral {referral.reference}.", consents=consents, clinic=clinic.slug,
    )
    patient = patients.create_patient(db, ctx, data)
    patient.status = PatientStatus.REFERRED.value
    patient.is_synthetic = referral.is_synthetic
    referral.patient_id = patient.id
    _event(ctx, referral, EventKind.CONVERTED, ReferralStatus(referral.status),
           f"Patient record {patient.record_number} created.")
    db.flush()
    record(db, ctx.actor, "referral.convert", clinic_id=referral.clinic_id, patient_id=patient.id,
           record_type="referral", record_id=referral.id)
    return patient


# --- Following the patient (called by intake) -----------------------------------------------------------------


def on_invitation_sent(db: Session, ctx: Ctx, patient_id: int, note: str) -> Referral | None:
    """The referral of a patient who was just sent an invitation moves to ``invited``."""
    referral = repository.by_patient_id(db, patient_id)
    if referral is None:
        return None
    current = ReferralStatus(referral.status)
    target = ReferralStatus.INVITED if current in INVITABLE else current
    _event(ctx, referral, EventKind.INVITATION, target, note)
    db.flush()
    return referral


def on_intake_complete(db: Session, ctx: Ctx, patient_id: int) -> Referral | None:
    """The patient sent their intake: their referral is complete (a fact, whatever its status was)."""
    referral = repository.by_patient_id(db, patient_id)
    if referral is None or referral.status == ReferralStatus.INTAKE_COMPLETE:
        return referral
    _event(ctx, referral, EventKind.STATUS, ReferralStatus.INTAKE_COMPLETE, "Intake sent by the patient.",
           by_label="The patient")
    db.flush()
    record(db, ctx.actor, "referral.status", clinic_id=referral.clinic_id, patient_id=patient_id,
           record_type="referral", record_id=referral.id,
           detail={"to": ReferralStatus.INTAKE_COMPLETE.value})
    return referral


def for_patient(db: Session, patient_id: int) -> Referral | None:
    """The referral a patient came from, for their chart (the caller has checked the patient's scope)."""
    return repository.by_patient_id(db, patient_id)
