"""Who may download progress reports and exports: every route for each role that may (its success status), each role
that may not (403), another clinic's patient (404, as for a missing one) and no one signed in (API 401; pages 303 to
sign in). A patient holds ASSESSMENT_READ for their own record only: their own id answers, another's is 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.checkins_support import give_course, monday_weeks_ago
from tests.web.support import app, module_app, sign_in_browser  # noqa: F401 - one app per module

ROLES = ("prescriber", "nurse", "coordinator", "manager", "admin", "patient")
CLINICAL = {"prescriber", "nurse", "coordinator"}
READ = CLINICAL | {"patient"}  # the patient: their own record only
EXPORT = {"admin", "manager"}

# name: (path with {patient}, roles allowed, names a patient, success status)
API: dict[str, tuple[str, set[str], bool, int]] = {
    "csv": ("/api/v1/exports/deidentified.csv", EXPORT, False, 200),
    "fhir": ("/api/v1/patients/{patient}/fhir-bundle", READ, True, 200),
    "own-fhir": ("/api/v1/me/fhir-bundle", {"patient"}, False, 200),
}
PAGES: dict[str, tuple[str, set[str], bool, int]] = {
    "own-report": ("/me/progress-report.pdf", {"patient"}, False, 200),
    "report": ("/patients/{patient}/progress-report.pdf", READ, True, 200),
    "report-for-own-clinician": ("/patients/{patient}/progress-report.pdf?purpose=own_clinician", READ, True, 200),
    "exports": ("/exports", EXPORT, False, 200),
    "csv": ("/exports/deidentified.csv", EXPORT, False, 200),
    "fhir": ("/patients/{patient}/record.fhir.json", READ, True, 200),
    "own-fhir": ("/me/record.fhir.json", {"patient"}, False, 200),
}


@pytest.fixture
def ids(db, world) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Both clinics' patients with a course given (so every export has something in it) and the consent to share
    progress reports with their own clinician."""
    from tenfour.patients.models import PatientConsent

    for patient, clinic in ((world.patient_north, world.north), (world.patient_south, world.south)):
        give_course(db, patient, world.user("prescriber", clinic.slug), monday_weeks_ago(3) - timedelta(days=7))
        db.add(PatientConsent(patient_id=patient.id, kind="share_with_own_clinician", version="2026-11"))
    db.commit()
    return {"own": world.patient_north.id, "other": world.patient_south.id}


def _api(client, as_api, name: str, role: str | None, patient: int):  # type: ignore[no-untyped-def]
    template = API[name][0]
    return client.get(template.format(patient=patient), headers=as_api(role) if role else {})


def _page(client, db, world, name: str, role: str | None, patient: int):  # type: ignore[no-untyped-def]
    if role:
        sign_in_browser(client, db, world.user(role))
    return client.get(PAGES[name][0].format(patient=patient), follow_redirects=False)


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in API for r in ROLES], ids=lambda v: str(v))
def test_api_each_role(client, as_api, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    response = _api(client, as_api, name, role, ids["own"])
    _, allowed, _, success = API[name]
    assert response.status_code == (success if role in allowed else 403), response.text[:300]


@pytest.mark.parametrize("name", list(API))
def test_api_signed_out(client, as_api, ids, name) -> None:  # type: ignore[no-untyped-def]
    assert _api(client, as_api, name, None, ids["own"]).status_code == 401


@pytest.mark.parametrize(("name", "role"), [(n, r) for n, spec in API.items() if spec[2] for r in sorted(spec[1])])
def test_api_another_clinics_patient_is_not_found(client, as_api, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    assert _api(client, as_api, name, role, ids["other"]).status_code == 404


@pytest.mark.parametrize(("name", "role"), [(n, r) for n in PAGES for r in ROLES], ids=lambda v: str(v))
def test_pages_each_role(client, db, world, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    response = _page(client, db, world, name, role, ids["own"])
    _, allowed, _, success = PAGES[name]
    assert response.status_code == (success if role in allowed else 403), response.text[:300]


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_signed_out_go_to_sign_in(client, db, world, ids, name) -> None:  # type: ignore[no-untyped-def]
    response = _page(client, db, world, name, None, ids["own"])
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("name", "role"), [(n, r) for n, spec in PAGES.items() if spec[2]
                                            for r in sorted(spec[1])])
def test_pages_another_clinics_patient_is_not_found(client, db, world, ids, name, role) -> None:  # type: ignore[no-untyped-def]
    assert _page(client, db, world, name, role, ids["other"]).status_code == 404


@pytest.mark.parametrize("path", ["/exports/deidentified.csv?clinic=south-test",
                                  "/api/v1/exports/deidentified.csv?clinic=south-test"])
def test_an_export_of_a_clinic_one_does_not_work_in_is_refused(client, db, world, as_api, ids, path) -> None:  # type: ignore[no-untyped-def]
    if path.startswith("/api"):
        response = client.get(path, headers=as_api("manager"))
    else:
        sign_in_browser(client, db, world.user("manager"))
        response = client.get(path)
    assert response.status_code == 422 and "south-test" in response.text and "clinic" in response.text
