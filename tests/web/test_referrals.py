"""Confidential referrals: the public form and API, abuse protection, and the clinic's triage queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from tests.web.support import csrf_on, error_beside, input_value, sign_in_browser

from tenfour.accounts.models import RateLimitHit
from tenfour.audit.models import AuditEvent
from tenfour.patients.models import Patient
from tenfour.referrals import service as referrals_service
from tenfour.referrals.models import Referral, ReferralEvent

SELF = {"referrer_relation": "self", "first_name": "Dana", "last_name": "Whitfield", "preferred_contact": "text",
        "phone": "(555) 010-2233", "contact_times": "After 6 pm", "responder_role": "firefighter",
        "agency": "Cedar Township Fire", "reason": "Nightmares since the warehouse fire; not sleeping.",
        "consent_to_contact": True, "clinic": "north-test"}
PEER = {"referrer_relation": "peer_support", "referrer_name": "Petra Peer", "referrer_contact": "petra@example.com",
        "first_name": "Luis", "last_name": "Ortega", "preferred_contact": "email", "email": "luis.ortega@example.com",
        "reason": "Withdrawn since the bus crash call.", "clinic": "north-test"}


def submit_api(client, body, **headers):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/referrals", json=body, headers=headers)


def referral_by_name(db, last_name: str) -> Referral:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(select(Referral).where(Referral.last_name == last_name)).one()


# --- The public API: a reference and nothing else -----------------------------------------------------------


def test_api_answers_201_with_only_the_reference(client, world, db):
    response = submit_api(client, SELF)
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["reference"]
    assert re.fullmatch(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}", body["reference"])
    referral = referral_by_name(db, "Whitfield")
    assert (referral.reference, referral.status, referral.clinic_id) == (body["reference"], "new", world.north.id)
    assert referral.referrer_name is None and referral.consent_to_contact is True
    assert [e.kind for e in referral.events] == ["received"]
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "referral.receive")).one()
    assert audit.actor_label == "anonymous" and "Whitfield" not in str(audit.detail)


def test_api_names_every_bad_field_and_saves_nothing(client, world, db):
    body = {**SELF, "referrer_relation": "boss", "first_name": "", "preferred_contact": "email", "phone": None,
            "reason": "x" * 1001, "consent_to_contact": False, "favourite_colour": "red"}
    response = submit_api(client, body)
    assert response.status_code == 422
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert ("referrer_relation", "enum") in problems
    assert ("first_name", "string_too_short") in problems
    assert ("email", "required_for_contact_method") in problems
    assert ("reason", "string_too_long") in problems
    assert ("favourite_colour", "extra_forbidden") in problems
    db.expire_all()
    assert db.scalar(select(Referral.id)) is None


def test_self_referral_needs_consent_and_a_way_to_reach(client, world):
    response = submit_api(client, {**SELF, "consent_to_contact": False, "phone": None})
    problems = {(p["field"], p["rule"]) for p in response.json()["problems"]}
    assert problems == {("consent_to_contact", "consent_required_for_self_referral"),
                        ("phone", "required_for_contact_method")}


def test_third_party_referral_needs_no_consent_box(client, world, db):
    assert submit_api(client, PEER).status_code == 201
    referral = referral_by_name(db, "Ortega")
    assert referral.referrer_name == "Petra Peer" and referral.consent_to_contact is False


def test_clinic_must_be_named_when_there_are_several(client, world):
    response = submit_api(client, {**SELF, "clinic": None})
    assert response.status_code == 422
    assert response.json()["problems"][0] == {"field": "clinic", "rule": "required",
                                              "message": "choose the clinic you would like to contact"}
    unknown = submit_api(client, {**SELF, "clinic": "nowhere"})
    assert unknown.json()["problems"][0]["rule"] == "known_clinic"


def test_rate_limit_per_address(client, world, db, monkeypatch):
    monkeypatch.setattr(referrals_service, "RATE_LIMIT_PER_HOUR", 2)
    assert submit_api(client, SELF).status_code == 201
    assert submit_api(client, PEER).status_code == 201
    third = submit_api(client, {**PEER, "last_name": "Third"})
    assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
    assert "wait" in third.json()["detail"] and "Third" not in third.text
    db.expire_all()
    assert db.query(Referral).filter_by(last_name="Third").count() == 0
    hits = db.scalars(select(RateLimitHit.key).where(RateLimitHit.bucket == "referral")).all()
    assert hits == ["ip:testclient", "ip:testclient"], "counted per client address, refusals not counted"
    # Another address is not limited: the limit is per address, not global.
    db.execute(RateLimitHit.__table__.update().values(key="ip:198.51.100.7"))
    db.commit()
    assert submit_api(client, {**PEER, "last_name": "Fourth"}).status_code == 201


def test_oversized_body_is_refused(client, world, db):
    response = client.post("/api/v1/referrals", content=b'{"reason": "' + b"x" * 20_000 + b'"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    db.expire_all()
    assert db.scalar(select(Referral.id)) is None


# --- The public page -----------------------------------------------------------------------------------------


def form_data(client, values):  # type: ignore[no-untyped-def]
    token = csrf_on(client.get("/refer").text)
    data = {"csrf_token": token, **{k: ("true" if v is True else v) for k, v in values.items()
                                    if v not in (None, False)}}
    return data


def test_referral_page_says_in_plain_words_what_the_referrer_gets(client, world):
    html = client.get("/refer").text
    assert "You get a reference number and a thank-you, and nothing else, ever." in html
    assert "never shared with an employer" in html
    assert 'name="website"' in html and 'class="hp" aria-hidden="true"' in html
    assert "North Test Clinic" in html and "South Test Clinic" in html
    assert 'href="tel:988"' in html


def test_page_submission_redirects_to_an_acknowledgment_with_the_reference(client, world, db):
    response = client.post("/refer", data=form_data(client, SELF), follow_redirects=False)
    assert response.status_code == 303
    referral = referral_by_name(db, "Whitfield")
    assert response.headers["location"] == f"/refer/thanks?ref={referral.reference}"
    thanks = client.get(response.headers["location"]).text
    assert referral.reference in thanks and "This is the only answer you will get." in thanks
    assert "Whitfield" not in thanks and "Dana" not in thanks
    assert referral.ok_to_leave_message is False and referral.contact_times == "After 6 pm"


def test_form_with_errors_keeps_what_was_typed(client, world, db):
    data = form_data(client, {**SELF, "phone": "", "consent_to_contact": False, "last_name": ""})
    response = client.post("/refer", data=data)
    assert response.status_code == 422
    html = response.text
    assert error_beside(html, "phone") == "is needed to call or text (or choose email as the way to get in touch)"
    assert error_beside(html, "consent_to_contact") == "please agree to be contacted, so the clinic can reach you"
    assert error_beside(html, "last_name") == "is required"
    assert input_value(html, "first_name") == "Dana" and input_value(html, "agency") == "Cedar Township Fire"
    assert "Nightmares since the warehouse fire; not sleeping.</textarea>" in html
    assert '<option value="text" selected>' in html and '<option value="north-test" selected>' in html
    db.expire_all()
    assert db.scalar(select(Referral.id)) is None


def test_honeypot_gets_the_same_answer_and_stores_nothing(client, world, db):
    data = form_data(client, {**SELF, "website": "http://spam.example"})
    response = client.post("/refer", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/refer/thanks?ref=R-")
    db.expire_all()
    assert db.scalar(select(Referral.id)) is None
    assert db.scalar(select(RateLimitHit.id).where(RateLimitHit.bucket == "referral")) is not None


def test_rate_limited_page_keeps_the_words_and_says_wait(client, world, db, monkeypatch):
    monkeypatch.setattr(referrals_service, "RATE_LIMIT_PER_HOUR", 1)
    assert client.post("/refer", data=form_data(client, SELF), follow_redirects=False).status_code == 303
    response = client.post("/refer", data=form_data(client, PEER))
    assert response.status_code == 429 and response.headers["retry-after"]
    assert "Please wait" in response.text and "call the clinic" in response.text
    assert input_value(response.text, "last_name") == "Ortega"


def test_thanks_page_echoes_only_a_well_formed_reference(client, world):
    assert "R-AAAA-BBBB" in client.get("/refer/thanks?ref=R-AAAA-BBBB").text
    page = client.get("/refer/thanks", params={"ref": "<script>alert(1)</script>"})
    assert page.status_code == 200 and "<script>alert" not in page.text


# --- Triage -----------------------------------------------------------------------------------------------------


@pytest.fixture
def received(client, world, db):  # type: ignore[no-untyped-def]
    assert submit_api(client, SELF).status_code == 201
    assert submit_api(client, {**PEER, "clinic": "south-test"}).status_code == 201
    return referral_by_name(db, "Whitfield"), referral_by_name(db, "Ortega")


@pytest.mark.parametrize(("role", "status"), [("coordinator", 200), ("nurse", 200), ("prescriber", 200),
                                              ("manager", 403), ("admin", 403), ("patient", 403)])
def test_queue_api_by_role(client, as_api, received, role, status):
    response = client.get("/api/v1/referrals", headers=as_api(role))
    assert response.status_code == status
    if status == 200:
        names = [r["last_name"] for r in response.json()["items"]]
        assert names == ["Whitfield"], "only the working clinic's referrals"
        assert response.json()["counts"] == {"new": 1}


def test_queue_and_detail_need_sign_in(client, received):
    north, _ = received
    assert client.get("/api/v1/referrals").status_code == 401
    assert client.get(f"/api/v1/referrals/{north.id}").status_code == 401
    page = client.get("/referrals", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_referral_of_another_clinic_is_not_found(client, as_api, received):
    north, south = received
    assert client.get(f"/api/v1/referrals/{south.id}", headers=as_api("coordinator")).status_code == 404
    assert client.get(f"/api/v1/referrals/{north.id}", headers=as_api("coordinator", "south-test")).status_code == 404
    assert client.post(f"/api/v1/referrals/{south.id}/status", headers=as_api("coordinator"),
                       json={"status": "contacted", "note": "Spoke"}).status_code == 404
    assert client.get(f"/api/v1/referrals/{north.id}", headers=as_api("coordinator")).status_code == 200


def test_status_changes_carry_time_who_and_note_and_give_time_to_first_contact(client, as_api, world, received):
    north, _ = received
    headers = as_api("coordinator")
    no_note = client.post(f"/api/v1/referrals/{north.id}/status", headers=headers, json={"status": "contacted"})
    assert no_note.status_code == 422 and no_note.json()["problems"][0]["field"] == "note"
    hand_invited = client.post(f"/api/v1/referrals/{north.id}/status", headers=headers,
                               json={"status": "invited", "note": "Sent it"})
    assert hand_invited.status_code == 422
    assert hand_invited.json()["problems"][0]["rule"] == "allowed_transition"
    done = client.post(f"/api/v1/referrals/{north.id}/status", headers=headers,
                       json={"status": "contacted", "note": "Spoke by text; will call Friday."})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "contacted" and body["first_contact_at"] is not None
    event = body["events"][-1]
    assert (event["from_status"], event["to_status"], event["by_user_id"], event["note"]) == (
        "new", "contacted", world.user("coordinator").id, "Spoke by text; will call Friday.")
    closed = client.post(f"/api/v1/referrals/{north.id}/status", headers=headers,
                         json={"status": "closed", "note": "Duplicate of another referral."})
    assert closed.json()["status"] == "closed"
    reopened = client.post(f"/api/v1/referrals/{north.id}/status", headers=headers,
                           json={"status": "contacted", "note": "Called back."})
    assert reopened.json()["status"] == "contacted"
    assert reopened.json()["first_contact_at"] == body["first_contact_at"], "the first contact stays the first"


def test_unreachable_is_not_a_contact(client, as_api, received):
    north, _ = received
    response = client.post(f"/api/v1/referrals/{north.id}/status", headers=as_api("nurse"),
                           json={"status": "unreachable", "note": "Three calls, no answer."})
    assert response.json()["status"] == "unreachable" and response.json()["first_contact_at"] is None


def test_convert_to_patient_in_one_action_with_invitation(client, as_api, world, db, mailbox):
    assert submit_api(client, {**PEER, "last_name": "Convert"}).status_code == 201
    referral = referral_by_name(db, "Convert")
    response = client.post(f"/api/v1/referrals/{referral.id}/patient", headers=as_api("coordinator"),
                           json={"date_of_birth": "1986-03-14", "send_invitation": True})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invitation_sent"] is True and body["record_number"].startswith("TF-")
    db.expire_all()
    patient = db.get(Patient, body["patient_id"])
    assert (patient.first_name, patient.last_name, patient.email, patient.status, patient.clinic_id) == (
        "Luis", "Convert", "luis.ortega@example.com", "referred", world.north.id)
    referral = referral_by_name(db, "Convert")
    assert referral.patient_id == patient.id and referral.status == "invited"
    assert [e.kind for e in referral.events] == ["received", "converted", "invitation"]
    assert len(mailbox.to("luis.ortega@example.com")) == 1
    again = client.post(f"/api/v1/referrals/{referral.id}/patient", headers=as_api("coordinator"),
                        json={"date_of_birth": "1986-03-14"})
    assert again.status_code == 409


def test_convert_with_invitation_but_no_email_saves_nothing(client, as_api, world, db):
    received_self = submit_api(client, SELF)
    assert received_self.status_code == 201
    referral = referral_by_name(db, "Whitfield")
    response = client.post(f"/api/v1/referrals/{referral.id}/patient", headers=as_api("coordinator"),
                           json={"date_of_birth": "1990-01-01", "send_invitation": True})
    assert response.status_code == 422 and response.json()["problems"][0]["field"] == "email"
    db.expire_all()
    assert db.query(Patient).filter_by(last_name="Whitfield").count() == 0
    assert referral_by_name(db, "Whitfield").patient_id is None


def test_self_referral_consent_becomes_a_contact_consent(client, as_api, world, db):
    submit_api(client, SELF)
    referral = referral_by_name(db, "Whitfield")
    body = client.post(f"/api/v1/referrals/{referral.id}/patient", headers=as_api("nurse"),
                       json={"date_of_birth": "1990-01-01"}).json()
    db.expire_all()
    patient = db.get(Patient, body["patient_id"])
    assert [c.kind for c in patient.consents] == ["contact"]
    assert patient.responder_role == "firefighter" and patient.agency == "Cedar Township Fire"


# --- Triage pages ------------------------------------------------------------------------------------------------


def test_queue_page_shows_waiting_time_and_hides_other_clinics(client, world, db, received):
    sign_in_browser(client, db, world.user("coordinator"))
    html = client.get("/referrals").text
    assert "Whitfield, Dana" in html and "Ortega" not in html
    assert "waiting 0 min" in html and "Self-referral" in html
    assert 'href="/referrals"' in html, "the menu offers Referrals"


def test_detail_page_status_form_errors_beside_the_note(client, world, db, received):
    north, _ = received
    token = sign_in_browser(client, db, world.user("coordinator"))
    page = client.get(f"/referrals/{north.id}").text
    assert "Nightmares since the warehouse fire" in page and "Leave no message that names the clinic" in page
    bad = client.post(f"/referrals/{north.id}/status", data={"csrf_token": token, "status": "contacted", "note": ""})
    assert bad.status_code == 422
    assert re.search(r'<p class="error" id="e-s-note">say what happened', bad.text)
    good = client.post(f"/referrals/{north.id}/status", data={"csrf_token": token, "status": "contacted",
                                                              "note": "Spoke; agreed to an invitation."})
    assert good.status_code == 200 and "Marked contacted." in good.text
    assert "Spoke; agreed to an invitation." in good.text and "First contact" in good.text
    noted = client.post(f"/referrals/{north.id}/notes", data={"csrf_token": token, "note": "Prefers evenings."})
    assert "Note added." in noted.text
    db.expire_all()
    assert [e.kind for e in db.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == north.id))] == [
        "received", "status", "note"]


def test_convert_page_needs_a_date_of_birth_and_keeps_the_rest(client, world, db, mailbox):
    assert submit_api(client, PEER).status_code == 201
    referral = referral_by_name(db, "Ortega")
    token = sign_in_browser(client, db, world.user("coordinator"))
    bad = client.post(f"/referrals/{referral.id}/patient", data={"csrf_token": token, "send_invitation": "true"})
    assert bad.status_code == 422 and 'id="e-dob"' in bad.text
    ok = client.post(f"/referrals/{referral.id}/patient", data={"csrf_token": token, "date_of_birth": "1984-02-29",
                                                                "send_invitation": "true"})
    assert ok.status_code == 200 and "Invitation emailed." in ok.text and "Send a new invitation" in ok.text
    assert len(mailbox.to("luis.ortega@example.com")) == 1


def test_every_page_of_the_journey_is_labelled_and_keyboard_usable(client, world, db, received):
    from tests.web.test_pages import assert_accessible_page

    from tenfour.eligibility.models import EligibilityDecision

    north, _ = received
    for path in ("/refer", "/refer/thanks?ref=R-AAAA-BBBB", "/invite/not-a-token"):
        assert_accessible_page(client.get(path).text, path)
    errors = client.post("/refer", data=form_data(client, {**SELF, "phone": ""}))
    assert_accessible_page(errors.text, "/refer (errors)")
    sign_in_browser(client, db, world.user("coordinator"))
    patient_id = client.post(f"/api/v1/referrals/{north.id}/patient", json={"date_of_birth": "1990-01-01"},
                             headers={"Authorization": "Bearer " + _bearer(db, world.user("coordinator"))}).json()[
        "patient_id"]
    db.add(EligibilityDecision(clinic_id=world.north.id, patient_id=patient_id, rules_version="2026.1", inputs={
        "conditions": [], "medications": ["lamotrigine"], "age_years": 36, "systolic_bp": 120, "diastolic_bp": 80,
        "cssrs_risk": "none"}, thresholds={"eligibility.review_sbp": 140}, outcome="review", reasons=[
        {"rule": "lamotrigine", "outcome": "review", "message": "You take lamotrigine.", "source": "Sanacora 2017"}]))
    db.commit()
    for path in ("/referrals", "/referrals?view=all", f"/referrals/{north.id}", f"/patients/{patient_id}",
                 f"/patients/{patient_id}/eligibility", f"/patients/{patient_id}/plans"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_accessible_page(response.text, path)
    client.cookies.clear()
    sign_in_browser(client, db, world.user("prescriber"))
    for path in (f"/patients/{patient_id}/eligibility", f"/patients/{patient_id}/plans/new"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_accessible_page(response.text, path)


def _bearer(db, user) -> str:  # type: ignore[no-untyped-def]
    from tests.web.support import open_token

    token = open_token(db, user, "api")
    db.commit()
    return token
