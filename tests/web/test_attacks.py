"""Tried as an attacker would, where no other test already proves it (docs/reliability.md lists every attack and the
test that refuses it): a script tag in every free-text field of a referral, a patient record, a check-in, warning
signs in the patient's own words, an alert's resolution note and the intake renders as text on every page that
shows it; a used invitation and a used check-in link cannot be used again."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from tests.checkins_support import (
    CSSRS_LOW,
    pcl5_answers,
    phq9_answers,
)
from tests.web.support import form_fields, sign_in_browser
from tests.web.test_intake import ABOUT, WORK, accept, do_steps, invited, post_step  # noqa: F401 - its fixture

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert
from tenfour.checkins import reminders
from tenfour.checkins.models import CheckIn
from tenfour.links import service as links

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_inert(html: str, page: str, times: int = 1) -> None:
    """The script tag is shown as text (escaped), never as markup; the page holds no inline script at all."""
    assert "<script>alert" not in html, f"{page}: a script tag from user input is live"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"{page}: inline script"
    assert html.count(ESCAPED) >= times, f"{page}: the text was expected {times}x, escaped ({html.count(ESCAPED)})"


def staff_pages(client, db, user, pages: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    sign_in_browser(client, db, user)
    for path, times in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_inert(response.text, path, times)




def test_a_referral_with_a_script_in_every_field_is_text_on_every_staff_page(client, db, world, as_api) -> None:  # type: ignore[no-untyped-def]
    fields = ("referrer_name", "referrer_contact", "first_name", "last_name", "contact_times", "agency", "reason")
    body = {"referrer_relation": "colleague", "preferred_contact": "text", "phone": "(555) 010-2233",
            "responder_role": "firefighter", "consent_to_contact": True, "clinic": "north-test",
            **dict.fromkeys(fields, SCRIPT)}
    assert client.post("/api/v1/referrals", json=body).status_code == 201
    coordinator = as_api("coordinator")
    [referral] = client.get("/api/v1/referrals", headers=coordinator).json()["items"]
    url = f"/api/v1/referrals/{referral['id']}"
    assert client.post(f"{url}/notes", json={"note": SCRIPT}, headers=coordinator).status_code == 200
    changed = client.post(f"{url}/status", json={"status": "contacted", "note": SCRIPT}, headers=coordinator)
    assert changed.status_code == 200, changed.text
    made = client.post(f"{url}/patient", json={"date_of_birth": "1985-04-12"}, headers=coordinator)
    assert made.status_code == 201, made.text
    patient_id = made.json()["patient_id"]
    staff_pages(client, db, world.user("coordinator"), {
        "/referrals": 1, f"/referrals/{referral['id']}": len(fields) + 2,
        f"/patients/{patient_id}": 1, "/patients": 1})


def test_a_patient_record_with_a_script_in_every_free_text_field_is_text_everywhere(client, db, world,
                                                                                    as_api) -> None:  # type: ignore[no-untyped-def]
    fields = ("first_name", "last_name", "preferred_name", "contact_times", "agency", "notes")
    patient = world.patient_north
    changed = client.patch(f"/api/v1/patients/{patient.id}", json=dict.fromkeys(fields, SCRIPT),
                           headers=as_api("coordinator"))
    assert changed.status_code == 200, changed.text
    staff_pages(client, db, world.user("nurse"), {"/patients": 1, f"/patients/{patient.id}": 3,
                                                  f"/patients/{patient.id}/edit": len(fields)})
    client.cookies.clear()
    sign_in_browser(client, db, world.patient_user)
    page = client.get("/me")
    assert page.status_code == 200
    assert "<script>alert" not in page.text


def test_checkin_notes_own_words_and_alert_notes_with_a_script_are_text(client, db, world, as_api, course) -> None:  # type: ignore[no-untyped-def]
    patient = world.patient_north
    signs = client.put(f"/api/v1/patients/{patient.id}/warning-signs", json={"own_words": [SCRIPT]},
                       headers=as_api("nurse"))
    assert signs.status_code == 200, signs.text
    [own_sign] = [s["id"] for s in signs.json() if s["own_words"] and s["label"] == SCRIPT]
    answers = {"pcl5": pcl5_answers(30), "phq9": phq9_answers(6, 1), "cssrs": CSSRS_LOW}
    sent = client.post(f"/api/v1/patients/{patient.id}/checkins", headers=as_api("patient"),
                       json={"answers": answers, "note": SCRIPT, "warning_signs": [own_sign]})
    assert sent.status_code == 201, sent.text
    [alert_id, *_] = sent.json()["alerts_raised"]
    nurse = as_api("nurse")
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=nurse).status_code == 200
    resolved = client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"resolution": "called", "note": SCRIPT},
                           headers=nurse)
    assert resolved.status_code == 200, resolved.text
    db.expire_all()
    assert db.get(Alert, alert_id).resolution_note == SCRIPT  # stored as typed; escaped only when shown
    staff_pages(client, db, world.user("nurse"), {f"/patients/{patient.id}": 3, "/alerts?status=resolved": 1})
    client.cookies.clear()
    sign_in_browser(client, db, world.patient_user)
    assert_inert(client.get("/me/checkin").text, "/me/checkin")


def test_intake_free_text_with_a_script_is_text_for_the_patient_and_the_staff(client, invited, db, world) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    patient, link = invited
    token = accept(client, link)
    do_steps(client, token, health={"conditions": [], "medications": [], "reviewed": "true",
                                    "other_medications": SCRIPT, "health_notes": SCRIPT})
    assert post_step(client, token, "/me/intake/about", {**ABOUT, "contact_times": SCRIPT}).status_code == 303
    assert post_step(client, token, "/me/intake/work", {**WORK, "agency": SCRIPT}).status_code == 303
    assert_inert(client.get("/me/intake/review").text, "/me/intake/review", 4)
    staff_pages(client, db, world.user("prescriber"), {f"/patients/{patient.id}": 2})


# --- Links used twice ------------------------------------------------------------------------------------------


def test_a_used_invitation_cannot_set_a_password_again(client, invited, db) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    patient, link = invited
    path = link.removeprefix("http://testserver")
    accept(client, link)
    db.expire_all()
    first_hash = db.scalar(select(User.password_hash).where(User.email == patient.email))
    client.cookies.clear()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    again = client.post(path, data={"csrf_token": token, "password": "a brand new takeover phrase",
                                    "password_confirm": "a brand new takeover phrase"}, follow_redirects=False)
    assert again.status_code == 410 and "already been used" in again.text
    db.expire_all()
    assert db.scalar(select(User.password_hash).where(User.email == patient.email)) == first_hash


def test_a_used_checkin_link_cannot_send_another_checkin(client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    token, _ = links.issue(db, purpose=reminders.LINK_PURPOSE, ttl=timedelta(hours=12),
                           patient_id=world.patient_north.id)
    db.commit()
    data = form_fields(client.get(f"/checkin/{token}").text, f"/checkin/{token}")
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    assert client.post(f"/checkin/{token}", data=data, follow_redirects=False).status_code == 303
    # Replayed with a new submission (new keys, other answers), as someone who kept the link would.
    replay = {**data, "idempotency_key": "replayed-link-0001", "submission_key": "replayed-link-0001",
              **{f"pcl5-{k}": str(v) for k, v in pcl5_answers(12).items()}}
    again = client.post(f"/checkin/{token}", data=replay, follow_redirects=False)
    assert again.status_code == 410 and "already been used" in again.text
    assert client.get(f"/checkin/{token}").status_code == 410
    db.expire_all()
    completed = db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "completed"))
    assert completed == 1
