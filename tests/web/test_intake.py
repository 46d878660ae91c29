"""Invitation by email (a real local SMTP server), the account it creates, and the resumable phone intake."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests import factories
from tests.helpers import clinic_today
from tests.web.support import csrf_on, error_beside, input_value
from tests.web.test_pages import assert_accessible_page

from tenfour.accounts.models import User
from tenfour.alerts.models import Alert
from tenfour.audit.models import AuditEvent
from tenfour.core import eligibility as rules
from tenfour.db import utcnow
from tenfour.eligibility.models import EligibilityDecision
from tenfour.intake import screening
from tenfour.intake.models import IntakeForm
from tenfour.links.models import AccessLink
from tenfour.patients.models import Patient

EMAIL = "kendra.brennan@example.com"
PASSWORD = "engine nine coffee sunrise"
ANSWERS = {
    "pcl5": {f"q{i}": 2 for i in range(1, 21)},  # 40: above the cutoff
    "phq9": {**{f"q{i}": 1 for i in range(1, 9)}, "q9": 0},
    "gad7": {f"q{i}": 1 for i in range(1, 8)},
    "cssrs-screen": {"q1": 0, "q2": 0, "q6": 0},
}


@pytest.fixture
def invited(client, world, db, as_api, mailbox):  # type: ignore[no-untyped-def]
    """A referred patient of the north clinic, invited by the coordinator: (patient, link from the email)."""
    patient = factories.make_patient(db, world.north, first_name="Kendra", last_name="Brennan", email=EMAIL,
                                     status="referred", date_of_birth=date(1987, 6, 2), sex="female")
    db.commit()
    response = client.post(f"/api/v1/patients/{patient.id}/invitation", headers=as_api("coordinator"))
    assert response.status_code == 201, response.text
    (message,) = mailbox.to(EMAIL)
    (link,) = mailbox.links(message)
    return patient, link


def accept(client, link: str, password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    """Open the invitation, set the password; returns a CSRF token for the patient's next forms."""
    path = link.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    response = client.post(path, data={"csrf_token": csrf_on(page.text), "password": password,
                                       "password_confirm": password}, follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/me/intake"
    return csrf_on(client.get("/me/intake").text)


def post_step(client, token: str, path: str, data: dict, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs)


ABOUT = {"date_of_birth": "1987-06-02", "sex": "female", "preferred_contact": "text", "phone": "555-010-7788",
         "contact_times": "Days off"}
WORK = {"responder_role": "ems", "agency": "MetroCare EMS", "years_of_service": "9", "roster_pattern": ""}
HEALTH = {"conditions": [], "medications": [], "reviewed": "true"}


def measurements(**overrides: str) -> dict[str, str]:
    today = clinic_today()
    values = {"systolic_bp": "128", "diastolic_bp": "82", "bp_measured_on": (today - timedelta(days=3)).isoformat(),
              "weight": "165", "weight_unit": "lb", "weight_measured_on": today.isoformat(), "height": "66",
              "height_unit": "in"}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def do_steps(client, token: str, *, answers=None, health=None, meas=None) -> None:  # type: ignore[no-untyped-def]
    answers = {**ANSWERS, **(answers or {})}
    assert post_step(client, token, "/me/intake/about", ABOUT).status_code == 303
    assert post_step(client, token, "/me/intake/work", WORK).status_code == 303
    for instrument, values in answers.items():
        response = post_step(client, token, f"/me/intake/questionnaires/{instrument}",
                             {k: str(v) for k, v in values.items()})
        assert response.status_code == 303, response.text[:400]
    assert post_step(client, token, "/me/intake/health", health or HEALTH).status_code == 303
    assert post_step(client, token, "/me/intake/measurements", meas or measurements()).status_code == 303


# --- The invitation ------------------------------------------------------------------------------------------


def test_invitation_email_carries_the_link_and_no_clinical_detail(invited, mailbox):
    patient, link = invited
    (message,) = mailbox.to(EMAIL)
    body = mailbox.body(message).lower()
    assert re.fullmatch(r"http://testserver/invite/[A-Za-z0-9_-]{40,}", link)
    assert message["Subject"] == "Set up your TenFour account"
    for word in ("ketamine", "ptsd", "pcl", "suicid", "infusion", "diagnos", "brennan"):
        assert word not in body, word
    assert "the link works once" in body and "north test clinic" in body


def test_link_sets_the_password_creates_the_account_and_links_it(client, invited, db):
    patient, link = invited
    page = client.get(link.removeprefix("http://testserver"))
    assert "Welcome, Kendra" in page.text and EMAIL in page.text
    assert_accessible_page(page.text, "/invite/…")
    accept(client, link)
    db.expire_all()
    patient = db.get(Patient, patient.id)
    user = db.get(User, patient.user_id)
    assert (user.email, user.role, patient.status) == (EMAIL, "patient", "intake")
    assert db.scalar(select(IntakeForm.id).where(IntakeForm.patient_id == patient.id)) is not None
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "intake.account_created",
                                                 AuditEvent.patient_id == patient.id)) is not None
    home = client.get("/me")
    assert home.status_code == 200 and "Your intake" in home.text and "0 of 8 steps done" in home.text
    # Later, the patient signs in with the email and the password they chose.
    client.cookies.clear()
    token = csrf_on(client.get("/login").text)
    signed = client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/"},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/me"


