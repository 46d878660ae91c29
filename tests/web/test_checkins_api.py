"""The check-ins API: POST /api/v1/relapse/evaluate exactly as issue 6 specifies (docs/relapse.md's worked examples),
submitting a check-in (stored once per key; bad input refused naming the field and the rule, nothing saved), warning
signs, reminder choices and booster proposals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.checkins_support import (
    give_course,
    pcl5_answers,
    phq9_answers,
    sync,
)
from tests.web.support import app, module_app  # noqa: F401 - one app per module

from tenfour.assessments.models import Assessment
from tenfour.checkins import repository
from tenfour.checkins.models import BoosterProposal, BoosterRequest, CheckIn

STABLE = [("2025-03-08", 33), ("2025-03-15", 27), ("2025-03-22", 26), ("2025-03-29", 28)]


def body(checkins, as_of="2025-03-29", **extra):  # type: ignore[no-untyped-def]
    return {"baseline_pcl5": 50, "course_start": "2025-03-03", "course_end": "2025-03-14", "as_of": as_of,
            "checkins": [{"date": d, "pcl5": s} for d, s in checkins], **extra}


def evaluate(client, as_api, payload, role="nurse"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/relapse/evaluate", json=payload, headers=as_api(role))


def test_evaluate_answers_exactly_the_specified_shape(client, as_api) -> None:
    response = evaluate(client, as_api, body(STABLE, next_due="2025-04-05"))
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"state", "reasons", "responded", "best_pcl5"}
    assert data == {"state": "stable", "responded": True, "best_pcl5": 26, "reasons": [
        {"rule": "stable", "message": "No warning rule holds: latest PCL-5 28 on 2025-03-29, best 26, baseline 50; "
                                      "responded"}]}


@pytest.mark.parametrize(("checkins", "extra", "state", "rules"), [
    # docs/relapse.md worked examples
    ([*STABLE[:3], ("2025-03-29", 28)], {"checkins_extra": {"phq9_item9": 1, "cssrs_risk": "high"}}, "urgent",
     ["urgent_phq9_item9", "urgent_cssrs_high"]),
    ([("2025-03-15", 30), ("2025-03-22", 27), ("2025-03-29", 33), ("2025-04-05", 36), ("2025-04-12", 36)],
     {"as_of": "2025-04-12"}, "act", ["act_loss_of_response"]),
    ([("2025-03-15", 30), ("2025-03-22", 25), ("2025-03-29", 30), ("2025-04-05", 29), ("2025-04-26", 35)],
     {"as_of": "2025-04-26"}, "watch", ["watch_reliable_worsening"]),
    ([("2025-03-15", 25), ("2025-03-22", 27), ("2025-03-29", 29), ("2025-04-05", 31)], {"as_of": "2025-04-05"},
     "watch", ["watch_rising_trend"]),
    (STABLE, {"next_due": "2025-04-05", "as_of": "2025-04-09"}, "watch", ["watch_overdue"]),
    ([("2025-03-08", 45), ("2025-03-15", 41), ("2025-03-22", 42)], {"as_of": "2025-03-22"}, "non_responder",
     ["non_responder"]),
])
def test_evaluate_gives_the_documented_state_and_every_reason(client, as_api, checkins, extra, state, rules) -> None:  # type: ignore[no-untyped-def]
    extra = dict(extra)
    last_extra = extra.pop("checkins_extra", {})
    payload = body(checkins, **extra)
    payload["checkins"][-1].update(last_extra)
    data = evaluate(client, as_api, payload).json()
    assert data["state"] == state
    assert [r["rule"] for r in data["reasons"]] == rules


def test_evaluate_counts_warning_signs(client, as_api) -> None:
    payload = body(STABLE, next_due="2025-04-05")
    payload["checkins"][-1]["warning_signs"] = ["Sleep change or nightmares", "Irritability or anger", "Withdrawal"]
    data = evaluate(client, as_api, payload).json()
    assert data["state"] == "watch"
    assert data["reasons"][0]["message"].startswith("3 warning signs endorsed on 2025-03-29 (Sleep change")
    payload["checkins"][-1] = {"date": "2025-03-29", "pcl5": 28, "warning_sign_count": 2}
    assert evaluate(client, as_api, payload).json()["state"] == "stable"


def test_evaluate_uses_the_clinics_policy(client, as_api, db, world) -> None:
    from tenfour.clinics.models import ClinicPolicyValue

    db.add(ClinicPolicyValue(clinic_id=world.north.id, key="relapse.watch_warning_signs", value=2))
    db.commit()
    payload = body(STABLE, next_due="2025-04-05")
    payload["checkins"][-1]["warning_sign_count"] = 2
    assert evaluate(client, as_api, payload).json()["state"] == "watch"


@pytest.mark.parametrize(("change", "field", "rule"), [
    ({"checkins": [{"date": "2025-04-02", "pcl5": 20}]}, "checkins[0].date", "not_in_future"),
    ({"checkins": [{"date": "2025-03-01", "pcl5": 20}]}, "checkins[0].date", "not_before_course"),
    ({"checkins": [{"date": "2025-03-10", "pcl5": 81}]}, "checkins[0].pcl5", "range"),
    ({"checkins": [{"date": "2025-03-10", "pcl5": 20, "phq9_item9": 4}]}, "checkins[0].phq9_item9", "range"),
    ({"checkins": [{"date": "2025-03-10", "pcl5": 20, "cssrs_risk": "extreme"}]}, "checkins[0].cssrs_risk",
     "known_level"),
    ({"baseline_pcl5": -1}, "baseline_pcl5", "range"),
    ({"course_end": "2025-03-01"}, "course_end", "not_before_course_start"),
    ({"checkins": [{"date": "2025-03-10", "pcl5": True}]}, "checkins.0.pcl5", "int_type"),
    ({"checkins": [{"date": "2025-03-10"}]}, "checkins.0.pcl5", "missing"),
    ({"as_of": "last tuesday"}, "as_of", "date_from_datetime_parsing"),
])
def test_evaluate_refuses_bad_input_naming_the_field_and_rule(client, as_api, change, field, rule) -> None:  # type: ignore[no-untyped-def]
    payload = {**body([]), **change}
    response = evaluate(client, as_api, payload)
    assert response.status_code == 422, response.text
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert (field, rule) in problems


# --- Submitting a check-in --------------------------------------------------------------------------------------




def answers(pcl5: int = 30, item9: int = 0, cssrs=None) -> dict:  # type: ignore[no-untyped-def]
    data = {"pcl5": pcl5_answers(pcl5), "phq9": phq9_answers(6, item9)}
    if cssrs is not None:
        data["cssrs"] = cssrs
    return data


def submit(client, as_api, patient_id, role="patient", **payload):  # type: ignore[no-untyped-def]
    payload.setdefault("answers", answers())
    return client.post(f"/api/v1/patients/{patient_id}/checkins", json=payload, headers=as_api(role))


def counts(db):  # type: ignore[no-untyped-def]
    db.expire_all()
    return (db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "completed")),
            db.scalar(select(func.count()).select_from(Assessment).where(Assessment.context == "checkin")))


def test_a_patient_checks_in_and_a_repeated_key_is_stored_once(client, as_api, db, world, course) -> None:
    first = submit(client, as_api, world.patient_north.id, submission_key="form-nonce-0001")
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["checkin"]["status"] == "completed" and data["checkin"]["entered_by"] == "patient"
    assert data["repeated"] is False and data["state"] is not None
    again = submit(client, as_api, world.patient_north.id, submission_key="form-nonce-0001")
    assert again.status_code == 201 and again.json()["repeated"] is True
    assert again.json()["checkin"]["id"] == data["checkin"]["id"]
    assert counts(db) == (1, 2)  # one check-in, its PCL-5 and PHQ-9


def test_someone_elses_key_is_a_conflict(client, as_api, db, world, course) -> None:
    assert submit(client, as_api, world.patient_north.id, submission_key="shared-key-0001").status_code == 201
    other = give_course(db, world.patient_south, world.user("prescriber", "south-test"), course.first_day)
    sync(db, other, course.first_day - timedelta(days=1))
    db.commit()
    clash = client.post(f"/api/v1/patients/{world.patient_south.id}/checkins",
                        json={"answers": answers(), "submission_key": "shared-key-0001"},
                        headers=as_api("nurse", "south-test"))
    assert clash.status_code == 409
    assert clash.json()["problems"][0] == {"field": "submission_key", "rule": "unique", "message": "already used"}


def test_a_suicide_risk_answer_alerts_once_and_asks_the_cssrs(client, as_api, db, world, course) -> None:
    response = submit(client, as_api, world.patient_north.id, answers=answers(item9=1))
    data = response.json()
    assert response.status_code == 201 and data["crisis"] is True and data["needs_cssrs"] is True
    assert data["state"] == "urgent" and len(data["alerts_raised"]) == 1
    follow = client.post(f"/api/v1/patients/{world.patient_north.id}/checkins/{data['checkin']['id']}/cssrs",
                         json={"answers": {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 0}},
                         headers=as_api("patient"))
    assert follow.status_code == 201, follow.text
    assert follow.json()["checkin"]["cssrs_risk"] == "high" and follow.json()["needs_cssrs"] is False
    assert len(follow.json()["alerts_raised"]) == 1  # the C-SSRS's own imminent-risk alert; nothing from relapse
    again = client.post(f"/api/v1/patients/{world.patient_north.id}/checkins/{data['checkin']['id']}/cssrs",
                        json={"answers": {"q1": 0, "q2": 0, "q6": 0}}, headers=as_api("patient"))
    assert again.status_code == 409


@pytest.mark.parametrize(("payload", "field", "rule"), [
    ({"answers": {"pcl5": {**pcl5_answers(30), "q3": 7}, "phq9": phq9_answers()}}, "pcl5.q3", "out_of_range"),
    ({"answers": {"pcl5": {**pcl5_answers(30), "q3": None}, "phq9": phq9_answers()}}, "pcl5.q3", "required"),
    ({"answers": {"pcl5": pcl5_answers(30), "phq9": {**phq9_answers(), "q9": "a lot"}}}, "phq9.q9", "not_an_integer"),
    ({"answers": {"pcl5": pcl5_answers(30), "phq9": phq9_answers(), "cssrs": {"q1": 0, "q2": 0, "q6": 0}}}, "cssrs",
     "not_asked"),
    ({"warning_signs": [999999]}, "warning_signs", "unknown_sign"),
    ({"completed_at": "2026-01-01T10:00:00Z"}, "completed_at", "patient_now"),
    ({"note": "x" * 501}, "note", "string_too_long"),
    ({"submission_key": "no spaces allowed"}, "submission_key", "string_pattern_mismatch"),
])
def test_bad_input_is_refused_and_nothing_is_saved(client, as_api, db, world, course, payload, field, rule) -> None:  # type: ignore[no-untyped-def]
    before = counts(db)
    response = submit(client, as_api, world.patient_north.id, **payload)
    assert response.status_code == 422, response.text
    assert (field, rule) in {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert counts(db) == before


def test_staff_may_enter_a_past_check_in_but_not_a_future_one_or_before_the_course(client, as_api, db, world,
                                                                                   course) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    before_course = datetime.combine(course.first_day - timedelta(days=3), datetime.min.time(), UTC).isoformat()
    for when, rule in ((future, "not_future"), (before_course, "not_before_course")):
        response = submit(client, as_api, world.patient_north.id, role="nurse", completed_at=when)
        assert response.status_code == 422 and response.json()["problems"][0]["rule"] == rule
    assert counts(db) == (0, 0)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    entered = submit(client, as_api, world.patient_north.id, role="nurse", completed_at=yesterday)
    assert entered.status_code == 201 and entered.json()["checkin"]["entered_by"] == "staff"


def test_a_check_in_of_someone_else_is_not_found(client, as_api, db, world, course) -> None:
    other = give_course(db, world.patient_south, world.user("prescriber", "south-test"), course.first_day)
    sync(db, other, course.first_day - timedelta(days=1))
    db.commit()
    theirs = repository.scheduled_checkins(db, other.course.id)[0]  # type: ignore[union-attr]
    response = submit(client, as_api, world.patient_north.id, checkin_id=theirs.id)
    assert response.status_code == 404
    assert submit(client, as_api, world.patient_south.id).status_code == 404  # not your record at all


def test_a_completed_or_future_check_in_cannot_be_answered(client, as_api, db, world, course) -> None:
    done = submit(client, as_api, world.patient_north.id).json()["checkin"]["id"]
    again = submit(client, as_api, world.patient_north.id, checkin_id=done)
    assert again.status_code == 409 and again.json()["problems"][0]["rule"] == "already_completed"
    upcoming = next(c for c in repository.scheduled_checkins(db, course.course.id)  # type: ignore[union-attr]
                    if c.due_on > date.today() + timedelta(days=2))
    later = submit(client, as_api, world.patient_north.id, checkin_id=upcoming.id)
    assert later.status_code == 409 and later.json()["problems"][0]["rule"] == "not_due_yet"


def test_no_check_in_before_the_first_infusion(client, as_api, db, world) -> None:
    response = submit(client, as_api, world.patient_north.id)
    assert response.status_code == 409 and response.json()["problems"][0]["rule"] == "no_course"


def test_the_patients_check_ins_and_state(client, as_api, db, world, course) -> None:
    submit(client, as_api, world.patient_north.id)
    data = client.get(f"/api/v1/patients/{world.patient_north.id}/checkins", headers=as_api("nurse")).json()
    assert data["course"]["baseline_pcl5"] == 50 and data["evaluation"]["state"] in ("stable", "watch")
    statuses = {c["status"] for c in data["checkins"]}
    assert "completed" in statuses and "pending" in statuses


# --- Warning signs, reminder choices ------------------------------------------------------------------------------


def test_warning_signs_are_chosen_by_staff_and_counted(client, as_api, db, world, course) -> None:
    path = f"/api/v1/patients/{world.patient_north.id}/warning-signs"
    put = client.put(path, json={"codes": ["sleep", "irritability"], "own_words": ["Radio chatter in my head"]},
                     headers=as_api("nurse"))
    assert put.status_code == 200, put.text
    signs = put.json()
    assert [s["label"] for s in signs] == ["Sleep change or nightmares", "Irritability or anger",
                                           "Radio chatter in my head"]
    submit(client, as_api, world.patient_north.id, warning_signs=[signs[0]["id"], signs[2]["id"]])
    mine = client.get(path, headers=as_api("patient")).json()
    assert [(s["endorsed"], s["asked"]) for s in mine] == [(1, 1), (0, 1), (1, 1)]
    # Taking one off keeps its history.
    client.put(path, json={"codes": ["sleep"], "own_words": []}, headers=as_api("nurse"))
    kept = client.get(path, headers=as_api("nurse")).json()
    assert [(s["label"], s["removed_at"] is not None) for s in kept] == [
        ("Sleep change or nightmares", False), ("Irritability or anger", True), ("Radio chatter in my head", True)]


@pytest.mark.parametrize(("payload", "rule"), [
    ({"codes": ["sleep", "not-a-sign"]}, "known_sign"),
    ({"codes": ["sleep"], "own_words": ["sleep change or nightmares"]}, "unique"),
    ({"own_words": ["x" * 121]}, "max_length"),
    ({"own_words": [f"sign {n}" for n in range(13)]}, "max_items"),
])
def test_warning_signs_bad_input(client, as_api, world, payload, rule) -> None:  # type: ignore[no-untyped-def]
    response = client.put(f"/api/v1/patients/{world.patient_north.id}/warning-signs", json=payload,
                          headers=as_api("nurse"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["rule"] == rule


def test_reminder_choices(client, as_api, world) -> None:
    default = client.get("/api/v1/me/checkin-preferences", headers=as_api("patient")).json()
    assert default == {"reminder_hour": None, "effective_hour": 10, "reminders_enabled": True,
                       "quiet_hours": "21:00-08:00", "timezone": "America/Chicago"}
    night = client.put("/api/v1/me/checkin-preferences", json={"reminder_hour": 22}, headers=as_api("patient"))
    assert night.status_code == 422 and night.json()["problems"][0] == {
        "field": "reminder_hour", "rule": "not_at_night",
        "message": "must be outside the quiet hours (21:00 to 08:00), when no reminders are sent"}
    evening = client.put("/api/v1/me/checkin-preferences", json={"reminder_hour": 19, "reminders_enabled": False},
                         headers=as_api("patient"))
    assert evening.json()["effective_hour"] == 19 and evening.json()["reminders_enabled"] is False


# --- Booster proposals ------------------------------------------------------------------------------------------


def _proposal(db, world, window_start: date) -> BoosterProposal:  # type: ignore[no-untyped-def]
    row = BoosterProposal(clinic_id=world.north.id, patient_id=world.patient_north.id, window_start=window_start,
                          window_end=window_start + timedelta(days=7), latest_treatment_end=date(2026, 1, 1),
                          median_durability_days=28, n_episodes=1, n_censored=0, explanation="Median 28 days.")
    db.add(row)
    db.commit()
    return row


def test_accepting_a_proposal_creates_a_booster_request(client, as_api, db, world) -> None:
    soon = _proposal(db, world, date.today() + timedelta(days=3))
    listed = client.get("/api/v1/booster-proposals", headers=as_api("nurse")).json()
    assert [p["id"] for p in listed] == [soon.id]
    accepted = client.post(f"/api/v1/booster-proposals/{soon.id}/accept", json={"note": "Book after his 48"},
                           headers=as_api("prescriber"))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["priority"] == "high" and accepted.json()["status"] == "requested"
    assert client.post(f"/api/v1/booster-proposals/{soon.id}/accept", json={},
                       headers=as_api("prescriber")).status_code == 409
    requests = client.get("/api/v1/booster-requests", headers=as_api("manager")).json()
    assert [(r["proposal_id"], r["window_start"]) for r in requests] == [(soon.id, soon.window_start.isoformat())]
    assert db.scalars(select(BoosterRequest)).one().requested_by_id == world.user("prescriber").id
    later = _proposal(db, world, date.today() + timedelta(days=40))
    declined = client.post(f"/api/v1/booster-proposals/{later.id}/decline", json={"reason": ""},
                           headers=as_api("prescriber"))
    assert declined.status_code == 422 and declined.json()["problems"][0]["field"] == "reason"
    declined = client.post(f"/api/v1/booster-proposals/{later.id}/decline",
                           json={"reason": "Stable on therapy; review in a month"}, headers=as_api("prescriber"))
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    bad_status = client.get("/api/v1/booster-requests?status=lost", headers=as_api("manager"))
    assert bad_status.status_code == 422
