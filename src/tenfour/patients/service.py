"""Use cases of the patient registry. Every read of a chart and every write is audited. Never commits."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from tenfour import policy
from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.service import validate_timezone
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.errors import Conflict, NotFound, ValidationFailed
from tenfour.patients import repository
from tenfour.patients.models import Patient, PatientConsent
from tenfour.patients.repository import PatientQuery
from tenfour.patients.schemas import PatientCreate, PatientUpdate

RECORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def _new_record_number(db: Session, clinic_id: int) -> str:
    for _ in range(20):
        candidate = "TF-" + "".join(secrets.choice(RECORD_ALPHABET) for _ in range(6))
        if not repository.record_number_taken(db, clinic_id, candidate):
            return candidate
    raise Conflict("Could not allocate a record number; please try again.")


def _resolve_clinic(db: Session, ctx: Ctx, slug: str | None) -> int:
    assert ctx.principal is not None
    clinic_id = None
    if slug:
        clinic = clinics_repository.by_slug(db, slug)
        if clinic is None or clinic.id not in ctx.principal.clinic_ids:
            raise ValidationFailed.single("clinic", "membership", f"you do not work in a clinic named '{slug}'")
        clinic_id = clinic.id
    return policy.working_clinic_id(ctx.principal, clinic_id)


def _check_roster_fields(values: dict[str, Any]) -> None:
    if values.get("roster_pattern") and not values.get("roster_anchor_date"):
        raise ValidationFailed.single("roster_anchor_date", "required_with_pattern",
                                      "is needed with a duty roster pattern (the first day of a shift)")


def create_patient(db: Session, ctx: Ctx, data: PatientCreate) -> Patient:
    """Register a patient in the staff member's working clinic (named only by multi-clinic staff)."""
    clinic_id = _resolve_clinic(db, ctx, data.clinic)
    values = data.model_dump(exclude={"consents", "clinic"})
    if values.get("timezone"):
        values["timezone"] = validate_timezone(values["timezone"])
    _check_roster_fields(values)
    patient = Patient(clinic_id=clinic_id, record_number=_new_record_number(db, clinic_id), **values)
    now = utcnow()
    patient.consents = [
        PatientConsent(kind=c.kind.value, version=c.version, given_at=now, recorded_by_id=ctx.actor.user_id)
        for c in data.consents
    ]
    db.add(patient)
    db.flush()
    record(db, ctx.actor, "patient.create", clinic_id=clinic_id, patient_id=patient.id, record_type="patient",
           record_id=patient.id, detail={"fields": sorted(k for k, v in values.items() if v is not None)})
    return patient


def get_patient(db: Session, ctx: Ctx, patient_id: int, *, audit_action: str | None = "patient.view") -> Patient:
    """Load a patient the principal may see (404 otherwise) and audit the read."""
    assert ctx.principal is not None
    patient = repository.by_id(db, patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    try:
        policy.ensure_patient(ctx.principal, patient.clinic_id, patient.user_id)
    except NotFound:
        raise NotFound("No such patient.") from None  # word for word the answer for a missing record
    if audit_action:
        record(db, ctx.actor, audit_action, clinic_id=patient.clinic_id, patient_id=patient.id,
               record_type="patient", record_id=patient.id)
    return patient


def update_patient(db: Session, ctx: Ctx, patient_id: int, data: PatientUpdate) -> Patient:
    patient = get_patient(db, ctx, patient_id, audit_action=None)
    changes = data.model_dump(exclude_unset=True)
    required = {"first_name", "last_name", "date_of_birth", "responder_role", "sex", "preferred_contact", "status"}
    for key in sorted(required & changes.keys()):
        if changes[key] is None:
            raise ValidationFailed.single(key, "required", "cannot be empty")
    if changes.get("timezone"):
        changes["timezone"] = validate_timezone(changes["timezone"])
    merged = {"roster_pattern": patient.roster_pattern, "roster_anchor_date": patient.roster_anchor_date, **changes}
    _check_roster_fields(merged)
    changed = {}
    for key, value in changes.items():
        if getattr(patient, key) != value:
            changed[key] = value
            setattr(patient, key, value)
    db.flush()
    record(db, ctx.actor, "patient.update", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id, detail={"fields": sorted(changed)})
    return patient


def search_patients(db: Session, ctx: Ctx, query: PatientQuery) -> tuple[list[Patient], int]:
    """Staff search their clinics' patients. The search (not each row) is audited."""
    patients, total = repository.search(db, query)
    record(db, ctx.actor, "patient.search", clinic_id=next(iter(query.clinic_ids), None) if
           len(query.clinic_ids) == 1 else None, record_type="patient",
           detail={"text": bool(query.text), "role": query.responder_role, "status": query.status,
                   "results": total})
    return patients, total


def add_consent(db: Session, ctx: Ctx, patient: Patient, kind: str, version: str) -> PatientConsent:
    consent = PatientConsent(patient_id=patient.id, kind=kind, version=version, recorded_by_id=ctx.actor.user_id)
    db.add(consent)
    db.flush()
    record(db, ctx.actor, "patient.consent_given", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="consent", record_id=consent.id, detail={"kind": kind, "version": version})
    return consent


def withdraw_consent(db: Session, ctx: Ctx, patient: Patient, consent_id: int) -> PatientConsent:
    consent = next((c for c in patient.consents if c.id == consent_id), None)
    if consent is None:
        raise NotFound("No such consent.")
    if consent.withdrawn_at is not None:
        raise Conflict("This consent was already withdrawn.")
    consent.withdrawn_at = utcnow()
    db.flush()
    record(db, ctx.actor, "patient.consent_withdrawn", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="consent", record_id=consent.id, detail={"kind": consent.kind})
    return consent
