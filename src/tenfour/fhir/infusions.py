"""Infusion sessions as FHIR R4: the dose given as a MedicationAdministration, vital signs and weight as
Observations (FHIR vital-signs category, LOINC codes), all in a collection Bundle.

Codes, each verified against its source before use:

- Ketamine: RxNorm 238083, the clinical drug to which openFDA's NDC directory maps single-strength ketamine
  hydrochloride 100 mg/mL injection vials (NDC 71872-7296, and with the other strengths 0409-2051, 25021-684,
  65219-186). The clinic dilutes the stock for the infusion; the ketamine given is in ``dosage.dose`` (mg) and the
  dilution in ``dosage.text``. (The ingredient-level RXCUI could not be verified, so it is not used.)
- LOINC, from the FHIR vital-signs value set and the US Core profiles: 85354-9 blood pressure panel with its
  components 8480-6 systolic and 8462-4 diastolic; 8867-4 heart rate; 9279-1 respiratory rate; 2708-6 oxygen
  saturation in arterial blood with 59408-5 by pulse oximetry (both, as US Core Pulse Oximetry requires);
  29463-7 body weight; 8302-2 body height. Units are UCUM.
- Sedation (TenFour's AVPU-like scale, a product choice) and the vitals level have no standard code: they use
  TenFour code systems under the deployment's base URL.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationadministration import MedicationAdministration

from tenfour.fhir.common import LOINC, OBSERVATION_CATEGORY, instant, system_url, validated
from tenfour.infusions.models import InfusionDose, InfusionPrecheck, InfusionSession, InfusionVitals

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
KETAMINE_RXCUI = "238083"
VITAL_SIGNS = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
SPO2 = ("2708-6", "Oxygen saturation in Arterial blood")
PULSE_OXIMETRY = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
BODY_WEIGHT = ("29463-7", "Body weight")
BODY_HEIGHT = ("8302-2", "Body height")


def _loinc(*codes: tuple[str, str], text: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display} for code, display in codes], "text": text}


def _quantity(value: Any, unit: str, code: str) -> dict[str, Any]:
    return {"value": float(value), "unit": unit, "system": UCUM, "code": code}


def medication_administration(session: InfusionSession, dose: InfusionDose, base_url: str,
                              performer: str | None = None) -> dict[str, Any]:
    """The ketamine given in a session that started. Status: in-progress while infusing, stopped when it was
    stopped early or the session aborted, completed otherwise."""
    assert session.infusion_started_at is not None
    if session.infusion_ended_at is None:
        status = "in-progress"
    elif session.stopped_early or session.status == "aborted":
        status = "stopped"
    else:
        status = "completed"
    period: dict[str, str] = {"start": instant(session.infusion_started_at)}
    if session.infusion_ended_at is not None:
        period["end"] = instant(session.infusion_ended_at)
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": f"infusion-{session.id}",
        "status": status,
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": KETAMINE_RXCUI}],
            "text": "Ketamine hydrochloride (racemic), intravenous infusion",
        },
        "subject": {"reference": f"Patient/{session.patient_id}"},
        "effectivePeriod": period,
        "dosage": {
            "text": (f"{dose.dose_mg} mg ketamine ({dose.dose_mg_per_kg} mg/kg x {dose.dosing_weight_kg} kg, "
                     f"{dose.weight_basis} body weight) diluted to {dose.concentration_mg_per_ml} mg/mL: "
                     f"{dose.volume_ml} mL at {dose.rate_ml_per_h} mL/h over {dose.duration_min} min"),
            "route": {"text": "Intravenous"},
            "dose": _quantity(dose.dose_mg, "mg", "mg"),
            "rateQuantity": _quantity(dose.rate_ml_per_h, "mL/h", "mL/h"),
        },
        "note": [{"text": dose.formula}],
        "supportingInformation": [{"reference": f"Observation/infusion-{session.id}-weight"}],
    }
    if status == "stopped":
        resource["statusReason"] = [{"text": session.abort_reason or "stopped early"}]
    if performer:
        resource["performer"] = [{"actor": {"display": performer}}]
    return MedicationAdministration.model_validate(resource).model_dump(mode="json", exclude_none=True)


def _observation(obs_id: str, patient_id: int, when: Any, code: dict[str, Any], **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": obs_id, "status": "final", "category": [VITAL_SIGNS],
            "code": code, "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": instant(when),
            **value}


def vitals_observations(reading: InfusionVitals, patient_id: int, base_url: str) -> list[dict[str, Any]]:
    """One reading as FHIR vital-sign Observations: blood pressure (panel with components), heart rate, SpO2,
    respiratory rate when taken, and sedation (TenFour code system). The level (ok ... stop) is the
    interpretation, in TenFour's code system."""
    prefix = f"vitals-{reading.id}"
    interpretation = [{"coding": [{"system": system_url(base_url, "CodeSystem/vitals-level"), "code": reading.level}],
                       "text": reading.level}]
    resources = [
        _observation(f"{prefix}-bp", patient_id, reading.taken_at, _loinc(BP_PANEL, text="Blood pressure"),
                     component=[
                         {"code": _loinc(SYSTOLIC, text="Systolic"),
                          "valueQuantity": _quantity(reading.systolic_bp, "mmHg", "mm[Hg]")},
                         {"code": _loinc(DIASTOLIC, text="Diastolic"),
                          "valueQuantity": _quantity(reading.diastolic_bp, "mmHg", "mm[Hg]")}],
                     interpretation=interpretation),
        _observation(f"{prefix}-hr", patient_id, reading.taken_at, _loinc(HEART_RATE, text="Heart rate"),
                     valueQuantity=_quantity(reading.heart_rate, "beats/minute", "/min")),
        _observation(f"{prefix}-spo2", patient_id, reading.taken_at,
                     _loinc(SPO2, PULSE_OXIMETRY, text="Oxygen saturation (pulse oximetry)"),
                     valueQuantity=_quantity(reading.spo2, "%", "%")),
    ]
    if reading.respiratory_rate is not None:
        resources.append(_observation(f"{prefix}-rr", patient_id, reading.taken_at,
                                      _loinc(RESPIRATORY_RATE, text="Respiratory rate"),
                                      valueQuantity=_quantity(reading.respiratory_rate, "breaths/minute", "/min")))
    if reading.sedation:
        local = system_url(base_url, "CodeSystem/sedation")
        resources.append({
            "resourceType": "Observation", "id": f"{prefix}-sedation", "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "exam", "display": "Exam"}]}],
            "code": {"coding": [{"system": local, "code": "sedation", "display": "Sedation / alertness"}],
                     "text": "Sedation / alertness (TenFour scale)"},
            "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": instant(reading.taken_at),
            "valueCodeableConcept": {"coding": [{"system": local, "code": reading.sedation}],
                                     "text": reading.sedation.replace("_", " ")}})
    return [validated(r) for r in resources]


