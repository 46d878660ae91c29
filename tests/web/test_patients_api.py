"""The patient registry's JSON API: list, search, create, read, partial update, consents, and bad input.

Bad input (issue 2): a 4xx (422 for validation) naming the field and the rule, never a 500, and nothing already
saved changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests import factories
from tests.web.support import app, bearer, module_app  # noqa: F401

from tenfour.audit.models import AuditEvent
from tenfour.patients.models import Patient, PatientConsent

VALID = {"first_name": "Dana", "last_name": "Whitfield", "date_of_birth": "1979-06-30", "responder_role": "police"}


@pytest.fixture
def nurse(world, db: Session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    headers = bearer(db, world.user("nurse"))
    db.commit()
    return headers


def problems(response: Any) -> dict[str, str]:
    """field -> rule of a 422 answer."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"], "a 422 says what is wrong in `detail`"
    return {p["field"]: p["rule"] for p in body["problems"]}


def row(db: Session, patient_id: int) -> dict[str, Any]:
    db.expire_all()
    patient = db.get(Patient, patient_id)
    assert patient is not None
    return {c.key: getattr(patient, c.key) for c in Patient.__table__.columns}


# --- List and search --------------------------------------------------------------------------------------


def test_list_shows_only_the_staff_members_clinic(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        factories.make_patient(db, world.south, last_name=f"Southerly{n}")
    factories.make_patient(db, world.north, last_name="Northcote")
    db.commit()
    body = client.get("/api/v1/patients", headers=nurse).json()
    assert body["total"] == 2
    assert {p["last_name"] for p in body["items"]} == {"North", "Northcote"}
    assert {p["clinic_id"] for p in body["items"]} == {world.north.id}


def test_search_by_name_record_number_agency_and_full_name(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    factories.make_patient(db, world.north, first_name="Kendra", last_name="Okafor", record_number="TF-ABC234",
                           agency="Cedar Township Fire")
    factories.make_patient(db, world.south, first_name="Kendra", last_name="Okafor")  # another clinic's Kendra
    db.commit()
    for q in ("okafor", "KENDRA", "tf-abc2", "cedar township", "kendra oka"):
        items = client.get("/api/v1/patients", params={"q": q}, headers=nurse).json()["items"]
        assert [(p["last_name"], p["clinic_id"]) for p in items] == [("Okafor", world.north.id)], q
    assert client.get("/api/v1/patients", params={"q": "nobody-like-this"}, headers=nurse).json()["total"] == 0


def test_filters_and_paging(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        factories.make_patient(db, world.north, last_name=f"Medic{n}", responder_role="ems", status="active")
    db.commit()
    ems = client.get("/api/v1/patients", params={"responder_role": "ems"}, headers=nurse).json()
    assert ems["total"] == 5 and {p["responder_role"] for p in ems["items"]} == {"ems"}
    active = client.get("/api/v1/patients", params={"status": "active"}, headers=nurse).json()
    assert active["total"] == 5
    page = client.get("/api/v1/patients", params={"limit": 2, "offset": 2}, headers=nurse).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (6, 2, 2, 2)
    names = [p["last_name"] for p in client.get("/api/v1/patients", headers=nurse).json()["items"]]
    assert names == sorted(names), "sorted by last name"


# --- Create -----------------------------------------------------------------------------------------------


def test_create_puts_the_patient_in_the_staff_members_clinic_without_naming_it(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/patients", headers=nurse, json={
        **VALID, "agency": "  Harbor Patrol  ", "phone": "+1 (555) 010-2000", "email": "dana@example.com",
        "roster_pattern": "pitman", "roster_anchor_date": "2026-01-05", "roster_shift_start": "06:00",
        "consents": [{"kind": "treatment", "version": "2026-11"}, {"kind": "contact", "version": "2026-11"}]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["clinic_id"] == world.north.id
    assert body["record_number"].startswith("TF-") and len(body["record_number"]) == 9
    assert body["agency"] == "Harbor Patrol", "text is trimmed"
    assert body["status"] == "intake" and body["sex"] == "unknown" and body["is_synthetic"] is False
    assert [(c["kind"], c["version"]) for c in body["consents"]] == [("treatment", "2026-11"),
                                                                     ("contact", "2026-11")]
    assert all(c["given_at"] and c["withdrawn_at"] is None for c in body["consents"])
    assert client.get(f"/api/v1/patients/{body['id']}", headers=nurse).json()["last_name"] == "Whitfield"


def test_staff_of_several_clinics_name_the_clinic(client, world, db) -> None:  # type: ignore[no-untyped-def]
    both = factories.make_user(db, role="coordinator", clinics=[world.north, world.south])
    headers = bearer(db, both)
    db.commit()
    # The session starts in the first clinic; naming the other one puts the patient there.
    named = client.post("/api/v1/patients", headers=headers, json={**VALID, "clinic": "south-test"})
    assert named.status_code == 201 and named.json()["clinic_id"] == world.south.id
    assert problems(client.post("/api/v1/patients", headers=headers, json={**VALID, "clinic": "bayside"})) == {
        "clinic": "membership"}


def test_naming_a_clinic_you_do_not_work_in_is_refused(client, world, nurse) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/patients", headers=nurse, json={**VALID, "clinic": "south-test"})
    assert problems(response) == {"clinic": "membership"}
    assert "south-test" in response.json()["problems"][0]["message"]


# --- Read and partial update ------------------------------------------------------------------------------


def test_get_returns_the_record(client, world, nurse) -> None:  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/patients/{world.patient_north.id}", headers=nurse).json()
    assert (body["first_name"], body["last_name"], body["date_of_birth"]) == ("Nora", "North", "1985-04-12")
    assert body["record_number"] == world.patient_north.record_number


def test_patch_changes_only_the_fields_sent(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    before = row(db, pid)
    response = client.patch(f"/api/v1/patients/{pid}", headers=nurse,
                            json={"agency": "Lake County Sheriff", "years_of_service": 12, "status": "assessment"})
    assert response.status_code == 200, response.text
    after = row(db, pid)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"agency", "years_of_service", "status", "updated_at"}
    assert (after["agency"], after["years_of_service"], after["status"]) == ("Lake County Sheriff", 12,
                                                                             "assessment")


def test_patch_null_clears_an_optional_field(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    assert client.patch(f"/api/v1/patients/{pid}", headers=nurse, json={"agency": None}).status_code == 200
    assert row(db, pid)["agency"] is None


def test_patch_roster_pattern_needs_an_anchor_date(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    assert problems(client.patch(f"/api/v1/patients/{pid}", headers=nurse, json={"roster_pattern": "kelly"})) == {
        "roster_anchor_date": "required_with_pattern"}
    ok = client.patch(f"/api/v1/patients/{pid}", headers=nurse,
                      json={"roster_pattern": "kelly", "roster_anchor_date": "2026-03-02"})
    assert ok.status_code == 200 and ok.json()["roster_pattern"] == "kelly"


# --- Consents ---------------------------------------------------------------------------------------------


def test_consent_given_then_withdrawn_is_kept_with_both_times(client, world, db, nurse) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    given = client.post(f"/api/v1/patients/{pid}/consents", headers=nurse,
                        json={"kind": "research_deidentified", "version": "2026-11"})
    assert given.status_code == 201, given.text
    consent_id = given.json()["id"]
    withdrawn = client.post(f"/api/v1/patients/{pid}/consents/{consent_id}/withdraw", headers=nurse)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"] is not None
    again = client.post(f"/api/v1/patients/{pid}/consents/{consent_id}/withdraw", headers=nurse)
    assert again.status_code == 409
    db.expire_all()
    consent = db.get(PatientConsent, consent_id)
    assert consent is not None and consent.given_at < consent.withdrawn_at  # type: ignore[operator]


def test_unknown_consent_kind_is_refused(client, world, nurse) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/consents", headers=nurse,
                           json={"kind": "sell_my_data", "version": "2026-11"})
    assert problems(response) == {"kind": "enum"}


# --- Bad input: never a 500, the field and the rule named -----------------------------------------------

TOO_OLD = (date.today() - timedelta(days=365 * 111)).isoformat()
TOMORROW = (date.today() + timedelta(days=1)).isoformat()

BAD_CREATES = [
    pytest.param({}, {"first_name": "missing", "last_name": "missing", "date_of_birth": "missing",
                      "responder_role": "missing"}, id="missing fields"),
    pytest.param({**VALID, "first_name": ""}, {"first_name": "string_too_short"}, id="blank name"),
    pytest.param({**VALID, "first_name": "x" * 81}, {"first_name": "string_too_long"}, id="over-long name"),
    pytest.param({**VALID, "notes": "n" * 2001}, {"notes": "string_too_long"}, id="over-long notes"),
    pytest.param({**VALID, "agency": "a" * 121}, {"agency": "string_too_long"}, id="over-long agency"),
    pytest.param({**VALID, "date_of_birth": "yesterday"}, {"date_of_birth": "date_from_datetime_parsing"},
                 id="malformed date"),
    pytest.param({**VALID, "date_of_birth": TOMORROW}, {"date_of_birth": "value_error"}, id="born tomorrow"),
    pytest.param({**VALID, "date_of_birth": TOO_OLD}, {"date_of_birth": "value_error"}, id="born 111 years ago"),
    pytest.param({**VALID, "responder_role": "astronaut"}, {"responder_role": "enum"}, id="unknown role"),
    pytest.param({**VALID, "years_of_service": "ten"}, {"years_of_service": "int_parsing"}, id="wrong type"),
    pytest.param({**VALID, "years_of_service": 61}, {"years_of_service": "less_than_equal"}, id="out of range"),
    pytest.param({**VALID, "first_name": 42}, {"first_name": "string_type"}, id="number for text"),
    pytest.param({**VALID, "email": "not-an-email"}, {"email": "value_error"}, id="bad email"),
    pytest.param({**VALID, "phone": "call me maybe"}, {"phone": "string_pattern_mismatch"}, id="bad phone"),
    pytest.param({**VALID, "roster_pattern": "9-to-5"}, {"roster_pattern": "value_error"}, id="bad roster"),
    pytest.param({**VALID, "roster_pattern": "24/48"}, {"roster_anchor_date": "required_with_pattern"},
                 id="roster without anchor"),
    pytest.param({**VALID, "timezone": "Mars/Olympus_Mons"}, {"timezone": "iana_time_zone"}, id="bad time zone"),
    pytest.param({**VALID, "favourite_colour": "red"}, {"favourite_colour": "extra_forbidden"}, id="unknown field"),
    pytest.param({**VALID, "consents": [{"kind": "treatment"}]}, {"consents.0.version": "missing"},
                 id="consent without version"),
    pytest.param({**VALID, "clinic": "c" * 61}, {"clinic": "string_too_long"}, id="over-long clinic"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_CREATES)
def test_bad_create_names_the_field_and_rule_and_saves_nothing(client, db, nurse, body, expected) -> None:  # type: ignore[no-untyped-def]
    last_id = db.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1))
    response = client.post("/api/v1/patients", headers=nurse, json=body)
    assert problems(response) == expected
    for problem in response.json()["problems"]:
        assert problem["message"], problem
    db.expire_all()
    assert db.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1)) == last_id


def test_friendly_messages_for_missing_fields_and_phone(client, nurse) -> None:  # type: ignore[no-untyped-def]
    missing = client.post("/api/v1/patients", headers=nurse, json={}).json()["problems"]
    assert {p["message"] for p in missing} == {"is required"}
    phone = client.post("/api/v1/patients", headers=nurse, json={**VALID, "phone": "x"}).json()["problems"]
    assert phone[0]["message"] == "use digits, spaces and + ( ) - only (7 to 25 characters)"


def test_malformed_json_and_a_non_object_body(client, nurse) -> None:  # type: ignore[no-untyped-def]
    raw = client.post("/api/v1/patients", headers={**nurse, "Content-Type": "application/json"}, content=b"{oops")
    assert problems(raw) == {"body": "json_invalid"}
    array = client.post("/api/v1/patients", headers=nurse, json=[VALID])
    assert problems(array) == {"body": "model_attributes_type"}


BAD_PATCHES = [
    pytest.param({"first_name": None}, {"first_name": "required"}, id="null required name"),
    pytest.param({"date_of_birth": None}, {"date_of_birth": "required"}, id="null birth date"),
    pytest.param({"status": None}, {"status": "required"}, id="null status"),
    pytest.param({"status": "cured"}, {"status": "enum"}, id="unknown status"),
    pytest.param({"last_name": "y" * 81}, {"last_name": "string_too_long"}, id="over-long name"),
    pytest.param({"notes": "n" * 2001}, {"notes": "string_too_long"}, id="over-long notes"),
    pytest.param({"years_of_service": -1}, {"years_of_service": "greater_than_equal"}, id="negative years"),
    pytest.param({"agency": "Ok", "years_of_service": "lots"}, {"years_of_service": "int_parsing"},
                 id="one bad field among good ones"),
    pytest.param({"timezone": "Nowhere/Special"}, {"timezone": "iana_time_zone"}, id="bad time zone"),
    pytest.param({"agency": "Ok", "roster_pattern": "dupont"}, {"roster_anchor_date": "required_with_pattern"},
                 id="rule across fields"),
    pytest.param({"clinic_id": 2}, {"clinic_id": "extra_forbidden"}, id="moving clinics is not a field"),
    pytest.param({"record_number": "TF-HACKED"}, {"record_number": "extra_forbidden"}, id="record number"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_PATCHES)
def test_rejected_patch_leaves_the_row_unchanged(client, world, db, nurse, body, expected) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    before = row(db, pid)
    response = client.patch(f"/api/v1/patients/{pid}", headers=nurse, json=body)
    assert problems(response) == expected
    assert row(db, pid) == before
    db.expire_all()
    updates = db.scalars(select(AuditEvent).where(AuditEvent.action == "patient.update",
                                                  AuditEvent.patient_id == pid)).all()
    assert updates == [], "a rejected change leaves no trace of a change"


BAD_QUERIES = [
    ("/api/v1/patients?q=" + "q" * 101, {"q": "string_too_long"}),
    ("/api/v1/patients?limit=0", {"limit": "greater_than_equal"}),
    ("/api/v1/patients?limit=201", {"limit": "less_than_equal"}),
    ("/api/v1/patients?offset=-1", {"offset": "greater_than_equal"}),
    ("/api/v1/patients?responder_role=pilot", {"responder_role": "enum"}),
    ("/api/v1/patients/abc", {"patient_id": "int_parsing"}),
    ("/api/v1/patients/0", {"patient_id": "greater_than_equal"}),
    # Larger than any id the database can hold: refused at the door, not a database error (was a 500).
    ("/api/v1/patients/99999999999999999999", {"patient_id": "less_than_equal"}),
]


@pytest.mark.parametrize(("url", "expected"), BAD_QUERIES, ids=[u.split("v1/")[1][:40] for u, _ in BAD_QUERIES])
def test_bad_query_and_path_values(client, nurse, url, expected) -> None:  # type: ignore[no-untyped-def]
    assert problems(client.get(url, headers=nurse)) == expected


def test_a_huge_id_on_a_write_route_is_refused_not_crashed(client, nurse) -> None:  # type: ignore[no-untyped-def]
    response = client.patch("/api/v1/patients/2147483648", headers=nurse, json={"agency": "x"})
    assert problems(response) == {"patient_id": "less_than_equal"}


def test_nul_character_is_never_a_500(client, db, nurse) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store NUL in text; SQLite can. Either way the answer is a clean one."""
    response = client.post("/api/v1/patients", headers=nurse, json={**VALID, "notes": "before\x00after"})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert problems(response) == {"body": "storable"}
        db.expire_all()
        assert db.scalar(select(Patient).where(Patient.last_name == "Whitfield")) is None


# --- OpenAPI --------------------------------------------------------------------------------------------


def test_openapi_documents_the_patient_api(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/patients"])
    assert {"get", "patch"} <= set(spec["paths"]["/api/v1/patients/{patient_id}"])
    assert "/patients" not in spec["paths"], "HTML pages stay out of the API description"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
