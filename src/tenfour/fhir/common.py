"""Shared FHIR R4 helpers. Resources are built as dicts and validated with fhir.resources' R4B models
(R4B leaves Patient, Observation, Questionnaire, QuestionnaireResponse, Appointment and
MedicationAdministration as in R4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

RESOURCE_MODELS = {
    "Bundle": Bundle,
    "Observation": Observation,
    "Questionnaire": Questionnaire,
    "QuestionnaireResponse": QuestionnaireResponse,
}
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"


def system_url(base_url: str, name: str) -> str:
    """A TenFour code system or canonical URL under the deployment's base URL."""
    return f"{base_url.rstrip('/')}/fhir/{name}"


def instant(value: datetime) -> str:
    return value.isoformat()


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate a resource dict with fhir.resources and return its JSON form (raises on an invalid resource)."""
    model = RESOURCE_MODELS[resource["resourceType"]]
    return model.model_validate(resource).model_dump(mode="json", exclude_none=True)
