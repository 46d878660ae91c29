"""Server-rendered pages: each page renders for the roles that may see it, is labelled and keyboard-usable,
and forms keep what was typed and show each error beside its field."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy.orm import Session
from tests import factories
from tests.web.support import app, error_beside, form_fields, input_value, module_app, sign_in_browser  # noqa: F401

from tenfour.audit.models import AuditEvent
from tenfour.patients.models import Patient


class PageAudit(HTMLParser):
    """Collects what the structural checks below need from one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str]] = []  # form controls a person fills in
        self.describedby: list[str] = []
        self.h1 = 0
        self.lang: str | None = None
        self.viewport = False
        self.post_forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._label_depth = 0
        self.wrapped: set[int] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if "aria-describedby" in a:
            self.describedby += a["aria-describedby"].split()
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta" and a.get("name") == "viewport":
            self.viewport = "width=device-width" in a.get("content", "")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag == "form":
            self._form = {"method": a.get("method", "get").lower(), "action": a.get("action", ""), "csrf": ""}
            if self._form["method"] == "post":
                self.post_forms.append(self._form)
        elif tag in ("input", "select", "textarea"):
            kind = a.get("type", "text").lower()
            if tag == "input" and a.get("name") == "csrf_token" and self._form is not None:
                self._form["csrf"] = a.get("value", "")
            if tag == "input" and kind in ("hidden", "submit", "button"):
                return
            if self._label_depth:
                self.wrapped.add(len(self.controls))
            self.controls.append(a | {"tag": tag})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1
        elif tag == "form":
            self._form = None


def audit_page(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    return parser


def assert_accessible_page(html: str, path: str) -> None:
    page = audit_page(html)
    assert page.lang == "en", path
    assert page.viewport, f"{path}: no mobile viewport"
    assert page.h1 == 1, f"{path}: {page.h1} h1 headings"
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"{path}: duplicate ids {duplicates}"
    for index, control in enumerate(page.controls):
        labelled = (control.get("id") in page.label_for or "aria-label" in control or index in page.wrapped
                    or "aria-labelledby" in control)
        assert labelled, f"{path}: a {control['tag']} named {control.get('name')!r} has no label"
    missing = set(page.describedby) - set(page.ids)
    assert not missing, f"{path}: aria-describedby points at nothing: {missing}"
    for form in page.post_forms:
        assert form["csrf"], f"{path}: the form posting to {form['action']} has no CSRF token"
    assert '<a class="skip-link" href="#main">' in html and 'id="main"' in html


def signed_in(client, db: Session, user) -> str:  # type: ignore[no-untyped-def]
    return sign_in_browser(client, db, user)


# --- Every page, for each role that may see it --------------------------------------------------------

PAGES_BY_ROLE = {
    None: ["/", "/login", "/privacy", "/cookies"],
    "admin": ["/", "/admin/users", "/admin/users/new", "/admin/users/{nurse_id}", "/admin/clinics",
              "/admin/clinics/new", "/admin/clinics/{clinic_id}", "/admin/clinics/{clinic_id}/policy",
              "/clinic/policy", "/admin/audit", "/privacy", "/cookies"],
    "nurse": ["/", "/patients", "/patients/new", "/patients/{patient_id}", "/patients/{patient_id}/edit",
              "/clinic/policy"],
    "prescriber": ["/", "/patients", "/patients/{patient_id}", "/patients/{patient_id}/edit"],
    "coordinator": ["/", "/patients", "/patients/new", "/patients/{patient_id}"],
    "manager": ["/", "/patients", "/patients/{patient_id}", "/clinic/policy"],
    "patient": ["/me", "/me/details", "/privacy"],
}
PAGE_CASES = [(role, path) for role, paths in PAGES_BY_ROLE.items() for path in paths]


@pytest.mark.parametrize(("role", "path"), PAGE_CASES, ids=[f"{r or 'signed out'} {p}" for r, p in PAGE_CASES])
def test_page_renders_and_is_accessible(client, world, db, role, path) -> None:  # type: ignore[no-untyped-def]
    if role is not None:
        signed_in(client, db, world.user(role))
    url = path.format(nurse_id=world.user("nurse").id, clinic_id=world.north.id,
                      patient_id=world.patient_north.id)
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert_accessible_page(response.text, url)


# What the menu must offer, and must not, per role (other domains may add items of their own).
NAV = {
    "admin": (["Home", "Outcomes", "Clinics", "Users", "Audit log"], ["Patients", "My care"]),
    "prescriber": (["Home", "Patients"], ["Clinics", "Users", "Audit log", "My care"]),
    "nurse": (["Home", "Patients"], ["Clinics", "Users", "Audit log", "My care"]),
    "coordinator": (["Home", "Patients"], ["Clinics", "Users", "Audit log", "My care"]),
    "manager": (["Home", "Patients"], ["Clinics", "Users", "Audit log", "My care"]),
    "patient": (["My care", "My details"], ["Home", "Patients", "Clinics", "Users", "Audit log"]),
}


@pytest.mark.parametrize("role", list(NAV))
def test_navigation_offers_only_what_the_role_may_open(client, world, db, role) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.user(role))
    html = client.get("/me" if role == "patient" else "/").text
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav, "signed-in pages have the main navigation"
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(1))
    labels = [label for _, label in links]
    must, must_not = NAV[role]
    assert labels[:len(must)] == must
    assert not set(labels) & set(must_not)
    for href, label in links:
        assert client.get(href).status_code == 200, f"{role}: the menu offers {label} but it does not open"


