"""A first responder fills the PCL-5 on a phone: progress, answers kept across a reload, result, chart updates."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import demo_login, login

pytestmark = pytest.mark.browser

# 20 answers adding up to 37: every item rated at least 1, so the DSM-5 pattern is not what matters here.
ANSWERS = [2, 2, 3, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 1, 1]


def test_patient_fills_pcl5_on_a_phone_and_sees_result_and_chart(phone_page: Page, shot):  # type: ignore[no-untyped-def]
    page = phone_page
    login(page, demo_login("patient"))
    expect(page).to_have_url(re.compile(r"/me$"))
    chart_before = page.request.get("/me/charts/scores.svg")
    assert chart_before.ok and chart_before.headers["content-type"].startswith("image/svg+xml")

    page.get_by_role("link", name="PCL-5").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PCL-5")
    for number, value in enumerate(ANSWERS[:12], start=1):
        page.locator(f"#item-q{number} input[value='{value}']").check()
    expect(page.locator("[data-answered]")).to_have_text("12")

    page.reload()  # a dropped connection or an accidental reload loses nothing
    expect(page.locator("[data-answered]")).to_have_text("12")
    assert page.locator("#item-q3 input[value='3']").is_checked()

    for number, value in enumerate(ANSWERS[12:], start=13):
        page.locator(f"#item-q{number} input[value='{value}']").check()
    expect(page.locator("[data-answered]")).to_have_text("20")
    shot(page, "pcl5-phone-filled")
    page.get_by_role("button", name="Submit answers").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("PCL-5: 37")
    expect(page.get_by_text("At or above the clinic's cutoff of 33")).to_be_visible()
    shot(page, "pcl5-phone-result")

    page.goto("/me")
    expect(page.get_by_text("Last: 37")).to_be_visible()
    chart_after = page.request.get("/me/charts/scores.svg")
    assert chart_after.ok and chart_after.body() != chart_before.body()
    # The saved answers were cleared once the result page loaded: a new form starts empty.
    page.goto("/me/questionnaires/pcl5")
    expect(page.locator("[data-answered]")).to_have_text("0")


def test_missing_answers_are_named_and_kept(phone_page: Page):
    page = phone_page
    login(page, demo_login("patient"))
    page.goto("/me/questionnaires/gad7")
    for number in range(1, 6):
        page.locator(f"#item-q{number} input[value='1']").check()
    page.get_by_role("button", name="Submit answers").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Question 6")
    expect(summary).to_contain_text("Question 7")
    assert page.locator("#item-q1 input[value='1']").is_checked()
