"""Booking a chair, rescheduling and cancelling; the next duty shift in the pre-checks (roster, or asked), the
prescriber's override of the no-duty window, and the duty check again when the pump starts."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select
from tests import factories
from tests.web.infusion_helpers import CHICAGO, GOOD_PRECHECKS, Walker, clock, planned, sign_plan  # noqa: F401

from tenfour.infusions.models import InfusionSession
from tenfour.plans.models import TreatmentPlan

URL = "/api/v1/infusion-sessions"


def _book(client, as_api, patient_id, chair_id, start, role="nurse"):  # type: ignore[no-untyped-def]
    return client.post(URL, headers=as_api(role), json={"patient_id": patient_id, "chair_id": chair_id,
                                                        "start": start.isoformat()})


def _rule(response) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    problem = response.json()["problems"][0]
    return problem["field"], problem["rule"]


def test_a_signed_plan_is_needed(client, as_api, clock, world, db):  # noqa: F811
    response = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now)
    assert response.status_code == 422 and _rule(response) == ("patient_id", "signed_plan_required")
    db.add(TreatmentPlan(clinic_id=world.north.id, patient_id=world.patient_north.id,
                         created_by_id=world.user("prescriber").id))  # a draft, not signed
    db.commit()
    unsigned = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now)
    assert unsigned.status_code == 422  # a draft plan is not enough


def test_the_chair_is_held_for_preparation_infusion_and_recovery(client, as_api, clock, world, planned):  # noqa: F811
    body = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now).json()
    assert body["status"] == "scheduled"
    from datetime import datetime

    start, end = datetime.fromisoformat(body["scheduled_start"]), datetime.fromisoformat(body["scheduled_end"])
    assert end - start == timedelta(minutes=20 + 40 + 40)


def test_two_sessions_never_hold_one_chair_at_one_time(client, as_api, clock, world, planned, db):  # noqa: F811
    chair = world.north.chairs[0].id
    first = _book(client, as_api, world.patient_north.id, chair, clock.now)
    assert first.status_code == 201
    other = factories.make_patient(db, world.north, first_name="Otto")
    sign_plan(db, other, world.user("prescriber").id)
    db.commit()
    overlap = _book(client, as_api, other.id, chair, clock.now + timedelta(minutes=99))
    assert overlap.status_code == 409 and _rule(overlap) == ("chair_id", "chair_taken")
    back_to_back = _book(client, as_api, other.id, chair, clock.now + timedelta(minutes=100))
    assert back_to_back.status_code == 201
    assert db.scalar(select(InfusionSession.id).where(InfusionSession.patient_id == other.id,
                                                      InfusionSession.scheduled_start == clock.now)) is None


def test_a_patient_is_never_in_two_chairs_at_once(client, as_api, clock, world, planned):  # noqa: F811
    assert _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now).status_code == 201
    again = _book(client, as_api, world.patient_north.id, world.north.chairs[1].id, clock.now + timedelta(minutes=30))
    assert again.status_code == 409 and _rule(again) == ("start", "patient_double_booked")


def test_an_aborted_session_frees_the_chair(client, as_api, clock, world, planned):  # noqa: F811
    first = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now).json()
    client.post(f"{URL}/{first['id']}/cancel", headers=as_api("coordinator"), json={"reason": "called in sick"})
    again = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now)
    assert again.status_code == 201


@pytest.mark.parametrize(("shift", "rule"), [(timedelta(hours=9), "opening_hours"),  # 17:30: ends after 18:00
                                             (timedelta(days=-1), "not_in_past"),
                                             (timedelta(days=400), "book_ahead")])
def test_refused_times(client, as_api, clock, world, planned, shift, rule):  # noqa: F811
    response = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now + shift)
    assert response.status_code == 422 and _rule(response) == ("start", rule)


def test_a_start_without_a_time_zone_is_refused(client, as_api, clock, world, planned):  # noqa: F811
    response = client.post(URL, headers=as_api("nurse"), json={
        "patient_id": world.patient_north.id, "chair_id": world.north.chairs[0].id,
        "start": clock.now.replace(tzinfo=None).isoformat()})
    assert response.status_code == 422 and _rule(response) == ("start", "timezone_aware")


def _roster_on_duty_tomorrow_morning(patient, now) -> None:  # type: ignore[no-untyped-def]
    """A 24/48 platoon A roster whose next shift starts 07:00 tomorrow (inside 24 h of a morning infusion)."""
    today = now.astimezone(CHICAGO).date()
    patient.roster_pattern, patient.roster_platoon = "24/48", "A"
    patient.roster_anchor_date, patient.roster_shift_start = today + timedelta(days=1), time(7, 0)


def test_booking_into_the_no_duty_window_of_a_roster_is_refused(client, as_api, clock, world, planned, db):  # noqa: F811
    _roster_on_duty_tomorrow_morning(world.patient_north, clock.now)
    db.commit()
    response = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id, clock.now)
    assert response.status_code == 422 and _rule(response) == ("start", "shift_starts_in_no_duty_window")
    assert "07:00" in response.json()["problems"][0]["message"]


def test_prechecks_show_the_roster_shift_and_block_until_a_prescriber_overrides(  # noqa: F811
        client, as_api, clock, world, planned, db):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("arrived")
    _roster_on_duty_tomorrow_morning(world.patient_north, clock.now)  # the roster changed after booking
    db.commit()
    body = walker.post("/prechecks", GOOD_PRECHECKS).json()
    assert body["status"] == "arrived"
    duty = next(f for f in body["prechecks"][-1]["findings"] if f["code"] == "next_duty_shift")
    assert duty["outcome"] == "block" and duty["rule"] == "duty.no_duty_window_h"
    assert "From the roster" in duty["message"]
    assert body["prechecks"][-1]["next_shift_source"] == "roster" and body["prechecks"][-1]["next_shift_at"]
    nurse = walker.post("/duty-override", {"reason": "desk duty"}, expect=403)
    assert nurse.status_code == 403
    short = walker.post("/duty-override", {"reason": "x"}, role="prescriber", expect=422)
    assert _rule(short) == ("reason", "required")
    body = walker.post("/duty-override", {"reason": "Captain confirms a desk day tomorrow"}, role="prescriber").json()
    assert body["status"] == "prechecks_passed" and body["duty_override"]["reason"].startswith("Captain")
    assert body["prechecks"][-1]["passed_by_override"] is True
    walker.to("infusing")  # the override also covers the duty check at the start


def test_an_override_does_not_pass_other_failed_checks(client, as_api, clock, world, planned, db):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("arrived")
    body = walker.post("/prechecks", {**GOOD_PRECHECKS, "no_shift_in_window": False, "escort_confirmed": False}).json()
    assert {f["code"] for f in body["prechecks"][-1]["findings"] if f["outcome"] == "block"} == {
        "next_duty_shift", "escort"}
    body = walker.post("/duty-override", {"reason": "Confirmed with the patient"}, role="prescriber").json()
    assert body["status"] == "arrived"
    body = walker.post("/prechecks", {**GOOD_PRECHECKS, "no_shift_in_window": False}).json()
    assert body["status"] == "prechecks_passed" and body["prechecks"][-1]["passed_by_override"]


@pytest.mark.parametrize(("hours", "status"), [(23, "arrived"), (25, "prechecks_passed")])
def test_prechecks_without_a_roster_ask_for_the_next_shift(  # noqa: F811
        client, as_api, clock, world, planned, hours, status):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("arrived")
    unknown = walker.post("/prechecks", {**GOOD_PRECHECKS, "no_shift_in_window": False}).json()
    duty = next(f for f in unknown["prechecks"][-1]["findings"] if f["code"] == "next_duty_shift")
    assert duty["rule"] == "next_shift_required" and unknown["status"] == "arrived"
    # The infusion is expected 08:50-09:30; a shift 23 h later is inside the window, 25 h later is not.
    shift = clock.now + timedelta(minutes=60) + timedelta(hours=hours)
    body = walker.post("/prechecks", {**GOOD_PRECHECKS, "no_shift_in_window": False,
                                      "next_shift_at": shift.isoformat()}).json()
    assert body["status"] == status and body["prechecks"][-1]["next_shift_source"] == "asked"


def test_the_duty_check_runs_again_when_the_pump_starts_late(client, as_api, clock, world, planned):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("arrived")
    shift = clock.now + timedelta(hours=25)  # fine for an infusion ending ~09:30
    walker.post("/prechecks", {**GOOD_PRECHECKS, "no_shift_in_window": False, "next_shift_at": shift.isoformat()})
    walker.to("verified")
    clock.advance(120)  # the start slips by two hours: the infusion would now end within 24 h of the shift
    late = walker.post("/start", expect=422)
    assert _rule(late) == ("next_duty_shift", "duty.no_duty_window_h")
    walker.post("/duty-override", {"reason": "Shift moved to 09:00; patient confirmed"}, role="prescriber")
    assert walker.post("/start").json()["status"] == "infusing"


def test_reschedule_keeps_both_sessions_linked(client, as_api, clock, world, planned, db):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("arrived")
    later = clock.now + timedelta(days=2)
    response = client.post(f"{URL}/{walker.session_id}/reschedule", headers=as_api("coordinator"),
                           json={"chair_id": world.north.chairs[1].id, "start": later.isoformat(),
                                 "reason": "shift tomorrow"})
    assert response.status_code == 201
    new = response.json()
    assert new["rescheduled_from_id"] == walker.session_id and new["status"] == "scheduled"
    old = db.get(InfusionSession, walker.session_id)
    db.refresh(old)
    assert old.status == "aborted" and old.abort_reason.startswith("Rescheduled to")
    taken = client.post(f"{URL}/{new['id']}/reschedule", headers=as_api("coordinator"),
                        json={"chair_id": world.north.chairs[1].id,
                              "start": (clock.now - timedelta(days=3)).isoformat()})
    assert taken.status_code == 422
    db.refresh(db.get(InfusionSession, new["id"]))
    assert db.get(InfusionSession, new["id"]).status == "scheduled"  # a refused reschedule leaves it as it was


def test_arrival_only_on_the_day_and_cancel_only_before_it(client, as_api, clock, world, planned):  # noqa: F811
    booked = _book(client, as_api, world.patient_north.id, world.north.chairs[0].id,
                   clock.now + timedelta(days=1)).json()
    early = client.post(f"{URL}/{booked['id']}/arrive", headers=as_api("nurse"))
    assert early.status_code == 422 and _rule(early) == ("status", "arrive_on_the_day")
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[1].id)
    walker.to("arrived")
    cancel = client.post(f"{URL}/{walker.session_id}/cancel", headers=as_api("coordinator"), json={"reason": "sick"})
    assert cancel.status_code == 409 and _rule(cancel) == ("status", "cancel_before_arrival")


def test_the_day_list_in_the_clinics_time_zone(client, as_api, clock, world, planned):  # noqa: F811
    walker = Walker(client, as_api, clock, world.patient_north, world.north.chairs[0].id)
    walker.to("scheduled")
    day = clock.now.astimezone(CHICAGO).date()
    listed = client.get(f"{URL}?date={day.isoformat()}", headers=as_api("manager")).json()
    assert [s["id"] for s in listed] == [walker.session_id] and listed[0]["chair"] == "Chair 1"
    assert client.get(f"{URL}?date={(day + timedelta(days=1)).isoformat()}", headers=as_api("manager")).json() == []
    assert client.get(f"{URL}?date=tomorrow", headers=as_api("manager")).status_code == 422
    assert isinstance(date.today(), date)