def test_a_used_link_gets_a_clear_page(client, invited):
    _, link = invited
    accept(client, link)
    client.cookies.clear()
    again = client.get(link.removeprefix("http://testserver"))
    assert again.status_code == 410
    assert "This link has already been used" in again.text and 'href="/login"' in again.text


def test_an_expired_link_gets_a_clear_page_and_the_coordinator_sends_a_new_one(client, invited, db, as_api, mailbox):
    patient, link = invited
    db.execute(AccessLink.__table__.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    db.commit()
    expired = client.get(link.removeprefix("http://testserver"))
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert "ask them to send you a new invitation" in expired.text
    refused = client.post(link.removeprefix("http://testserver"),
                          data={"csrf_token": csrf_on(client.get("/refer").text), "password": PASSWORD,
                                "password_confirm": PASSWORD})
    assert refused.status_code == 410
    db.expire_all()
    assert db.get(Patient, patient.id).user_id is None
    mailbox.clear()
    assert client.post(f"/api/v1/patients/{patient.id}/invitation", headers=as_api("coordinator")).status_code == 201
    (fresh,) = mailbox.links(mailbox.to(EMAIL)[0])
    accept(client, fresh)


def test_a_new_invitation_replaces_the_old_link(client, invited, as_api, mailbox):
    patient, first = invited
    mailbox.clear()
    client.post(f"/api/v1/patients/{patient.id}/invitation", headers=as_api("nurse"))
    (second,) = mailbox.links(mailbox.to(EMAIL)[0])
    old = client.get(first.removeprefix("http://testserver"))
    assert old.status_code == 410 and "replaced by a newer one" in old.text
    accept(client, second)


def test_unknown_token_page(client, world):
    response = client.get("/invite/not-a-real-token")
    assert response.status_code == 410 and "This link is not valid" in response.text


def test_password_rules_keep_the_link_usable(client, invited, db):
    _, link = invited
    path = link.removeprefix("http://testserver")
    token = csrf_on(client.get(path).text)
    short = client.post(path, data={"csrf_token": token, "password": "short", "password_confirm": "short"})
    assert short.status_code == 422 and error_beside(short.text, "password") == "must be at least 12 characters"
    mismatch = client.post(path, data={"csrf_token": token, "password": PASSWORD, "password_confirm": PASSWORD + "!"})
    assert error_beside(mismatch.text, "password_confirm") == "does not match the password"
    db.expire_all()
    assert db.scalar(select(AccessLink.used_at)) is None
    accept(client, link)


@pytest.mark.parametrize(("role", "clinic", "status"), [
    ("coordinator", "north-test", 201), ("nurse", "north-test", 201), ("prescriber", "north-test", 201),
    ("manager", "north-test", 403), ("admin", "north-test", 403), ("patient", "north-test", 403),
    ("coordinator", "south-test", 404)])
def test_who_may_send_an_invitation(client, world, db, as_api, role, clinic, status):
    patient = factories.make_patient(db, world.north, email="someone@example.com")
    db.commit()
    response = client.post(f"/api/v1/patients/{patient.id}/invitation", headers=as_api(role, clinic))
    assert response.status_code == status


def test_no_email_no_invitation(client, world, as_api, db):
    response = client.post(f"/api/v1/patients/{world.patient_north.id}/invitation", headers=as_api("coordinator"))
    assert response.status_code == 422
    assert response.json()["problems"][0] == {"field": "email", "rule": "required_for_invitation",
                                              "message": "add the patient's email address to their record first"}
    db.expire_all()
    assert db.scalar(select(AccessLink.id)) is None
    assert client.post(f"/api/v1/patients/{world.patient_north.id}/invitation").status_code == 401


# --- The intake -----------------------------------------------------------------------------------------------


def test_intake_is_resumable_across_sign_ins(client, invited, db):
    _, link = invited
    token = accept(client, link)
    assert post_step(client, token, "/me/intake/about", ABOUT).headers["location"] == "/me/intake/work"
    pcl5 = {k: str(v) for k, v in ANSWERS["pcl5"].items()}
    response = post_step(client, token, "/me/intake/questionnaires/pcl5", pcl5)
    assert response.headers["location"] == "/me/intake/work", "the next step not yet done"
    client.cookies.clear()
    login = csrf_on(client.get("/login").text)
    client.post("/login", data={"csrf_token": login, "email": EMAIL, "password": PASSWORD, "next": "/"})
    hub = client.get("/me/intake").text
    assert "2 of 8 done" in hub and "Continue: Your work and shifts" in hub
    assert_accessible_page(hub, "/me/intake")
    done_again = client.get("/me/intake/questionnaires/pcl5")
    assert "already answered" in done_again.text
    refused = post_step(client, csrf_on(hub), "/me/intake/questionnaires/pcl5",
                        {k: str(v) for k, v in ANSWERS["pcl5"].items()})
    assert refused.status_code == 409
    about = client.get("/me/intake/about").text
    assert input_value(about, "phone") == "555-010-7788", "a saved step shows what was saved"


def test_every_intake_page_renders_on_a_phone_and_is_labelled(client, invited):
    _, link = invited
    accept(client, link)
    for path in ("/me/intake", "/me/intake/about", "/me/intake/work", "/me/intake/questionnaires/pcl5",
                 "/me/intake/questionnaires/cssrs-screen", "/me/intake/health", "/me/intake/measurements",
                 "/me/intake/review"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_accessible_page(response.text, path)
    cssrs = client.get("/me/intake/questionnaires/cssrs-screen").text
    assert "Ask questions 1 and 2" not in cssrs, "the patient reads patient-facing instructions"
    assert "You are not in trouble for answering honestly" in cssrs


def test_whole_intake_then_eligibility_decision_and_statuses_in_step(client, invited, db, world, as_api):
    patient, link = invited
    token = accept(client, link)
    do_steps(client, token)
    review = client.get("/me/intake/review").text
    assert "128/82 mmHg" in review and "74.8 kg" in review and "You ticked nothing on the list." in review
    sent = post_step(client, token, "/me/intake/submit", {})
    assert sent.status_code == 303
    db.expire_all()
    patient = db.get(Patient, patient.id)
    assert patient.status == "assessment"
    assert (patient.responder_role, patient.agency, patient.phone) == ("ems", "MetroCare EMS", "555-010-7788")
    decision = db.scalars(select(EligibilityDecision).where(EligibilityDecision.patient_id == patient.id)).one()
    assert decision.outcome == "eligible" and decision.rules_version == rules.RULES_VERSION
    assert decision.inputs["cssrs_risk"] == "none" and decision.inputs["systolic_bp"] == 128
    assert decision.inputs["age_years"] == patient.age_on(date.today()) and decision.created_by_id is None
    form = db.scalars(select(IntakeForm).where(IntakeForm.patient_id == patient.id)).one()
    assert form.weight_g == 74800 and form.height_cm == 168 and form.submitted_at is not None
    home = client.get("/me").text
    assert "Nothing in your answers rules out ketamine treatment." in home
    locked = post_step(client, token, "/me/intake/about", ABOUT)
    assert locked.status_code == 409
    staff = client.get(f"/api/v1/patients/{patient.id}/intake", headers=as_api("nurse")).json()
    assert staff["steps_done"][-1] == "measurements" and staff["weight_kg"] == "74.8"


def test_review_and_exclusion_reasons_reach_the_patient_in_their_words(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    do_steps(client, token, health={"conditions": ["pregnant", "hepatic_impairment"], "medications": ["lamotrigine"],
                                    "reviewed": "true"})
    post_step(client, token, "/me/intake/submit", {})
    db.expire_all()
    decision = db.scalars(select(EligibilityDecision).where(EligibilityDecision.patient_id == patient.id)).one()
    assert decision.outcome == "excluded"
    assert [r["rule"] for r in decision.reasons] == ["pregnant", "hepatic_impairment", "lamotrigine"]
    assert db.get(Patient, patient.id).status == "ineligible"
    home = client.get("/me").text
    assert "may not be safe for you right now" in home and "You reported being pregnant." in home
    assert "excluded" not in re.sub(r"<[^>]+>", " ", home).lower(), "the patient never reads a bare verdict"


def test_phq9_item9_shows_crisis_resources_at_once_and_alerts(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    response = post_step(client, token, "/me/intake/questionnaires/phq9",
                         {**{f"q{i}": "1" for i in range(1, 9)}, "q9": "2"})
    assert response.status_code == 303 and response.headers["location"] == "/me/intake/support"
    page = client.get("/me/intake/support").text
    assert "Your clinic has been alerted and will contact you <strong>today</strong>" in page
    assert 'href="tel:988"' in page and "CopLine" in page
    db.expire_all()
    alert = db.scalars(select(Alert).where(Alert.patient_id == patient.id)).one()
    assert (alert.severity, alert.kind) == ("urgent", "suicidal_ideation")


def test_support_page_only_when_an_intake_answer_was_urgent(client, invited):
    _, link = invited
    accept(client, link)
    response = client.get("/me/intake/support", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/me/intake"


def test_cssrs_high_at_intake_means_crisis_first_not_ineligible(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    do_steps(client, token, answers={"cssrs-screen": {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0}})
    post_step(client, token, "/me/intake/submit", {})
    db.expire_all()
    decision = db.scalars(select(EligibilityDecision).where(EligibilityDecision.patient_id == patient.id)).one()
    assert decision.outcome == "excluded" and decision.reasons[0]["rule"] == "cssrs_high_crisis_first"
    assert db.get(Patient, patient.id).status == "assessment", "crisis workflow first; not written off"
    assert db.scalar(select(Alert.kind).where(Alert.patient_id == patient.id)) == "imminent_risk"


def test_impossible_readings_are_refused_field_by_field_and_nothing_is_saved(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    tomorrow = (clinic_today() + timedelta(days=1)).isoformat()
    response = post_step(client, token, "/me/intake/measurements",
                         measurements(systolic_bp="400", diastolic_bp="20", weight="0", weight_measured_on=tomorrow))
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "systolic_bp") == "400 mmHg is not a plausible value (accepted 60-300 mmHg)"
    assert error_beside(html, "diastolic_bp") == "20 mmHg is not a plausible value (accepted 30-200 mmHg)"
    assert error_beside(html, "weight").startswith("0 lb is not a plausible weight")
    assert error_beside(html, "weight_measured_on") == "cannot be in the future"
    assert input_value(html, "systolic_bp") == "400", "what was typed stays"
    db.expire_all()
    form = db.scalars(select(IntakeForm).where(IntakeForm.patient_id == patient.id)).one()
    assert form.steps_done == [] and form.systolic_bp is None


def test_unknown_blood_pressure_leaves_the_decision_to_the_prescriber(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    do_steps(client, token, meas=measurements(systolic_bp="", diastolic_bp="", bp_measured_on="", bp_unknown="true"))
    assert post_step(client, token, "/me/intake/submit", {}).status_code == 303
    db.expire_all()
    assert db.scalar(select(EligibilityDecision.id).where(EligibilityDecision.patient_id == patient.id)) is None
    assert db.get(Patient, patient.id).status == "assessment"
    assert "Your blood pressure will be measured at your first visit." in client.get("/me/intake").text


def test_health_step_refuses_unknown_terms_and_needs_the_confirmation(client, invited, db):
    _, link = invited
    token = accept(client, link)
    unknown = post_step(client, token, "/me/intake/health", {"conditions": ["gout"], "reviewed": "true"})
    assert unknown.status_code == 422 and "&#39;gout&#39; is not on the list" in unknown.text
    unconfirmed = post_step(client, token, "/me/intake/health", {"conditions": ["breastfeeding"]})
    assert unconfirmed.status_code == 422
    assert "please confirm you went through every item" in unconfirmed.text
    assert 'id="c-breastfeeding" name="conditions" value="breastfeeding" checked' in unconfirmed.text


def test_roster_is_checked_by_the_core_and_previewed(client, invited, db):
    patient, link = invited
    token = accept(client, link)
    bad = post_step(client, token, "/me/intake/work", {**WORK, "roster_pattern": "24/48", "roster_platoon": "D",
                                                        "roster_shift_start": "07:00"})
    assert bad.status_code == 422
    assert error_beside(bad.text, "roster_anchor_date").startswith("is needed with a shift pattern")
    wrong_team = post_step(client, token, "/me/intake/work", {
        **WORK, "roster_pattern": "24/48", "roster_platoon": "D", "roster_shift_start": "07:00",
        "roster_anchor_date": (date.today() - timedelta(days=30)).isoformat()})
    assert error_beside(wrong_team.text, "roster_platoon").startswith("pattern 24/48 has no platoon 'D'")
    good = post_step(client, token, "/me/intake/work", {
        **WORK, "roster_pattern": "24/48", "roster_platoon": "B", "roster_shift_start": "07:00",
        "roster_anchor_date": (date.today() - timedelta(days=30)).isoformat()})
    assert good.headers["location"] == "/me/intake/work?check=true"
    check = client.get("/me/intake/work?check=true").text
    assert "Are these your next shifts?" in check and len(re.findall(r"<li>\w{3} \d\d \w{3}, 07:00", check)) >= 4
    db.expire_all()
    assert (db.get(Patient, patient.id).roster_pattern, db.get(Patient, patient.id).roster_platoon) == ("24/48", "B")


def test_sending_an_incomplete_intake_lists_the_missing_steps(client, invited):
    _, link = invited
    token = accept(client, link)
    response = post_step(client, token, "/me/intake/submit", {})
    assert response.status_code == 422
    assert "“About you” is not done yet" in response.text
    assert "“Blood pressure and weight” is not done yet" in response.text


def test_intake_pages_are_the_patients_own(client, world, db):
    from tests.web.support import sign_in_browser

    sign_in_browser(client, db, world.user("nurse"))
    assert client.get("/me/intake").status_code == 403
    client.cookies.clear()
    assert client.get("/me/intake", follow_redirects=False).headers["location"].startswith("/login")


def test_staff_chart_shows_invitation_and_intake_progress(client, invited, db, world):
    from tests.web.support import sign_in_browser

    patient, link = invited
    token = accept(client, link)
    post_step(client, token, "/me/intake/about", ABOUT)
    client.cookies.clear()
    sign_in_browser(client, db, world.user("coordinator"))
    html = client.get(f"/patients/{patient.id}").text
    assert "Referral and intake" in html and "the patient has an account" in html and "1 of 8 steps" in html


def test_screening_words_every_term_of_the_contract_and_nothing_else():
    assert screening.terms("conditions") == rules.CONDITIONS
    assert screening.terms("medications") == rules.MEDICATIONS