def test_signed_out_pages_have_no_navigation_and_offer_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/").text
    assert '<nav aria-label="Main">' not in html
    assert 'href="/login"' in html and "988" in html


def test_home_shows_real_counts_of_the_working_clinic(client, world, db) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        factories.make_patient(db, world.north, last_name=f"Active{n}", status="active", responder_role="police")
    factories.make_patient(db, world.south, last_name="Elsewhere", status="active")
    signed_in(client, db, world.user("nurse"))
    html = client.get("/").text
    stats = dict((label, int(value)) for value, label in
                 re.findall(r'<span class="stat-value">(\d+)</span><span class="stat-label">([^<]+)</span>', html))
    assert stats == {"patients": 4, "intake": 1, "active": 3}
    assert "North Test Clinic" in html
    assert 'aria-label="Police officer: 3 of 4"' in html


# --- The patient list and search ---------------------------------------------------------------------


def test_patient_list_search_and_htmx_fragment(client, world, db) -> None:  # type: ignore[no-untyped-def]
    factories.make_patient(db, world.north, first_name="Tessa", last_name="Kowalski", is_synthetic=True)
    factories.make_patient(db, world.south, first_name="Tessa", last_name="Elsewhere")
    signed_in(client, db, world.user("nurse"))
    full = client.get("/patients").text
    assert "Kowalski, Tessa" in full and "North, Nora" in full and "South" not in full
    assert '<span class="tag">synthetic</span>' in full
    found = client.get("/patients", params={"q": "tessa"})
    assert "Kowalski, Tessa" in found.text and "North, Nora" not in found.text and "Elsewhere" not in found.text
    assert 'value="tessa"' in found.text, "the search box keeps the words"
    fragment = client.get("/patients", params={"q": "tessa"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Kowalski, Tessa" in fragment.text
    nobody = client.get("/patients", params={"q": "zzz"}).text
    assert "No patients match" in nobody


def test_patient_list_ignores_unknown_filters_rather_than_failing(client, world, db) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.user("nurse"))
    response = client.get("/patients", params={"role": "astronaut", "status": "cured"})
    assert response.status_code == 200 and "North, Nora" in response.text


def test_manager_sees_the_registry_without_edit_controls(client, world, db) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.user("manager"))
    assert "Register a patient" not in client.get("/patients").text
    view = client.get(f"/patients/{world.patient_north.id}").text
    assert "Edit details" not in view and "Record withdrawal" not in view and "Nora" in view


def test_patient_page_shows_the_record_and_audits_the_read(client, world, db) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.user("nurse"))
    html = client.get(f"/patients/{world.patient_north.id}").text
    assert "Nora North" in html and world.patient_north.record_number in html
    assert "Edit details" in html and "No roster recorded" in html
    db.expire_all()
    reads = db.query(AuditEvent).filter_by(action="patient.view", patient_id=world.patient_north.id).count()
    assert reads == 1


