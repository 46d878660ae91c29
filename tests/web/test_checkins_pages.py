"""The check-in pages: the patient's check-in (errors beside the questions, answers kept, stored once), the crisis box
and the C-SSRS follow-up, the patient's own view and reminder choices, the chart panel, warning signs, a phone
check-in entered by staff, the clinic's board and booster proposals, the on-call list on the clinic settings, and the
alert inbox with its filters, who gave the 10-4 and escalation."""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta

from sqlalchemy import select
from tests.checkins_support import (
    CSSRS_LOW,
    ctx_for,
    pcl5_answers,
    phq9_answers,
)
from tests.web.support import (  # noqa: F401 - one app per module
    app,
    csrf_on,
    error_beside,
    form_fields,
    module_app,
    sign_in_browser,
)

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, Severity
from tenfour.checkins import repository
from tenfour.checkins.models import BoosterProposal, BoosterRequest, CheckinPreference


def filled(html: str, action: str, pcl5: int = 30, item9: int = 0, cssrs=None) -> dict:  # type: ignore[no-untyped-def]
    data = dict(form_fields(html, action))
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(pcl5).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, item9).items()})
    data.update({f"cssrs-{k}": str(v) for k, v in (cssrs or {}).items()})
    return data


def test_a_patient_checks_in_on_the_page_once(client, db, world, course) -> None:
    sign_in_browser(client, db, world.patient_user)
    page = client.get("/me/checkin")
    assert page.status_code == 200
    assert 'href="tel:988"' in page.text and 'name="submission_key"' in page.text
    assert 'src="/static/js/checkins.js"' in page.text and "<script>" not in page.text
    data = filled(page.text, "/me/checkin")
    done = client.post("/me/checkin", data=data, follow_redirects=False)
    assert done.status_code == 303 and re.fullmatch(r"/me/checkin/\d+/done", done.headers["location"])
    thanks = client.get(done.headers["location"])
    assert "your check-in was received" in thanks.text and "Your next check-in is due" in thanks.text
    twice = client.post("/me/checkin", data=data, follow_redirects=False)  # the same form again
    assert twice.headers["location"] == done.headers["location"]
    db.expire_all()
    assert len(repository.patient_checkins(db, world.patient_north.id, ["completed"])) == 1


def test_missing_answers_are_named_beside_the_question_and_kept(client, db, world, course) -> None:
    sign_in_browser(client, db, world.patient_user)
    data = filled(client.get("/me/checkin").text, "/me/checkin")
    del data["pcl5-q3"]
    data["phq9-q2"] = "9"
    response = client.post("/me/checkin", data=data)
    assert response.status_code == 422
    assert error_beside(response.text, "pcl5-q3") == "must be answered"
    assert error_beside(response.text, "phq9-q2").startswith("must be one of 0, 1, 2, 3")
    assert 'href="#item-pcl5-q3">Stress question 3</a>' in response.text
    assert re.search(r'name="pcl5-q4" value="\d"[^>]* checked', response.text)  # the other answers are kept
    assert repository.patient_checkins(db, world.patient_north.id, ["completed"]) == []


def test_a_suicide_risk_answer_shows_crisis_help_and_asks_the_safety_questions(client, db, world, course) -> None:
    sign_in_browser(client, db, world.patient_user)
    data = filled(client.get("/me/checkin").text, "/me/checkin", item9=2)
    done = client.post("/me/checkin", data=data)
    assert done.status_code == 200
    assert "You don't have to carry this alone" in done.text and 'href="tel:988"' in done.text
    assert "A few more questions about safety" in done.text
    action = re.search(r'action="(/me/checkin/\d+/cssrs)"', done.text).group(1)
    answered = client.post(action, data={"csrf_token": csrf_on(done.text),
                                         **{f"cssrs-{k}": str(v) for k, v in CSSRS_LOW.items()}})
    assert answered.status_code == 200 and "A few more questions about safety" not in answered.text
    db.expire_all()
    row = repository.patient_checkins(db, world.patient_north.id, ["completed"])[0]
    assert (row.phq9_item9, row.cssrs_risk) == (2, "low")
    kinds = [a.kind for a in db.scalars(select(Alert).where(Alert.patient_id == world.patient_north.id))]
    assert kinds == ["suicidal_ideation"]


