"""Issue 7 in real Chromium, against the demo: a firefighter on a 24/48 roster books his induction series on a phone
from the slots offered, and a coordinator schedules the waiting list from a preview onto the chair calendar.

What was booked is checked from the database against the roster's own expansion (``tenfour.core.rosters``), not
against anything the app computed: no session while on duty, no duty shift starting within 24 h after a session
ends (the clinic's no-duty window), at least one clear day between sessions, at most 3 in any 7 days, all within
21 days. Every screen is saved to test-artifacts/ (phone 390 x 844, desktop 1280 x 900) for a person to look at.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.browser.conftest import LiveApp, demo_login, login

from tenfour import demo
from tenfour.accounts import passwords
from tenfour.accounts.models import User
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.core import rosters
from tenfour.infusions.models import InfusionSession
from tenfour.patients.models import Patient, PatientConsent
from tenfour.plans.models import TreatmentPlan
from tenfour.scheduling import repository
from tenfour.scheduling.models import SchedulingRequest

pytestmark = pytest.mark.browser
CHICAGO = ZoneInfo("America/Chicago")  # the north demo clinic's time zone
NO_DUTY_WINDOW = timedelta(hours=24)  # the clinic's default: no duty shift may start within 24 h after an infusion
SERIES = 6


@dataclass(frozen=True)
class Firefighter:
    patient_id: int
    email: str | None
    display: str  # as the queue and the preview show the name


def _add_firefighter(db: Session, *, first: str, last: str, with_login: bool,
                     roster: rosters.Roster | None) -> Firefighter:
    """A north patient with a signed induction plan (6 infusions) and no session: his series waits for chair time."""
    north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
    prescriber = db.scalars(select(User).where(User.email == demo_login("prescriber"))).one()
    email = f"{first.lower()}.{uuid.uuid4().hex[:8]}@example.org"
    user = None
    if with_login:
        user = User(email=email, full_name=f"{first} {last}", role="patient",
                    password_hash=passwords.hash_password(demo.DEMO_PASSWORD))
        db.add(user)
        db.flush()
    patient = Patient(clinic_id=north.id, record_number=f"TF-S{uuid.uuid4().hex[:6].upper()}", first_name=first,
                      last_name=last, date_of_birth=date(1984, 3, 9), sex="male", email=email,
                      responder_role="firefighter", status="active", is_synthetic=True,
                      user_id=user.id if user else None)
    if roster is not None:
        patient.roster_pattern, patient.roster_anchor_date = roster.pattern, roster.anchor_date
        patient.roster_shift_start, patient.roster_platoon = roster.shift_start, roster.platoon
    patient.consents = [PatientConsent(kind="treatment", version="2026-11"),
                        PatientConsent(kind="contact", version="2026-11")]
    db.add(patient)
    db.flush()
    signed = datetime.now(UTC) - timedelta(hours=3)
    db.add(TreatmentPlan(clinic_id=north.id, patient_id=patient.id, protocol="induction", infusions_planned=SERIES,
                         dose_ug_per_kg=500, infusion_duration_min=40, max_infusions_per_week=3,
                         created_by_id=prescriber.id, created_at=signed, signed_at=signed,
                         signed_by_id=prescriber.id))
    db.commit()
    return Firefighter(patient.id, email if with_login else None, f"{first} {last}")


def _clinic_today() -> date:
    return datetime.now(UTC).astimezone(CHICAGO).date()


def _no_duty_window(live_app: LiveApp) -> timedelta:
    with live_app.session_factory() as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        hours = effective_policy(db, north.id)["duty.no_duty_window_h"]
    assert float(hours) == 24, "the demo clinic keeps the default no-duty window"
    return NO_DUTY_WINDOW


def _booked(live_app: LiveApp, patient_id: int) -> tuple[SchedulingRequest, list[InfusionSession]]:
    """The patient's one scheduling request and the sessions booked for it, in series order."""
    with live_app.session_factory() as db:
        request = db.scalars(select(SchedulingRequest).where(SchedulingRequest.patient_id == patient_id)).one()
        sessions = [session for _, session in repository.request_sessions(db, request.id)]
        db.expunge_all()
    return request, sessions


