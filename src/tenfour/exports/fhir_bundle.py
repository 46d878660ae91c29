"""One patient's record as a FHIR R4 ``collection`` Bundle: the Patient, every current assessment
(QuestionnaireResponse and its score Observation), each infusion given (MedicationAdministration, with the weight and
vital-sign Observations charted for it) and every session as an Appointment. Built from the FHIR builders of each
domain (``tenfour.fhir``); every resource is validated with fhir.resources as it is made, and the Bundle as a whole."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session

from tenfour.assessments import repository as assessments_repository
from tenfour.audit.service import record
from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.db import utcnow
from tenfour.fhir import appointments, infusions, instruments
from tenfour.fhir.patient import patient_resource
from tenfour.infusions import repository as infusions_repository
from tenfour.patients import service as patients


def bundle_for(db: Session, ctx: Ctx, patient_id: int, base_url: str) -> dict[str, Any]:
    """The Bundle of a patient the reader may see (404 otherwise); the export is audited with its counts."""
    patient = patients.get_patient(db, ctx, patient_id, audit_action=None)
    clinic = clinics_repository.by_id(db, patient.clinic_id)
    assert clinic is not None
    resources = [patient_resource(patient, clinic.slug, base_url)]
    for assessment in assessments_repository.for_patient(db, patient.id, current_only=True):
        resources += [instruments.questionnaire_response(assessment, base_url),
                      instruments.score_observation(assessment, base_url)]
    chairs = {c.id: c.name for c in infusions_repository.chairs(db, patient.clinic_id, active_only=False)}
    sessions = infusions_repository.for_patient(db, patient.id)
    for session in sessions:
        resources.append(appointments.appointment(session, chairs.get(session.chair_id, f"Chair {session.chair_id}"),
                                                  base_url))
        if session.infusion_started_at is None:
            continue
        given = infusions.session_bundle(db, session, base_url)
        resources += [entry["resource"] for entry in given.get("entry", [])]
    root = base_url.rstrip("/")
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": utcnow().isoformat(),
              "entry": [{"fullUrl": f"{root}/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]}
    result = Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
    counts = Counter(r["resourceType"] for r in resources)
    record(db, ctx.actor, "export.fhir_bundle", clinic_id=patient.clinic_id, patient_id=patient.id,
           record_type="patient", record_id=patient.id, detail=dict(sorted(counts.items())))
    return result
