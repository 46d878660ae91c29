"""Eligibility through the API and pages: every rule, its boundaries with the clinic's lines, combinations, bad
input, stored decisions, and the prescriber's override (reason required, audited, shown ever after)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select
from tests.web.support import sign_in_browser

from tenfour.audit.models import AuditEvent
from tenfour.audit.service import Actor
from tenfour.clinics.service import set_policy_values
from tenfour.core import eligibility as rules
from tenfour.eligibility.models import EligibilityDecision
from tenfour.intake.models import IntakeForm
from tenfour.patients.models import Patient

CLEAN = {"conditions": [], "medications": [], "age_years": 40, "systolic_bp": 120, "diastolic_bp": 75,
         "cssrs_risk": "none"}


def evaluate(client, as_api, role="nurse", clinic="north-test", **changes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/eligibility/evaluate", json={**CLEAN, **changes}, headers=as_api(role, clinic))


def _trigger(rule: rules.Rule) -> dict:
    if rule.condition:
        return {"conditions": [rule.condition]}
    if rule.medication:
        return {"medications": [rule.medication]}
    if rule.cssrs_risk:
        return {"cssrs_risk": None if rule.cssrs_risk == rules.NOT_SCREENED else rule.cssrs_risk}
    return {"systolic_bp": 185, "diastolic_bp": 80} if rule.id == "uncontrolled_hypertension_systolic" else \
        {"systolic_bp": 150, "diastolic_bp": 112} if rule.id == "uncontrolled_hypertension_diastolic" else \
        {"systolic_bp": 150, "diastolic_bp": 80} if rule.id == "elevated_bp_systolic" else \
        {"systolic_bp": 130, "diastolic_bp": 95} if rule.id == "elevated_bp_diastolic" else \
        {"age_years": 17}


EXPECTED = {rules.RuleOutcome.EXCLUDE: "excluded", rules.RuleOutcome.REVIEW: "review",
            rules.RuleOutcome.NOTE: "eligible"}


def test_clean_screen_is_eligible_with_exactly_the_contract(client, as_api, world):
    response = evaluate(client, as_api)
    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "eligible", "reasons": [], "rules_version": rules.RULES_VERSION}


@pytest.mark.parametrize("rule", rules.RULES, ids=[r.id for r in rules.RULES])
def test_each_rule_alone(client, as_api, world, rule):
    body = evaluate(client, as_api, **_trigger(rule)).json()
    assert body["outcome"] == EXPECTED[rule.outcome]
    fired = [r for r in body["reasons"] if r["rule"] == rule.id]
    assert len(fired) == 1, body["reasons"]
    reason = fired[0]
    assert set(reason) == {"rule", "outcome", "message", "source"}
    assert reason["outcome"] == rule.outcome.value and reason["source"] == rule.source and reason["message"]


@pytest.mark.parametrize(("sbp", "outcome"), [(140, "eligible"), (141, "review"), (179, "review"), (180, "excluded")])
def test_systolic_boundaries(client, as_api, world, sbp, outcome):
    assert evaluate(client, as_api, systolic_bp=sbp).json()["outcome"] == outcome


@pytest.mark.parametrize(("dbp", "outcome"), [(90, "eligible"), (91, "review"), (109, "review"), (110, "excluded")])
def test_diastolic_boundaries(client, as_api, world, dbp, outcome):
    assert evaluate(client, as_api, systolic_bp=170, diastolic_bp=dbp).json()["outcome"] == (
        "review" if outcome == "eligible" else outcome)  # 170 systolic is itself a review
    assert evaluate(client, as_api, systolic_bp=135, diastolic_bp=dbp).json()["outcome"] == outcome


@pytest.mark.parametrize(("age", "outcome"), [(17, "excluded"), (18, "eligible")])
def test_age_boundary(client, as_api, world, age, outcome):
    assert evaluate(client, as_api, age_years=age).json()["outcome"] == outcome


def test_lines_are_the_working_clinics_policy(client, as_api, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {"eligibility.review_sbp": 130,
                                                              "eligibility.exclude_sbp": 170})
    db.commit()
    north = evaluate(client, as_api, systolic_bp=131).json()
    assert north["outcome"] == "review" and "above 130 mmHg" in north["reasons"][0]["message"]
    assert evaluate(client, as_api, systolic_bp=170).json()["outcome"] == "excluded"
    assert evaluate(client, as_api, clinic="south-test", systolic_bp=170).json()["outcome"] == "review"
    assert evaluate(client, as_api, clinic="south-test", systolic_bp=131).json()["outcome"] == "eligible"


def test_combination_lists_every_reason_most_severe_first(client, as_api, world):
    body = evaluate(client, as_api, conditions=["breastfeeding", "pregnant"], medications=["benzodiazepine"],
                    systolic_bp=150, cssrs_risk="low").json()
    assert body["outcome"] == "excluded"
    assert [(r["rule"], r["outcome"]) for r in body["reasons"]] == [
        ("pregnant", "exclude"), ("breastfeeding", "review"), ("benzodiazepine", "review"),
        ("elevated_bp_systolic", "review"), ("cssrs_low", "note")]


def test_bad_input_names_each_field_and_rule(client, as_api, world):
    response = evaluate(client, as_api, conditions=["gout", "pregnant"], medications=["aspirin"], age_years=3,
                        systolic_bp=400, diastolic_bp=20, cssrs_risk="severe")
    assert response.status_code == 422
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert problems == {("conditions", "known_term"), ("medications", "known_term"), ("age_years", "plausible_range"),
                        ("systolic_bp", "plausible_range"), ("diastolic_bp", "plausible_range"),
                        ("cssrs_risk", "known_term")}
    missing = client.post("/api/v1/eligibility/evaluate", json={"conditions": []}, headers=as_api("nurse"))
    assert {(p["field"], p["rule"]) for p in missing.json()["problems"]} == {
        ("age_years", "required"), ("systolic_bp", "required"), ("diastolic_bp", "required")}
    typed = client.post("/api/v1/eligibility/evaluate", json={**CLEAN, "conditions": "pregnant"},
                        headers=as_api("nurse"))
    assert typed.status_code == 422 and typed.json()["problems"][0]["field"] == "conditions"


@pytest.mark.parametrize(("role", "status"), [("coordinator", 200), ("nurse", 200), ("prescriber", 200),
                                              ("manager", 403), ("admin", 403), ("patient", 403)])
def test_who_may_evaluate(client, as_api, world, role, status):
    assert evaluate(client, as_api, role=role).status_code == status


def test_evaluate_needs_sign_in(client, world):
    assert client.post("/api/v1/eligibility/evaluate", json=CLEAN).status_code == 401


# --- Stored decisions for a patient ----------------------------------------------------------------------------


@pytest.fixture
def screened(world, db):  # type: ignore[no-untyped-def]
    """The north patient with an intake screening: lamotrigine (a review), BP 132/84."""
    patient = world.patient_north
    patient.status = "assessment"
    db.add(IntakeForm(clinic_id=patient.clinic_id, patient_id=patient.id, steps_done=["health", "measurements"],
                      conditions=[], medications=["lamotrigine"], systolic_bp=132, diastolic_bp=84))
    db.commit()
    return patient


def decide(client, as_api, patient_id, role="prescriber", clinic="north-test", **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/patients/{patient_id}/eligibility", json=body, headers=as_api(role, clinic))


def test_decision_from_the_screening_is_stored_with_version_inputs_and_lines(client, as_api, screened, db):
    response = decide(client, as_api, screened.id)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "review" and body["final_outcome"] == "review"
    assert body["inputs"] == {"conditions": [], "medications": ["lamotrigine"], "systolic_bp": 132, "diastolic_bp": 84,
                              "cssrs_risk": None, "age_years": screened.age_on(date.today())}
    assert body["thresholds"]["eligibility.exclude_sbp"] == 180 and body["rules_version"] == rules.RULES_VERSION
    assert [r["rule"] for r in body["reasons"]] == ["lamotrigine", "cssrs_not_screened"]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "eligibility.decide")).one()
    assert audit.patient_id == screened.id and audit.detail["source"] == "prescriber"


def test_a_prescriber_may_enter_a_clinic_blood_pressure(client, as_api, screened):
    body = decide(client, as_api, screened.id, systolic_bp=182, diastolic_bp=96).json()
    assert body["outcome"] == "excluded" and body["inputs"]["systolic_bp"] == 182


def test_cssrs_comes_from_the_latest_screen_never_from_input(client, as_api, screened):
    client.post(f"/api/v1/patients/{screened.id}/assessments", headers=as_api("nurse"),
                json={"instrument_id": "cssrs-screen", "answers": {"q1": 1, "q2": 0, "q6": 0}})
    body = decide(client, as_api, screened.id).json()
    assert body["inputs"]["cssrs_risk"] == "low"
    refused = decide(client, as_api, screened.id, cssrs_risk="none")
    assert refused.status_code == 422 and refused.json()["problems"][0]["rule"] == "extra_forbidden"


def test_no_blood_pressure_anywhere_is_refused_and_nothing_saved(client, as_api, world, db):
    response = decide(client, as_api, world.patient_north.id)
    assert response.status_code == 422
    assert {p["field"] for p in response.json()["problems"]} == {"systolic_bp", "diastolic_bp"}
    db.expire_all()
    assert db.scalar(select(EligibilityDecision.id)) is None


@pytest.mark.parametrize(("role", "clinic", "status"), [
    ("prescriber", "north-test", 201), ("nurse", "north-test", 403), ("coordinator", "north-test", 403),
    ("patient", "north-test", 403), ("prescriber", "south-test", 404)])
def test_only_a_prescriber_of_the_clinic_records_a_decision(client, as_api, screened, role, clinic, status):
    assert decide(client, as_api, screened.id, role=role, clinic=clinic).status_code == status


def test_decisions_are_read_by_triage_staff_of_the_clinic(client, as_api, screened):
    decide(client, as_api, screened.id)
    assert len(client.get(f"/api/v1/patients/{screened.id}/eligibility", headers=as_api("coordinator")).json()) == 1
    assert client.get(f"/api/v1/patients/{screened.id}/eligibility", headers=as_api("manager")).status_code == 403
    assert client.get(f"/api/v1/patients/{screened.id}/eligibility",
                      headers=as_api("nurse", "south-test")).status_code == 404
    assert client.get(f"/api/v1/patients/{screened.id}/eligibility", headers=as_api("patient")).status_code == 403


# --- Override --------------------------------------------------------------------------------------------------


def override(client, as_api, patient_id, decision_id, role="prescriber", **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/patients/{patient_id}/eligibility/{decision_id}/override", json=body,
                       headers=as_api(role))


REASON = "Lamotrigine 100 mg for epilepsy; neurology agrees to proceed and we will watch the response."


def test_override_of_a_review_needs_a_written_reason_and_is_audited(client, as_api, world, screened, db):
    decision = decide(client, as_api, screened.id).json()
    no_reason = override(client, as_api, screened.id, decision["id"], outcome="eligible", reason="ok")
    assert no_reason.status_code == 422 and no_reason.json()["problems"][0]["field"] == "reason"
    nurse = override(client, as_api, screened.id, decision["id"], role="nurse", outcome="eligible", reason=REASON)
    assert nurse.status_code == 403
    done = override(client, as_api, screened.id, decision["id"], outcome="eligible", reason=REASON)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["outcome"], body["override_outcome"], body["final_outcome"], body["override_reason"]) == (
        "review", "eligible", "eligible", REASON)
    assert body["overridden_by_id"] == world.user("prescriber").id and body["overridden_at"]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "eligibility.override")).one()
    assert audit.detail["reason"] == REASON and audit.detail["from"] == "review" and audit.detail["to"] == "eligible"
    again = override(client, as_api, screened.id, decision["id"], outcome="excluded", reason=REASON)
    assert again.status_code == 409


def test_override_rules(client, as_api, screened, db):
    eligible = decide(client, as_api, screened.id, medications=[], systolic_bp=120, diastolic_bp=70)
    client.post(f"/api/v1/patients/{screened.id}/assessments", headers=as_api("nurse"),
                json={"instrument_id": "cssrs-screen", "answers": {"q1": 0, "q2": 0, "q6": 0}})
    eligible = decide(client, as_api, screened.id, medications=[], systolic_bp=120, diastolic_bp=70).json()
    assert eligible["outcome"] == "eligible"
    refused = override(client, as_api, screened.id, eligible["id"], outcome="excluded", reason=REASON)
    assert refused.status_code == 422 and refused.json()["problems"][0]["rule"] == "overridable"
    excluded = decide(client, as_api, screened.id, conditions=["pregnant"]).json()
    assert override(client, as_api, screened.id, excluded["id"], outcome="excluded",
                    reason=REASON).json()["problems"][0]["rule"] == "overridable"
    stale = override(client, as_api, screened.id, eligible["id"], outcome="eligible", reason=REASON)
    assert stale.status_code == 409, "only the latest decision can be overridden"
    other = override(client, as_api, screened.id, 999_999, outcome="eligible", reason=REASON)
    assert other.status_code == 404


def test_a_high_cssrs_cannot_be_overridden(client, as_api, screened):
    client.post(f"/api/v1/patients/{screened.id}/assessments", headers=as_api("nurse"),
                json={"instrument_id": "cssrs-screen", "answers": {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1,
                                                                   "q6": 0}})
    decision = decide(client, as_api, screened.id).json()
    assert decision["outcome"] == "excluded"
    response = override(client, as_api, screened.id, decision["id"], outcome="eligible", reason=REASON)
    assert response.status_code == 422 and response.json()["problems"][0]["rule"] == "crisis_first"


def test_patient_status_follows_the_decision(client, as_api, screened, db):
    excluded = decide(client, as_api, screened.id, conditions=["psychosis_history"]).json()
    db.expire_all()
    assert db.get(Patient, screened.id).status == "ineligible"
    override(client, as_api, screened.id, excluded["id"], outcome="eligible",
             reason="A single drug-induced episode 15 years ago; psychiatrist's letter on file.")
    db.expire_all()
    assert db.get(Patient, screened.id).status == "assessment"


# --- Pages -------------------------------------------------------------------------------------------------------


def test_override_is_shown_prominently_on_the_decision_page_and_the_chart(client, as_api, world, screened, db):
    decision = decide(client, as_api, screened.id).json()
    override(client, as_api, screened.id, decision["id"], outcome="eligible", reason=REASON)
    sign_in_browser(client, db, world.user("coordinator"))
    page = client.get(f"/patients/{screened.id}/eligibility").text
    assert re.search(r'class="override-box" role="note".*Prescriber override:.*Prescriber review.*Eligible', page, re.S)
    assert REASON in page and world.user("prescriber").full_name in page
    assert "Sanacora et al. 2017" in page, "each reason shows its source"
    assert "Override this decision" not in page, "a coordinator does not override"
    chart = client.get(f"/patients/{screened.id}").text
    assert 'class="override-box"' in chart and REASON in chart


def test_prescriber_overrides_from_the_page_and_errors_stay_beside_the_reason(client, as_api, world, screened, db):
    decision = decide(client, as_api, screened.id).json()
    token = sign_in_browser(client, db, world.user("prescriber"))
    page = client.get(f"/patients/{screened.id}/eligibility").text
    assert "Override this decision" in page and "Evaluate again" in page
    bad = client.post(f"/patients/{screened.id}/eligibility/{decision['id']}/override",
                      data={"csrf_token": token, "outcome": "eligible", "reason": "short"})
    assert bad.status_code == 422 and '<p class="error" id="e-o-reason">' in bad.text
    assert 'id="o-eligible" name="outcome" value="eligible" checked' in bad.text
    good = client.post(f"/patients/{screened.id}/eligibility/{decision['id']}/override",
                       data={"csrf_token": token, "outcome": "eligible", "reason": REASON})
    assert good.status_code == 200 and "Override recorded: eligible." in good.text


def test_prescriber_evaluates_again_from_the_page(client, world, screened, db):
    token = sign_in_browser(client, db, world.user("prescriber"))
    bad = client.post(f"/patients/{screened.id}/eligibility",
                      data={"csrf_token": token, "systolic_bp": "400", "diastolic_bp": "80"})
    assert bad.status_code == 422 and '<p class="error" id="e-v-sbp">400 mmHg is not a plausible value' in bad.text
    good = client.post(f"/patients/{screened.id}/eligibility",
                       data={"csrf_token": token, "systolic_bp": "128", "diastolic_bp": "80",
                             "medications": ["lamotrigine"]})
    assert good.status_code == 200 and "Decision recorded: prescriber review." in good.text
    assert "You take lamotrigine." in good.text


def test_the_stateless_page_roles(client, world, screened, db):
    sign_in_browser(client, db, world.user("manager"))
    assert client.get(f"/patients/{screened.id}/eligibility").status_code == 403
    client.cookies.clear()
    sign_in_browser(client, db, world.user("nurse", "south-test"))
    assert client.get(f"/patients/{screened.id}/eligibility").status_code == 404