def _keeps_duty_rules(roster: rosters.Roster, slots: Sequence[tuple[datetime, datetime]], window: timedelta) -> None:
    """Every (start, end) is off duty, and no shift starts within ``window`` after its end (the roster's own
    expansion, with nothing the app computed)."""
    lo = min(start for start, _ in slots) - timedelta(days=3)
    hi = max(end for _, end in slots) + window + timedelta(days=3)
    duty = rosters.expand(roster, lo, hi)
    assert duty, "the roster has shifts around the sessions"
    for start, end in slots:
        local = start.astimezone(CHICAGO).strftime("%a %d %b %H:%M")
        on = [i for i in duty if i.start < end and i.end > start]
        assert not on, f"{local}: on duty {on[0].start.astimezone(CHICAGO):%a %H:%M} then"
        soon = [i for i in duty if end <= i.start < end + window]
        assert not soon, f"{local}: a shift starts {soon[0].start.astimezone(CHICAGO):%a %H:%M}, within the window"


def _keeps_series_rules(starts: Sequence[datetime]) -> None:
    """At least one clear day between sessions, at most 3 in any 7 days, all within 21 days of the first."""
    days = sorted(s.astimezone(CHICAGO).date() for s in starts)
    assert len(days) == SERIES
    assert all((b - a).days >= 2 for a, b in zip(days, days[1:], strict=False)), days
    assert all((days[k + 3] - days[k]).days >= 7 for k in range(len(days) - 3)), days
    assert (days[-1] - days[0]).days <= 20, days


def fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


# --- The firefighter books his own series on a phone ------------------------------------------------------------------


@pytest.fixture
def firefighter_account(live_app: LiveApp) -> Firefighter:
    """A firefighter who can sign in, with a signed plan and no roster yet (he enters it on his phone)."""
    with live_app.session_factory() as db:
        return _add_firefighter(db, first="Declan", last="Ashworth-Kane", with_login=True, roster=None)


