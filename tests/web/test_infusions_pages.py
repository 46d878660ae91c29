"""The chairside pages: the session screen at every step (labelled, keyboard-usable, errors beside fields), the
board, booking, the discharge sheet and its PDF, and the sections on the patient chart and the patient's own page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from tests import factories
from tests.web.infusion_helpers import (  # noqa: F401
    GOOD_PRECHECKS,
    GOOD_VITALS,
    STEPS,
    Walker,
    clock,
    planned,
    sign_plan,
    walker,
)
from tests.web.support import form_fields, sign_in_browser
from tests.web.test_pages import assert_accessible_page

from tenfour.infusions.models import InfusionSession


def _page(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text[:500]
    return response.text


@pytest.mark.parametrize("step", STEPS)
def test_session_screen_at_each_step(walker, client, db, world, step):  # noqa: F811
    walker.to(step)
    sign_in_browser(client, db, world.user("nurse"))
    html = _page(client, f"/infusions/{walker.session_id}")
    assert_accessible_page(html, step)
    expected = {"scheduled": "The patient has arrived", "arrived": "Record pre-checks",
                "prechecks_passed": "Calculate the dose", "dosed": "A second person verifies the dose",
                "verified": "Start the infusion at 60 mL/h", "infusing": "Infusion complete",
                "recovery": "Discharge", "ready": "Discharge", "discharged": "Print the discharge sheet"}[step]
    assert expected in html


def test_nurse_charts_prechecks_on_the_page_and_sees_errors_beside_fields(walker, client, db, world):  # noqa: F811
    walker.to("arrived")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    url = f"/infusions/{walker.session_id}"
    form = form_fields(_page(client, url), f"{url}/prechecks")
    bad = client.post(f"{url}/prechecks", data={**form, "csrf_token": csrf, "weight_kg": "400", "systolic_bp": "20",
                                                "diastolic_bp": "80", "heart_rate": "70", "spo2": "140"})
    assert bad.status_code == 422
    assert re.search(r'id="e-pc-weight_kg">[^<]*not a plausible weight', bad.text)
    assert re.search(r'id="e-pc-spo2">[^<]*not a plausible value', bad.text)
    assert 'value="400"' in bad.text  # what was typed is kept
    assert db.get(InfusionSession, walker.session_id).status == "arrived"
    good = {**form, "csrf_token": csrf, **{k: str(v) for k, v in GOOD_PRECHECKS.items() if k not in
                                            ("escort_confirmed", "no_shift_in_window")},
            "escort_confirmed": "on", "no_shift_in_window": "on"}
    response = client.post(f"{url}/prechecks", data=good, follow_redirects=True)
    assert response.status_code == 200 and "Pre-checks passed" in response.text
    db.expire_all()
    assert db.get(InfusionSession, walker.session_id).status == "prechecks_passed"


def test_dose_change_by_a_nurse_on_the_page_shows_the_rule(walker, client, db, world):  # noqa: F811
    walker.to("prechecks_passed")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    url = f"/infusions/{walker.session_id}"
    form = form_fields(_page(client, url), f"{url}/dose")
    response = client.post(f"{url}/dose", data={**form, "csrf_token": csrf, "dose_mg_per_kg": "0.7"})
    assert response.status_code == 403
    assert re.search(r'id="e-dose-dose_mg_per_kg">[^<]*needs a prescriber', response.text)


def test_stop_level_reading_on_the_page_asks_for_actions(walker, client, db, world, clock):  # noqa: F811
    walker.to("infusing")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    url = f"/infusions/{walker.session_id}"
    clock.advance(10)
    response = client.post(f"{url}/vitals", data={"csrf_token": csrf, "systolic_bp": "206", "diastolic_bp": "100",
                                                  "heart_rate": "96", "spo2": "97", "sedation": "alert"},
                           follow_redirects=True)
    assert "STOP level" in response.text
    assert "Needs attention now" in response.text and "Record actions" in response.text
    assert 'class="urgent-banner"' in response.text  # the clinic-wide banner
    reading = re.search(rf'action="{url}/vitals/(\d+)/actions"', response.text)
    assert reading
    done = client.post(f"{url}/vitals/{reading.group(1)}/actions",
                       data={"csrf_token": csrf, "actions": ["stopped", "prescriber_called"]}, follow_redirects=True)
    assert "Recovery" in done.text and "Needs attention now" not in done.text


def test_board_shows_chairs_phase_time_left_and_quick_vitals(walker, client, db, world, clock):  # noqa: F811
    walker.to("infusing")
    other = factories.make_patient(db, world.north, first_name="Quinn", last_name="Booked")
    sign_plan(db, other, world.user("prescriber").id)
    db.commit()
    second = Walker(walker.client, walker.as_api, clock, other, world.north.chairs[1].id)
    second.to("scheduled")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    html = _page(client, "/chairside")
    assert_accessible_page(html, "/chairside")
    assert "Nora N." in html and "Quinn B." in html  # first name and initial across a room
    assert "North" not in re.sub(r"North Test Clinic", "", html)  # no full surname on the board
    assert "Infusing" in html and "min left" in html and "Vitals due" in html
    fragment = client.get("/chairside", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "chair-card" in fragment.text
    clock.advance(12)
    assert "Vitals OVERDUE 2 min" in _page(client, "/chairside")
    response = client.post(f"/infusions/{walker.session_id}/vitals",
                           data={"csrf_token": csrf, "return_to": "board", "chair_id": str(world.north.chairs[0].id),
                                 "systolic_bp": "140", "diastolic_bp": "88", "heart_rate": "84", "spo2": "97"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/chairside")
    assert "Vitals OVERDUE" not in _page(client, "/chairside")


def test_board_of_another_day_and_a_day_without_sessions(client, db, world, clock):  # noqa: F811
    sign_in_browser(client, db, world.user("prescriber"))
    html = _page(client, "/chairside?day=2026-01-01")
    assert "Free" in html and "Thursday 01 January" in html
    assert client.get("/chairside?day=not-a-date").status_code == 422


def test_booking_page_books_and_refuses_a_taken_chair(client, db, world, planned, clock):  # noqa: F811
    csrf = sign_in_browser(client, db, world.user("coordinator"))
    html = _page(client, f"/chairside/book?patient_id={world.patient_north.id}")
    assert_accessible_page(html, "/chairside/book")
    day = clock.now.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago")).date().isoformat()
    data = {"csrf_token": csrf, "patient_id": str(world.patient_north.id), "chair_id": str(world.north.chairs[0].id),
            "date": day, "time": "09:00"}
    response = client.post("/chairside/book", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/patients/{world.patient_north.id}"
    other = factories.make_patient(db, world.north, first_name="Olive")
    sign_plan(db, other, world.user("prescriber").id)
    db.commit()
    taken = client.post("/chairside/book", data={**data, "patient_id": str(other.id), "time": "09:30"})
    assert taken.status_code == 409 and "already booked" in taken.text
    closed = client.post("/chairside/book", data={**data, "patient_id": str(other.id), "time": "17:30"})
    assert closed.status_code == 422 and "opening hours" in closed.text
    assert db.scalar(select(InfusionSession).where(InfusionSession.patient_id == other.id)) is None


def test_discharge_sheet_page_and_pdf(walker, client, db, world):  # noqa: F811
    walker.to("discharged")
    sign_in_browser(client, db, world.user("nurse"))
    html = _page(client, f"/infusions/{walker.session_id}/discharge-sheet")
    assert_accessible_page(html, "sheet")
    assert "No duty shift before" in html and "No driving before" in html and "988" in html
    pdf = client.get(f"/infusions/{walker.session_id}/discharge-sheet.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_discharge_sheet_before_discharge_is_404(walker, client, db, world):  # noqa: F811
    walker.to("recovery")
    sign_in_browser(client, db, world.user("nurse"))
    assert client.get(f"/infusions/{walker.session_id}/discharge-sheet").status_code == 404
    assert client.get(f"/infusions/{walker.session_id}/discharge-sheet.pdf").status_code == 404


def test_chart_panel_and_patients_own_page(walker, client, db, world):  # noqa: F811
    walker.to("discharged")
    sign_in_browser(client, db, world.user("coordinator"))
    html = _page(client, f"/patients/{world.patient_north.id}")
    assert 'id="h-infusions"' in html and "Discharged" in html and "Book a chair" in html
    client.cookies.clear()
    sign_in_browser(client, db, world.patient_user)
    own = _page(client, "/me")
    assert "Your infusions" in own


def test_a_failed_round_of_prechecks_prefills_the_next(walker, client, db, world):  # noqa: F811
    walker.to("arrived")
    walker.post("/prechecks", {**GOOD_PRECHECKS, "escort_confirmed": False})
    sign_in_browser(client, db, world.user("nurse"))
    html = _page(client, f"/infusions/{walker.session_id}")
    assert "not passed" in html and "Confirm a responsible adult" in html
    fields = form_fields(html, f"/infusions/{walker.session_id}/prechecks")
    assert (fields["weight_kg"], fields["systolic_bp"], fields["fasting_hours"]) == ("80", "128", "6")
    assert "escort_confirmed" not in fields and fields["no_shift_in_window"] == "on"


def test_infusion_times_are_drawn_on_the_score_charts(walker, db, world):  # noqa: F811
    from tenfour.web.panels import treatment_times

    body = walker.to("infusing")
    started = datetime.fromisoformat(body["infusion_started_at"])
    assert treatment_times(db, world.patient_north.id) == [started]


def test_pump_form_refuses_a_rate_that_is_not_a_number(walker, client, db, world):  # noqa: F811
    walker.to("infusing")
    csrf = sign_in_browser(client, db, world.user("nurse"))
    for rate in ("NaN", "fast", "1e40"):
        response = client.post(f"/infusions/{walker.session_id}/pump",
                               data={"csrf_token": csrf, "action": "rate", "rate_ml_per_h": rate})
        assert response.status_code == 422, rate
    assert walker.post("/pump", {"action": "pause"}).status_code == 200  # nothing changed the pump meanwhile