# --- Forms keep values and show errors beside fields ------------------------------------------------------


def test_new_patient_form_keeps_values_and_shows_errors_beside_fields(client, world, db) -> None:  # type: ignore[no-untyped-def]
    token = signed_in(client, db, world.user("nurse"))
    response = client.post("/patients/new", data={
        "csrf_token": token, "first_name": "Luis", "last_name": "", "date_of_birth": "2999-01-01",
        "responder_role": "firefighter", "agency": "Harbor District Fire", "phone": "not a phone",
        "consents": ["treatment"]})
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "last_name") == "is required"
    assert error_beside(html, "date_of_birth") == "must be in the past"
    assert error_beside(html, "phone") == "use digits, spaces and + ( ) - only (7 to 25 characters)"
    assert error_beside(html, "first_name") is None
    assert input_value(html, "first_name") == "Luis" and input_value(html, "agency") == "Harbor District Fire"
    assert input_value(html, "phone") == "not a phone"
    assert re.search(r'id="f-last_name"[^>]*aria-invalid="true" aria-describedby="e-last_name"', html)
    assert '<option value="firefighter" selected>' in html
    assert 'id="c-treatment" name="consents" value="treatment" checked' in html
    assert 'id="c-contact" name="consents" value="contact">' in html, "an unticked box stays unticked"
    assert "Please check 3 fields" in html and 'href="#f-last_name"' in html
    assert '<a href="#f-date_of_birth">Date of birth</a>: must be in the past' in html, "as labelled"
    db.expire_all()
    assert db.query(Patient).filter_by(first_name="Luis").count() == 0


