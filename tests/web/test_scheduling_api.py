"""Shift-aware scheduling through the API: the roster preview, the waiting list, "schedule waiting requests" with its
preview and commit (every booking checked by the independent checker), rescheduling within the series' rules, the
patient's own slot choice around a 24/48 roster, the .ics file and FHIR Appointment, nurses and closures."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from icalendar import Calendar
from sqlalchemy import func, select
from tests.web.infusion_helpers import CHICAGO, clock, sign_plan  # noqa: F401
from tests.web.scheduling_helpers import (  # noqa: F401
    clinic_day,
    firefighter,
    second_patient,
    shift_starts,
    verify_booked,
)
from tests.web.support import sign_in_browser

from tenfour.checkins.models import BoosterRequest, BoosterRequestStatus
from tenfour.infusions.models import InfusionSession
from tenfour.scheduling.models import SchedulingRequest

PREVIEW = "/api/v1/rosters/preview"


def _rule(response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    problem = response.json()["problems"][0]
    return problem["field"], problem["rule"]


def _sessions(db) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(InfusionSession))


# --- POST /api/v1/rosters/preview ----------------------------------------------------------------------------------


def test_preview_of_a_24_48_roster(client, as_api):
    body = {"pattern": "24/48", "anchor_date": "2026-03-02", "shift_start": "08:00", "platoon": "B",
            "timezone": "America/Chicago", "days": 9}
    response = client.post(PREVIEW, json=body, headers=as_api("patient"))
    assert response.status_code == 200, response.text
    duty = response.json()["on_duty"]
    # platoon B: one day after A; days 1, 4, 7 of the nine from the anchor, 08:00 CST = 14:00Z (DST from 8 March)
    assert [d["start"][:16] for d in duty] == ["2026-03-03T14:00", "2026-03-06T14:00", "2026-03-09T13:00"]
    assert duty[0]["end"][:16] == "2026-03-04T14:00"


def test_preview_refuses_bad_rosters_naming_the_rule(client, as_api):
    base = {"pattern": "24/48", "anchor_date": "2026-03-02", "shift_start": "08:00", "timezone": "America/Chicago",
            "days": 9}
    headers = as_api("coordinator")
    unknown = client.post(PREVIEW, json={**base, "pattern": "25/47"}, headers=headers)
    assert unknown.status_code == 422 and _rule(unknown) == ("pattern", "known_pattern")
    far = client.post(PREVIEW, json={**base, "anchor_date": "1990-01-01"}, headers=headers)
    assert far.status_code == 422 and _rule(far) == ("anchor_date", "anchor_date_range")
    future = client.post(PREVIEW, json={**base, "anchor_date": "2099-01-01"}, headers=headers)
    assert future.status_code == 422 and _rule(future) == ("anchor_date", "anchor_date_range")
    overlap = client.post(PREVIEW, json={**base, "pattern": "custom", "custom_cycle_days": 4, "custom_blocks": [
        {"day": 0, "length_h": 24}, {"day": 0, "length_h": 12, "start_offset_h": 6}]}, headers=headers)
    assert overlap.status_code == 422 and _rule(overlap) == ("custom_blocks[1]", "blocks_not_overlapping")
    days = client.post(PREVIEW, json={**base, "days": 0}, headers=headers)
    assert days.status_code == 422 and _rule(days) == ("days", "horizon_max_days")
    platoon = client.post(PREVIEW, json={**base, "platoon": "D"}, headers=headers)
    assert platoon.status_code == 422 and _rule(platoon) == ("platoon", "known_platoon")
    garbled = client.post(PREVIEW, json={**base, "shift_start": "seven"}, headers=headers)
    assert garbled.status_code == 422


def test_preview_needs_a_signed_in_user(client):
    response = client.post(PREVIEW, json={"pattern": "24/48", "anchor_date": "2026-03-02", "shift_start": "08:00",
                                          "timezone": "America/Chicago", "days": 3})
    assert response.status_code == 401


# --- The patient's roster and one-off changes ------------------------------------------------------------------------


def test_patient_saves_a_roster_and_a_leave_which_frees_shifts(client, as_api, world, clock, db):  # noqa: F811
    today = clinic_day(clock.now)
    roster = {"pattern": "24/48", "anchor_date": (today + timedelta(days=1)).isoformat(), "shift_start": "07:00",
              "platoon": "A"}
    saved = client.put("/api/v1/me/roster", json=roster, headers=as_api("patient"))
    assert saved.status_code == 200, saved.text
    before = saved.json()["on_duty_next_weeks"]
    assert before and saved.json()["pattern"] == "24/48"
    leave_start = datetime.combine(today + timedelta(days=1), time(0), tzinfo=CHICAGO)
    leave = client.post("/api/v1/me/duty-changes", headers=as_api("patient"), json={
        "kind": "leave", "start": leave_start.isoformat(), "end": (leave_start + timedelta(days=7)).isoformat()})
    assert leave.status_code == 201
    after = client.get("/api/v1/me/roster", headers=as_api("patient")).json()
    assert len(after["on_duty_next_weeks"]) < len(before)  # the leave removed the shifts of that week
    assert after["changes"][0]["kind"] == "leave"
    gone = client.delete(f"/api/v1/me/duty-changes/{leave.json()['id']}", headers=as_api("patient"))
    assert gone.status_code == 204
    assert len(client.get("/api/v1/me/roster", headers=as_api("patient")).json()["on_duty_next_weeks"]) == len(before)


def test_roster_and_change_input_is_checked(client, as_api, world, clock, db):  # noqa: F811
    custom = client.put("/api/v1/me/roster", json={"pattern": "custom", "anchor_date": "2026-01-05",
                                                   "shift_start": "07:00"}, headers=as_api("patient"))
    assert custom.status_code == 422 and _rule(custom) == ("custom_on_off_h", "custom_blocks_required")
    uneven = client.put("/api/v1/me/roster", json={"pattern": "custom", "anchor_date": "2026-01-05",
                                                   "shift_start": "07:00", "custom_on_off_h": [24, 20]},
                        headers=as_api("patient"))
    assert uneven.status_code == 422 and _rule(uneven) == ("custom_on_off_h", "whole_days")
    no_anchor = client.put("/api/v1/me/roster", json={"pattern": "kelly", "shift_start": "07:00"},
                           headers=as_api("patient"))
    assert no_anchor.status_code == 422 and _rule(no_anchor) == ("anchor_date", "required_with_pattern")
    db.expire_all()
    assert world.patient_north.roster_pattern is None  # nothing saved
    start = clock.now + timedelta(days=3)
    backwards = client.post("/api/v1/me/duty-changes", headers=as_api("patient"), json={
        "kind": "overtime", "start": start.isoformat(), "end": (start - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 422 and _rule(backwards) == ("end", "change_end_after_start")
    kind = client.post("/api/v1/me/duty-changes", headers=as_api("patient"), json={
        "kind": "holiday", "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})
    assert kind.status_code == 422 and _rule(kind) == ("kind", "change_kind")


def test_a_custom_roster_is_kept_and_used(client, as_api, world, clock):  # noqa: F811
    today = clinic_day(clock.now)
    saved = client.put("/api/v1/me/roster", json={"pattern": "custom", "anchor_date": today.isoformat(),
                                                  "shift_start": "06:00", "custom_on_off_h": [10, 14, 10, 134]},
                       headers=as_api("patient"))
    assert saved.status_code == 200, saved.text
    assert saved.json()["custom_on_off_h"] == [10, 14, 10, 134]
    lengths = {round((datetime.fromisoformat(d["end"]) - datetime.fromisoformat(d["start"])).total_seconds() / 3600)
               for d in saved.json()["on_duty_next_weeks"]}
    assert lengths == {10}


def test_a_change_of_another_patient_is_not_found(client, as_api, world, clock, db):  # noqa: F811
    from tenfour.scheduling.models import PatientDutyChange

    change = PatientDutyChange(patient_id=world.patient_south.id, kind="leave", start=clock.now,
                               end=clock.now + timedelta(days=1))
    db.add(change)
    db.commit()
    assert client.delete(f"/api/v1/me/duty-changes/{change.id}", headers=as_api("patient")).status_code == 404


# --- The waiting list, a run, its preview and its commit ------------------------------------------------------------


def test_signed_plan_without_sessions_waits_and_a_run_books_nothing_until_commit(
        client, as_api, world, clock, db, firefighter):  # noqa: F811
    waiting = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()
    assert [(r["kind"], r["sessions"], r["source"]) for r in waiting] == [("induction", 6, "plan")]
    assert client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json() == waiting  # idempotent
    before = _sessions(db)
    run = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 5}, headers=as_api("coordinator"))
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["status"] == "preview" and body["violations"] == []
    assert len(body["sessions"]) == 6 and body["unplaced"] == []
    assert body["gap"] is not None and body["best_bound"] is not None
    assert _sessions(db) == before  # a preview books nothing
    # every session keeps the 24 h no-duty window before the patient's next shift
    for placed in body["sessions"]:
        end = datetime.fromisoformat(placed["end"])
        assert not [s for s in shift_starts(firefighter, end - timedelta(days=3), end + timedelta(days=3))
                    if end <= s < end + timedelta(hours=24)]
    commit = client.post(f"/api/v1/scheduling/runs/{body['id']}/commit", headers=as_api("coordinator"))
    assert commit.status_code == 200, commit.text
    assert len(commit.json()["session_ids"]) == 6 and _sessions(db) == before + 6
    request_id = waiting[0]["id"]
    assert verify_booked(db, world.north, [request_id]) == []  # the independent checker
    again = client.post(f"/api/v1/scheduling/runs/{body['id']}/commit", headers=as_api("coordinator"))
    assert again.status_code == 409 and _rule(again) == ("status", "run_preview")
    assert client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json() == []


def test_a_booster_request_is_placed_inside_its_window(client, as_api, world, clock, db, firefighter):  # noqa: F811
    other = second_patient(db, world, clock)
    day = clinic_day(clock.now)
    db.add(BoosterRequest(clinic_id=world.north.id, patient_id=other.id, window_start=day + timedelta(days=3),
                          window_end=day + timedelta(days=6), priority="high", status="requested"))
    db.commit()
    waiting = client.get("/api/v1/scheduling/requests", headers=as_api("manager")).json()
    booster_id = next(r["id"] for r in waiting if r["kind"] == "booster")
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 5}, headers=as_api("manager")).json()
    booster = [s for s in body["sessions"] if s["request_id"] == booster_id]
    assert len(booster) == 1
    local = datetime.fromisoformat(booster[0]["start"]).astimezone(CHICAGO).date()
    assert day + timedelta(days=3) <= local <= day + timedelta(days=6)
    client.post(f"/api/v1/scheduling/runs/{body['id']}/commit", headers=as_api("manager"))
    db.expire_all()
    assert db.scalar(select(BoosterRequest.status)) == BoosterRequestStatus.SCHEDULED.value
    ids = list(db.scalars(select(SchedulingRequest.id)))
    assert verify_booked(db, world.north, ids) == []


def test_unplaced_requests_are_explained(client, as_api, world, clock, db, firefighter):  # noqa: F811
    client.put("/api/v1/scheduling/settings/nurses", json={"nurses": {str(d): 0 for d in range(7)}},
               headers=as_api("manager"))
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 2}, headers=as_api("manager")).json()
    assert body["sessions"] == []
    assert body["unplaced"][0]["reason"] == "no_open_slot"
    assert "nurse on duty" in body["unplaced"][0]["explanation"]


def test_a_series_that_cannot_fit_is_said_before_solving(client, as_api, world, clock, db, firefighter):  # noqa: F811
    other = second_patient(db, world, clock)
    made = client.post("/api/v1/scheduling/requests", headers=as_api("nurse"), json={
        "patient_id": other.id, "kind": "induction", "sessions": 12,
        "earliest": (clinic_day(clock.now) + timedelta(days=1)).isoformat()})
    assert made.status_code == 201
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 3}, headers=as_api("nurse")).json()
    reasons = {u["request_id"]: u for u in body["unplaced"]}
    assert reasons[made.json()["id"]]["reason"] == "series_cannot_fit"
    assert "course.series_window_days" in reasons[made.json()["id"]]["explanation"]


def test_a_commit_fails_whole_when_a_chair_was_taken_meanwhile(client, as_api, world, clock, db, firefighter):  # noqa: F811
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 3}, headers=as_api("coordinator")).json()
    first = body["sessions"][0]
    intruder = second_patient(db, world, clock)
    taken = client.post("/api/v1/infusion-sessions", headers=as_api("nurse"), json={
        "patient_id": intruder.id, "chair_id": first["chair_id"], "start": first["start"]})
    assert taken.status_code == 201
    before = _sessions(db)
    commit = client.post(f"/api/v1/scheduling/runs/{body['id']}/commit", headers=as_api("coordinator"))
    assert commit.status_code == 409 and _rule(commit) == ("chair_id", "chair_taken")  # the booking service's rule
    assert _sessions(db) == before  # all or nothing


def test_run_input_is_checked(client, as_api, world, clock, firefighter):  # noqa: F811
    slow = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 600}, headers=as_api("coordinator"))
    assert slow.status_code == 422 and _rule(slow) == ("time_limit_s", "time_limit_range")
    short = client.post("/api/v1/scheduling/runs", json={"horizon_days": 2}, headers=as_api("coordinator"))
    assert short.status_code == 422 and _rule(short) == ("horizon_days", "horizon_range")


def test_request_input_is_checked(client, as_api, world, clock, db, firefighter):  # noqa: F811
    day = clinic_day(clock.now)
    base = {"patient_id": firefighter.id, "kind": "booster", "earliest": (day + timedelta(days=1)).isoformat()}
    no_window = client.post("/api/v1/scheduling/requests", json=base, headers=as_api("coordinator"))
    assert no_window.status_code == 422 and _rule(no_window) == ("latest", "booster_window")
    past = client.post("/api/v1/scheduling/requests", headers=as_api("coordinator"),
                       json={**base, "kind": "single", "earliest": (day - timedelta(days=2)).isoformat()})
    assert past.status_code == 422 and _rule(past) == ("earliest", "not_in_past")
    unplanned = client.post("/api/v1/scheduling/requests", headers=as_api("coordinator"),
                            json={**base, "kind": "single", "patient_id": world.patient_south.id})
    assert unplanned.status_code == 404  # another clinic's patient
    kind = client.post("/api/v1/scheduling/requests", headers=as_api("coordinator"), json={**base, "kind": "x"})
    assert kind.status_code == 422 and _rule(kind) == ("kind", "request_kind")


def test_cancel_a_request(client, as_api, world, clock, db, firefighter):  # noqa: F811
    rid = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]
    short = client.post(f"/api/v1/scheduling/requests/{rid}/cancel", json={"reason": ""},
                        headers=as_api("coordinator"))
    assert short.status_code == 422 and _rule(short) == ("reason", "required")
    assert client.post(f"/api/v1/scheduling/requests/{rid}/cancel", json={"reason": "moved away"},
                       headers=as_api("coordinator", "south-test")).status_code == 404
    done = client.post(f"/api/v1/scheduling/requests/{rid}/cancel", json={"reason": "moved away"},
                       headers=as_api("coordinator"))
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/scheduling/requests/{rid}/cancel", json={"reason": "moved away"},
                        headers=as_api("coordinator"))
    assert again.status_code == 409


# --- Rescheduling within the series' rules -------------------------------------------------------------------------


def _book_series(client, as_api) -> list[dict]:  # type: ignore[no-untyped-def]
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 5}, headers=as_api("coordinator")).json()
    client.post(f"/api/v1/scheduling/runs/{body['id']}/commit", headers=as_api("coordinator"))
    return sorted(body["sessions"], key=lambda s: s["session_index"])


def test_a_reschedule_that_breaks_the_series_names_the_rule_and_moves_nothing(
        client, as_api, world, clock, db, firefighter):  # noqa: F811
    series = _book_series(client, as_api)
    link_ids = client.get("/api/v1/scheduling/requests?status=scheduled", headers=as_api("coordinator")).json()
    session_id = link_ids[0]["session_ids"][1]
    first_start = datetime.fromisoformat(series[0]["start"])
    url = f"/api/v1/scheduling/sessions/{session_id}/reschedule"
    # the day after the first session: no clear day between them (and the patient is on shift then)
    near = client.post(url, headers=as_api("coordinator"), json={
        "chair_id": series[1]["chair_id"], "start": (first_start + timedelta(days=1)).isoformat(), "confirm": True})
    assert near.status_code == 422
    rules = {p["rule"] for p in near.json()["problems"]}
    assert "series_spacing" in rules
    # the evening before a shift: the no-duty window (shifts on days 1, 4, 7 ... at 07:00)
    shift = shift_starts(firefighter, first_start, first_start + timedelta(days=20))[-1]
    before_shift = datetime.combine((shift - timedelta(days=1)).astimezone(CHICAGO).date(), time(16, 0),
                                    tzinfo=CHICAGO)
    window = client.post(url, headers=as_api("coordinator"), json={
        "chair_id": series[1]["chair_id"], "start": before_shift.isoformat(), "confirm": True})
    assert window.status_code == 422 and "no_duty_window" in {p["rule"] for p in window.json()["problems"]}
    db.expire_all()
    assert db.get(InfusionSession, session_id).status == "scheduled"  # nothing moved


def test_a_valid_reschedule_is_checked_then_moves_only_when_confirmed(
        client, as_api, world, clock, db, firefighter):  # noqa: F811
    series = _book_series(client, as_api)
    scheduled = client.get("/api/v1/scheduling/requests?status=scheduled", headers=as_api("coordinator")).json()
    last_id = scheduled[0]["session_ids"][-1]
    last = datetime.fromisoformat(series[-1]["start"])
    url = f"/api/v1/scheduling/sessions/{last_id}/reschedule"
    later = {"chair_id": series[-1]["chair_id"], "start": (last + timedelta(hours=2)).isoformat()}
    check = client.post(url, json=later, headers=as_api("nurse"))
    assert check.status_code == 200 and check.json() == {"ok": True, "moved": False, "problems": [],
                                                         "session_id": None}
    db.expire_all()
    assert db.get(InfusionSession, last_id).status == "scheduled"
    moved = client.post(url, json={**later, "confirm": True, "reason": "patient asked"}, headers=as_api("nurse"))
    assert moved.status_code == 200 and moved.json()["moved"] is True
    db.expire_all()
    assert db.get(InfusionSession, last_id).status == "aborted"
    assert verify_booked(db, world.north, [scheduled[0]["id"]]) == []  # the link follows the new booking


# --- The patient chooses slots ---------------------------------------------------------------------------------------


def test_the_patient_chooses_each_session_from_allowed_slots_and_books(
        client, as_api, world, clock, db, firefighter):  # noqa: F811
    rid = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]
    url = f"/api/v1/me/scheduling/requests/{rid}/slots"
    chosen: list[str] = []
    for index in range(6):
        offer = client.get(url, params={"chosen": chosen}, headers=as_api("patient"))
        assert offer.status_code == 200, offer.text
        slots = offer.json()["slots"]
        assert offer.json()["session_index"] == index and slots
        for starts in slots.values():
            for start in starts:
                end = datetime.fromisoformat(start) + timedelta(minutes=100)
                assert not [s for s in shift_starts(firefighter, end - timedelta(days=3), end + timedelta(days=2))
                            if end - timedelta(hours=26) <= s < end + timedelta(hours=24)]
        chosen.append(next(iter(slots.values()))[-1])  # the latest time of the first day offered
    done = client.get(url, params={"chosen": chosen}, headers=as_api("patient")).json()
    assert done["session_index"] == 6 and done["slots"] == {}
    booked = client.post(f"/api/v1/me/scheduling/requests/{rid}/book", json={"starts": chosen},
                         headers=as_api("patient"))
    assert booked.status_code == 201, booked.text
    assert len(booked.json()) == 6
    assert verify_booked(db, world.north, [rid]) == []


def test_a_slot_that_was_not_offered_is_refused(client, as_api, world, clock, db, firefighter):  # noqa: F811
    rid = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]
    shift = shift_starts(firefighter, clock.now, clock.now + timedelta(days=5))[0]
    on_shift = client.get(f"/api/v1/me/scheduling/requests/{rid}/slots",
                          params={"chosen": [(shift + timedelta(hours=2)).isoformat()]}, headers=as_api("patient"))
    assert on_shift.status_code == 422 and _rule(on_shift) == ("starts[0]", "slot_not_offered")
    partial = client.post(f"/api/v1/me/scheduling/requests/{rid}/book", json={"starts": []},
                          headers=as_api("patient"))
    assert partial.status_code == 422 and _rule(partial) == ("starts", "series_complete")


def test_another_patients_request_is_not_found(client, as_api, world, clock, db, firefighter):  # noqa: F811
    from tests.conftest import api_login

    rid = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]
    other = api_login(client, world.other_patient_user.email)  # Sam South, a patient of the other clinic
    assert client.get(f"/api/v1/me/scheduling/requests/{rid}/slots", headers=other).status_code == 404
    assert client.post(f"/api/v1/me/scheduling/requests/{rid}/book", json={"starts": []},
                       headers=other).status_code == 404
    assert client.get(f"/api/v1/me/scheduling/requests/{rid}/slots",
                      headers=as_api("coordinator")).status_code == 403


# --- Calendar file, FHIR, calendar and settings ---------------------------------------------------------------------


def test_ics_and_fhir_of_booked_sessions(client, as_api, world, clock, db, firefighter):  # noqa: F811
    _book_series(client, as_api)
    ics = client.get("/api/v1/me/appointments.ics", headers=as_api("patient"))
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(ics.content).walk("VEVENT")]
    assert len(events) == 6 and all(str(e["STATUS"]) == "CONFIRMED" for e in events)
    assert "24 hours" in str(events[0]["DESCRIPTION"])
    staff = client.get(f"/api/v1/patients/{firefighter.id}/appointments.ics", headers=as_api("manager"))
    assert staff.status_code == 200 and staff.content.count(b"BEGIN:VEVENT") == 6
    assert client.get(f"/api/v1/patients/{firefighter.id}/appointments.ics",
                      headers=as_api("manager", "south-test")).status_code == 404
    sid = client.get("/api/v1/scheduling/requests?status=scheduled",
                     headers=as_api("coordinator")).json()[0]["session_ids"][0]
    fhir = client.get(f"/api/v1/fhir/Appointment/{sid}", headers=as_api("coordinator"))
    assert fhir.status_code == 200, fhir.text
    resource = fhir.json()
    assert resource["resourceType"] == "Appointment" and resource["status"] == "booked"
    assert resource["minutesDuration"] == 100 and "session 1 of 6" in resource["description"]
    assert {p["actor"]["reference"] for p in resource["participant"]} >= {f"Patient/{firefighter.id}"}
    bundle = client.get("/api/v1/fhir/Appointment", params={"patient": firefighter.id}, headers=as_api("nurse"))
    assert bundle.json()["total"] == 6
    assert client.get(f"/api/v1/fhir/Appointment/{sid}", headers=as_api("nurse", "south-test")).status_code == 404
    assert client.get(f"/api/v1/fhir/Appointment/{sid}", headers=as_api("patient")).status_code == 403


def test_nurses_and_closures(client, as_api, world, clock, db, firefighter):  # noqa: F811
    bad = client.put("/api/v1/scheduling/settings/nurses", json={"nurses": {"0": -1}}, headers=as_api("manager"))
    assert bad.status_code == 422 and _rule(bad) == ("nurses_0", "nurse_count_range")
    ok = client.put("/api/v1/scheduling/settings/nurses", json={"nurses": {"0": 3}}, headers=as_api("manager"))
    assert ok.json()["nurses"]["0"] == 3 and ok.json()["nurses"]["1"] == 1
    day = clinic_day(clock.now)
    past = client.post("/api/v1/scheduling/closures", json={"day": (day - timedelta(days=1)).isoformat()},
                       headers=as_api("manager"))
    assert past.status_code == 422 and _rule(past) == ("day", "not_in_past")
    # close every day of the next three weeks but one: the series cannot be placed
    for n in range(1, 25):
        made = client.post("/api/v1/scheduling/closures", json={"day": (day + timedelta(days=n)).isoformat(),
                                                                 "reason": "renovation"}, headers=as_api("manager"))
        assert made.status_code == 201
    twice = client.post("/api/v1/scheduling/closures", json={"day": (day + timedelta(days=1)).isoformat()},
                        headers=as_api("manager"))
    assert twice.status_code == 409
    body = client.post("/api/v1/scheduling/runs", json={"time_limit_s": 2}, headers=as_api("manager")).json()
    assert body["sessions"] == [] and body["unplaced"][0]["reason"] in ("no_open_slot", "series_cannot_fit",
                                                                          "patient_unavailable")


def test_a_closure_on_a_day_with_bookings_is_refused(client, as_api, world, clock, db, firefighter):  # noqa: F811
    series = _book_series(client, as_api)
    day = datetime.fromisoformat(series[0]["start"]).astimezone(CHICAGO).date()
    response = client.post("/api/v1/scheduling/closures", json={"day": day.isoformat()}, headers=as_api("manager"))
    assert response.status_code == 409 and _rule(response) == ("day", "closure_has_bookings")


def test_calendar_lists_sessions_by_chair(client, as_api, world, clock, db, firefighter):  # noqa: F811
    series = _book_series(client, as_api)
    first = datetime.fromisoformat(series[0]["start"]).astimezone(CHICAGO).date()
    body = client.get("/api/v1/scheduling/calendar", params={"start": first.isoformat(), "days": 21},
                      headers=as_api("prescriber")).json()
    assert len(body["sessions"]) == 6 and body["sessions"][0]["patient_id"] == firefighter.id
    assert client.get("/api/v1/scheduling/calendar", params={"days": 99},
                      headers=as_api("prescriber")).status_code == 422


def test_when_no_time_can_be_offered_the_patient_page_says_so_instead_of_looping(
        client, as_api, world, clock, db, firefighter, monkeypatch):  # noqa: F811
    """If the clinic's bookings cannot be planned around (e.g. two bookings on one chair entered outside the app),
    the slot page sends the patient back to their schedule with a plain message, never to itself."""
    from tenfour.errors import ValidationFailed
    from tenfour.scheduling import selfbook

    rid = client.get("/api/v1/scheduling/requests", headers=as_api("coordinator")).json()[0]["id"]

    def refuse(*_args, **_kwargs):
        raise ValidationFailed.single("fixed_sessions[1]", "chair_no_overlap", "overlaps fixed_sessions[0]")

    monkeypatch.setattr(selfbook, "offer", refuse)
    sign_in_browser(client, db, world.user("patient"))
    page = client.get(f"/me/schedule/{rid}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/me/schedule"
    landed = client.get("/me/schedule")
    assert landed.status_code == 200
    assert "No times can be offered online right now" in landed.text
    assert "fixed_sessions" not in landed.text  # no internal detail for the patient
