"""Infusion sessions as FHIR R4 ``Appointment`` resources (validated with fhir.resources' R4B model, which keeps
Appointment as in R4).

Status, from the session's step: scheduled -> booked; arrived to recovery (on site) -> arrived; discharged ->
fulfilled; aborted -> cancelled (a rescheduled session too; its reason is the cancelation reason). Participants:
the patient and the chair (as a Location, ``Location/chair-<id>``), both required. Times are the chair time
(preparation + infusion + recovery).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle

from tenfour.core.infusion import Step
from tenfour.fhir.common import instant, system_url
from tenfour.infusions.models import InfusionSession

ON_SITE = {Step.ARRIVED, Step.PRECHECKS_PASSED, Step.INFUSING, Step.RECOVERY}


def appointment_status(step: Step) -> str:
    if step == Step.SCHEDULED:
        return "booked"
    if step == Step.DISCHARGED:
        return "fulfilled"
    if step == Step.ABORTED:
        return "cancelled"
    return "arrived" if step in ON_SITE else "booked"


def appointment(session: InfusionSession, chair_name: str, base_url: str,
                series: tuple[int, int] | None = None) -> dict[str, Any]:
    """One session as an Appointment; ``series`` = (index from 1, count) when it belongs to an induction series."""
    minutes = int((session.scheduled_end - session.scheduled_start).total_seconds() // 60)
    description = "Ketamine infusion (chair time: preparation, infusion, recovery)"
    if series is not None:
        description += f", session {series[0]} of {series[1]} of an induction series"
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": f"infusion-session-{session.id}",
        "identifier": [{"system": system_url(base_url, "infusion-session"), "value": str(session.id)}],
        "status": appointment_status(Step(session.status)),
        "serviceType": [{"text": "Ketamine infusion therapy"}],
        "description": description,
        "start": instant(session.scheduled_start),
        "end": instant(session.scheduled_end),
        "minutesDuration": minutes,
        "created": instant(session.created_at),
        "participant": [
            {"actor": {"reference": f"Patient/{session.patient_id}"}, "required": "required", "status": "accepted"},
            {"actor": {"reference": f"Location/chair-{session.chair_id}", "display": chair_name},
             "required": "required", "status": "accepted"},
        ],
    }
    if session.status == Step.ABORTED.value and session.abort_reason:
        resource["cancelationReason"] = {"text": session.abort_reason[:200]}
    return Appointment.model_validate(resource).model_dump(mode="json", exclude_none=True)


def appointments_bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
              "entry": [{"resource": r} for r in resources]}
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
