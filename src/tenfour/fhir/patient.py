"""A patient's registry record as a FHIR R4 ``Patient`` (validated with fhir.resources' R4B model, which keeps Patient
as in R4). The record number is an identifier in a TenFour system per clinic; sex recorded for dosing formulas maps to
``gender`` (unknown stays unknown)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.patient import Patient as FhirPatient

from tenfour.fhir.common import system_url
from tenfour.patients.models import Patient

GENDER = {"male": "male", "female": "female"}


def patient_resource(patient: Patient, clinic_slug: str, base_url: str) -> dict[str, Any]:
    name: list[dict[str, Any]] = [{"use": "official", "family": patient.last_name, "given": [patient.first_name]}]
    if patient.preferred_name:
        name.append({"use": "usual", "given": [patient.preferred_name]})
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "identifier": [{"system": system_url(base_url, f"record-number/{clinic_slug}"),
                        "value": patient.record_number}],
        "active": patient.status not in ("discharged", "ineligible"),
        "name": name,
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if telecom:
        resource["telecom"] = telecom
    return FhirPatient.model_validate(resource).model_dump(mode="json", exclude_none=True)
