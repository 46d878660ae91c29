"""Two-step sign-in (TOTP) for staff, the clinic policy that requires it, the administrator's reset, and the recent
sign-in asked for before signing a plan, overriding eligibility or a dose, and exporting data."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update
from tests import factories
from tests.conftest import csrf_from
from tests.web.infusion_helpers import clock, planned, walker  # noqa: F401
from tests.web.support import app, bearer, module_app, sign_in_browser  # noqa: F401

from tenfour.accounts import mfa
from tenfour.accounts.models import AuthSession, User
from tenfour.accounts.service import GENERIC_LOGIN_ERROR, GENERIC_REAUTH_ERROR
from tenfour.audit.models import AuditEvent
from tenfour.audit.service import Actor
from tenfour.clinics.service import set_policy_values
from tenfour.db import utcnow
from tenfour.eligibility.models import EligibilityDecision

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol(db, user: User, secret: str = SECRET) -> None:  # type: ignore[no-untyped-def]
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    db.commit()


def code_for(secret: str = SECRET, steps_ago: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(utcnow() - timedelta(seconds=30 * steps_ago))


def make_stale(db, user: User) -> None:  # type: ignore[no-untyped-def]
    """Every session of `user` last proved the password an hour ago (beyond security.reauth_window_min)."""
    db.execute(update(AuthSession).where(AuthSession.user_id == user.id)
               .values(authenticated_at=utcnow() - timedelta(hours=1)))
    db.commit()


def api_login(client, email: str, **extra):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/login", json={"email": email, "password": factories.PASSWORD, **extra})


def audit_actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- Enrolment --------------------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_then_turns_on_with_a_code_and_shows_recovery_codes_once(client, world, db):
    nurse = world.user("nurse")
    csrf = sign_in_browser(client, db, nurse)
    page = client.get("/account/mfa")
    assert page.status_code == 200 and "Two-step sign-in is off" in page.text
    assert re.search(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', page.text), "QR code as data: image"
    assert "<script" not in page.text.split("<main", 1)[-1].split("</main>", 1)[0]
    db.expire_all()
    secret = db.get(User, nurse.id).totp_secret
    assert secret and secret in page.text and db.get(User, nurse.id).totp_enabled_at is None

    wrong = client.post("/account/mfa", data={"csrf_token": csrf, "code": "000000" if code_for(secret) != "000000"
                                              else "111111"})
    assert wrong.status_code == 422 and "Is not the current code" in wrong.text
    done = client.post("/account/mfa", data={"csrf_token": csrf, "code": code_for(secret)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    db.expire_all()
    user = db.get(User, nurse.id)
    assert user.mfa_enabled and user.recovery_codes_left == 10
    assert not any(code in str(user.recovery_code_hashes) for code in codes), "only salted hashes are stored"
    assert "user.mfa_enrolled" in audit_actions(db)
    again = client.get("/account/mfa")
    assert "Two-step sign-in is on" in again.text and codes[0] not in again.text, "codes are shown only once"


def test_patients_have_no_two_step_enrolment(client, world, db):
    sign_in_browser(client, db, world.user("patient"))
    assert client.get("/account/mfa").status_code == 403


# --- Signing in with a code -------------------------------------------------------------------------------


def test_api_login_of_an_enrolled_user_needs_a_current_unused_code(client, world, db):
    nurse = world.user("nurse")
    enrol(db, nurse)
    missing = api_login(client, nurse.email)
    wrong = api_login(client, nurse.email, totp="12345x")
    assert (missing.status_code, missing.json()["detail"]) == (401, GENERIC_LOGIN_ERROR)
    assert (wrong.status_code, wrong.json()["detail"]) == (401, GENERIC_LOGIN_ERROR)
    code = code_for()
    assert api_login(client, nurse.email, totp=code).status_code == 200
    replay = api_login(client, nurse.email, totp=code)
    assert (replay.status_code, replay.json()["detail"]) == (401, GENERIC_LOGIN_ERROR), "a code works once"
    assert audit_actions(db).count("auth.login_failed") == 3


def test_a_recovery_code_signs_in_once(client, world, db):
    nurse = world.user("nurse")
    enrol(db, nurse)
    codes = mfa.new_recovery_codes(nurse)
    db.commit()
    assert api_login(client, nurse.email, totp=codes[3].upper()).status_code == 200
    assert api_login(client, nurse.email, totp=codes[3]).status_code == 401
    db.expire_all()
    assert db.get(User, nurse.id).recovery_codes_left == 9


def test_browser_sign_in_takes_the_code_in_the_same_form(client, world, db):
    nurse = world.user("nurse")
    enrol(db, nurse)
    form = {"csrf_token": csrf_from(client), "email": nurse.email, "password": factories.PASSWORD, "next": "/"}
    refused = client.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 401 and GENERIC_LOGIN_ERROR in refused.text.replace("&#39;", "'")
    assert 'name="code"' in refused.text
    signed_in = client.post("/login", data={**form, "code": code_for()}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"


def test_accounts_without_two_step_sign_in_ignore_the_code_field(client, world):
    assert api_login(client, world.user("nurse").email).status_code == 200
    assert api_login(client, world.user("nurse").email, totp="").status_code == 200


# --- Policy: required for staff ---------------------------------------------------------------------------


def test_when_the_clinic_requires_it_an_unenrolled_staff_member_can_only_enrol(client, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {"security.require_staff_mfa": True})
    db.commit()
    nurse = world.user("nurse")
    form = {"csrf_token": csrf_from(client), "email": nurse.email, "password": factories.PASSWORD, "next": "/patients"}
    login = client.post("/login", data=form, follow_redirects=False)
    assert (login.status_code, login.headers["location"]) == (303, "/account/mfa")
    blocked = client.get("/patients", follow_redirects=False)
    assert (blocked.status_code, blocked.headers["location"]) == (303, "/account/mfa")
    home = client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/account/mfa")
    page = client.get("/account/mfa")
    assert "Your clinic requires two-step sign-in" in page.text
    token = api_login(client, nurse.email).json()["access_token"]
    api = client.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"})
    assert (api.status_code, api.json()["code"]) == (403, "mfa_enrollment_required")
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    db.expire_all()
    secret = db.get(User, nurse.id).totp_secret
    assert client.post("/account/mfa", data={"csrf_token": form["csrf_token"], "code": code_for(secret)}
                       ).status_code == 200
    assert client.get("/patients").status_code == 200
    # A clinic that does not require it leaves its staff alone.
    assert api_login(client, world.user("nurse", "south-test").email).status_code == 200
    south = bearer(db, world.user("nurse", "south-test"))
    db.commit()
    assert client.get("/api/v1/patients", headers=south).status_code == 200


# --- Administrator's reset --------------------------------------------------------------------------------


def test_an_administrator_resets_two_step_sign_in_audited_and_ends_the_persons_sessions(client, world, db):
    nurse = world.user("nurse")
    enrol(db, nurse)
    nurse_token = bearer(db, nurse)
    csrf = sign_in_browser(client, db, world.user("admin"))
    assert "Two-step sign-in: on" in client.get(f"/admin/users/{nurse.id}").text
    reset = client.post(f"/admin/users/{nurse.id}/mfa-reset", data={"csrf_token": csrf}, follow_redirects=False)
    assert reset.status_code == 303
    db.expire_all()
    user = db.get(User, nurse.id)
    assert not user.mfa_enabled and user.totp_secret is None and user.recovery_code_hashes is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.mfa_reset")).one()
    assert (event.record_id, event.actor_user_id, event.detail) == (str(nurse.id), world.user("admin").id,
                                                                     {"was_enabled": True})
    assert client.get("/api/v1/auth/me", headers=nurse_token).status_code == 401
    assert api_login(client, nurse.email).status_code == 200, "signs in with the password, enrols again"


def test_an_administrator_of_another_clinic_cannot_reset(client, world, db):
    nurse = world.user("nurse")
    enrol(db, nurse)
    csrf = sign_in_browser(client, db, world.user("admin", "south-test"))
    assert client.post(f"/admin/users/{nurse.id}/mfa-reset", data={"csrf_token": csrf}).status_code == 404
    db.expire_all()
    assert db.get(User, nurse.id).mfa_enabled


# --- Recent sign-in before sensitive actions --------------------------------------------------------------


@pytest.fixture
def draft(client, world, db):  # type: ignore[no-untyped-def]
    """A draft plan for the north patient, who has an eligible decision; returns (plan id, prescriber headers)."""
    patient = world.patient_north
    db.add(EligibilityDecision(clinic_id=patient.clinic_id, patient_id=patient.id, rules_version="2026.1",
                               inputs={}, thresholds={}, outcome="eligible", reasons=[]))
    headers = bearer(db, world.user("prescriber"))
    db.commit()
    response = client.post(f"/api/v1/patients/{patient.id}/plans", json={}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], headers


def test_api_signing_with_a_stale_sign_in_is_401_reauth_required_until_the_password_is_given(client, world, db,
                                                                                               draft):
    plan_id, headers = draft
    url = f"/api/v1/patients/{world.patient_north.id}/plans/{plan_id}/sign"
    make_stale(db, world.user("prescriber"))
    refused = client.post(url, headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "reauth_required"
    db.expire_all()
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "plan.sign")) is None
    wrong = client.post("/api/v1/auth/reauth", json={"password": "not the password at all"}, headers=headers)
    assert (wrong.status_code, wrong.json()["detail"]) == (401, GENERIC_REAUTH_ERROR)
    assert client.post(url, headers=headers).status_code == 401
    assert client.post("/api/v1/auth/reauth", json={"password": factories.PASSWORD}, headers=headers
                       ).status_code == 204
    signed = client.post(url, headers=headers)
    assert signed.status_code == 200 and signed.json()["is_signed"] is True
    assert {"auth.reauth_failed", "auth.reauth"} <= set(audit_actions(db))


def test_api_reauth_of_an_enrolled_user_needs_the_code_too(client, world, db, draft):
    _, headers = draft
    enrol(db, world.user("prescriber"))
    make_stale(db, world.user("prescriber"))
    without = client.post("/api/v1/auth/reauth", json={"password": factories.PASSWORD}, headers=headers)
    assert without.status_code == 401
    with_code = client.post("/api/v1/auth/reauth", json={"password": factories.PASSWORD, "totp": code_for()},
                            headers=headers)
    assert with_code.status_code == 204


def test_a_page_sign_with_a_stale_sign_in_asks_for_the_password_and_then_signs(client, world, db, draft):
    plan_id, _ = draft
    prescriber = world.user("prescriber")
    csrf = sign_in_browser(client, db, prescriber)
    make_stale(db, prescriber)
    url = f"/patients/{world.patient_north.id}/plans/{plan_id}/sign"
    asked = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert asked.status_code == 401 and f'action="{url}"' in asked.text and 'name="reauth_password"' in asked.text
    wrong = client.post(url, data={"csrf_token": csrf, "reauth_password": "not the password at all"},
                        follow_redirects=False)
    assert wrong.status_code == 401 and GENERIC_REAUTH_ERROR in wrong.text.replace("&#39;", "'")
    assert "auth.reauth_failed" in audit_actions(db), "the failure is kept though the request is refused"
    done = client.post(url, data={"csrf_token": csrf, "reauth_password": factories.PASSWORD}, follow_redirects=False)
    assert done.status_code == 303
    db.expire_all()
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "plan.sign")) is not None


def test_an_eligibility_override_keeps_what_was_typed_through_the_password_prompt(client, world, db):
    patient = world.patient_north
    decision = EligibilityDecision(clinic_id=patient.clinic_id, patient_id=patient.id, rules_version="2026.1",
                                   inputs={}, thresholds={}, outcome="review", reasons=[])
    db.add(decision)
    prescriber = world.user("prescriber")
    csrf = sign_in_browser(client, db, prescriber)
    make_stale(db, prescriber)
    url = f"/patients/{patient.id}/eligibility/{decision.id}/override"
    reason = "Blood pressure rechecked at 128/82 after rest; reviewed with the patient."
    asked = client.post(url, data={"csrf_token": csrf, "outcome": "eligible", "reason": reason},
                        follow_redirects=False)
    assert asked.status_code == 401
    carried = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', asked.text))
    assert carried["outcome"] == "eligible" and carried["reason"] == reason
    done = client.post(url, data={**carried, "reauth_password": factories.PASSWORD}, follow_redirects=False)
    assert done.status_code == 303, done.text
    db.expire_all()
    stored = db.get(EligibilityDecision, decision.id)
    assert (stored.override_outcome, stored.override_reason) == ("eligible", reason)


def test_a_stale_export_download_goes_through_the_reauth_page_and_back(client, world, db):
    manager = world.user("manager")
    csrf = sign_in_browser(client, db, manager)
    make_stale(db, manager)
    first = client.get("/exports/deidentified.csv", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/reauth?next=%2Fexports%2Fdeidentified.csv")
    form = client.get(first.headers["location"])
    assert form.status_code == 200 and 'name="reauth_password"' in form.text
    back = client.post(first.headers["location"], data={"csrf_token": csrf, "reauth_password": factories.PASSWORD},
                       follow_redirects=False)
    assert (back.status_code, back.headers["location"]) == (303, "/exports/deidentified.csv")
    assert client.get("/exports/deidentified.csv").status_code == 200
    api = bearer(db, manager)
    make_stale(db, manager)
    stale_api = client.get("/api/v1/exports/deidentified.csv", headers=api)
    assert (stale_api.status_code, stale_api.json()["code"]) == (401, "reauth_required")


def test_reauth_never_redirects_off_site(client, world, db):
    csrf = sign_in_browser(client, db, world.user("nurse"))
    response = client.post("/reauth?next=//evil.example/", data={"csrf_token": csrf,
                                                                 "reauth_password": factories.PASSWORD},
                           follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/")


def test_a_fresh_sign_in_is_not_asked_again(client, world, db, draft):
    plan_id, headers = draft
    signed = client.post(f"/api/v1/patients/{world.patient_north.id}/plans/{plan_id}/sign", headers=headers)
    assert signed.status_code == 200


def test_a_dose_override_with_a_stale_sign_in_is_refused_but_the_plans_dose_is_not(walker, world, db):  # noqa: F811
    walker.to("prechecks_passed")
    walker.post("/dose", {}, role="prescriber", expect=201)  # cache the prescriber's token, then age it
    make_stale(db, world.user("prescriber"))
    refused = walker.post("/dose", {"dose_mg_per_kg": 0.6, "change_reason": "Partial response at 0.5 mg/kg"},
                          role="prescriber", expect=401)
    assert refused.json()["code"] == "reauth_required"
    walker.post("/dose", {}, role="prescriber", expect=201)  # the plan's own dose needs no recent sign-in
    headers = walker.as_api("prescriber", "north-test")
    assert walker.client.post("/api/v1/auth/reauth", json={"password": factories.PASSWORD},
                              headers=headers).status_code == 204
    body = walker.post("/dose", {"dose_mg_per_kg": 0.6, "change_reason": "Partial response at 0.5 mg/kg"},
                       role="prescriber", expect=201).json()
    assert body["doses"][-1]["differs_from_plan"] is True


def test_a_dose_override_on_the_chairside_page_asks_for_the_password_and_keeps_the_reason(walker, world, db):  # noqa: F811
    walker.to("prechecks_passed")
    prescriber = world.user("prescriber")
    csrf = sign_in_browser(client=walker.client, db=db, user=prescriber)
    make_stale(db, prescriber)
    url = f"/infusions/{walker.session_id}/dose"
    typed = {"dose_mg_per_kg": "0.6", "change_reason": "Partial response at 0.5 mg/kg"}
    asked = walker.client.post(url, data={"csrf_token": csrf, **typed}, follow_redirects=False)
    assert asked.status_code == 401
    carried = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', asked.text))
    assert {k: carried[k] for k in typed} == typed
    done = walker.client.post(url, data={**carried, "reauth_password": factories.PASSWORD}, follow_redirects=False)
    assert done.status_code == 303, done.text
    session = walker.client.get(f"/api/v1/infusion-sessions/{walker.session_id}", headers=walker.as_api("nurse"))
    dose = session.json()["doses"][-1]
    assert dose["differs_from_plan"] is True and dose["change_reason"] == typed["change_reason"]
