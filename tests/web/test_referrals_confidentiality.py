"""A referrer learns nothing after submitting: every route of the app, walked signed out and as patient accounts
(another patient, and the referred person themself), returns no referral data: no names, no reason, no referrer,
no status. A control walk as the clinic's coordinator proves the walk would see the data if it leaked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.support import api_routes, open_token

from tenfour.referrals.models import Referral
from tenfour.web.security import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token

REFERRAL = {"referrer_relation": "supervisor", "referrer_name": "Captain Ottoline Marchbanks",
            "referrer_contact": "ottoline.marchbanks@station9.example", "first_name": "Zebulon",
            "last_name": "Quillfeather", "preferred_contact": "email", "email": "zeb.quillfeather@example.com",
            "phone": "555-010-9911", "agency": "Station Nine Engine Company", "responder_role": "firefighter",
            "reason": "Since the Harbor Street collapse he checks out on every call", "clinic": "north-test"}
# Routes that end the caller's own session would cut the walk short; they carry no referral data.
SKIP = {("POST", "/logout"), ("POST", "/api/v1/auth/logout")}
PARAMS = {"instrument_id": "phq9", "token": "x" * 43, "slug": "north-test"}


def secrets_for(referral: Referral, *, self_view: bool) -> list[str]:
    """What must never reach the caller. The referred person may see their own name and contact details."""
    hidden = [referral.reference, REFERRAL["reason"], REFERRAL["referrer_name"], REFERRAL["referrer_contact"],
              "Marchbanks", "Harbor Street collapse", "Intake complete", "intake_complete"]
    if not self_view:
        hidden += ["Zebulon", "Quillfeather", REFERRAL["email"], REFERRAL["phone"], REFERRAL["agency"]]
    return hidden


@pytest.fixture
def referred(client, world, db, as_api, mailbox):  # type: ignore[no-untyped-def]
    """A referral that went the whole way: received, contacted, made a patient, invited, account set up,
    intake sent (status intake complete)."""
    assert client.post("/api/v1/referrals", json=REFERRAL).status_code == 201
    db.expire_all()
    referral = db.scalars(select(Referral).where(Referral.last_name == "Quillfeather")).one()
    staff = as_api("coordinator")
    client.post(f"/api/v1/referrals/{referral.id}/status", headers=staff,
                json={"status": "contacted", "note": "Spoke; wants to start."})
    body = client.post(f"/api/v1/referrals/{referral.id}/patient", headers=staff,
                       json={"date_of_birth": "1982-09-09", "send_invitation": True}).json()
    (link,) = mailbox.links(mailbox.to(REFERRAL["email"])[0])
    path = link.removeprefix("http://testserver")
    page = client.get(path).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post(path, data={"csrf_token": token, "password": "a long passphrase here",
                            "password_confirm": "a long passphrase here"})
    from tests.web.test_intake import do_steps, post_step  # the patient's own intake, start to finish

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/me/intake").text).group(1)  # type: ignore[union-attr]
    do_steps(client, csrf)
    assert post_step(client, csrf, "/me/intake/submit", {}).status_code == 303
    client.cookies.clear()
    db.expire_all()
    referral = db.get(Referral, referral.id)
    assert referral.status == "intake_complete"
    return referral, body["patient_id"]


def _fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), PARAMS.get(m.group(1), 1))), path)


def walk(client: TestClient, *, session: str | None = None, bearer: str | None = None,
         ids: dict[str, Any]) -> Iterator[tuple[str, str, int, str]]:
    """Call every route once: (method, url, status, everything the caller received)."""
    secret = client.app.state.secret_key  # type: ignore[attr-defined]
    for route in api_routes(client.app):  # type: ignore[arg-type]
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in SKIP:
                continue
            url = _fill(route.path, ids)
            csrf = new_csrf_token(secret)
            cookies = {CSRF_COOKIE: csrf}
            headers: dict[str, str] = {}
            if session:
                cookies[SESSION_COOKIE] = session
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            kwargs: dict[str, Any] = {}
            if method in ("POST", "PATCH", "PUT"):
                if url.startswith("/api/"):
                    kwargs["json"] = {}
                else:
                    kwargs["data"] = {"csrf_token": csrf}
            client.cookies.clear()
            response = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
            seen = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
            yield method, url, response.status_code, seen


def leaks(results: Iterator[tuple[str, str, int, str]], hidden: list[str]) -> list[str]:
    found = []
    for method, url, status, seen in results:
        for value in hidden:
            if value.lower() in seen.lower():
                found.append(f"{method} {url} ({status}) reveals {value!r}")
    return found


def test_signed_out_every_route_reveals_nothing(client, world, referred):
    referral, patient_id = referred
    ids = {"referral_id": referral.id, "patient_id": patient_id}
    results = list(walk(client, ids=ids))
    assert len(results) > 50, "the walk covers the whole app"
    assert leaks(iter(results), secrets_for(referral, self_view=False)) == []
    own = {(m, u): s for m, u, s, _ in results if "referral" in u or u.startswith("/refer")}
    assert own[("GET", f"/api/v1/referrals/{referral.id}")] == 401
    assert own[("GET", "/api/v1/referrals")] == 401
    assert own[("GET", f"/referrals/{referral.id}")] == 303


@pytest.mark.parametrize("who", ["patient_north", "patient_south"])
def test_as_another_patient_every_route_reveals_nothing(client, world, db, referred, who):
    referral, patient_id = referred
    user = world.patient_user if who == "patient_north" else world.other_patient_user
    session, bearer = open_token(db, user, "browser"), open_token(db, user, "api")
    db.commit()
    ids = {"referral_id": referral.id, "patient_id": patient_id}
    hidden = secrets_for(referral, self_view=False)
    assert leaks(walk(client, session=session, ids=ids), hidden) == []
    assert leaks(walk(client, bearer=bearer, ids=ids), hidden) == []


def test_the_referred_person_never_sees_the_referral_either(client, world, db, referred):
    referral, patient_id = referred
    from tenfour.patients.models import Patient

    user_id = db.get(Patient, patient_id).user_id
    from tenfour.accounts.models import User

    user = db.get(User, user_id)
    session, bearer = open_token(db, user, "browser"), open_token(db, user, "api")
    db.commit()
    ids = {"referral_id": referral.id, "patient_id": patient_id}
    hidden = secrets_for(referral, self_view=True)
    assert leaks(walk(client, session=session, ids=ids), hidden) == []
    assert leaks(walk(client, bearer=bearer, ids=ids), hidden) == []


def test_control_the_coordinator_does_see_it(client, world, db, referred):
    """Without this, a walk that reached nothing would pass: the same walk as triage staff finds the data."""
    referral, patient_id = referred
    user = world.user("coordinator")
    session, bearer = open_token(db, user, "browser"), open_token(db, user, "api")
    db.commit()
    ids = {"referral_id": referral.id, "patient_id": patient_id}
    found = leaks(walk(client, session=session, ids=ids), [REFERRAL["reason"], REFERRAL["referrer_name"]])
    assert any(f"GET /referrals/{referral.id} " in f for f in found)
    api_found = leaks(walk(client, bearer=bearer, ids=ids), [REFERRAL["reason"]])
    assert any(f"GET /api/v1/referrals/{referral.id} " in f for f in api_found)