def test_a_firefighter_on_24_48_books_his_induction_series_on_a_phone(
        phone_page: Page, live_app: LiveApp, firefighter_account: Firefighter, shot) -> None:  # type: ignore[no-untyped-def]
    phone, me = phone_page, firefighter_account
    window = _no_duty_window(live_app)
    assert me.email is not None
    login(phone, me.email)
    phone.goto("/me")
    panel = phone.locator("section", has=phone.get_by_role("heading", name="Booking around my shifts"))
    expect(panel).to_contain_text(f"Induction series ({SERIES} infusions) is waiting to be booked")
    shot(phone, "schedule-phone-01-my-care")

    # 1. His roster, typed on the phone: 24/48, platoon B, shifts from 07:00; platoon A worked 10 days ago.
    anchor = _clinic_today() - timedelta(days=10)
    roster = rosters.Roster(pattern="24/48", anchor_date=anchor, shift_start=time(7, 0), platoon="B",
                            timezone="America/Chicago")
    panel.get_by_role("link", name="Enter my duty roster").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("My duty roster")
    phone.get_by_label("Shift pattern").select_option(label="24 on / 48 off")
    phone.get_by_label("A day platoon A starts its cycle").fill(anchor.isoformat())
    phone.get_by_label("Shift start time").fill("07:00")
    phone.get_by_label("Your platoon or team").fill("B")
    phone.get_by_role("button", name="Save my roster").click()
    expect(phone.locator(".flash")).to_contain_text("Your roster is saved")
    # the next six weeks as a calendar: his next shifts, each day said in words for a screen reader
    upcoming = [i.start for i in rosters.expand(roster, datetime.now(UTC), datetime.now(UTC) + timedelta(days=21))
                if i.start > datetime.now(UTC)]
    assert len(upcoming) >= 6
    for shift in upcoming[:6]:
        day = shift.astimezone(CHICAGO).date()
        cell = phone.locator(f".sched-month [data-day='{day.isoformat()}']")
        expect(cell).to_have_class(re.compile(r"\bsched-on\b"))
        expect(cell).to_contain_text(f"{day:%A %d %B}")
        expect(cell).to_contain_text("on duty from 07:00")
        after = phone.locator(f".sched-month [data-day='{(day + timedelta(days=1)).isoformat()}']")
        expect(after).to_contain_text("on duty until 07:00")
        free = phone.locator(f".sched-month [data-day='{(day + timedelta(days=2)).isoformat()}']")
        expect(free).to_contain_text("off duty")
    assert fits_the_screen(phone), "the roster calendar needs no sideways scrolling on a phone"
    shot(phone, "schedule-phone-02-roster-calendar")
    with live_app.session_factory() as db:
        saved = db.get(Patient, me.patient_id)
        assert saved is not None
        assert (saved.roster_pattern, saved.roster_anchor_date, saved.roster_shift_start, saved.roster_platoon) == (
            "24/48", anchor, time(7, 0), "B")

    # 2. His schedule: the series waits; he chooses each infusion among the times offered.
    phone.goto("/me/schedule")
    expect(phone.get_by_role("heading", level=1)).to_have_text("My appointments")
    expect(phone.locator(".sched-upcoming")).to_contain_text("Nothing booked yet")
    shot(phone, "schedule-phone-03-my-appointments")
    phone.get_by_role("link", name="Choose my times").click()
    offered: list[datetime] = []
    for index in range(SERIES):
        expect(phone.get_by_role("heading", level=1)).to_have_text(f"Infusion {index + 1} of {SERIES}: choose a time")
        starts = [datetime.fromisoformat(s) for s in phone.locator(".sched-time-btn").evaluate_all(
            "links => links.map(link => link.dataset.start)")]
        assert starts, f"times offered for infusion {index + 1}"
        offered += starts
        if index in (0, 3):
            assert fits_the_screen(phone), "the times fit a phone"
            shot(phone, f"schedule-phone-04-choose-{index + 1}")
        first_day = phone.locator("details.sched-daypick").first
        expect(first_day).to_have_attribute("open", "")
        times = first_day.locator(".sched-time-btn")
        times.nth(times.count() - 1).click()  # the latest time of the first day offered
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Your {SERIES} infusions")
    expect(phone.locator("#chosen-list li")).to_have_count(SERIES)
    shot(phone, "schedule-phone-05-check")
    with live_app.session_factory() as db:
        assert not db.scalars(select(InfusionSession).where(InfusionSession.patient_id == me.patient_id)).all(), \
            "nothing is booked before he confirms"
    phone.get_by_role("button", name=f"Book my {SERIES} infusions").click()
    expect(phone.locator(".flash")).to_contain_text(f"Your {SERIES} infusions are booked")
    expect(phone.locator(".sched-upcoming li")).to_have_count(SERIES)
    assert fits_the_screen(phone)
    shot(phone, "schedule-phone-06-booked")

    # 3. From the database: the whole series booked, every session and every time offered within the rules.
    request, sessions = _booked(live_app, me.patient_id)
    assert request.status == "scheduled" and request.kind == "induction"
    assert len(sessions) == SERIES and {s.status for s in sessions} == {"scheduled"}
    chair_time = sessions[0].scheduled_end - sessions[0].scheduled_start
    assert {s.scheduled_end - s.scheduled_start for s in sessions} == {chair_time}
    _keeps_duty_rules(roster, [(s.scheduled_start, s.scheduled_end) for s in sessions], window)
    _keeps_duty_rules(roster, [(start, start + chair_time) for start in offered], window)
    _keeps_series_rules([s.scheduled_start for s in sessions])

    # 4. The calendar file holds the six appointments.
    ics = phone.request.get("/me/appointments.ics")
    assert ics.status == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = [e for e in Calendar.from_ical(ics.body()).walk("VEVENT")]
    booked_starts = {s.scheduled_start.astimezone(UTC) for s in sessions}
    assert booked_starts <= {e.decoded("dtstart").astimezone(UTC) for e in events}
    phone.goto("/me/roster")
    for session in sessions:
        day = session.scheduled_start.astimezone(CHICAGO).date()
        expect(phone.locator(f".sched-month [data-day='{day.isoformat()}']")).to_contain_text(
            f"infusion at {session.scheduled_start.astimezone(CHICAGO):%H:%M}")
    shot(phone, "schedule-phone-07-roster-with-infusions")


