"""Reminders through the real local SMTP server: the chosen hour, never at night, never on shift, one a day; the link
is single-use, expires, and is replaced by a newer reminder; the email carries a link and never a score."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.checkins_support import (  # noqa: F401 - the clock fixture
    CHICAGO,
    Clock,
    Course,
    clock,
    give_course,
    monday_weeks_ago,
    pcl5_answers,
    phq9_answers,
    sync,
)

from tenfour.checkins import repository, sweep
from tenfour.checkins.models import CheckinPreference, CheckinReminder
from tenfour.core import rosters
from tenfour.links.models import AccessLink
from tenfour.patients.rosters import roster_for


@pytest.fixture
def course(db: Session, world, clock: Clock) -> Course:  # type: ignore[no-untyped-def]  # noqa: F811
    patient = world.patient_north
    patient.email = "nora.north@example.org"
    first = monday_weeks_ago(3)
    made = give_course(db, patient, world.user("prescriber"), first)
    clock.at(first - timedelta(days=1))
    sync(db, made, first - timedelta(days=1))
    db.commit()
    return made


def first_due(db: Session, course: Course):  # type: ignore[no-untyped-def]
    rows = sorted((c for c in repository.scheduled_checkins(db, course.course.id) if c.status == "pending"),  # type: ignore[union-attr]
                  key=lambda c: c.due_on)
    return rows[0]


def light_sweep(session_factory, settings, clock: Clock, day, hour: int, minute: int = 0):  # type: ignore[no-untyped-def]  # noqa: F811
    clock.at(day, hour, minute)
    return sweep.run(session_factory, settings, now=clock.now, full=False, trigger="test")


def reminders_to(mailbox, address: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in mailbox.to(address) if m["Subject"] == "Your check-in is ready"]


def test_sent_at_the_default_hour_and_never_at_night(db, session_factory, settings, mailbox, clock, course) -> None:  # noqa: F811
    due = next(c.due_on for c in repository.scheduled_checkins(db, course.course.id) if c.kind == "weekly")  # type: ignore[union-attr]
    assert light_sweep(session_factory, settings, clock, due, 9, 59).reminders_waiting == {"before_chosen_hour": 1}
    assert reminders_to(mailbox, "nora.north@example.org") == []
    summary = light_sweep(session_factory, settings, clock, due, 10, 0)
    assert summary.counts["reminders_sent"] == 1
    (message,) = reminders_to(mailbox, "nora.north@example.org")
    body = mailbox.body(message)
    assert re.search(r"http://testserver/checkin/[A-Za-z0-9_-]{40,}", body)
    assert "PCL" not in body and "score" not in body.lower() and "ketamine" not in body.lower()
    # The same day: one a day. That night: quiet hours. The next morning at 07:30: still night, then before 10.
    assert light_sweep(session_factory, settings, clock, due, 15).reminders_waiting == {"sent_today": 1}
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=1), 7, 30).counts["reminders_sent"] == 0
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=1), 10).counts["reminders_sent"] == 1
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=2), 10).reminders_waiting == {
        "all_sent": 1}
    assert len(reminders_to(mailbox, "nora.north@example.org")) == 2


def test_the_chosen_hour_and_quiet_hours(db, session_factory, settings, mailbox, clock, course) -> None:  # noqa: F811
    db.add(CheckinPreference(patient_id=course.patient.id, reminder_hour=20))
    db.commit()
    due = first_due(db, course).due_on
    assert light_sweep(session_factory, settings, clock, due, 19, 59).reminders_waiting == {"before_chosen_hour": 1}
    assert light_sweep(session_factory, settings, clock, due, 21, 0).reminders_waiting == {"quiet_hours": 1}
    assert reminders_to(mailbox, "nora.north@example.org") == []
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=1), 20, 15).counts["reminders_sent"] == 1


def test_never_while_on_a_duty_shift(db, session_factory, settings, mailbox, clock, course) -> None:  # noqa: F811
    due = first_due(db, course).due_on
    patient = course.patient
    patient.roster_pattern, patient.roster_anchor_date, patient.roster_shift_start = "24/48", due, time(7, 0)
    patient.roster_platoon = "A"
    db.commit()
    roster = roster_for(patient, "America/Chicago")
    assert roster is not None and rosters.is_on_duty(roster, datetime.combine(due, time(12), tzinfo=CHICAGO))
    assert light_sweep(session_factory, settings, clock, due, 12).reminders_waiting == {"on_shift": 1}
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=1), 6, 59).counts["reminders_sent"] == 0
    # Off at 07:00 the next morning; the reminder waits for the hour (10:00) and goes then.
    assert light_sweep(session_factory, settings, clock, due + timedelta(days=1), 10).counts["reminders_sent"] == 1
    assert len(reminders_to(mailbox, "nora.north@example.org")) == 1


def test_no_reminder_without_an_account_or_when_turned_off(db, session_factory, settings, mailbox, clock,  # noqa: F811
                                                           course) -> None:
    db.add(CheckinPreference(patient_id=course.patient.id, reminders_enabled=False))
    db.commit()
    due = first_due(db, course).due_on
    assert light_sweep(session_factory, settings, clock, due, 12).reminders_waiting == {"turned_off": 1}
    course.patient.user_id = None
    db.commit()
    assert light_sweep(session_factory, settings, clock, due, 13).reminders_waiting == {"no_account": 1}
    assert reminders_to(mailbox, "nora.north@example.org") == []


def _link_path(mailbox, message) -> str:  # type: ignore[no-untyped-def]
    url = next(u for u in mailbox.links(message) if "/checkin/" in u)
    return url.removeprefix("http://testserver")


def _form(client, path: str) -> dict:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.text[:400]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    nonce = re.search(r'name="submission_key" value="([^"]+)"', page.text).group(1)
    data = {"csrf_token": token, "submission_key": nonce}
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(5).items()})
    return data


def test_the_link_works_once(db, client, session_factory, settings, mailbox, clock, course) -> None:  # noqa: F811
    due = first_due(db, course)
    light_sweep(session_factory, settings, clock, due.due_on, 10)
    path = _link_path(mailbox, reminders_to(mailbox, "nora.north@example.org")[0])
    clock.at(due.due_on, 11)  # the patient opens it an hour later
    data = _form(client, path)
    answered = client.post(path, data=data, follow_redirects=False)
    assert answered.status_code == 303 and answered.headers["location"].startswith("/checkin/done/")
    done = client.get(answered.headers["location"])
    assert done.status_code == 200 and "your check-in was received" in done.text
    again = client.get(path)
    assert again.status_code == 410 and "already been used" in again.text
    # The same form sent twice (a double tap): the first check-in, stored once.
    twice = client.post(path, data=data, follow_redirects=False)
    assert twice.status_code == 303 and twice.headers["location"].split("/")[-1].split(".")[0] == str(due.id)
    db.expire_all()
    assert [c.id for c in repository.patient_checkins(db, course.patient.id, ["completed"])] == [due.id]


def test_an_expired_or_replaced_link_is_refused(db, client, session_factory, settings, mailbox, clock,  # noqa: F811
                                                course) -> None:
    due = first_due(db, course).due_on
    light_sweep(session_factory, settings, clock, due, 10)
    light_sweep(session_factory, settings, clock, due + timedelta(days=1), 10)
    first, second = (_link_path(mailbox, m) for m in reminders_to(mailbox, "nora.north@example.org"))
    clock.at(due + timedelta(days=1), 11)
    replaced = client.get(first)
    assert replaced.status_code == 410 and "replaced by a newer one" in replaced.text
    assert client.get(second).status_code == 200
    link_id = db.scalars(select(CheckinReminder.link_id).order_by(CheckinReminder.id.desc())).first()
    db.get(AccessLink, link_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.commit()
    expired = client.get(second)
    assert expired.status_code == 410 and "expired" in expired.text
    assert client.post(second, data={"csrf_token": "x"}).status_code in (403, 410)  # nothing is stored either way
    assert repository.patient_checkins(db, course.patient.id, ["completed"]) == []
