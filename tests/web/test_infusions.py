"""A whole infusion session through the API, every lifecycle step (and each illegal one), and the bad input the
issue names: a weight of 0 or 400 kg, SBP 20, SpO2 140, vitals for a session that is not running, a dose change by a
nurse, a discharge that fails a criterion. Each answers 4xx naming the rule, and the session stays as it was."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from tests import factories
from tests.web.infusion_helpers import (  # noqa: F401
    GOOD_PRECHECKS,
    GOOD_VITALS,
    Walker,
    clock,
    planned,
    sign_plan,
    walker,
)

from tenfour.alerts.models import Alert
from tenfour.assessments.models import Assessment
from tenfour.audit.models import AuditEvent
from tenfour.infusions.models import InfusionPrecheck, InfusionSession, InfusionTransition, InfusionVitals

CADSS_ANSWERS = {"q1": 1, "q2": 2, "q6": 0, "q7": 1, "q15": 0, "q22": 1}


def _rules(response: Any) -> set[tuple[str, str]]:
    return {(p["field"], p["rule"]) for p in response.json().get("problems", [])}


def test_a_whole_session_from_booking_to_discharge(walker, clock, db):  # noqa: F811
    walker.to("arrived")
    body = walker.post("/prechecks", GOOD_PRECHECKS).json()
    assert body["status"] == "prechecks_passed"
    assert [f["outcome"] for f in body["prechecks"][0]["findings"]] == ["pass"] * 5
    body = walker.post("/dose", {}, expect=201).json()
    dose = body["doses"][0]
    # 80 kg x 0.5 mg/kg = 40 mg; 1 mg/mL -> 40 mL; over 40 min -> 60 mL/h (docs/clinical-rules.md, worked example)
    assert (dose["dose_mg"], dose["volume_ml"], dose["rate_ml_per_h"]) == ("40", "40", "60")
    assert dose["verified_at"] is None
    walker.post(f"/dose/{dose['id']}/verify", role="prescriber")
    clock.advance(20)
    body = walker.post("/start").json()
    assert body["status"] == "infusing" and body["pump"][0]["action"] == "start"
    assert body["state"]["minutes_remaining"] == 40
    clock.advance(10)
    body = walker.post("/vitals", GOOD_VITALS, expect=201).json()
    assert body["vitals"][-1]["level"] == "ok" and body["vitals"][-1]["phase"] == "infusing"
    assert body["state"]["minutes_remaining"] == 30
    clock.advance(31)
    body = walker.post("/end").json()
    assert body["status"] == "recovery" and body["infusion_ended_at"] is not None
    body = walker.post("/cadss6", {"answers": CADSS_ANSWERS}, expect=201).json()
    cadss = db.get(Assessment, body["cadss_assessment_id"])
    assert (cadss.instrument_id, cadss.context, cadss.total) == ("cadss6", "post_infusion", 5)
    clock.advance(40)
    walker.post("/vitals", GOOD_VITALS, expect=201)
    body = walker.post("/discharge", {"alert_and_oriented": True, "escort_present": True,
                                      "escort_name": "Dana"}).json()
    assert body["status"] == "discharged"
    ended = datetime.fromisoformat(body["infusion_ended_at"])
    assert datetime.fromisoformat(body["discharge"]["return_to_duty_at"]) == ended + timedelta(hours=24)
    assert body["discharge"]["return_to_driving_at"] == body["discharge"]["return_to_duty_at"]
    steps = [(t["from_status"], t["to_status"]) for t in body["transitions"]]
    assert steps == [(None, "scheduled"), ("scheduled", "arrived"), ("arrived", "prechecks_passed"),
                     ("prechecks_passed", "infusing"), ("infusing", "recovery"), ("recovery", "discharged")]
    assert all(t["by_user_id"] is not None and t["at"] for t in body["transitions"])
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.record_id == str(walker.session_id))))
    assert {"infusion.book", "infusion.transition", "infusion.prechecks", "infusion.discharge"} <= actions


def test_every_illegal_step_is_refused_and_nothing_changes(walker, db):  # noqa: F811
    walker.to("scheduled")
    for path, json in (("/start", None), ("/end", None), ("/discharge", {"alert_and_oriented": True,
                                                                         "escort_present": True})):
        response = walker.post(path, json, expect=409)
        assert ("status", "lifecycle_order") in _rules(response), path
    walker.to("arrived")
    assert ("status", "lifecycle_order") in _rules(walker.post("/arrive", expect=409))
    walker.to("infusing")
    assert ("status", "lifecycle_order") in _rules(walker.post("/arrive", expect=409))
    assert ("status", "lifecycle_order") in _rules(walker.post("/start", expect=409))
    walker.to("discharged")
    for path in ("/arrive", "/end", "/start"):
        assert ("status", "session_closed") in _rules(walker.post(path, expect=409)), path
    assert ("status", "session_closed") in _rules(walker.post("/abort", {"reason": "late"}, expect=409))
    session = db.get(InfusionSession, walker.session_id)
    db.refresh(session)
    assert session.status == "discharged"


@pytest.mark.parametrize("step", ["scheduled", "arrived", "prechecks_passed", "infusing", "recovery"])
def test_abort_at_any_step_with_a_reason(walker, db, step):  # noqa: F811
    walker.to(step)
    missing = walker.post("/abort", {"reason": " "}, expect=422)
    assert ("reason", "required") in _rules(missing)
    body = walker.post("/abort", {"reason": "Patient unwell before the start"}).json()
    assert body["status"] == "aborted" and body["abort_reason"] == "Patient unwell before the start"
    assert body["transitions"][-1]["from_status"] == step and body["transitions"][-1]["note"]
    if step == "infusing":
        assert body["pump"][-1]["action"] == "stop" and body["infusion_ended_at"] and body["stopped_early"]


def test_weight_of_0_or_400_kg_is_refused_and_the_session_stays_arrived(walker, db):  # noqa: F811
    walker.to("arrived")
    for weight in (0, 400):
        response = walker.post("/prechecks", {**GOOD_PRECHECKS, "weight_kg": weight}, expect=422)
        assert ("weight_kg", "plausible_range") in _rules(response)
    assert db.scalar(select(func.count()).select_from(InfusionPrecheck)
                     .where(InfusionPrecheck.session_id == walker.session_id)) == 0
    assert db.get(InfusionSession, walker.session_id).status == "arrived"


def test_impossible_pre_infusion_vitals_are_refused(walker):  # noqa: F811
    walker.to("arrived")
    response = walker.post("/prechecks", {**GOOD_PRECHECKS, "systolic_bp": 20, "spo2": 140}, expect=422)
    assert {("systolic_bp", "plausible_range"), ("spo2", "plausible_range")} <= _rules(response)


def test_failed_prechecks_are_kept_and_block(walker, db):  # noqa: F811
    walker.to("arrived")
    body = walker.post("/prechecks", {**GOOD_PRECHECKS, "systolic_bp": 184, "fasting_hours": 2,
                                      "escort_confirmed": False}).json()
    assert body["status"] == "arrived"
    blocked = {f["code"] for f in body["prechecks"][0]["findings"] if f["outcome"] == "block"}
    assert blocked == {"pre_infusion_vitals", "fasting", "escort"}
    assert ("status", "dose_after_prechecks") in _rules(walker.post("/dose", {}, expect=409))
    body = walker.post("/prechecks", GOOD_PRECHECKS).json()
    assert body["status"] == "prechecks_passed" and len(body["prechecks"]) == 2


def test_pregnancy_test_required_by_the_plan(client, as_api, clock, world, db):  # noqa: F811
    patient = factories.make_patient(db, world.north, first_name="Paula", sex="female")
    sign_plan(db, patient, world.user("prescriber").id, pregnancy_check_required=True)
    db.commit()
    session = Walker(client, as_api, clock, patient, world.north.chairs[1].id)
    session.to("arrived")
    body = session.post("/prechecks", GOOD_PRECHECKS).json()
    assert body["status"] == "arrived"
    assert any(f["code"] == "pregnancy_test" and f["outcome"] == "block" for f in body["prechecks"][0]["findings"])
    body = session.post("/prechecks", {**GOOD_PRECHECKS, "pregnancy_result": "negative"}).json()
    assert body["status"] == "prechecks_passed"


def test_vitals_for_a_session_that_is_not_running_are_refused(walker, db):  # noqa: F811
    walker.to("prechecks_passed")
    response = walker.post("/vitals", GOOD_VITALS, expect=409)
    assert ("status", "session_not_running") in _rules(response)
    walker.to("discharged")
    response = walker.post("/vitals", GOOD_VITALS, expect=409)
    assert ("status", "session_not_running") in _rules(response)
    count = db.scalar(select(func.count()).select_from(InfusionVitals)
                      .where(InfusionVitals.session_id == walker.session_id, InfusionVitals.phase != "pre"))
    assert count == 1  # only the recovery reading of the walk


def test_impossible_timed_vitals_are_refused_and_not_stored(walker, db):  # noqa: F811
    walker.to("infusing")
    response = walker.post("/vitals", {**GOOD_VITALS, "systolic_bp": 20, "spo2": 140}, expect=422)
    assert {("systolic_bp", "plausible_range"), ("spo2", "plausible_range")} <= _rules(response)
    assert db.scalar(select(func.count()).select_from(InfusionVitals)
                     .where(InfusionVitals.session_id == walker.session_id, InfusionVitals.phase == "infusing")) == 0


def test_a_dose_change_by_a_nurse_is_refused_naming_the_rule(walker, db):  # noqa: F811
    walker.to("prechecks_passed")
    response = walker.post("/dose", {"dose_mg_per_kg": 0.6}, expect=403)
    assert ("dose_mg_per_kg", "dose_change_prescriber_only") in _rules(response)
    longer = walker.post("/dose", {"duration_min": 60}, expect=403)
    assert ("duration_min", "dose_change_prescriber_only") in _rules(longer)
    no_reason = walker.post("/dose", {"dose_mg_per_kg": 0.6}, role="prescriber", expect=422)
    assert ("change_reason", "required_for_change") in _rules(no_reason)
    body = walker.post("/dose", {"dose_mg_per_kg": 0.6, "change_reason": "Partial response at 0.5 mg/kg"},
                       role="prescriber", expect=201).json()
    dose = body["doses"][-1]
    assert dose["differs_from_plan"] and dose["dose_mg"] == "48" and dose["change_reason"]


def test_a_dose_over_the_clinic_maximum_is_refused_naming_the_limit(walker):  # noqa: F811
    walker.to("prechecks_passed")
    response = walker.post("/dose", {"dose_mg_per_kg": 1.2, "change_reason": "trying"}, role="prescriber",
                           expect=422)
    assert ("dose_mg_per_kg", "max_dose") in _rules(response)
    assert "dose.max_mg_per_kg" in response.json()["detail"]


def test_the_dose_needs_a_second_person(walker):  # noqa: F811
    walker.to("dosed")
    dose_id = walker.body["doses"][-1]["id"]
    same = walker.post(f"/dose/{dose_id}/verify", expect=422)
    assert ("verified_by", "second_person") in _rules(same)
    unverified = walker.post("/start", expect=422)
    assert ("dose", "dose.second_person_verification") in _rules(unverified)
    walker.post(f"/dose/{dose_id}/verify", role="prescriber")
    again = walker.post(f"/dose/{dose_id}/verify", role="prescriber", expect=409)
    assert ("dose", "already_verified") in _rules(again)


def test_a_recalculation_supersedes_the_earlier_dose(walker):  # noqa: F811
    walker.to("verified")
    old_id = walker.body["doses"][-1]["id"]
    body = walker.post("/dose", {"concentration_mg_per_ml": 2}, expect=201).json()
    assert body["doses"][0]["superseded_at"] is not None and body["doses"][-1]["verified_at"] is None
    assert body["doses"][-1]["rate_ml_per_h"] == "30"  # 40 mg at 2 mg/mL = 20 mL over 40 min
    stale = walker.post(f"/dose/{old_id}/verify", role="prescriber", expect=409)
    assert ("dose", "superseded") in _rules(stale)


def test_discharge_that_fails_a_criterion_names_it_and_stays_in_recovery(walker, clock, db):  # noqa: F811
    walker.to("recovery")
    response = walker.post("/discharge", {"alert_and_oriented": False, "escort_present": False}, expect=422)
    rules = _rules(response)
    assert ("observation_time", "discharge.min_observation_min") in rules
    assert ("vitals_after_infusion", "discharge.vitals_after_infusion") in rules  # the last set is pre-infusion
    assert ("alert_and_oriented", "discharge.alert_and_oriented") in rules
    assert ("escort_present", "discharge.escort_required") in rules
    clock.advance(40)
    walker.post("/vitals", {**GOOD_VITALS, "systolic_bp": 182}, expect=201)  # back above a notify line
    response = walker.post("/discharge", {"alert_and_oriented": True, "escort_present": True}, expect=422)
    assert _rules(response) == {("vitals_under_notify_lines", "discharge.vitals_under_notify_lines")}
    assert db.get(InfusionSession, walker.session_id).status == "recovery"


def test_discharge_at_exactly_the_observation_time(walker, clock):  # noqa: F811
    walker.to("recovery")
    clock.advance(39)
    walker.post("/vitals", GOOD_VITALS, expect=201)
    early = walker.post("/discharge", {"alert_and_oriented": True, "escort_present": True}, expect=422)
    assert ("observation_time", "discharge.min_observation_min") in _rules(early)
    clock.advance(1)
    assert walker.post("/discharge", {"alert_and_oriented": True, "escort_present": True}).json()["status"] == \
        "discharged"


def test_stop_level_bp_raises_an_urgent_alert_and_actions_stop_the_infusion(walker, clock, db, client, as_api):  # noqa: E501, F811
    walker.to("infusing")
    clock.advance(10)
    body = walker.post("/vitals", {**GOOD_VITALS, "systolic_bp": 204, "diastolic_bp": 112}, expect=201).json()
    reading = body["vitals"][-1]
    assert reading["level"] == "stop"
    assert {r["rule"] for r in reading["reasons"]} == {"vitals.stop_sbp", "vitals.notify_dbp"}
    alert = db.get(Alert, reading["alert_id"])
    assert (alert.severity, alert.kind, alert.source_type) == ("urgent", "vitals", "infusion_vitals")
    assert body["state"]["readings_needing_action"] == [reading["id"]]
    # Every staff screen of the clinic shows it at once; not the other clinic's.
    assert any(a["id"] == alert.id for a in client.get("/api/v1/alerts", headers=as_api("coordinator")).json())
    assert client.get("/api/v1/alerts", headers=as_api("nurse", "south-test")).json() == []
    bad = walker.post(f"/vitals/{reading['id']}/actions", {"actions": ["stopped", "paused"]}, expect=422)
    assert ("actions", "stop_alone") in _rules(bad)
    medication = walker.post(f"/vitals/{reading['id']}/actions", {"actions": ["medication_given"]}, expect=422)
    assert ("note", "medication_named") in _rules(medication)
    body = walker.post(f"/vitals/{reading['id']}/actions",
                       {"actions": ["stopped", "prescriber_called", "medication_given"],
                        "note": "labetalol 10 mg IV"}).json()
    assert body["status"] == "recovery" and body["stopped_early"]
    assert body["vitals"][-1]["actions"] == ["stopped", "prescriber_called", "medication_given"]
    db.refresh(alert)
    assert alert.resolution == "infusion_action" and alert.resolved_at is not None
    assert body["state"]["readings_needing_action"] == []


def test_notify_level_alert_and_rate_reduction(walker, clock, db):  # noqa: F811
    walker.to("infusing")
    clock.advance(10)
    body = walker.post("/vitals", {**GOOD_VITALS, "heart_rate": 131}, expect=201).json()
    reading = body["vitals"][-1]
    assert reading["level"] == "notify" and reading["alert_id"]
    too_fast = walker.post(f"/vitals/{reading['id']}/actions", {"actions": ["rate_reduced"],
                                                               "new_rate_ml_per_h": 60}, expect=422)
    assert ("new_rate_ml_per_h", "rate_reduced") in _rules(too_fast)
    body = walker.post(f"/vitals/{reading['id']}/actions", {"actions": ["rate_reduced", "prescriber_called"],
                                                           "new_rate_ml_per_h": 30}).json()
    assert body["pump"][-1]["action"] == "rate" and body["pump"][-1]["rate_ml_per_h"] == "30"
    # 10 mL given in 10 min at 60 mL/h; 30 mL left at 30 mL/h = 60 min.
    assert body["state"]["minutes_remaining"] == 60 and body["status"] == "infusing"
    again = walker.post(f"/vitals/{reading['id']}/actions", {"actions": ["paused"]}, expect=409)
    assert ("actions", "already_recorded") in _rules(again)


def test_pause_resume_and_rate_limits(walker, clock):  # noqa: F811
    walker.to("infusing")
    clock.advance(10)
    assert walker.post("/pump", {"action": "pause"}).json()["state"]["remaining"] == "paused"
    assert ("action", "already_paused") in _rules(walker.post("/pump", {"action": "pause"}, expect=409))
    clock.advance(5)
    body = walker.post("/pump", {"action": "resume"}).json()
    assert body["state"]["minutes_remaining"] == 30
    faster = walker.post("/pump", {"action": "rate", "rate_ml_per_h": 90}, expect=422)
    assert ("rate_ml_per_h", "rate_above_verified") in _rules(faster)


def test_vitals_are_due_every_10_min_infusing_and_15_in_recovery(walker, clock):  # noqa: F811
    body = walker.to("infusing")
    started = datetime.fromisoformat(body["infusion_started_at"])
    assert datetime.fromisoformat(body["state"]["next_vitals_due_at"]) == started + timedelta(minutes=10)
    clock.advance(13)
    body = walker.post("/pump", {"action": "pause"}).json()
    assert body["state"]["vitals_overdue"] and body["state"]["minutes_overdue"] == 3
    walker.post("/pump", {"action": "resume"})
    body = walker.post("/end").json()
    ended = datetime.fromisoformat(body["infusion_ended_at"])
    assert datetime.fromisoformat(body["state"]["next_vitals_due_at"]) == ended + timedelta(minutes=15)


def test_adverse_events_with_severity_and_a_severe_one_alerts(walker, clock, db):  # noqa: F811
    walker.to("infusing")
    body = walker.post("/adverse-events", {"event_type": "nausea_vomiting", "severity": "mild",
                                           "action_taken": "ondansetron 4 mg IV", "outcome": "resolved"},
                       expect=201).json()
    assert body["adverse_events"][0]["alert_id"] is None
    bad = walker.post("/adverse-events", {"event_type": "other", "severity": "huge", "action_taken": "",
                                          "outcome": "resolved"}, expect=422)
    assert {("severity", "known_choice"), ("description", "required_for_other"),
            ("action_taken", "required")} <= _rules(bad)
    body = walker.post("/adverse-events", {"event_type": "emergence_reaction", "severity": "severe",
                                           "action_taken": "infusion stopped, midazolam 1 mg IV",
                                           "outcome": "resolving"}, expect=201).json()
    alert = db.get(Alert, body["adverse_events"][-1]["alert_id"])
    assert (alert.severity, alert.kind) == ("urgent", "adverse_event")


def test_cadss6_once_per_session_and_only_while_running(walker):  # noqa: F811
    walker.to("prechecks_passed")
    early = walker.post("/cadss6", {"answers": CADSS_ANSWERS}, expect=409)
    assert ("status", "session_not_running") in _rules(early)
    walker.to("recovery")
    bad = walker.post("/cadss6", {"answers": {**CADSS_ANSWERS, "q1": 7}}, expect=422)
    assert ("q1", "out_of_range") in _rules(bad)
    walker.post("/cadss6", {"answers": CADSS_ANSWERS}, expect=201)
    assert ("cadss6", "once_per_session") in _rules(walker.post("/cadss6", {"answers": CADSS_ANSWERS}, expect=409))


def test_session_detail_and_fhir_bundle(walker, client, as_api):  # noqa: F811
    walker.to("discharged")
    detail = client.get(f"/api/v1/infusion-sessions/{walker.session_id}", headers=as_api("prescriber"))
    assert detail.status_code == 200 and detail.json()["status"] == "discharged"
    bundle = client.get(f"/api/v1/infusion-sessions/{walker.session_id}/fhir", headers=as_api("nurse")).json()
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    administration = next(r for r in resources if r["resourceType"] == "MedicationAdministration")
    assert administration["status"] == "completed"
    assert administration["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "238083"}
    assert administration["dosage"]["dose"] == {"value": 40.0, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                "code": "mg"}
    assert administration["dosage"]["rateQuantity"]["value"] == 60.0
    codes = {c["code"] for r in resources if r["resourceType"] == "Observation" for c in r["code"]["coding"]}
    assert {"85354-9", "8867-4", "2708-6", "59408-5", "9279-1", "29463-7"} <= codes
    bp = next(r for r in resources if r["id"].endswith("-bp"))
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert all(r["category"][0]["coding"][0]["code"] == "vital-signs" for r in resources
               if r["resourceType"] == "Observation" and not r["id"].endswith("sedation"))


def test_transitions_are_recorded_with_who_and_when(walker, db, world):  # noqa: F811
    walker.to("infusing")
    rows = db.scalars(select(InfusionTransition).where(InfusionTransition.session_id == walker.session_id)
                      .order_by(InfusionTransition.id)).all()
    assert [r.to_status for r in rows] == ["scheduled", "arrived", "prechecks_passed", "infusing"]
    assert {r.by_user_id for r in rows} == {world.user("nurse").id}
