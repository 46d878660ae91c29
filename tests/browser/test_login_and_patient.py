"""In real Chromium, against the real app with the demo seeded: the printed nurse signs in, sees only her
clinic's patients, searches and opens one; the administrator changes a policy value; a patient signs in on a phone.

Every page visited is saved to test-artifacts/ (desktop and phone) for a person to look at.
"""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import LiveApp, demo_login, login

from tenfour import demo
from tenfour.accounts.service import GENERIC_LOGIN_ERROR
from tenfour.audit.service import Actor
from tenfour.clinics import service as clinics_service
from tenfour.clinics.models import Clinic
from tenfour.db import session_scope
from tenfour.patients.models import Patient

pytestmark = pytest.mark.browser


def patient_names(live_app: LiveApp, slug: str) -> set[str]:
    with live_app.session_factory() as db:
        clinic = db.scalars(select(Clinic).where(Clinic.slug == slug)).one()
        return {p.sort_name for p in db.scalars(select(Patient).where(Patient.clinic_id == clinic.id))}


def fits_the_screen(page: Page) -> bool:
    """No sideways scrolling: the page is no wider than the viewport."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_the_demo_nurse_sees_only_her_clinic_searches_and_opens_a_patient(page: Page, live_app: LiveApp,
                                                                           shot) -> None:  # type: ignore[no-untyped-def]
    north = patient_names(live_app, "north")
    bayside = patient_names(live_app, "bayside") - north  # names only Bayside has (the demo may repeat a name)
    assert north and bayside

    page.goto("/login")
    shot(page, "01-login")
    login(page, demo_login("nurse"))
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("North Metro Responder Clinic")
    expect(page.locator(".stat").first).to_contain_text(f"{len(north)}")
    shot(page, "02-nurse-home")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    expect(page.locator("#results")).to_contain_text(f"{len(north)} patients")
    shot(page, "03-patient-list")
    seen = set(page.locator("#results td[data-label=Name] a").all_inner_texts())
    if page.get_by_role("link", name="Next").count():
        page.get_by_role("link", name="Next").click()
        seen |= set(page.locator("#results td[data-label=Name] a").all_inner_texts())
        shot(page, "04-patient-list-page-2")
    assert seen == north, "every one of her clinic's patients, across the pages"
    body = page.locator("body").inner_text()
    assert not [name for name in bayside if name in body], "no Bayside patient on her screens"

    page.goto("/patients")
    page.get_by_label("Search").fill("marcus hale")  # HTMX updates the results as she types
    expect(page.locator("#results")).to_contain_text("1 patient matching")
    expect(page).to_have_url(re.compile(r"q=marcus"))
    shot(page, "05-search")
    page.get_by_role("link", name="Hale, Marcus").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Marcus Hale")
    expect(page.get_by_text("Record TF-N00001")).to_be_visible()
    expect(page.get_by_role("heading", name="Consents")).to_be_visible()
    shot(page, "06-patient")

    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_label("Agency")).to_be_visible()
    shot(page, "07-patient-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Changes saved.")


def _restore_cutoff(live_app: LiveApp, value: int) -> None:
    with session_scope(live_app.session_factory) as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        clinics_service.set_policy_values(db, Actor.system("browser-test"), north, {"pcl5.provisional_cutoff": value})


def test_the_admin_changes_a_policy_value_and_sees_it_saved(page: Page, live_app: LiveApp, shot,  # type: ignore[no-untyped-def]
                                                            request: pytest.FixtureRequest) -> None:
    login(page, demo_login("admin"))
    expect(page.get_by_label("Working in clinic")).to_be_visible()  # the admin works in both demo clinics
    expect(page.get_by_role("button", name="Switch")).to_be_hidden()  # the select switches on its own with JS
    shot(page, "10-admin-home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clinics").click()
    shot(page, "11-admin-clinics")
    page.get_by_role("row", name=re.compile("North Metro")).get_by_role("link", name="Policy settings").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Clinic policy")
    cutoff = page.get_by_label("PCL-5 provisional PTSD cutoff")
    original = cutoff.input_value()
    new_value = "32" if original != "32" else "31"
    request.addfinalizer(lambda: _restore_cutoff(live_app, int(original)))  # the live demo is shared
    cutoff.fill(new_value)
    shot(page, "12-admin-policy")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator(".flash")).to_have_text("1 setting changed.")
    expect(page.get_by_label("PCL-5 provisional PTSD cutoff")).to_have_value(new_value)
    with live_app.session_factory() as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        assert clinics_service.effective_policy(db, north.id)["pcl5.provisional_cutoff"] == int(new_value)

    page.get_by_label("PCL-5 provisional PTSD cutoff").fill("200")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#e-pcl5\\.provisional_cutoff")).to_have_text("must be at most 80 points")
    shot(page, "13-admin-policy-error")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("clinic.policy_change")
    shot(page, "14-admin-audit")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    shot(page, "15-admin-users")


def test_a_patient_signs_in_on_a_phone_and_lands_on_their_page(phone_page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    page = phone_page
    page.goto("/")
    shot(page, "20-phone-welcome")
    assert fits_the_screen(page)
    login(page, demo_login("patient"))
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Marcus")
    expect(page.get_by_role("link", name="988").first).to_be_visible()
    assert fits_the_screen(page), "no sideways scrolling on a phone"
    shot(page, "21-phone-me")
    page.get_by_role("link", name="Check or change how we contact you").click()
    expect(page.get_by_label("Phone")).to_be_visible()
    assert fits_the_screen(page)
    page.get_by_label("Phone").fill("not a phone")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-phone")).to_be_visible()
    shot(page, "22-phone-details-error")
    box = page.get_by_role("button", name="Save").bounding_box()
    assert box is not None and box["height"] >= 44, "touch targets at least 44 px high"


def test_the_nurse_on_a_phone(phone_page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    page = phone_page
    login(page, demo_login("nurse"))
    shot(page, "30-phone-nurse-home")
    assert fits_the_screen(page)
    page.goto("/patients")
    assert fits_the_screen(page)
    shot(page, "31-phone-patient-list")
    page.get_by_role("link", name="Hale, Marcus").click()
    assert fits_the_screen(page)
    shot(page, "32-phone-patient")


def test_sign_in_works_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/login")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus: start typing at once
    page.keyboard.type(demo_login("coordinator"))
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("tenfour-demo-2026")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("North Metro Responder Clinic")


def test_a_wrong_password_shows_one_generic_message(page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    login(page, demo_login("nurse"), password="not the password")
    expect(page.get_by_role("alert")).to_have_text(GENERIC_LOGIN_ERROR)
    expect(page.get_by_label("Email")).to_have_value(demo_login("nurse"))
    expect(page.get_by_label("Password")).to_have_value("")
    shot(page, "40-login-error")


def test_the_demo_two_step_account_signs_in_with_a_code_from_the_printed_key(page: Page, shot) -> None:  # type: ignore[no-untyped-def]
    account = next(x for x in demo.LOGINS if x.totp_secret)
    login(page, account.email)
    expect(page.get_by_role("alert")).to_have_text(GENERIC_LOGIN_ERROR)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_label("Sign-in code").fill(pyotp.TOTP(demo.DEMO_TOTP_SECRET).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("North Metro Responder Clinic")
    page.goto("/account/mfa")
    expect(page.locator("#mfa-status")).to_contain_text("Two-step sign-in is on")
    shot(page, "two-step-sign-in-on")
