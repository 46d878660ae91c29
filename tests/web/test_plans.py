"""Treatment plans: the clinic's induction protocol by default, limits named, prescriber-only signing, signed plans
never edited (only superseded), and the plan the infusion engineer reads (current_signed_plan)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from tests.web.support import error_beside, input_value, sign_in_browser

from tenfour.audit.models import AuditEvent
from tenfour.audit.service import Actor
from tenfour.clinics.service import set_policy_values
from tenfour.eligibility.models import EligibilityDecision
from tenfour.patients.models import Patient
from tenfour.plans import repository
from tenfour.plans.models import TreatmentPlan


def eligible(db, patient, outcome: str = "eligible", override: str | None = None) -> EligibilityDecision:  # type: ignore[no-untyped-def]
    decision = EligibilityDecision(clinic_id=patient.clinic_id, patient_id=patient.id, rules_version="2026.1",
                                   inputs={}, thresholds={}, outcome=outcome, reasons=[], override_outcome=override,
                                   override_reason="Reviewed in clinic; benefits outweigh." if override else None)
    db.add(decision)
    db.commit()
    return decision


def plans_url(patient) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/patients/{patient.id}/plans"


def test_a_draft_takes_the_clinics_induction_protocol(client, as_api, world, db):
    response = client.post(plans_url(world.patient_north), json={}, headers=as_api("prescriber"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["protocol"], body["infusions_planned"], body["dose_ug_per_kg"], body["infusion_duration_min"],
            body["max_infusions_per_week"], body["is_signed"], body["version_number"]) == (
        "induction", 6, 500, 40, 3, False, 1)
    assert Decimal(body["dose_mg_per_kg"]) == Decimal("0.5")
    assert body["pregnancy_check_required"] is True, "sex not recorded: check unless male"


def test_defaults_follow_a_clinics_changed_policy(client, as_api, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {
        "course.induction_sessions": 8, "dose.default_mg_per_kg": 0.4, "dose.infusion_duration_min": 45,
        "course.max_sessions_per_week": 2})
    db.commit()
    body = client.post(plans_url(world.patient_north), json={}, headers=as_api("prescriber")).json()
    assert (body["infusions_planned"], body["dose_ug_per_kg"], body["infusion_duration_min"],
            body["max_infusions_per_week"]) == (8, 400, 45, 2)


def test_a_dose_above_the_clinic_maximum_is_refused_naming_the_limit(client, as_api, world, db):
    response = client.post(plans_url(world.patient_north), json={"dose_mg_per_kg": 1.5}, headers=as_api("prescriber"))
    assert response.status_code == 422
    assert response.json()["problems"] == [{
        "field": "dose_mg_per_kg", "rule": "max_dose",
        "message": "1.5 mg/kg is above the clinic maximum of 1 mg/kg (dose.max_mg_per_kg)"}]
    db.expire_all()
    assert db.scalar(select(TreatmentPlan.id)) is None
    at_limit = client.post(plans_url(world.patient_north), json={"dose_mg_per_kg": "1.0"}, headers=as_api("prescriber"))
    assert at_limit.status_code == 201 and at_limit.json()["dose_ug_per_kg"] == 1000


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"dose_mg_per_kg": 0}, "dose_mg_per_kg", "plausible_range"),
    ({"dose_mg_per_kg": "half"}, "dose_mg_per_kg", "number"),
    ({"dose_mg_per_kg": 0.5005}, "dose_mg_per_kg", "precision"),
    ({"max_infusions_per_week": 5}, "max_infusions_per_week", "max_per_week"),
    ({"infusions_planned": 0}, "infusions_planned", "plausible_range"),
    ({"infusions_planned": 2.5}, "infusions_planned", "whole_number"),
    ({"protocol": "booster", "infusions_planned": 3}, "infusions_planned", "one_infusion"),
    ({"protocol": "weekly"}, "protocol", "known_protocol"),
    ({"infusion_duration_min": 5}, "infusion_duration_min", "plausible_range"),
])
def test_bad_plans_name_the_field_and_rule(client, as_api, world, body, field, rule):
    response = client.post(plans_url(world.patient_north), json=body, headers=as_api("prescriber"))
    assert response.status_code == 422
    assert (field, rule) in {(p["field"], p["rule"]) for p in response.json()["problems"]}


@pytest.mark.parametrize("role", ["nurse", "coordinator", "manager", "admin", "patient"])
def test_only_prescribers_draft_and_sign(client, as_api, world, db, role):
    assert client.post(plans_url(world.patient_north), json={}, headers=as_api(role)).status_code == 403
    plan = client.post(plans_url(world.patient_north), json={}, headers=as_api("prescriber")).json()
    eligible(db, world.patient_north)
    response = client.post(f"{plans_url(world.patient_north)}/{plan['id']}/sign", headers=as_api(role))
    assert response.status_code == 403
    db.expire_all()
    assert db.get(TreatmentPlan, plan["id"]).signed_at is None


def test_another_clinics_patient_is_not_found(client, as_api, world):
    assert client.post(plans_url(world.patient_south), json={}, headers=as_api("prescriber")).status_code == 404
    assert client.get(plans_url(world.patient_south), headers=as_api("nurse")).status_code == 404


def test_signing_needs_an_eligible_decision(client, as_api, world, db):
    plan = client.post(plans_url(world.patient_north), json={}, headers=as_api("prescriber")).json()
    sign = f"{plans_url(world.patient_north)}/{plan['id']}/sign"
    none = client.post(sign, headers=as_api("prescriber"))
    assert none.status_code == 422 and none.json()["problems"][0]["rule"] == "eligible_decision_required"
    eligible(db, world.patient_north, "review")
    review = client.post(sign, headers=as_api("prescriber"))
    assert review.status_code == 422 and "the latest eligibility decision is review" in review.json()["detail"]
    decision = eligible(db, world.patient_north, "review", override="eligible")
    signed = client.post(sign, headers=as_api("prescriber"))
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["is_signed"] and body["is_current"] and body["eligibility_decision_id"] == decision.id
    assert body["signed_by_id"] == world.user("prescriber").id
    db.expire_all()
    assert db.get(Patient, world.patient_north.id).status == "active"
    assert repository.current_signed_plan(db, world.patient_north.id).id == plan["id"]
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "plan.sign")) is not None


def test_create_and_sign_in_one_call(client, as_api, world, db):
    eligible(db, world.patient_north)
    body = client.post(plans_url(world.patient_north), json={"sign": True, "notes": "Mon/Wed/Fri mornings"},
                       headers=as_api("prescriber")).json()
    assert body["is_signed"] and body["notes"] == "Mon/Wed/Fri mornings"


def test_create_and_sign_without_decision_saves_nothing(client, as_api, world, db):
    response = client.post(plans_url(world.patient_north), json={"sign": True}, headers=as_api("prescriber"))
    assert response.status_code == 422
    db.expire_all()
    assert db.scalar(select(TreatmentPlan.id)) is None


def test_a_signed_plan_is_never_edited_only_superseded(client, as_api, world, db):
    eligible(db, world.patient_north)
    url = plans_url(world.patient_north)
    first = client.post(url, json={"sign": True}, headers=as_api("prescriber")).json()
    edit = client.patch(f"{url}/{first['id']}", json={"dose_mg_per_kg": 0.6}, headers=as_api("prescriber"))
    assert edit.status_code == 409
    assert client.post(url, json={}, headers=as_api("prescriber")).status_code == 409, "supersede instead"
    draft = client.post(f"{url}/{first['id']}/supersede", headers=as_api("prescriber"))
    assert draft.status_code == 201
    draft = draft.json()
    assert (draft["version_number"], draft["supersedes_id"], draft["is_signed"]) == (2, first["id"], False)
    assert client.post(f"{url}/{first['id']}/supersede", headers=as_api("prescriber")).status_code == 409
    changed = client.patch(f"{url}/{draft['id']}", json={"dose_mg_per_kg": 0.75}, headers=as_api("prescriber"))
    assert changed.json()["dose_ug_per_kg"] == 750
    db.expire_all()
    assert repository.current_signed_plan(db, world.patient_north.id).id == first["id"], "a draft is not in force"
    client.post(f"{url}/{draft['id']}/sign", headers=as_api("prescriber"))
    db.expire_all()
    current = repository.current_signed_plan(db, world.patient_north.id)
    assert (current.id, current.dose_ug_per_kg) == (draft["id"], 750)
    assert db.get(TreatmentPlan, first["id"]).dose_ug_per_kg == 500, "the first version is kept as it was"
    listed = client.get(url, headers=as_api("nurse")).json()
    assert [(p["version_number"], p["is_current"]) for p in listed] == [(1, False), (2, True)]


def test_the_database_refuses_to_change_a_signed_plan(client, as_api, world, db):
    eligible(db, world.patient_north)
    plan = client.post(plans_url(world.patient_north), json={"sign": True}, headers=as_api("prescriber")).json()
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE treatment_plans SET dose_ug_per_kg = 900 WHERE id = :id"), {"id": plan["id"]})


def test_discard_a_draft(client, as_api, world, db):
    url = plans_url(world.patient_north)
    draft = client.post(url, json={}, headers=as_api("prescriber")).json()
    assert client.post(url, json={}, headers=as_api("prescriber")).status_code == 409, "one draft at a time"
    assert client.delete(f"{url}/{draft['id']}", headers=as_api("nurse")).status_code == 403
    assert client.delete(f"{url}/{draft['id']}", headers=as_api("prescriber")).status_code == 204
    assert client.get(url, headers=as_api("nurse")).json() == []


# --- Pages -------------------------------------------------------------------------------------------------------


def test_plan_form_starts_from_the_protocol_and_keeps_values_on_error(client, world, db):
    eligible(db, world.patient_north)
    token = sign_in_browser(client, db, world.user("prescriber"))
    form = client.get(f"/patients/{world.patient_north.id}/plans/new").text
    assert input_value(form, "dose_mg_per_kg") == "0.5" and input_value(form, "infusions_planned") == "6"
    assert "Clinic maximum: 1 mg/kg (dose.max_mg_per_kg)" in form
    bad = client.post(f"/patients/{world.patient_north.id}/plans/new", data={
        "csrf_token": token, "protocol": "induction", "infusions_planned": "6", "dose_mg_per_kg": "1.2",
        "infusion_duration_min": "40", "max_infusions_per_week": "3", "notes": "Morning slots", "action": "sign"})
    assert bad.status_code == 422
    assert error_beside(bad.text, "dose_mg_per_kg") == (
        "1.2 mg/kg is above the clinic maximum of 1 mg/kg (dose.max_mg_per_kg)")
    assert input_value(bad.text, "dose_mg_per_kg") == "1.2" and "Morning slots</textarea>" in bad.text
    good = client.post(f"/patients/{world.patient_north.id}/plans/new", data={
        "csrf_token": token, "protocol": "induction", "infusions_planned": "6", "dose_mg_per_kg": "0.5",
        "infusion_duration_min": "40", "max_infusions_per_week": "3", "pregnancy_check_required": "true",
        "action": "sign"})
    assert good.status_code == 200 and "Plan version 1 signed." in good.text
    assert "Signed plan in force" in good.text and "Change the plan (new version)" in good.text


def test_editing_a_draft_and_signing_fails_together_when_not_eligible(client, world, db):
    token = sign_in_browser(client, db, world.user("prescriber"))
    client.post(f"/patients/{world.patient_north.id}/plans/new", data={
        "csrf_token": token, "protocol": "induction", "infusions_planned": "6", "dose_mg_per_kg": "0.5",
        "infusion_duration_min": "40", "max_infusions_per_week": "3", "action": "draft"})
    db.expire_all()
    plan = db.scalars(select(TreatmentPlan)).one()
    response = client.post(f"/patients/{world.patient_north.id}/plans/{plan.id}/edit", data={
        "csrf_token": token, "protocol": "induction", "infusions_planned": "4", "dose_mg_per_kg": "0.5",
        "infusion_duration_min": "40", "max_infusions_per_week": "3", "action": "sign"})
    assert response.status_code == 422 and "there is no eligibility decision yet" in response.text
    db.expire_all()
    assert db.get(TreatmentPlan, plan.id).infusions_planned == 6, "nothing saved when signing fails"


def test_nurse_reads_the_plan_without_signing_controls_and_the_patient_sees_theirs(client, world, db, as_api):
    eligible(db, world.patient_north)
    client.post(plans_url(world.patient_north), json={"sign": True}, headers=as_api("prescriber"))
    client.cookies.clear()
    sign_in_browser(client, db, world.user("nurse"))
    page = client.get(f"/patients/{world.patient_north.id}/plans").text
    assert "Signed plan in force" in page and "0.5 mg/kg" in page and "Change the plan" not in page
    assert client.get(f"/patients/{world.patient_north.id}/plans/new").status_code == 403
    client.cookies.clear()
    sign_in_browser(client, db, world.patient_user)
    home = client.get("/me").text
    assert "Your treatment plan" in home and "A series of 6 infusions, up to 3 a week" in home
    assert "for 24 hours after each infusion" in home
