"""Instruments and assessments through the API: scoring, storage, corrections, safety alerts, FHIR, scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tenfour.alerts.models import Alert
from tenfour.assessments.models import Assessment
from tenfour.audit.models import AuditEvent

PCL5_33 = {f"q{i}": v for i, v in zip(range(1, 21), [2, 2, 2, 2, 1, 2, 1, 2, 2, 1, 1, 2, 2, 1, 2, 2, 2, 2, 1, 1],
                                          strict=True)}  # total 33
PHQ9_ITEM9 = {"q1": 1, "q2": 1, "q3": 2, "q4": 1, "q5": 0, "q6": 1, "q7": 0, "q8": 0, "q9": 1}  # total 7


def test_pcl5_answers_fixture_totals_33():
    assert sum(PCL5_33.values()) == 33


@pytest.mark.parametrize(("instrument", "answers", "expected"), [
    ("pcl5", PCL5_33, {"total": 33, "above_cutoff": True, "provisional_diagnosis": True}),
    ("phq9", PHQ9_ITEM9, {"total": 7, "band": "mild", "flags": ["suicidal_ideation"]}),
    ("gad7", {f"q{i}": 2 for i in range(1, 8)}, {"total": 14, "band": "moderate", "flags": []}),
    ("cssrs-screen", {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0},
     {"total": None, "risk_level": "high", "flags": ["suicidal_ideation", "imminent_risk"]}),
    ("cadss6", {f"q{i}": 1 for i in (1, 2, 6, 7, 15, 22)}, {"total": 6}),
    ("pcl5-8", {f"q{i}": 4 for i in (1, 4, 6, 7, 9, 12, 18, 19)}, {"total": 32}),
])
def test_score_api_answers_each_instrument(client, as_api, instrument, answers, expected):
    response = client.post(f"/api/v1/instruments/{instrument}/score", json={"answers": answers},
                           headers=as_api("nurse"))
    assert response.status_code == 200, response.text
    body = response.json()
    for key, value in expected.items():
        assert body[key] == value, key


def test_score_api_uses_the_clinics_pcl5_cutoff(client, as_api, world, db):
    from tenfour.audit.service import Actor
    from tenfour.clinics.service import set_policy_values

    set_policy_values(db, Actor.system("test"), world.north, {"pcl5.provisional_cutoff": 34})
    db.commit()
    body = client.post("/api/v1/instruments/pcl5/score", json={"answers": PCL5_33}, headers=as_api("nurse")).json()
    assert body["cutoff"] == 34 and body["above_cutoff"] is False
    south = client.post("/api/v1/instruments/pcl5/score", json={"answers": PCL5_33},
                        headers=as_api("nurse", "south-test")).json()
    assert south["cutoff"] == 33 and south["above_cutoff"] is True


def test_score_api_names_every_bad_item(client, as_api):
    answers = {**PCL5_33, "q3": 7, "q99": 1}
    del answers["q20"]
    response = client.post("/api/v1/instruments/pcl5/score", json={"answers": answers}, headers=as_api("nurse"))
    assert response.status_code == 422
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert problems == {("q3", "out_of_range"), ("q99", "unknown_item"), ("q20", "required")}


def test_score_api_rejects_skip_logic_violation_and_wrong_version(client, as_api):
    response = client.post("/api/v1/instruments/cssrs-screen/score", headers=as_api("nurse"),
                           json={"answers": {"q1": 0, "q2": 0, "q3": 1, "q6": 0}, "version": "99"})
    assert response.status_code == 422
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert ("q3", "skip_logic") in problems and ("version", "wrong_version") in problems


def test_instrument_definitions(client, as_api):
    listing = client.get("/api/v1/instruments", headers=as_api("patient")).json()
    assert {i["id"] for i in listing} >= {"pcl5", "pcl5-week", "pcl5-8", "phq9", "gad7", "cssrs-screen", "cadss6"}
    pcl5 = client.get("/api/v1/instruments/pcl5", headers=as_api("patient")).json()
    assert [i["id"] for i in pcl5["items"]] == [f"q{i}" for i in range(1, 21)]
    assert [o["value"] for o in pcl5["items"][0]["options"]] == [0, 1, 2, 3, 4]
    assert client.get("/api/v1/instruments/nope", headers=as_api("nurse")).status_code == 404
    assert client.get("/api/v1/instruments").status_code == 401


def test_nurse_submits_and_lists_assessment_with_audit(client, as_api, world, db):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "pcl5", "answers": PCL5_33, "context": "intake"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total"] == 33 and body["entered_by"] == "staff" and body["context"] == "intake"
    assert body["alerts_raised"] == []
    listed = client.get(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("prescriber")).json()
    assert [a["id"] for a in listed] == [body["id"]]
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.patient_id == world.patient_north.id)))
    assert {"assessment.create", "assessment.list"} <= actions


def test_rejected_submission_stores_nothing(client, as_api, world, db):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "phq9", "answers": {**PHQ9_ITEM9, "q9": 5}})
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "q9"
    count = db.scalar(select(Assessment.id).where(Assessment.patient_id == world.patient_north.id))
    assert count is None
    assert db.scalar(select(Alert.id).where(Alert.patient_id == world.patient_north.id)) is None


def test_phq9_item9_raises_one_urgent_alert_at_once_and_banner_shows(client, as_api, world, db):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("patient"),
                           json={"instrument_id": "phq9", "answers": PHQ9_ITEM9})
    assert response.status_code == 201, response.text
    assert len(response.json()["alerts_raised"]) == 1
    alert = db.get(Alert, response.json()["alerts_raised"][0])
    assert (alert.severity, alert.kind, alert.clinic_id) == ("urgent", "suicidal_ideation", world.north.id)
    # A second flagged submission is a second alert: urgent alerts are never merged.
    again = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("patient"),
                        json={"instrument_id": "phq9", "answers": PHQ9_ITEM9})
    assert len(again.json()["alerts_raised"]) == 1
    open_alerts = client.get("/api/v1/alerts", headers=as_api("nurse")).json()
    assert len([a for a in open_alerts if a["severity"] == "urgent"]) == 2
    assert client.get("/api/v1/alerts", headers=as_api("nurse", "south-test")).json() == []


def test_cssrs_high_raises_imminent_risk_alert(client, as_api, world):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "cssrs-screen",
                                 "answers": {"q1": 1, "q2": 0, "q6": 1, "q6_recent": 1}})
    assert response.status_code == 201, response.text
    assert response.json()["risk_level"] == "high"
    alerts = client.get("/api/v1/alerts", headers=as_api("nurse")).json()
    assert [a["kind"] for a in alerts] == ["imminent_risk"]


def test_cssrs_low_raises_no_alert(client, as_api, world):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "cssrs-screen", "answers": {"q1": 1, "q2": 0, "q6": 0}})
    assert response.json()["risk_level"] == "low" and response.json()["alerts_raised"] == []


def test_acknowledge_and_resolve_alert(client, as_api, world):
    created = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("patient"),
                          json={"instrument_id": "phq9", "answers": PHQ9_ITEM9}).json()
    alert_id = created["alerts_raised"][0]
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=as_api("manager")).status_code == 403
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge",
                       headers=as_api("nurse", "south-test")).status_code == 404
    acked = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=as_api("nurse"))
    assert acked.status_code == 200 and acked.json()["acknowledged_by_id"] == world.user("nurse").id
    no_reason = client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=as_api("nurse"),
                            json={"resolution": "no_action"})
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["field"] == "note"
    resolved = client.post(f"/api/v1/alerts/{alert_id}/resolve", headers=as_api("prescriber"),
                           json={"resolution": "called", "note": "Spoke with him; safety plan reviewed."})
    assert resolved.status_code == 200 and resolved.json()["resolution"] == "called"
    assert client.get("/api/v1/alerts", headers=as_api("nurse")).json() == []


def test_correction_is_a_new_version_and_original_is_kept(client, as_api, world, db):
    original = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "pcl5", "answers": PCL5_33}).json()
    fixed = {**PCL5_33, "q1": 0}
    url = f"/api/v1/patients/{world.patient_north.id}/assessments/{original['id']}/corrections"
    assert client.post(url, headers=as_api("patient"), json={"answers": fixed, "reason": "typo"}).status_code == 403
    missing_reason = client.post(url, headers=as_api("nurse"), json={"answers": fixed, "reason": ""})
    assert missing_reason.status_code == 422
    response = client.post(url, headers=as_api("nurse"), json={"answers": fixed, "reason": "Item 1 keyed wrongly"})
    assert response.status_code == 201, response.text
    correction = response.json()
    assert (correction["total"], correction["version_number"], correction["supersedes_id"]) == (
        31, 2, original["id"])
    listed = client.get(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse")).json()
    assert {(a["id"], a["is_current"]) for a in listed} == {(original["id"], False), (correction["id"], True)}
    again = client.post(url, headers=as_api("nurse"), json={"answers": fixed, "reason": "second try"})
    assert again.status_code == 409


def test_assessments_are_immutable_in_the_database(db, world):
    from tenfour.assessments.models import Assessment as Row

    row = Row(clinic_id=world.north.id, patient_id=world.patient_north.id, instrument_id="gad7",
              instrument_version="1", context="ad_hoc", answers={}, total=0, flags=[], result={}, entered_by="staff")
    db.add(row)
    db.flush()
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE assessments SET total = 21 WHERE id = :id"), {"id": row.id})


def test_scope_patient_other_clinic_and_roles(client, as_api, world):
    body = {"instrument_id": "gad7", "answers": {f"q{i}": 0 for i in range(1, 8)}}
    north, south = world.patient_north.id, world.patient_south.id
    assert client.post(f"/api/v1/patients/{south}/assessments", headers=as_api("patient"), json=body).status_code == 404
    assert client.post(f"/api/v1/patients/{south}/assessments", headers=as_api("nurse"), json=body).status_code == 404
    assert client.post(f"/api/v1/patients/{north}/assessments", headers=as_api("manager"), json=body).status_code == 403
    assert client.post(f"/api/v1/patients/{north}/assessments", headers=as_api("admin"), json=body).status_code == 403
    assert client.get(f"/api/v1/patients/{north}/assessments", headers=as_api("manager")).status_code == 403
    assert client.post(f"/api/v1/patients/{north}/assessments", json=body).status_code == 401
    assert client.post(f"/api/v1/patients/{north}/assessments", headers=as_api("coordinator"),
                       json=body).status_code == 201


def test_patient_cannot_submit_clinician_scale_or_staff_context(client, as_api, world):
    north = world.patient_north.id
    cadss = client.post(f"/api/v1/patients/{north}/assessments", headers=as_api("patient"),
                        json={"instrument_id": "cadss6", "answers": {f"q{i}": 0 for i in (1, 2, 6, 7, 15, 22)}})
    assert cadss.status_code == 403
    context = client.post(f"/api/v1/patients/{north}/assessments", headers=as_api("patient"),
                          json={"instrument_id": "gad7", "answers": {f"q{i}": 0 for i in range(1, 8)},
                                "context": "pre_infusion"})
    assert context.status_code == 422 and context.json()["problems"][0]["field"] == "context"


def test_future_administration_time_is_refused(client, as_api, world):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                           json={"instrument_id": "gad7", "answers": {f"q{i}": 0 for i in range(1, 8)},
                                 "administered_at": "2099-01-01T09:00:00Z"})
    assert response.status_code == 422 and response.json()["problems"][0]["field"] == "administered_at"


def test_fhir_questionnaire_and_bundle_validate(client, as_api, world):
    questionnaire = client.get("/api/v1/instruments/phq9/fhir", headers=as_api("nurse")).json()
    assert questionnaire["resourceType"] == "Questionnaire" and len(questionnaire["item"]) == 9
    cssrs = client.get("/api/v1/instruments/cssrs-screen/fhir", headers=as_api("nurse")).json()
    q3 = next(i for i in cssrs["item"] if i["linkId"] == "q3")
    assert q3["enableWhen"][0]["question"] == "q2" and q3["required"] is False
    created = client.post(f"/api/v1/patients/{world.patient_north.id}/assessments", headers=as_api("nurse"),
                          json={"instrument_id": "phq9", "answers": {**PHQ9_ITEM9, "q9": 0}}).json()
    bundle = client.get(f"/api/v1/patients/{world.patient_north.id}/assessments/{created['id']}/fhir",
                        headers=as_api("nurse")).json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["QuestionnaireResponse", "Observation"]
    observation = bundle["entry"][1]["resource"]
    assert observation["valueInteger"] == 6
    assert {"system": "http://loinc.org", "code": "44261-6"}.items() <= observation["code"]["coding"][0].items()
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
