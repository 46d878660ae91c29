"""Issue 6, end to end in Chromium: a reminder email read from the local SMTP server -> the check-in on a phone ->
the loss-of-response alert appears in the clinic inbox -> a nurse gives it a 10-4.

A firefighter who responded to the course (PCL-5 50 -> 30) and then scored 36 last week checks in again; the reminder
goes out at noon (never at night, never on shift), the link opens the check-in without a password, and a score of 40
is the second one in a row above the response line."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import LiveApp, demo_login, login
from tests.checkins_support import CHICAGO, ctx_for, give_course, pcl5_answers, phq9_answers

from tenfour.accounts.models import User
from tenfour.checkins import repository, service, sweep
from tenfour.clinics.models import Clinic
from tenfour.config import Settings
from tenfour.db import session_scope
from tenfour.patients.models import Patient

pytestmark = pytest.mark.browser


def _patient_with_history(live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A north patient with an account, a course five weeks ago, and two weekly check-ins answered (30, then 36)."""
    email = f"journey.{uuid.uuid4().hex[:8]}@example.org"
    today = datetime.now(UTC).astimezone(CHICAGO).date()
    first = today - timedelta(days=11 + 21)  # the course ends on day 11: its third weekly check-in is due today
    with session_scope(live_app.session_factory) as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        prescriber = db.scalars(select(User).where(User.email == demo_login("prescriber"))).one()
        nurse = db.scalars(select(User).where(User.email == demo_login("nurse"))).one()
        user = User(email=email, full_name="Riley Journey", role="patient", password_hash=None)
        db.add(user)
        db.flush()
        patient = Patient(clinic_id=north.id, record_number=f"TF-J{uuid.uuid4().hex[:6].upper()}", first_name="Riley",
                          last_name="Journey", date_of_birth=datetime(1986, 5, 2).date(), email=email,
                          responder_role="firefighter", status="active", user_id=user.id, is_synthetic=True)
        db.add(patient)
        db.flush()
        course = give_course(db, patient, prescriber, first, offsets=(0, 2, 4, 7, 9, 11))
        from tenfour.checkins import courses
        from tenfour.clinics.service import effective_policy

        synced = courses.sync_patient(db, patient, effective_policy(db, north.id), today, tracking_since=first)
        assert synced is not None
        open_now = repository.open_checkin(db, synced.id, today)
        weekly = [c for c in repository.scheduled_checkins(db, synced.id) if c.kind == "weekly"
                  and open_now is not None and c.due_on < open_now.due_on][-2:]
        assert len(weekly) == 2, "two weekly check-ins before the one due now"
        for row, score in zip(weekly, (30, 36), strict=True):
            monkeypatch.setattr("tenfour.checkins.clock.now", lambda day=row.due_on: datetime.combine(
                day, time(19), tzinfo=CHICAGO).astimezone(UTC))
            service.submit(db, ctx_for(nurse), patient.id, service.Answers(pcl5_answers(score), phq9_answers(5)))
        monkeypatch.undo()
        service.set_warning_signs(db, ctx_for(nurse), patient.id, ["sleep", "irritability"], ["Replaying the call"])
        assert course.patient.id == patient.id
        return email, patient.display_name


def test_reminder_to_check_in_on_a_phone_to_a_nurse_10_4(live_app: LiveApp, phone_page: Page, page: Page, mailbox,
                                                         mail_server, monkeypatch, shot) -> None:  # type: ignore[no-untyped-def]
    email, name = _patient_with_history(live_app, monkeypatch)
    settings = Settings(environment="test", database_url="sqlite://", secret_key="browser-sweep-" + "s" * 32,
                        smtp_host="127.0.0.1", smtp_port=mail_server[1], base_url=live_app.base_url)
    noon = datetime.combine(datetime.now(UTC).astimezone(CHICAGO).date(), time(12), tzinfo=CHICAGO)
    summary = sweep.run(live_app.session_factory, settings, now=noon.astimezone(UTC), trigger="test")
    assert summary.counts["reminders_sent"] >= 1

    # 1. The reminder, from the local SMTP server: a link, never a score.
    (message,) = [m for m in mailbox.to(email) if m["Subject"] == "Your check-in is ready"]
    body = mailbox.body(message)
    link = next(u for u in mailbox.links(message) if "/checkin/" in u)
    assert link.startswith(live_app.base_url) and "PCL" not in body and "score" not in body.lower()

    # 2. The check-in on a phone, straight from the link (no password).
    phone = phone_page
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your check-in")
    expect(phone.get_by_role("link", name="Need help now? Call or text 988")).to_have_attribute("href", "tel:988")
    for number in range(1, 21):
        phone.locator(f"#item-pcl5-q{number} input[value='2']").check()  # 20 x 2 = 40
    for number in range(1, 10):
        phone.locator(f"#item-phq9-q{number} input[value='{0 if number == 9 else 1}']").check()
    expect(phone.locator("#cssrs-section")).to_be_hidden()  # asked only when question 9 is above 0
    phone.get_by_label("Sleep change or nightmares").check()
    expect(phone.locator("[data-answered]")).to_have_text("29")
    shot(phone, "checkin-journey-phone-form")
    phone.get_by_role("button", name="Send my check-in").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("your check-in was received")
    shot(phone, "checkin-journey-phone-done")
    phone.goto(link)  # the link worked once
    expect(phone.get_by_role("heading", level=1)).to_have_text("This check-in link has already been used")

    # 3. The alert in the clinic inbox; 4. a nurse gives it a 10-4.
    login(page, demo_login("nurse"))
    page.goto("/alerts?kind=relapse")
    item = page.locator(".alert-item", has_text=name)
    expect(item).to_contain_text("Loss of response: contact the patient, consider a booster")
    expect(item).to_contain_text("no longer meet the response rule")
    shot(page, "checkin-journey-inbox")
    item.get_by_role("button", name="10-4 · Acknowledge").click()
    acknowledged = page.locator(".alert-item", has_text=name)
    expect(acknowledged).to_contain_text(re.compile(r"10-4 by Jordan Kim, RN at \d\d \w\w\w \d\d:\d\d"))
    shot(page, "checkin-journey-acknowledged")
    page.get_by_role("link", name=name).first.click()
    expect(page.locator("#checkins .state-badge").first).to_have_text("Act: loss of response")
