"""Deleting a patient's record: every row of their PHI goes; the audit trail stays. Never commits.

Who: a clinic administrator of the patient's clinic (``clinic.admin``), with a recent sign-in (re-authentication, as
for signing a plan or exporting), or an operator on the server through ``tenfour retention apply`` (the command
line has no sign-in; its actor is ``cli:<user>``). Each deletion is one audit entry, ``patient.delete``, naming the
former record id, the reason and how many rows of each kind went: never a name or a score.

What goes: the patient row and everything that hangs off it (consents, intake, assessments, eligibility decisions,
plans, infusion sessions with their vitals and doses, check-ins, warning signs, relapse evaluations, alerts, booster
proposals and requests, scheduling requests, links, queued and sent emails, the referral that became the record),
and the patient's sign-in account is emptied (name, email, password and two-step secret removed, signed out, kept
as an inactive shell so that its id is never given to someone else). What stays: the audit trail (``audit_events``
and its hash chain; entries name records by number, without foreign keys, so ``tenfour audit verify`` still holds),
and a tombstone row (``deleted_patients``: the former id, the clinic, why and when).

The rows are deleted in an order that the foreign keys allow on SQLite and PostgreSQL alike: children before
parents, and the two self-referencing tables (a correction supersedes an assessment, a new plan version supersedes
a plan) newest first, one row at a time. Anything added later with ``ON DELETE CASCADE`` goes with the patient row.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from tenfour.accounts import service as accounts
from tenfour.accounts.models import Role, User
from tenfour.audit.service import record
from tenfour.context import Ctx
from tenfour.db import Base, import_all_models, utcnow
from tenfour.errors import NotFound, ValidationFailed
from tenfour.patients import repository
from tenfour.patients.models import DeletedPatient, Patient
from tenfour.policy import Permission, require

Reason = Literal["retention", "request"]
REASONS: tuple[str, ...] = ("retention", "request")

# Tables holding a patient_id, deleted in this order before the patient row (their children go by ON DELETE CASCADE).
BY_PATIENT_ID: tuple[str, ...] = (
    "scheduling_requests",  # and scheduling_request_sessions
    "booster_requests",
    "booster_proposals",
    "checkin_reminders",
    "relapse_transitions",
    "relapse_evaluations",
    "checkins",  # and warning_sign_endorsements
    "checkin_courses",
    "infusion_sessions",  # and vitals, doses, transitions, prechecks, pump events, adverse events, discharges
    "alerts",
    "treatment_plans",  # newest first (supersedes_id), before the eligibility decisions they cite
    "eligibility_decisions",
    "assessments",  # newest first (supersedes_id)
    "intake_forms",
    "warning_signs",
    "checkin_preferences",
    "patient_custom_rosters",
    "patient_duty_changes",
    "patient_consents",
    "access_links",
    "email_outbox",  # invitation and reminder emails, sent or not
    "referrals",  # and referral_events: the referral that became this record
)
SELF_REFERENCING = frozenset({"treatment_plans", "assessments"})


def _table(name: str) -> Table:
    import_all_models()
    return Base.metadata.tables[name]


def _delete_rows(db: Session, patient_id: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for name in BY_PATIENT_ID:
        table = _table(name)
        if name in SELF_REFERENCING:
            ids = db.scalars(select(table.c.id).where(table.c.patient_id == patient_id).order_by(table.c.id.desc()))
            for row_id in list(ids):
                db.execute(delete(table).where(table.c.id == row_id))
                counts[name] += 1
        else:
            result = db.execute(delete(table).where(table.c.patient_id == patient_id))
            counts[name] += result.rowcount or 0  # type: ignore[attr-defined]
    return {name: n for name, n in counts.items() if n}


def _empty_account(db: Session, user_id: int) -> None:
    """The patient's sign-in account, emptied of who they were and signed out; the row stays (its id is not reused)."""
    user = db.get(User, user_id)
    if user is None or user.role != Role.PATIENT:
        return
    accounts.end_all_sessions(db, user)
    idempotency = _table("idempotency_keys")
    db.execute(delete(idempotency).where(idempotency.c.principal == f"user:{user.id}"))  # stored answers to them
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.full_name = "Deleted patient"
    user.password_hash = None
    user.is_active = False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_code_hashes = None
    db.flush()


def patient_for_deletion(db: Session, ctx: Ctx, patient_id: int) -> Patient:
    """The patient, if the principal administers their clinic (404 otherwise, like any record elsewhere)."""
    if ctx.principal is not None:
        require(ctx.principal, Permission.CLINIC_ADMIN)  # first: a refused role learns nothing about which ids exist
    patient = repository.by_id(db, patient_id)
    if patient is None or (ctx.principal is not None and patient.clinic_id not in ctx.principal.clinic_ids):
        raise NotFound("No such patient.")
    return patient


def delete_patient(db: Session, ctx: Ctx, patient_id: int, *, reason: str) -> DeletedPatient:
    """Delete the patient's record and PHI, keep the audit trail, leave a tombstone; one audit entry."""
    if reason not in REASONS:
        raise ValidationFailed.single("reason", "enum", f"must be one of: {', '.join(REASONS)}")
    patient = patient_for_deletion(db, ctx, patient_id)
    accounts.require_recent_sign_in(db, ctx)
    clinic_id, user_id = patient.clinic_id, patient.user_id
    db.flush()
    counts = _delete_rows(db, patient_id)
    for consent in list(patient.consents):
        db.expunge(consent)
    db.expunge(patient)
    db.execute(delete(_table("patients")).where(_table("patients").c.id == patient_id))
    counts["patients"] = 1
    if user_id is not None:
        _empty_account(db, user_id)
    tombstone = DeletedPatient(patient_id=patient_id, clinic_id=clinic_id, reason=reason, deleted_at=utcnow())
    db.add(tombstone)
    db.flush()
    record(db, ctx.actor, "patient.delete", clinic_id=clinic_id, patient_id=patient_id, record_type="patient",
           record_id=patient_id, detail={"reason": reason, "rows": dict(sorted(counts.items())),
                                         "account_emptied": user_id is not None})
    return tombstone
