"""Issue 8 in Chromium: a clinic manager opens the outcomes dashboard on the demo data, reads real numbers with their
intervals and the claims table, sees the three plots drawn, narrows the cohort with a filter, and downloads the
Kaplan-Meier plot (SVG and PNG). A phone shows the same page. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import demo_login, login

pytestmark = pytest.mark.browser


def _plots_drawn(page: Page) -> list[int]:
    return page.eval_on_selector_all(".outcome-plot img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")


def test_a_manager_reads_the_outcomes_and_downloads_the_km_plot(page: Page, shot: Callable[[Page, str], Path],
                                                                tmp_path: Path) -> None:
    login(page, demo_login("manager"))
    page.get_by_role("link", name="Outcomes").click()
    expect(page.get_by_role("heading", name="Outcomes: North Metro Responder Clinic")).to_be_visible()
    response = page.locator("#row-response_rate")
    expect(response).to_contain_text("%")
    expect(response).to_contain_text(" of ")  # "75% (12 of 16)": never a bare percentage
    expect(response.locator("td").nth(1)).to_contain_text(" to ")  # the 95% interval
    claims = page.locator("#claims")
    expect(claims).to_contain_text("Feder A et al. 2021")
    expect(claims).to_contain_text("product choice")
    expect(claims.locator(".verdict").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert all(width > 0 for width in _plots_drawn(page)) and len(_plots_drawn(page)) == 3
    shot(page, "outcomes-dashboard-desktop")

    with page.expect_download() as svg_download:
        page.locator("#plot-km").get_by_role("link", name="SVG").click()
    svg = svg_download.value
    assert svg.suggested_filename == "tenfour-outcomes-km.svg"
    saved = tmp_path / svg.suggested_filename
    svg.save_as(saved)
    assert "<svg" in saved.read_text() and "Responders still responding" in saved.read_text()
    with page.expect_download() as png_download:
        page.locator("#plot-km").get_by_role("link", name="PNG").click()
    png = tmp_path / "km.png"
    png_download.value.save_as(png)
    assert png.read_bytes().startswith(b"\x89PNG")

    started = int(page.locator(".outcome-stats .stat-value").nth(2).inner_text())
    page.get_by_label("Responder role").select_option("police")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/outcomes\?.*role=police"))
    narrowed = int(page.locator(".outcome-stats .stat-value").nth(2).inner_text())
    assert narrowed < started
    expect(page.locator("#plot-km img")).to_have_attribute("src", re.compile(r"^/outcomes/plots/km\.svg\?role=police&"))


def test_the_dashboard_on_a_phone(phone_page: Page, shot: Callable[[Page, str], Path]) -> None:
    login(phone_page, demo_login("prescriber"))
    phone_page.goto("/outcomes")
    expect(phone_page.locator("#row-response_rate")).to_contain_text(" of ")
    phone_page.wait_for_load_state("networkidle")
    assert all(width > 0 for width in _plots_drawn(phone_page))
    # Nothing wider than the screen: the tables fold into cards, the plots shrink to fit.
    overflow = phone_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shot(phone_page, "outcomes-dashboard-phone")


def test_an_impossible_filter_is_explained(page: Page) -> None:
    login(page, demo_login("manager"))
    page.goto("/outcomes?from=2026-05-02&to=2026-05-01")
    expect(page.locator("#e-to")).to_contain_text("before it starts")
    page.goto("/outcomes?from=2001-01-01&to=2001-12-31")
    expect(page.locator(".outcome-notes")).to_contain_text("No patients match")


def test_a_patient_downloads_their_progress_report_on_a_phone(phone_page: Page, shot: Callable[[Page, str], Path],
                                                               tmp_path: Path) -> None:
    login(phone_page, demo_login("patient"))
    phone_page.goto("/me")
    panel = phone_page.locator("section", has=phone_page.get_by_role("heading", name="Your progress report"))
    expect(panel).to_contain_text("never sends it to your employer")
    shot(phone_page, "progress-report-panel-phone")
    with phone_page.expect_download() as download:
        panel.get_by_role("link", name="Download my progress report (PDF)").click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-") and b"/Type /Page" in data
    assert 1 <= len(re.findall(rb"/Type\s*/Page(?!s)", data)) <= 2  # one to two pages