def test_safety_answers_given_with_question_9_at_0_are_set_aside(client, db, world, course) -> None:
    sign_in_browser(client, db, world.patient_user)
    data = filled(client.get("/me/checkin").text, "/me/checkin", cssrs={"q1": 1, "q2": 0, "q6": 0})
    assert client.post("/me/checkin", data=data, follow_redirects=False).status_code == 303
    row = repository.patient_checkins(db, world.patient_north.id, ["completed"])[0]
    assert row.cssrs_assessment_id is None and row.cssrs_risk is None


def test_the_patients_own_view_and_reminder_choices(client, db, world, course) -> None:
    nurse = ctx_for(world.user("nurse"))
    from tenfour.checkins import service

    service.set_warning_signs(db, nurse, world.patient_north.id, ["sleep", "withdrawal"], ["Radio chatter"])
    db.commit()
    sign_in_browser(client, db, world.patient_user)
    page = client.get("/me/checkins")
    assert page.status_code == 200
    for text in ("A check-in is waiting for you", "Before treatment", "35 or lower", "Sleep change or nightmares",
                 "Radio chatter", "not asked yet", "What happens next", "never while you are on shift"):
        assert text in page.text, text
    svg = client.get("/me/checkins/trajectory.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    token = csrf_on(page.text)
    night = client.post("/me/checkins/preferences", data={"csrf_token": token, "reminder_hour": "23",
                                                          "reminders_enabled": "on"})
    assert night.status_code == 422 and error_beside(night.text, "reminder_hour").startswith("must be outside")
    saved = client.post("/me/checkins/preferences", data={"csrf_token": token, "reminder_hour": "18"},
                        follow_redirects=False)
    assert saved.status_code == 303
    pref = db.scalars(select(CheckinPreference)).one()
    assert (pref.reminder_hour, pref.reminders_enabled) == (18, False)
    home = client.get("/me")
    assert "Check in now" in home.text and 'href="/me/checkins"' in home.text


def test_the_chart_panel_shows_the_state_with_every_reason(client, db, world, course) -> None:
    sign_in_browser(client, db, world.patient_user)
    client.post("/me/checkin", data=filled(client.get("/me/checkin").text, "/me/checkin", pcl5=44))
    client.cookies.clear()
    sign_in_browser(client, db, world.user("prescriber"))
    page = client.get(f"/patients/{world.patient_north.id}")
    assert page.status_code == 200
    assert "Check-ins and relapse early warning" in page.text
    assert "Baseline PCL-5" in page.text and "35 or below" in page.text
    evaluation = repository.evaluation(db, world.patient_north.id)
    assert evaluation is not None
    for reason in evaluation.reasons:
        assert reason["rule"] in page.text
    assert f'src="/patients/{world.patient_north.id}/checkins/trajectory.svg"' in page.text
    assert client.get(f"/patients/{world.patient_north.id}/checkins/trajectory.svg").status_code == 200


def test_warning_signs_are_chosen_on_the_chart(client, db, world, course) -> None:
    token = sign_in_browser(client, db, world.user("nurse"))
    response = client.post(f"/patients/{world.patient_north.id}/checkins/warning-signs", follow_redirects=False,
                           data={"csrf_token": token, "codes": ["sleep", "hopelessness"],
                                 "own_words": "Snapping at the kids\n\n"})
    assert response.status_code == 303
    labels = [s.label for s in repository.warning_signs(db, world.patient_north.id)]
    assert labels == ["Sleep change or nightmares", "Feeling hopeless", "Snapping at the kids"]
    bad = client.post(f"/patients/{world.patient_north.id}/checkins/warning-signs", follow_redirects=False,
                      data={"csrf_token": token, "codes": ["nope"]})
    assert bad.status_code == 303 and len(repository.warning_signs(db, world.patient_north.id)) == 3


def test_staff_enter_a_check_in_taken_by_phone(client, db, world, course) -> None:
    sign_in_browser(client, db, world.user("nurse"))
    action = f"/patients/{world.patient_north.id}/checkins/enter"
    page = client.get(action)
    assert page.status_code == 200 and 'name="completed_at"' in page.text
    data = filled(page.text, action)
    data["completed_at"] = "2999-01-01T10:00"
    future = client.post(action, data=data)
    assert future.status_code == 422 and error_beside(future.text, "completed_at") == "cannot be in the future"
    data["completed_at"] = ""
    saved = client.post(action, data=data, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("#checkins")
    row = repository.patient_checkins(db, world.patient_north.id, ["completed"])[0]
    assert (row.entered_by, row.via) == ("staff", "staff")


def test_the_clinic_board_and_booster_proposals(client, db, world, course) -> None:
    proposal = BoosterProposal(clinic_id=world.north.id, patient_id=world.patient_north.id,
                               window_start=date.today() + timedelta(days=20),
                               window_end=date.today() + timedelta(days=27), latest_treatment_end=date.today(),
                               median_durability_days=36, n_episodes=1, n_censored=0,
                               explanation="Median durability 36 days from 1 observed loss of response (36 days).")
    db.add(proposal)
    db.commit()
    sign_in_browser(client, db, world.user("nurse"))
    board = client.get("/checkins")
    assert board.status_code == 200 and "Booster proposals (1)" in board.text
    boosters_page = client.get("/checkins/boosters")
    assert "Median durability 36 days" in boosters_page.text and "A prescriber decides." in boosters_page.text
    client.cookies.clear()
    token = sign_in_browser(client, db, world.user("prescriber"))
    accepted = client.post(f"/checkins/boosters/{proposal.id}/accept", data={"csrf_token": token},
                           follow_redirects=False)
    assert accepted.status_code == 303
    request = db.scalars(select(BoosterRequest)).one()
    assert (request.priority, request.window_start) == ("normal", proposal.window_start)
    assert "normal" in client.get("/checkins/boosters").text


def test_admins_set_the_on_call_list_on_the_clinic_settings(client, db, world) -> None:
    sign_in_browser(client, db, world.user("admin"))
    path = f"/admin/clinics/{world.north.id}"
    form = dict(form_fields(client.get(path).text, path))
    assert "on_call_emails" in form
    bad = client.post(path, data={**form, "on_call_emails": "charge.nurse@north.example, not an address"})
    assert bad.status_code == 422
    assert error_beside(bad.text, "on_call_emails") == "'not an address' is not an email address"
    good = client.post(path, data={**form, "on_call_emails": "Charge.Nurse@north.example\noncall@north.example"},
                       follow_redirects=False)
    assert good.status_code == 303
    db.expire_all()
    assert world.north.on_call_emails == "charge.nurse@north.example, oncall@north.example"


def test_the_inbox_filters_and_shows_who_acknowledged_and_escalation(client, db, world) -> None:
    nurse = world.user("nurse")
    urgent = alerts.raise_alert(db, ctx_for(nurse), clinic_id=world.north.id, patient_id=world.patient_north.id,
                                severity=Severity.URGENT, kind="suicidal_ideation", title="Item 9 above 0",
                                reasons=[{"rule": "phq9_item9", "message": "PHQ-9 item 9 = 1"}])
    watch = alerts.raise_alert(db, ctx_for(nurse), clinic_id=world.north.id, patient_id=world.patient_north.id,
                               severity=Severity.WATCH, kind="relapse", title="Early warning",
                               reasons=[{"rule": "watch_overdue", "message": "Check-in 5 days overdue"}])
    alerts.acknowledge(db, ctx_for(nurse), watch.id)
    db.commit()
    sign_in_browser(client, db, world.user("prescriber"))
    everything = client.get("/alerts")
    assert "no 10-4 yet: escalates at" in everything.text
    assert 'name="return_to" value="/alerts"' in everything.text
    assert f"10-4 by {nurse.full_name}" in everything.text
    assert "no on-call list is set" in everything.text
    only_urgent = client.get("/alerts?severity=urgent").text
    assert "Item 9 above 0" in only_urgent and "Early warning" not in only_urgent
    waiting = client.get("/alerts?status=unacknowledged").text
    assert "Item 9 above 0" in waiting and "Early warning" not in waiting
    relapse = client.get("/alerts?kind=relapse").text
    assert "Early warning" in relapse and "Item 9 above 0" not in relapse
    assert client.get("/alerts?status=bogus&severity=bogus").status_code == 200  # unknown filters fall back
    back = client.post(f"/alerts/{urgent.id}/acknowledge", follow_redirects=False,
                       data={"csrf_token": csrf_on(only_urgent), "return_to": "/alerts?severity=urgent"})
    assert back.status_code == 303 and back.headers["location"] == "/alerts?severity=urgent"
    elsewhere = client.post(f"/alerts/{urgent.id}/acknowledge", follow_redirects=False,
                            data={"csrf_token": csrf_on(only_urgent), "return_to": "//evil.example/alerts"})
    assert elsewhere.headers["location"] == "/alerts"
    api = client.get("/api/v1/alerts?status=acknowledged",
                     headers={"Authorization": "Bearer x"})
    assert api.status_code == 401
    alerts.resolve(db, ctx_for(nurse), watch.id, "called", None)
    db.commit()
    resolved = client.get("/alerts?status=resolved").text
    assert f"resolved by {nurse.full_name}" in resolved and "Called the patient" in resolved
    db.expire_all()
    assert db.get(Alert, urgent.id).resolved_at is None and db.get(Alert, urgent.id).acknowledged_at is not None


def test_the_inbox_api_filters_and_explains(client, as_api, db, world) -> None:
    urgent = alerts.raise_alert(db, ctx_for(world.user("nurse")), clinic_id=world.north.id,
                                patient_id=world.patient_north.id, severity=Severity.URGENT,
                                kind="suicidal_ideation", title="Item 9 above 0", reasons=[])
    db.commit()
    rows = client.get("/api/v1/alerts?severity=urgent", headers=as_api("nurse")).json()
    assert [r["id"] for r in rows] == [urgent.id]
    assert rows[0]["escalation"]["state"] == "waiting" and rows[0]["acknowledged_by_name"] is None
    assert rows[0]["patient_name"] == world.patient_north.display_name and rows[0]["open_minutes"] >= 0
    client.post(f"/api/v1/alerts/{urgent.id}/acknowledge", headers=as_api("nurse"))
    rows = client.get("/api/v1/alerts?status=acknowledged", headers=as_api("nurse")).json()
    assert rows[0]["acknowledged_by_name"] == world.user("nurse").full_name
    assert rows[0]["escalation"]["state"] == "acknowledged"
    assert client.get("/api/v1/alerts?severity=loud", headers=as_api("nurse")).status_code == 422
    assert client.get("/api/v1/alerts", headers=as_api("nurse", "south-test")).json() == []


def test_a_big_clinics_board_lists_the_most_recent_changes_with_every_total(client, db, world,  # type: ignore[no-untyped-def]
                                                                             monkeypatch) -> None:
    from datetime import datetime as dt

    from tests import factories

    from tenfour.checkins import views
    from tenfour.checkins.models import RelapseEvaluation

    monkeypatch.setattr(views, "BOARD_ROWS", 2)
    made = []
    for n, state in enumerate(["watch", "watch", "watch", "stable", "stable"]):
        patient = factories.make_patient(db, world.north, first_name=f"Board{n}", last_name="Patient")
        db.flush()
        db.add(RelapseEvaluation(clinic_id=world.north.id, patient_id=patient.id, state=state, reasons=[],
                                 as_of=date.today(), fingerprint=f"f{n}",
                                 state_since=dt(2026, 11, 1 + n, 12, tzinfo=UTC)))
        made.append(patient)
    db.commit()
    sign_in_browser(client, db, world.user("nurse"))
    page = client.get("/checkins").text
    assert "The 2 most recent changes of 3" in page
    assert "Board2" in page and "Board1" in page and "Board0" not in page  # most recent first; the oldest left out
    assert "Board3" not in page and "Board4" not in page  # stable patients are counted, not listed
    stats = dict(re.findall(r'<span class="stat-value">(\d+)</span><span class="stat-label">([^<]+)</span>', page))
    assert stats["3"] == "watch" and stats["2"] == "stable"