def test_new_patient_form_saves_and_says_so(client, world, db) -> None:  # type: ignore[no-untyped-def]
    token = signed_in(client, db, world.user("coordinator"))
    response = client.post("/patients/new", data={
        "csrf_token": token, "first_name": "Luis", "last_name": "Ortega", "date_of_birth": "1988-08-08",
        "responder_role": "dispatcher", "consents": ["treatment", "contact"]}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Patient registered (record TF-" in page.text and "Luis Ortega" in page.text
    assert "Patient registered" not in client.get(response.headers["location"]).text, "a flash shows once"
    db.expire_all()
    patient = db.query(Patient).filter_by(last_name="Ortega").one()
    assert patient.clinic_id == world.north.id and {c.kind for c in patient.consents} == {"treatment", "contact"}


def test_edit_form_round_trip_with_blank_optional_fields(client, world, db) -> None:  # type: ignore[no-untyped-def]
    """The edit form sends every field; blank years, dates and times mean "not recorded" (was a 422)."""
    pid = world.patient_north.id
    signed_in(client, db, world.user("nurse"))
    form = form_fields(client.get(f"/patients/{pid}/edit").text, f"/patients/{pid}/edit")
    assert form["years_of_service"] == "" and form["roster_anchor_date"] == ""
    response = client.post(f"/patients/{pid}/edit", data={**form, "years_of_service": "7", "status": "active"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    form = form_fields(client.get(f"/patients/{pid}/edit").text, f"/patients/{pid}/edit")
    assert form["years_of_service"] == "7" and form["status"] == "active"
    cleared = client.post(f"/patients/{pid}/edit", data={**form, "years_of_service": ""}, follow_redirects=False)
    assert cleared.status_code == 303
    db.expire_all()
    patient = db.get(Patient, pid)
    assert patient is not None and patient.years_of_service is None and patient.status == "active"


def test_edit_form_errors_keep_what_was_typed_and_save_nothing(client, world, db) -> None:  # type: ignore[no-untyped-def]
    pid = world.patient_north.id
    signed_in(client, db, world.user("nurse"))
    form = form_fields(client.get(f"/patients/{pid}/edit").text, f"/patients/{pid}/edit")
    response = client.post(f"/patients/{pid}/edit", data={**form, "first_name": "", "agency": "Typed Agency",
                                                           "roster_pattern": "kelly"})
    assert response.status_code == 422
    assert error_beside(response.text, "first_name") == "is required"
    assert input_value(response.text, "agency") == "Typed Agency"
    db.expire_all()
    patient = db.get(Patient, pid)
    assert patient is not None and patient.first_name == "Nora" and patient.agency == "Test Fire Dept"
    rule = client.post(f"/patients/{pid}/edit", data={**form, "roster_pattern": "kelly"})
    assert rule.status_code == 422
    assert error_beside(rule.text, "roster_anchor_date") == (
        "is needed with a duty roster pattern (the first day of a shift)")


def test_patient_edits_their_contact_details(client, world, db) -> None:  # type: ignore[no-untyped-def]
    token = signed_in(client, db, world.patient_user)
    bad = client.post("/me/details", data={"csrf_token": token, "phone": "555", "email": "me@example.com",
                                            "preferred_contact": "text", "contact_times": "Evenings"})
    assert bad.status_code == 422
    assert error_beside(bad.text, "phone") and input_value(bad.text, "email") == "me@example.com"
    assert '<option value="text" selected>' in bad.text
    good = client.post("/me/details", data={"csrf_token": token, "phone": "(555) 010-1234", "email": "",
                                             "preferred_contact": "text", "contact_times": "Evenings"},
                       follow_redirects=False)
    assert good.status_code == 303
    assert "Your details are saved." in client.get("/me/details").text
    db.expire_all()
    patient = db.get(Patient, world.patient_north.id)
    assert patient is not None
    assert (patient.phone, patient.email, patient.preferred_contact) == ("(555) 010-1234", None, "text")


def test_a_patient_cannot_change_anything_but_contact_details(client, world, db) -> None:  # type: ignore[no-untyped-def]
    token = signed_in(client, db, world.patient_user)
    response = client.post("/me/details", data={"csrf_token": token, "phone": "(555) 010-1234",
                                                "preferred_contact": "phone", "status": "discharged",
                                                "first_name": "Hacker"}, follow_redirects=False)
    assert response.status_code == 303
    db.expire_all()
    patient = db.get(Patient, world.patient_north.id)
    assert patient is not None and patient.status == "intake" and patient.first_name == "Nora"


def test_a_patient_page_shows_crisis_resources(client, world, db) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.patient_user)
    html = client.get("/me").text
    assert 'href="tel:988"' in html and "Hello, Nora" in html
    assert world.patient_north.record_number in html


# --- Notices and errors ------------------------------------------------------------------------------


def test_privacy_and_cookie_notices(client) -> None:  # type: ignore[no-untyped-def]
    privacy = client.get("/privacy").text
    assert "Never your employer" in privacy and "No advertising, analytics or tracking" in privacy
    cookies = client.get("/cookies").text
    for name in ("tenfour_session", "tenfour_csrf", "tenfour_flash"):
        assert f"<code>{name}</code>" in cookies
    assert "no tracking" in cookies
    footer = client.get("/login").text
    assert 'href="/privacy"' in footer and 'href="/cookies"' in footer


def test_unknown_address_is_a_friendly_404_page(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "There is nothing at this address." in response.text
    assert "<h1>Not found</h1>" in response.text


def test_another_clinics_patient_page_reads_like_a_missing_one(client, world, db) -> None:  # type: ignore[no-untyped-def]
    signed_in(client, db, world.user("nurse"))
    other = client.get(f"/patients/{world.patient_south.id}")
    missing = client.get("/patients/999999")
    assert other.status_code == missing.status_code == 404
    assert "Sam" not in other.text
    assert re.sub(r"csrf_token\" value=\"[^\"]+", "", other.text) == re.sub(
        r"csrf_token\" value=\"[^\"]+", "", missing.text)


def test_a_forbidden_page_is_a_page_not_a_crash(client, world, db) -> None:  # type: ignore[no-untyped-def]
    """Error pages render after the request's session is closed (was a DetachedInstanceError, i.e. a 500)."""
    signed_in(client, db, world.user("nurse"))
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Your role (nurse) does not allow this." in response.text
    assert world.user("nurse").full_name in response.text, "the header still shows who is signed in"
