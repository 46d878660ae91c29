"""The whole journey of issue 4 in real Chromium: a confidential referral on a phone -> the coordinator's triage ->
the invitation email read from the local SMTP server -> intake on a phone -> the eligibility decision with its
reasons -> a prescriber's override of the review -> a signed treatment plan."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import demo_login, login
from tests.helpers import clinic_today

from tenfour.eligibility.models import EligibilityDecision
from tenfour.patients.models import Patient
from tenfour.plans import repository as plans_repository
from tenfour.referrals.models import Referral

pytestmark = pytest.mark.browser

EMAIL = "riley.brightwater@example.com"
REASON = "Since the tanker fire I wake up every night and snap at my kids. I don't want my captain to know."
OVERRIDE = "Lorazepam 0.5 mg as needed only; patient will skip it for 24 h before each infusion. Proceed."


def wait_for_mail(mailbox, address: str):  # type: ignore[no-untyped-def]
    """The app sends after its commit; give the SMTP round trip a moment (a wait, not a timed assertion)."""
    deadline = time.monotonic() + 15
    while not mailbox.to(address):
        assert time.monotonic() < deadline, f"no email reached {address}"
        time.sleep(0.1)
    return mailbox.to(address)[0]


def answer_all(page: Page, instrument_answers: dict[str, str]) -> None:
    for item, value in instrument_answers.items():
        page.locator(f"#item-{item} input[value='{value}']").check()
    page.get_by_role("button", name="Submit answers").click()


def test_referral_to_signed_plan(page: Page, phone_page: Page, live_app, mailbox, shot):  # type: ignore[no-untyped-def]
    today = clinic_today()

    # 1. A firefighter refers themself on a phone, without an account.
    phone = phone_page
    phone.goto("/refer")
    expect(phone.get_by_text("You get a reference number and a thank-you, and nothing else, ever.")).to_be_visible()
    phone.locator("#f-clinic").select_option("north")
    phone.get_by_label("Who is referring?").select_option("self")
    phone.get_by_label("First name").fill("Riley")
    phone.get_by_label("Last name").fill("Brightwater")
    phone.get_by_label("Their role").select_option("firefighter")
    phone.get_by_label("Best way to get in touch").select_option("email")
    phone.get_by_label("Email", exact=True).fill(EMAIL)
    phone.get_by_label("A few words about why now").fill(REASON)
    phone.get_by_label("I agree that the clinic may contact me").check()
    shot(phone, "journey-1-referral-phone")
    phone.get_by_role("button", name="Send the referral").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you. The referral is with the clinic.")
    reference = phone.locator(".reference").inner_text()
    assert re.fullmatch(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    expect(phone.get_by_text("This is the only answer you will get.")).to_be_visible()
    assert "Brightwater" not in phone.content() and "tanker" not in phone.content()
    shot(phone, "journey-2-acknowledgment")

    # 2. The coordinator triages: contacted, then one action makes a patient record and emails the invitation.
    login(page, demo_login("coordinator"))
    page.get_by_role("link", name="Referrals").click()
    expect(page.get_by_text("waiting 0 min").first).to_be_visible()
    page.get_by_role("link", name="Brightwater, Riley").click()
    expect(page.get_by_text(REASON)).to_be_visible()
    page.get_by_label("New status").select_option("contacted")
    page.locator("#s-note").fill("Called back on her day off; she wants to start.")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_text("Marked contacted.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"First contact \d+ min after the referral arrived"))).to_be_visible()
    page.get_by_label("Date of birth").fill("1988-04-21")
    page.get_by_role("button", name="Make a patient record").click()
    expect(page.get_by_text("Invitation emailed.")).to_be_visible()
    shot(page, "journey-3-triage")

    # 3. The invitation email, read from the local SMTP server: a link and no clinical detail.
    message = wait_for_mail(mailbox, EMAIL)
    body = mailbox.body(message)
    assert "ketamine" not in body.lower() and "PTSD" not in body
    (link,) = mailbox.links(message)
    assert link.startswith(live_app.base_url + "/invite/")

    # 4. On the phone: set a password, then the intake, step by step.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Welcome, Riley")
    phone.get_by_label("Choose a password").fill("tanker nine sunrise coffee")
    phone.get_by_label("Type it again").fill("tanker nine sunrise coffee")
    phone.get_by_role("button", name="Set password and start").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your intake")
    shot(phone, "journey-4-intake-hub")
    phone.get_by_role("link", name="Start: About you").click()
    phone.get_by_label("Sex").select_option("female")
    phone.get_by_label("How should the clinic contact you?").select_option("email")
    phone.get_by_role("button", name="Save and continue").click()
    phone.get_by_label("Your role").select_option("firefighter")
    phone.get_by_label("Agency or department").fill("Harbor District Fire (synthetic)")
    phone.get_by_role("button", name="Save and continue").click()
    answer_all(phone, {f"q{i}": "2" for i in range(1, 21)})
    answer_all(phone, {**{f"q{i}": "1" for i in range(1, 9)}, "q9": "0"})
    answer_all(phone, {f"q{i}": "1" for i in range(1, 8)})
    expect(phone.get_by_text("You are not in trouble for answering honestly.")).to_be_visible()
    answer_all(phone, {"q1": "0", "q2": "0", "q6": "0"})
    expect(phone.get_by_role("heading", level=1)).to_have_text("Health and medicines")
    phone.get_by_label("A benzodiazepine").check()
    phone.get_by_label("I went through every item above").check()
    shot(phone, "journey-5-health-phone")
    phone.get_by_role("button", name="Save and continue").click()
    phone.get_by_label("Top number (systolic), mmHg").fill("126")
    phone.get_by_label("Bottom number (diastolic), mmHg").fill("78")
    phone.get_by_label("Measured on").fill((today - timedelta(days=4)).isoformat())
    phone.locator("#f-weight").fill("172")
    phone.locator("#f-weight_measured_on").fill(today.isoformat())
    phone.get_by_role("button", name="Save and continue").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Check and send your intake")
    expect(phone.get_by_text("126/78 mmHg", exact=False)).to_be_visible()
    phone.get_by_role("button", name="Send my intake").click()
    expect(phone.get_by_text("Thank you. Your intake is sent.")).to_be_visible()
    expect(phone.get_by_text("A prescriber will go over these points with you")).to_be_visible()
    expect(phone.get_by_text("You take a benzodiazepine")).to_be_visible()
    shot(phone, "journey-6-intake-sent-phone")

    with live_app.session_factory() as db:
        patient = db.scalars(select(Patient).where(Patient.email == EMAIL)).one()
        decision = db.scalars(select(EligibilityDecision).where(EligibilityDecision.patient_id == patient.id)).one()
        assert patient.status == "assessment" and decision.outcome == "review"
        assert db.scalars(select(Referral).where(Referral.reference == reference)).one().status == "intake_complete"
        patient_id = patient.id

    # 5. The prescriber reads the decision with its reasons and sources, and overrides the review in writing.
    page.get_by_role("button", name="Sign out").click()
    login(page, demo_login("prescriber"))
    page.goto(f"/patients/{patient_id}/eligibility")
    expect(page.locator(".outcome-badge").first).to_have_text("Prescriber review")
    expect(page.get_by_text("Sanacora et al. 2017").first).to_be_visible()
    page.get_by_label("Eligible: treatment may go ahead").check()
    page.get_by_label("Clinical reason").fill(OVERRIDE)
    page.get_by_role("button", name="Record override").click()
    expect(page.get_by_text("Override recorded: eligible.")).to_be_visible()
    override_box = page.locator(".override-box").first
    expect(override_box).to_contain_text("Prescriber review → Eligible")
    expect(override_box).to_contain_text(OVERRIDE)
    shot(page, "journey-7-override")

    # 6. The plan: the clinic's induction protocol by default, signed.
    page.goto(f"/patients/{patient_id}/plans/new")
    expect(page.get_by_label("Dose, mg/kg")).to_have_value("0.5")
    expect(page.get_by_label("Infusions", exact=True)).to_have_value("6")
    page.get_by_label("Dose, mg/kg").fill("1.5")
    page.get_by_role("button", name="Sign the plan").click()
    expect(page.get_by_text("1.5 mg/kg is above the clinic maximum of 1 mg/kg (dose.max_mg_per_kg)").first
           ).to_be_visible()
    page.get_by_label("Dose, mg/kg").fill("0.5")
    page.get_by_role("button", name="Sign the plan").click()
    expect(page.get_by_text("Plan version 1 signed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Signed plan in force")).to_be_visible()
    shot(page, "journey-8-signed-plan")

    with live_app.session_factory() as db:
        plan = plans_repository.current_signed_plan(db, patient_id)
        assert plan is not None and (plan.infusions_planned, plan.dose_ug_per_kg, plan.infusion_duration_min) == (
            6, 500, 40)
        assert db.get(Patient, patient_id).status == "active"

    # 7. And the referrer, whatever they open, still learns nothing.
    phone.context.clear_cookies()
    phone.goto(f"/refer/thanks?ref={reference}")
    assert "Brightwater" not in phone.content() and "active" not in phone.locator("main").inner_text().lower()