# --- The coordinator schedules the waiting list ----------------------------------------------------------------------


@pytest.fixture
def waiting_firefighter(live_app: LiveApp) -> tuple[Firefighter, rosters.Roster]:
    """A firefighter on 24/48 (platoon C, from the factory) whose series waits for the coordinator's run."""
    roster = rosters.Roster(pattern="24/48", anchor_date=_clinic_today() - timedelta(days=20), shift_start=time(7, 0),
                            platoon="C", timezone="America/Chicago")
    with live_app.session_factory() as db:
        return _add_firefighter(db, first="Tomas", last="Delacroix-Byrne", with_login=False, roster=roster), roster


def test_a_coordinator_previews_the_waiting_list_commits_and_sees_the_chair_calendar(
        page: Page, live_app: LiveApp, waiting_firefighter: tuple[Firefighter, rosters.Roster], shot) -> None:  # type: ignore[no-untyped-def]
    him, roster = waiting_firefighter
    window = _no_duty_window(live_app)
    login(page, demo_login("coordinator"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for chair time")
    row = page.locator("table.sched-queue tbody tr", has_text=him.display)
    expect(row).to_contain_text(f"Induction series · {SERIES} sessions")
    expect(row).to_contain_text("24 on / 48 off · platoon C")
    shot(page, "schedule-desk-01-waiting-list")

    # Schedule waiting requests: a preview, nothing booked yet.
    page.get_by_label("Time limit (seconds)").fill("5")
    page.get_by_role("button", name=re.compile(r"^Plan \d+ requests?$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: nothing is booked yet",
                                                                    timeout=120_000)  # the solver runs first
    expect(page.locator(".ok-message")).to_contain_text("Independent checker: every placement keeps every rule")
    placed = page.locator(".sched-placed", has_text=him.display)
    expect(placed.locator("li")).to_have_count(SERIES)
    shot(page, "schedule-desk-02-preview")
    with live_app.session_factory() as db:
        assert not db.scalars(select(InfusionSession).where(InfusionSession.patient_id == him.patient_id)).all()
    commit = page.get_by_role("button", name=re.compile(r"^Book these \d+ sessions$"))
    total = int(re.findall(r"\d+", commit.inner_text())[0])
    commit.click()

    # Committed: the week of the first session on the chair calendar, his sessions on it.
    expect(page.locator(".flash")).to_contain_text(f"Booked {total} session(s)")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Week of")
    request, sessions = _booked(live_app, him.patient_id)
    assert request.status == "scheduled" and len(sessions) == SERIES
    _keeps_duty_rules(roster, [(s.scheduled_start, s.scheduled_end) for s in sessions], window)
    _keeps_series_rules([s.scheduled_start for s in sessions])
    first = sessions[0].scheduled_start.astimezone(CHICAGO)
    week = {first.date() - timedelta(days=first.weekday()) + timedelta(days=n) for n in range(7)}
    shown = [s for s in sessions if s.scheduled_start.astimezone(CHICAGO).date() in week]
    assert shown
    for session in shown:
        expect(page.locator(".sched-chip", has_text=f"{session.scheduled_start.astimezone(CHICAGO):%H:%M} T. "
                                                     "Delacroix-Byrne")).to_have_count(1)
    shot(page, "schedule-desk-03-week")
    page.locator("table.sched-week thead").get_by_role("link", name=re.compile(first.strftime("%a %d"))).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(first.strftime("%A %d %B %Y"))
    slot = page.locator(".sched-slot", has_text="Tomas D.")
    expect(slot).to_contain_text(f"{first:%H:%M}–{sessions[0].scheduled_end.astimezone(CHICAGO):%H:%M}")
    shot(page, "schedule-desk-04-day")

    # Move his first session: where it is already is refused; the next day is refused (his next shift starts within
    # 24 h after it; nothing moves); the same day on a free chair holds, and moves only once confirmed.
    page.get_by_role("link", name=re.compile(rf"^{first:%H:%M} Tomas D\. · ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move Tomas Delacroix-Byrne's session")
    expect(page.locator(".sched-sessions li")).to_have_count(SERIES)
    page.get_by_role("button", name="Check this move").click()
    expect(page.locator(".error-summary")).to_contain_text("different slot")
    page.get_by_label("New date").fill((first.date() + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Check this move").click()
    next_shift = next(i.start for i in rosters.expand(roster, first, first + timedelta(days=4)) if i.start > first)
    expect(page.locator(".error-summary")).to_contain_text("nothing was moved")
    expect(page.locator(".error-summary")).to_contain_text(
        f"no duty window: a shift starts {next_shift.astimezone(CHICAGO):%a %d %b %H:%M}")
    shot(page, "schedule-desk-05-move-refused")
    later, chair_name, chair_id = _free_slot_same_day(live_app, sessions[0])
    page.get_by_label("New date").fill(later.date().isoformat())
    page.get_by_label("New time").fill(f"{later:%H:%M}")
    page.get_by_label("Chair").select_option(label=chair_name)
    page.get_by_label("Why it moves").fill("He asked for another time")
    page.get_by_role("button", name="Check this move").click()
    expect(page.locator(".sched-ok")).to_contain_text(f"Every rule holds: {later:%A %d %B at %H:%M}, {chair_name}")
    shot(page, "schedule-desk-06-move-checked")
    _, unchanged = _booked(live_app, him.patient_id)
    assert [(s.id, s.scheduled_start) for s in unchanged] == [(s.id, s.scheduled_start) for s in sessions]
    page.get_by_role("button", name="Confirm the move").click()
    expect(page.locator(".flash")).to_contain_text(f"Moved to {later:%a %d %b at %H:%M}")
    _, moved = _booked(live_app, him.patient_id)
    assert moved[0].id != sessions[0].id and moved[0].chair_id == chair_id
    assert moved[0].scheduled_start == later, "the link follows the new booking"
    assert [(s.id, s.scheduled_start) for s in moved[1:]] == [(s.id, s.scheduled_start) for s in sessions[1:]]
    _keeps_duty_rules(roster, [(s.scheduled_start, s.scheduled_end) for s in moved], window)
    _keeps_series_rules([s.scheduled_start for s in moved])


def _free_slot_same_day(live_app: LiveApp, session: InfusionSession) -> tuple[datetime, str, int]:
    """A start on the session's day, 40 minutes to 4 hours away, inside the opening hours, and a chair free for the
    whole chair time then (the live clinic is shared with the other browser tests)."""
    length = session.scheduled_end - session.scheduled_start
    local = session.scheduled_start.astimezone(CHICAGO)
    with live_app.session_factory() as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        hours = north.opening_hours[("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]]
        for minutes in (120, -120, 160, -160, 80, -80, 200, -200, 40, -40, 240, -240):
            start = local + timedelta(minutes=minutes)
            if start.date() != local.date() or not any(
                    time.fromisoformat(a) <= start.time() and (start + length).time() <= time.fromisoformat(b)
                    for a, b in hours):
                continue
            busy = set(db.scalars(select(InfusionSession.chair_id).where(
                InfusionSession.clinic_id == north.id, InfusionSession.status != "aborted",
                InfusionSession.scheduled_start < start + length, InfusionSession.scheduled_end > start)))
            chair = next((c for c in north.chairs if c.is_active and c.id not in busy), None)
            if chair is not None:
                return start, chair.name, chair.id
    raise AssertionError(f"no free chair on {local:%a %d %b} to move the session to")
