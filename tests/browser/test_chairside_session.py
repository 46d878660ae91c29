"""A whole infusion session charted in real Chromium on a tablet, against the demo: the nurse checks the patient in
from the chairside board, records the pre-checks, calculates the dose, a prescriber verifies it on her own screen,
the infusion starts, a stop-level blood pressure raises an urgent alert on every staff screen, the nurse records
that she stopped the infusion, rates the CADSS-6, takes recovery vitals, discharges, and prints the discharge sheet
with the earliest return to duty and driving.

Every screen is saved to test-artifacts/ (tablet 820 x 1180) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.browser.conftest import LiveApp, demo_login, login

from tenfour.audit.service import Actor
from tenfour.clinics import service as clinics_service
from tenfour.clinics.models import Chair, Clinic
from tenfour.infusions.models import InfusionSession, InfusionTransition
from tenfour.patients.models import Patient
from tenfour.plans import repository as plans_repository

pytestmark = pytest.mark.browser
TABLET = {"viewport": {"width": 820, "height": 1180}, "device_scale_factor": 2, "is_mobile": True,
          "has_touch": True}


@pytest.fixture
def tablet(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, **TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def desk(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def todays_session(live_app: LiveApp) -> Iterator[tuple[int, str]]:
    """A session booked now on a free chair of the north clinic, for a treated patient with a signed plan and no
    roster (so the nurse asks about the next shift). The clinic observes 0 min after the infusion for this test
    only, so the discharge need not wait 40 real minutes; the policy is put back afterwards."""
    now = datetime.now(UTC).replace(microsecond=0)
    with live_app.session_factory() as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        busy = set(db.scalars(select(InfusionSession.patient_id).where(
            InfusionSession.scheduled_start >= now - timedelta(hours=12))))
        patient = next(p for p in db.scalars(select(Patient).where(Patient.clinic_id == north.id)
                                                .order_by(Patient.id))
                       if p.id not in busy and p.user_id is None and plans_repository.current_signed_plan(db, p.id))
        plan = plans_repository.current_signed_plan(db, patient.id)
        assert plan is not None
        patient.roster_pattern = None
        start, end = now - timedelta(minutes=2), now + timedelta(minutes=98)
        taken = set(db.scalars(select(InfusionSession.chair_id).where(
            InfusionSession.clinic_id == north.id, InfusionSession.scheduled_start < end,
            InfusionSession.scheduled_end > start)))
        chair = next((c for c in reversed(north.chairs) if c.id not in taken), None)  # free now, whatever the hour
        if chair is None:  # every demo chair is busy at this hour: the clinic adds one, as it could
            chair = Chair(clinic_id=north.id, name="Chair T", position=len(north.chairs) + 1)
            db.add(chair)
            db.flush()
        session = InfusionSession(clinic_id=north.id, patient_id=patient.id, chair_id=chair.id, plan_id=plan.id,
                                  status="scheduled", scheduled_start=start,
                                  scheduled_end=end, infusion_duration_min=40)
        session.transitions.append(InfusionTransition(from_status=None, to_status="scheduled", at=now))
        db.add(session)
        clinics_service.set_policy_values(db, Actor.system("browser-test"), north,
                                          {"discharge.min_observation_min": 0})
        db.commit()
        board_name = f"{patient.preferred_name or patient.first_name} {patient.last_name[:1]}."
        session_id, clinic_id = session.id, north.id
    yield session_id, board_name
    with live_app.session_factory() as db:
        clinic = db.get(Clinic, clinic_id)
        assert clinic is not None
        clinics_service.set_policy_values(db, Actor.system("browser-test"), clinic,
                                          {"discharge.min_observation_min": 40})
        db.commit()


def test_a_whole_session_at_the_chairside_on_a_tablet(tablet: Page, desk: Page, live_app: LiveApp,
                                                      todays_session: tuple[int, str], shot) -> None:  # type: ignore[no-untyped-def]
    session_id, board_name = todays_session
    page = tablet
    login(page, demo_login("nurse"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Chairside").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chairside")
    shot(page, "chairside-01-board")
    page.get_by_role("link", name=board_name).first.click()
    expect(page).to_have_url(f"{live_app.base_url}/infusions/{session_id}")
    shot(page, "chairside-02-scheduled")

    # Check in, then the pre-checks: an impossible SpO2 first (refused beside the field), then the real values.
    page.get_by_role("button", name="The patient has arrived").click()
    expect(page.locator(".flash")).to_contain_text("Checked in")
    form = page.locator("form[action$='/prechecks']")
    for label, value in (("Weight now", "82.5"), ("Systolic", "132"), ("Diastolic", "84"), ("Heart rate", "76"),
                         ("SpO2", "140"), ("Resp. rate", "14"), ("Hours since last food", "9"),
                         ("Escort or ride home (name)", "Dana (spouse)")):
        form.get_by_label(label, exact=False).first.fill(value)
    form.get_by_label("A responsible adult will take the patient home").check()
    form.get_by_label("The patient has no shift before", exact=False).check()
    form.get_by_role("button", name="Record pre-checks").click()
    expect(page.locator("#e-pc-spo2")).to_contain_text("not a plausible value")
    shot(page, "chairside-03-precheck-error")
    page.locator("form[action$='/prechecks']").get_by_label("SpO2").fill("98")
    page.locator("form[action$='/prechecks']").get_by_role("button", name="Record pre-checks").click()
    expect(page.locator(".flash")).to_contain_text("Pre-checks passed")

    # The dose from the plan: 82.5 kg x 0.5 mg/kg = 41.25 -> 41.5 mg (to 0.5 mg, half-up); 62.25 -> 62.3 mL/h.
    page.locator("form[action$='/dose']").get_by_role("button", name="Calculate").click()
    expect(page.locator("#dose-result")).to_contain_text("41.5")
    expect(page.locator("#dose-result")).to_contain_text("62.3")
    expect(page.get_by_role("button", name="Start the infusion at 62.3 mL/h")).to_be_disabled()
    shot(page, "chairside-04-dose-to-verify")

    # A second person verifies on her own screen.
    login(desk, demo_login("prescriber"))
    desk.goto(f"/infusions/{session_id}")
    desk.get_by_role("button", name="I have checked it: verify the dose").click()
    expect(desk.locator("#dose-result")).to_contain_text("Verified by Dr. Maya Reyes")

    page.reload()
    page.get_by_role("button", name="Start the infusion at 62.3 mL/h").click()
    expect(page.locator(".flash")).to_contain_text("Infusion started")
    expect(page.locator(".session-clock")).to_contain_text("min left")
    shot(page, "chairside-05-infusing")

    # A stop-level blood pressure: an urgent alert at once, on the nurse's screen and on every staff screen.
    vitals = page.locator("form.vitals-form")
    for label, value in (("Systolic", "206"), ("Diastolic", "104"), ("Heart rate", "98"), ("SpO2", "97")):
        vitals.get_by_label(label).fill(value)
    vitals.get_by_role("button", name="Save vitals").click()
    expect(page.locator(".flash")).to_contain_text("STOP level")
    expect(page.get_by_role("heading", name="Needs attention now")).to_be_visible()
    expect(page.locator(".urgent-banner")).to_be_visible()
    shot(page, "chairside-06-stop-level")
    desk.goto("/alerts")
    expect(desk.locator(".urgent-banner")).to_be_visible()
    expect(desk.locator("main")).to_contain_text("STOP-level vitals during an infusion")
    shot(desk, "chairside-07-prescriber-sees-the-alert")

    card = page.locator(".action-card")
    card.get_by_label("Infusion stopped").check()
    card.get_by_label("Prescriber called").check()
    card.get_by_role("button", name="Record actions").click()
    expect(page.locator(".flash")).to_contain_text("Actions recorded")
    expect(page.locator(".session-clock .phase-badge")).to_have_text("Recovery")
    expect(page.get_by_role("heading", name="Needs attention now")).to_have_count(0)

    # CADSS-6 at the end of the infusion, recovery vitals, then discharge.
    cadss = page.locator("form.cadss-form")
    for index, value in enumerate(("1", "2", "0", "1", "0", "1")):
        cadss.locator("fieldset.item").nth(index).get_by_label(value, exact=True).check()
    cadss.get_by_role("button", name="Save CADSS-6").click()
    expect(page.locator(".flash")).to_contain_text("CADSS-6 recorded: 5 of 24")
    vitals = page.locator("form.vitals-form")
    for label, value in (("Systolic", "138"), ("Diastolic", "84"), ("Heart rate", "80"), ("SpO2", "98")):
        vitals.get_by_label(label).fill(value)
    vitals.get_by_role("button", name="Save vitals").click()
    expect(page.locator(".flash")).to_contain_text("within the lines")
    shot(page, "chairside-08-recovery")
    discharge = page.locator("form[action$='/discharge']")
    discharge.get_by_role("button", name="Discharge").click()  # the criteria are not ticked yet
    expect(page.locator("#discharge .error-summary")).to_contain_text("alert and oriented")
    discharge = page.locator("form[action$='/discharge']")
    discharge.get_by_label("Alert and oriented", exact=False).check()
    discharge.get_by_label("The responsible adult is here", exact=False).check()
    discharge.get_by_role("button", name="Discharge").click()
    expect(page.locator(".flash")).to_contain_text("No duty and no driving before")
    shot(page, "chairside-09-discharged")

    with live_app.session_factory() as db:
        session = db.get(InfusionSession, session_id)
        assert session is not None and session.status == "discharged" and session.stopped_early
        clinic = db.get(Clinic, session.clinic_id)
        assert clinic is not None and session.infusion_ended_at is not None
        back = (session.infusion_ended_at + timedelta(hours=24)).astimezone(ZoneInfo(clinic.timezone))
        assert [t.to_status for t in session.transitions] == [
            "scheduled", "arrived", "prechecks_passed", "infusing", "recovery", "discharged"]

    page.get_by_role("link", name="Print the discharge sheet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("After your ketamine infusion")
    expect(page.locator(".sheet-return")).to_contain_text(back.strftime("%A %d %B %Y, %H:%M"))
    expect(page.locator(".sheet")).to_contain_text("988")
    shot(page, "chairside-10-discharge-sheet")
    pdf = page.request.get(f"/infusions/{session_id}/discharge-sheet.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:4] == b"%PDF"
