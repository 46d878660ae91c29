"""Instruments as FHIR Questionnaires; assessments as QuestionnaireResponse + Observation (total score).

LOINC codes are used only where verified (PHQ-9 total 44261-6 and GAD-7 total 70274-6, as used by
HL7 US Core and the MII PRO guide); every other score uses TenFour's own code system.
"""

from __future__ import annotations

from typing import Any

from tenfour.assessments.models import Assessment
from tenfour.core import instruments
from tenfour.core.instruments.base import Instrument
from tenfour.fhir.common import LOINC, OBSERVATION_CATEGORY, ORDINAL_VALUE, instant, system_url, validated

VERIFIED_TOTAL_LOINC = {
    "phq9": ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "gad7": ("70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
}


def questionnaire_url(base_url: str, instrument_id: str) -> str:
    return system_url(base_url, f"Questionnaire/{instrument_id}")


def answers_system(base_url: str, instrument_id: str) -> str:
    return system_url(base_url, f"CodeSystem/{instrument_id}-answers")


def questionnaire(instrument: Instrument, base_url: str) -> dict[str, Any]:
    items = []
    for item in instrument.items:
        entry: dict[str, Any] = {
            "linkId": item.id,
            "prefix": str(item.number),
            "text": item.text,
            "type": "choice",
            "required": item.asked_when is None,
            "answerOption": [
                {"valueCoding": {"system": answers_system(base_url, instrument.id), "code": str(option.value),
                                 "display": option.label},
                 "extension": [{"url": ORDINAL_VALUE, "valueDecimal": option.value}]}
                for option in item.options
            ],
        }
        if item.asked_when is not None:
            parent, value = item.asked_when
            entry["enableWhen"] = [{"question": parent, "operator": "=",
                                    "answerCoding": {"system": answers_system(base_url, instrument.id),
                                                     "code": str(value)}}]
        items.append(entry)
    resource = {
        "resourceType": "Questionnaire",
        "id": instrument.id,
        "url": questionnaire_url(base_url, instrument.id),
        "version": instrument.version,
        "name": "".join(ch for ch in instrument.short_title if ch.isalnum()) or instrument.id,
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"{instrument.instructions} Recall period: {instrument.recall_period}.",
        "copyright": instrument.licence,
        "item": items,
    }
    return validated(resource)


def questionnaire_response(assessment: Assessment, base_url: str) -> dict[str, Any]:
    instrument = instruments.get(assessment.instrument_id)
    items = []
    for item in instrument.items:
        if item.id not in assessment.answers:
            continue
        value = assessment.answers[item.id]
        items.append({"linkId": item.id, "text": item.text, "answer": [
            {"valueCoding": {"system": answers_system(base_url, instrument.id), "code": str(value),
                             "display": item.label_of(value)}}]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"assessment-{assessment.id}",
        "questionnaire": f"{questionnaire_url(base_url, instrument.id)}|{assessment.instrument_version}",
        "status": "amended" if assessment.supersedes_id else "completed",
        "subject": {"reference": f"Patient/{assessment.patient_id}"},
        "authored": instant(assessment.administered_at),
        "item": items,
    }
    if assessment.entered_by == "patient":
        resource["source"] = {"reference": f"Patient/{assessment.patient_id}"}
    return validated(resource)


def score_observation(assessment: Assessment, base_url: str) -> dict[str, Any]:
    instrument = instruments.get(assessment.instrument_id)
    local = system_url(base_url, "CodeSystem/tenfour-scores")
    codings = [{"system": local, "code": f"{instrument.id}-total", "display": f"{instrument.short_title} total"}]
    if instrument.id in VERIFIED_TOTAL_LOINC:
        code, display = VERIFIED_TOTAL_LOINC[instrument.id]
        codings.insert(0, {"system": LOINC, "code": code, "display": display})
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"assessment-{assessment.id}-score",
        "status": "amended" if assessment.supersedes_id else "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {"coding": codings, "text": f"{instrument.short_title} total score"},
        "subject": {"reference": f"Patient/{assessment.patient_id}"},
        "effectiveDateTime": instant(assessment.administered_at),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/assessment-{assessment.id}"}],
    }
    if assessment.total is not None:
        resource["valueInteger"] = assessment.total
    else:
        resource["code"] = {"coding": [{"system": local, "code": f"{instrument.id}-risk",
                                        "display": f"{instrument.short_title} risk level"}],
                            "text": f"{instrument.short_title} risk level"}
        resource["valueCodeableConcept"] = {"coding": [{"system": system_url(base_url, "CodeSystem/risk-level"),
                                                        "code": assessment.risk_level or "none"}],
                                            "text": assessment.risk_level or "none"}
    band_label = (assessment.result or {}).get("band_label")
    if band_label:
        resource["interpretation"] = [{"text": band_label}]
    return validated(resource)


def assessment_bundle(assessment: Assessment, base_url: str) -> dict[str, Any]:
    entries = [questionnaire_response(assessment, base_url), score_observation(assessment, base_url)]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{base_url.rstrip('/')}/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                  for r in entries],
    }
    return validated(bundle)
