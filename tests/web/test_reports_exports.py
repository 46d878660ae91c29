"""What the progress report, the FHIR export and the de-identified CSV contain: the report read back from the PDF
(its streams inflated and its text operators read; pypdf is not a dependency), the FHIR Bundle validated resource by
resource with fhir.resources, the CSV checked against the identifiers of the patients seeded for it."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from tests import factories
from tests.checkins_support import give_course, monday_weeks_ago
from tests.web.support import app, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.accounts.models import User
from tenfour.assessments import repository as assessments_repository
from tenfour.audit.models import AuditEvent
from tenfour.audit.service import Actor
from tenfour.checkins import repository as checkins_repository
from tenfour.clinics import service as clinics
from tenfour.exports.deidentify import COLUMNS, SUPPRESSED
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient, PatientConsent
from tenfour.simulate import runner
from tenfour.simulate.params import preset


def pdf_text(data: bytes) -> str:
    """The text a reportlab PDF draws: each content stream decoded (ASCII85, then Flate) and its (...) Tj strings."""
    parts: list[bytes] = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            raw = zlib.decompress(base64.a85decode(raw.strip(), adobe=True))
        except (ValueError, zlib.error):
            continue
        parts += re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", raw)
    text = b" ".join(parts).decode("latin-1")
    return re.sub(r"\\(.)", r"\1", text)


def page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", data))


def audit(db, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- The progress report ------------------------------------------------------------------------------------------


@pytest.fixture
def cohort(db, world, session_factory) -> list[Patient]:  # type: ignore[no-untyped-def]
    """Two synthetic patients made by the simulator in the north clinic (made synthetic for it): both treated and
    responding and still well (durability far beyond the follow-up), one with the consent to share reports with their
    own clinician."""
    world.north.is_synthetic = True
    db.commit()
    params = preset("feder2021", referral_lost_rate=0, intake_incomplete_rate=0, ineligible_rate=0,
                    induction_dropout_rate=0, response_probability=1.0, enrolment_start_days_ago=150,
                    enrolment_end_days_ago=121, share_with_own_clinician_rate=0, followup_dropout_per_week=0,
                    median_days_to_loss_of_response=365, durability_distribution="weibull",
                    durability_weibull_shape=10)
    summary = runner.run(session_factory, params, patients=2, seed=21, clinic_slug="north-test")
    patients = [db.get(Patient, o.patient_id) for o in summary.outcomes]
    assert all(p is not None for p in patients)
    db.add(PatientConsent(patient_id=patients[1].id, kind="share_with_own_clinician", version="2026-11"))  # type: ignore[union-attr]
    db.commit()
    db.refresh(patients[1])
    return patients  # type: ignore[return-value]


def test_a_patient_downloads_their_own_report(client, db, cohort) -> None:  # type: ignore[no-untyped-def]
    patient = cohort[0]
    user = db.get(User, patient.user_id)
    sign_in_browser(client, db, user)
    home = client.get("/me")
    assert 'href="/me/progress-report.pdf"' in home.text and 'href="/me/record.fhir.json"' in home.text
    response = client.get("/me/progress-report.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")
    assert 1 <= page_count(response.content) <= 2
    text = pdf_text(response.content)
    scores = [a for a in assessments_repository.for_patient(db, patient.id, ["pcl5", "pcl5-week"], True)]
    assert len(scores) > 12  # a long follow-up still fits two pages
    for words in (f"{patient.first_name} {patient.last_name}", "Your progress report, for you", "Your scores over time",
                  "What changed", "Your warning signs", "Next steps", "988", "Never sent to an employer",
                  "never sends it to your employer", "Synthetic demo record", "what we call a response",
                  f"your PCL-5 score was {scores[0].total}", f"is {scores[-1].total}."):
        assert words in text, words

    labels = [s.label for s in checkins_repository.warning_signs(db, patient.id)]
    assert labels and all(label in text for label in labels)
    event = audit(db, "report.progress_pdf")[-1]
    assert event.patient_id == patient.id and event.detail["by"] == "patient" and event.detail["purpose"] == "patient"


def test_staff_print_it_for_the_patient_and_for_their_own_clinician_only_with_consent(client, db, world,
                                                                                      cohort) -> None:  # type: ignore[no-untyped-def]
    without, with_consent = cohort
    sign_in_browser(client, db, world.user("prescriber"))
    chart = client.get(f"/patients/{with_consent.id}")
    assert f"/patients/{with_consent.id}/progress-report.pdf?purpose=own_clinician" in chart.text
    assert f"/patients/{with_consent.id}/record.fhir.json" in chart.text
    shared = client.get(f"/patients/{with_consent.id}/progress-report.pdf?purpose=own_clinician")
    assert shared.status_code == 200 and "for your own clinician, shared with your consent" in pdf_text(shared.content)
    assert audit(db, "report.progress_pdf")[-1].detail == {"purpose": "own_clinician", "by": "staff",
                                                           "scores": audit(db, "report.progress_pdf")[-1]
                                                           .detail["scores"]}
    chart = client.get(f"/patients/{without.id}")
    assert "purpose=own_clinician" not in chart.text and "has not agreed to share" in chart.text
    refused = client.get(f"/patients/{without.id}/progress-report.pdf?purpose=own_clinician")
    assert refused.status_code == 422 and "purpose" in refused.text and "share_with_own_clinician" in refused.text
    for_patient = client.get(f"/patients/{without.id}/progress-report.pdf")
    assert for_patient.status_code == 200 and "Your progress report, for you" in pdf_text(for_patient.content)
    assert client.get(f"/patients/{without.id}/progress-report.pdf?purpose=employer").status_code == 422


def test_a_withdrawn_consent_stops_reports_for_the_own_clinician(client, db, world, cohort) -> None:  # type: ignore[no-untyped-def]
    patient = cohort[1]
    for consent in patient.consents:
        if consent.kind == "share_with_own_clinician":
            consent.withdrawn_at = datetime.now(UTC)
    db.commit()
    sign_in_browser(client, db, world.user("nurse"))
    assert client.get(f"/patients/{patient.id}/progress-report.pdf?purpose=own_clinician").status_code == 422


def test_a_patient_with_no_scores_yet_gets_a_plain_one_page_report(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("coordinator"))
    response = client.get(f"/patients/{world.patient_north.id}/progress-report.pdf")
    assert response.status_code == 200 and page_count(response.content) == 1
    text = pdf_text(response.content)
    assert "There are no PCL-5 scores yet" in text and "You have not chosen your warning signs yet" in text
    assert "Never sent to an employer" in text


def test_managers_do_not_see_the_report_on_the_chart(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("manager"))
    chart = client.get(f"/patients/{world.patient_north.id}")
    assert chart.status_code == 200 and "progress-report.pdf" not in chart.text and "record.fhir.json" not in chart.text


# --- FHIR --------------------------------------------------------------------------------------------------------


def test_the_fhir_bundle_of_a_record_validates_resource_by_resource(client, db, as_api, cohort) -> None:  # type: ignore[no-untyped-def]
    patient = cohort[0]
    response = client.get(f"/api/v1/patients/{patient.id}/fhir-bundle", headers=as_api("nurse"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kinds = [r["resourceType"] for r in resources]
    sessions = list(db.scalars(select(InfusionSession).where(InfusionSession.patient_id == patient.id)))
    assessments = assessments_repository.for_patient(db, patient.id, current_only=True)
    assert kinds.count("Patient") == 1
    assert kinds.count("QuestionnaireResponse") == len(assessments) > 10
    assert kinds.count("MedicationAdministration") == sum(1 for s in sessions if s.infusion_started_at) == 6
    assert kinds.count("Appointment") == len(sessions)
    assert kinds.count("Observation") > len(assessments)  # scores, and the vitals and weight of each infusion
    own = next(r for r in resources if r["resourceType"] == "Patient")
    assert own["id"] == str(patient.id) and own["name"][0]["family"] == patient.last_name
    assert own["birthDate"] == patient.date_of_birth.isoformat()
    references = re.findall(r'"reference": "Patient/([^"]+)"', response.text)
    assert references and set(references) == {str(patient.id)}
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    assert audit(db, "export.fhir_bundle")[-1].detail["MedicationAdministration"] == 6


def test_a_patient_downloads_their_own_record(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.patient_user)
    response = client.get("/me/record.fhir.json")
    assert response.status_code == 200 and response.headers["content-disposition"].startswith("attachment")
    bundle = response.json()
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]
    assert bundle["entry"][0]["resource"]["id"] == str(world.patient_north.id)


# --- The de-identified CSV ---------------------------------------------------------------------------------------

FIRST_DAY = monday_weeks_ago(6)


@pytest.fixture
def research(db, world) -> dict[str, list[Patient]]:  # type: ignore[no-untyped-def]
    """North: 12 firefighters alike (male, born 1984), 5 patients each unlike any other, 2 who did not consent; each
    with identifiers that must never reach the file, and a course of six infusions from the same day."""
    prescriber = world.user("prescriber")
    made: dict[str, list[Patient]] = {"alike": [], "unlike": [], "no_consent": []}
    unlike = [("police", "female", date(1951, 3, 1)), ("ems", "female", date(1999, 5, 5)),
              ("dispatcher", "male", date(1970, 7, 7)), ("corrections", "female", date(1962, 9, 9)),
              ("firefighter", "female", date(1990, 11, 11))]
    for n in range(19):
        group = "alike" if n < 12 else ("unlike" if n < 17 else "no_consent")
        role, sex, born = unlike[n - 12] if group == "unlike" else ("firefighter", "male", date(1984, 1, 10 + n % 12))
        patient = factories.make_patient(
            db, world.north, first_name=f"Zebulon{n}x", last_name=f"Quixotic{n}y", email=f"zq{n}@identifiable.test",
            phone=f"(555) 013-{n:04d}", agency=f"Identifiable Fire Dept {n}", responder_role=role, sex=sex,
            date_of_birth=born, notes=f"free text note {n}")
        if group != "no_consent":
            db.add(PatientConsent(patient_id=patient.id, kind="research_deidentified", version="2026-11"))
        give_course(db, patient, prescriber, FIRST_DAY, baseline=40 + n)
        made[group].append(patient)
    db.commit()
    return made


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _identifiers(patients: list[Patient]) -> list[str]:
    found = []
    for p in patients:
        found += [p.first_name, p.last_name, p.email or "", p.phone or "", p.agency or "", p.record_number,
                  p.date_of_birth.isoformat(), p.notes or ""]
    return [f for f in found if f]


def test_the_research_csv_has_no_identifiers_and_shifts_each_patients_dates_consistently(
        client, db, world, as_api, research) -> None:  # type: ignore[no-untyped-def]
    clinics.set_policy_values(db, Actor.system("test"), world.north, {"export.min_cell_size": 5})
    db.commit()
    response = client.get("/api/v1/exports/deidentified.csv", headers=as_api("manager"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.text
    everyone = research["alike"] + research["unlike"] + research["no_consent"] + [world.patient_north]
    for identifier in [*_identifiers(everyone), "North Test Clinic", "north-test"]:
        assert identifier not in text, identifier
    rows = _rows(text)
    assert list(rows[0]) == list(COLUMNS)
    keys = {r["patient_key"] for r in rows}
    assert len(keys) == 17 and response.headers["x-tenfour-patients"] == "17"
    assert response.headers["x-tenfour-withheld-no-consent"] == "3"  # two seeded, and the world's patient
    assert response.headers["x-tenfour-withheld-small-cells"] == "0"
    by_key: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_key.setdefault(row["patient_key"], []).append(row)
    bases = {}
    for key, mine in by_key.items():
        starts = {date.fromisoformat(r["date_shifted"]) - timedelta(days=int(r["days_from_first_infusion"]))
                  for r in mine}
        assert len(starts) == 1, key  # one shift for all of a patient's dates
        bases[key] = starts.pop()
        assert bases[key] != FIRST_DAY and abs((bases[key] - FIRST_DAY).days) <= 182
        assert {r["record_type"] for r in mine} == {"assessment", "infusion"}
        assert sum(1 for r in mine if r["record_type"] == "infusion") == 6
    assert len(set(bases.values())) > 1  # shifts differ between patients
    quasi = {(r["site"], r["responder_role"], r["sex"], r["age_band"]) for r in rows}
    assert quasi == {("site-1", "firefighter", "male", "40-44"), ("site-1", SUPPRESSED, SUPPRESSED, SUPPRESSED)}
    suppressed = {r["patient_key"] for r in rows if r["responder_role"] == SUPPRESSED}
    assert len(suppressed) == 5
    event = audit(db, "export.deidentified_csv")[-1]
    assert event.detail["patients"] == 17 and event.detail["min_cell_size"] == 5
    assert event.detail["withheld_no_consent"] == 3 and event.detail["suppressed_patients"] == 5


def test_groups_too_small_even_when_suppressed_are_withheld(client, db, world, research) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("admin"))  # the default policy: fewer than 11 are not shown
    response = client.get("/exports/deidentified.csv?clinic=north-test")
    assert response.status_code == 200
    rows = _rows(response.text)
    assert len({r["patient_key"] for r in rows}) == 12
    assert response.headers["x-tenfour-withheld-small-cells"] == "5"
    assert SUPPRESSED not in response.text and {r["responder_role"] for r in rows} == {"firefighter"}


def test_an_empty_export_is_a_header_and_says_why(client, db, world, as_api) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/exports/deidentified.csv", headers=as_api("admin"))
    assert response.status_code == 200 and response.text.strip() == ",".join(COLUMNS)
    assert response.headers["x-tenfour-withheld-no-consent"] == "1"


def test_the_export_page_explains_the_rules_and_offers_each_clinic(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("manager"))
    page = client.get("/exports")
    assert page.status_code == 200
    # The file is prepared in the background (tests/web/test_export_files.py): the page asks for it.
    assert '<option value="north-test"' in page.text and "South Test Clinic" not in page.text
    assert "CMS cell size suppression policy" in page.text and "11 patients" in page.text
    assert 'href="/exports"' in page.text  # in the menu