def body_measurements(session: InfusionSession, precheck: InfusionPrecheck) -> list[dict[str, Any]]:
    resources = [_observation(f"infusion-{session.id}-weight", session.patient_id, precheck.weight_measured_at,
                              _loinc(BODY_WEIGHT, text="Body weight"),
                              valueQuantity=_quantity(precheck.weight_kg, "kg", "kg"))]
    if precheck.height_cm is not None:
        resources.append(_observation(f"infusion-{session.id}-height", session.patient_id, precheck.recorded_at,
                                      _loinc(BODY_HEIGHT, text="Body height"),
                                      valueQuantity=_quantity(precheck.height_cm, "cm", "cm")))
    return [validated(r) for r in resources]


def session_bundle_from(session: InfusionSession, dose: InfusionDose | None, precheck: InfusionPrecheck | None,
                        readings: list[InfusionVitals], base_url: str,
                        performer: str | None = None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if precheck is not None:
        entries += body_measurements(session, precheck)
    if dose is not None and session.infusion_started_at is not None:
        entries.append(medication_administration(session, dose, base_url, performer))
    for reading in readings:
        entries += vitals_observations(reading, session.patient_id, base_url)
    root = base_url.rstrip("/")
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"{root}/fhir/{r['resourceType']}/{r['id']}", "resource": r} for r in entries]}
    return validated(bundle)


def session_bundle(db: Any, session: InfusionSession, base_url: str) -> dict[str, Any]:
    """Load what a session charted and export it (the passing pre-check's weight, the dose given, every reading)."""
    from tenfour.infusions import repository

    dose = repository.current_dose(db, session.id)
    passed = [p for p in repository.prechecks(db, session.id) if p.passed]
    performer = None
    if dose is not None and dose.calculated_by_id is not None:
        performer = repository.user_names(db, [dose.calculated_by_id]).get(dose.calculated_by_id)
    return session_bundle_from(session, dose, passed[-1] if passed else None, repository.vitals(db, session.id),
                               base_url, performer)
