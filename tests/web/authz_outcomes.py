"""The policy matrix for outcomes, the patient's progress report and record, and research exports (issue 8).

No records of their own: the cohort pages read the clinic's data as it is, the report and the FHIR record are built
from the test patients, and the export holds whoever has consented (possibly nobody, which is still a 200 with the
counts). A plot is named by its file name, not by a record, so it is the same in every cell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from tests.web.authz_support import OTHER, OWN, Matrix, Spec

from tenfour.policy import Permission

P = Permission

ROUTES: dict[tuple[str, str], Spec] = {
    # --- Cohort outcomes: prescribers, managers and admins -------------------------------------------------
    ("GET", "/api/v1/outcomes"): Spec(P.OUTCOMES_READ, 200),
    ("GET", "/outcomes"): Spec(P.OUTCOMES_READ, 200),
    ("GET", "/outcomes/plots/{filename}"): Spec(P.OUTCOMES_READ, 200),
    # --- Research export: de-identified, consenting patients only ---------------------------------------------
    ("GET", "/exports"): Spec(P.DATA_EXPORT, 200),
    ("GET", "/exports/deidentified.csv"): Spec(P.DATA_EXPORT, 200),
    ("GET", "/api/v1/exports/deidentified.csv"): Spec(P.DATA_EXPORT, 200),
    # --- A patient's own report and record, and the same for the staff who may read their chart --------------
    ("GET", "/me/progress-report.pdf"): Spec(P.SELF_READ, 200),
    ("GET", "/me/record.fhir.json"): Spec(P.SELF_READ, 200),
    ("GET", "/api/v1/me/fhir-bundle"): Spec(P.SELF_READ, 200),
    ("GET", "/patients/{patient_id}/progress-report.pdf"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
    ("GET", "/patients/{patient_id}/record.fhir.json"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
    ("GET", "/api/v1/patients/{patient_id}/fhir-bundle"): Spec(P.ASSESSMENT_READ, 200, scoped=True),
}


def build(m: Matrix, db: Session) -> None:
    for scope in (OWN, OTHER):
        m.ids[scope]["filename"] = "km.svg"


def payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    return {}
