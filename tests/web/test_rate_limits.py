"""Rate limits on the invitation and check-in endpoints (issue 9): each refuses with 429, a Retry-After header and a
message saying what to do, once its setting's number is reached; what a real user does stays well under it.

The limits here are set low on the test's app (the numbers are settings); the production defaults are checked to be
generous for real use."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from tests import factories
from tests.checkins_support import (
    pcl5_answers,
    phq9_answers,
)
from tests.web.support import csrf_on, form_fields, sign_in_browser

from tenfour import ratelimit
from tenfour.accounts.models import RateLimitHit
from tenfour.checkins import reminders
from tenfour.checkins.models import CheckIn
from tenfour.config import Settings
from tenfour.links import service as links


def limits(app, **values: int) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.model_copy(update=values)


def test_production_defaults_leave_room_for_real_use() -> None:
    defaults = Settings(environment="production")
    assert defaults.checkin_submissions_per_hour >= 5  # a weekly check-in, a retry, an extra one, a double tap
    assert defaults.invitations_sent_per_hour >= 20  # a coordinator inviting a morning's referrals
    assert defaults.invitation_attempts_per_hour >= 10  # a household on one address, a few mistyped passwords
    assert defaults.checkin_link_failures_per_hour >= 10


# --- Invitations -------------------------------------------------------------------------------------------------


def test_guessing_invitation_links_from_one_address_is_refused_after_the_limit(app, client, db) -> None:  # type: ignore[no-untyped-def]
    limits(app, invitation_attempts_per_hour=3)
    answers = [client.get(f"/invite/guessed-token-{n}").status_code for n in range(3)]
    assert answers == [410, 410, 410]  # a link that does not work, said plainly
    refused = client.get("/invite/guessed-token-4")
    assert refused.status_code == 429
    assert "Several invitation links have been tried from this connection" in refused.text
    assert int(refused.headers["Retry-After"]) > 0


def test_password_tries_on_an_invitation_count_and_are_refused_after_the_limit(app, client, db, world) -> None:  # type: ignore[no-untyped-def]
    limits(app, invitation_attempts_per_hour=2)
    patient = factories.make_patient(db, world.north, email="invited@example.com", status="referred")
    token, _ = links.issue(db, purpose="invitation", ttl=timedelta(days=7), patient_id=patient.id)
    db.commit()
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200  # opening a good link does not count
    csrf = csrf_on(page.text)
    for _ in range(2):
        short = client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": "short",
                                                       "password_confirm": "short"})
        assert short.status_code == 422
    refused = client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": "engine nine coffee sunrise",
                                                     "password_confirm": "engine nine coffee sunrise"})
    assert refused.status_code == 429 and "call the clinic" in refused.text
    db.expire_all()
    assert patient.user_id is None  # nothing was set up by the refused request


def test_staff_sending_many_invitations_are_refused_with_a_clear_message(app, client, db, world, as_api,  # type: ignore[no-untyped-def]
                                                                         mailbox) -> None:
    limits(app, invitations_sent_per_hour=2)
    patients = [factories.make_patient(db, world.north, email=f"p{n}@example.com", status="referred")
                for n in range(3)]
    db.commit()
    headers = as_api("coordinator")
    sent = [client.post(f"/api/v1/patients/{p.id}/invitation", headers=headers).status_code for p in patients[:2]]
    assert sent == [201, 201]
    refused = client.post(f"/api/v1/patients/{patients[2].id}/invitation", headers=headers)
    assert refused.status_code == 429
    assert "You have sent many invitations in the last hour" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    assert mailbox.to("p2@example.com") == []  # no email for the refused one
    # Another coordinator's count is their own.
    other = factories.make_user(db, role="coordinator", clinics=[world.north])
    db.commit()
    from tests.conftest import api_login

    assert client.post(f"/api/v1/patients/{patients[2].id}/invitation",
                       headers=api_login(client, other.email)).status_code == 201


# --- Check-ins ---------------------------------------------------------------------------------------------------




def _body(n: int) -> dict:
    return {"answers": {"pcl5": pcl5_answers(20 + n, seed=n), "phq9": phq9_answers(5, 0)}}


def test_a_patients_own_api_check_ins_are_limited_per_patient_and_replays_do_not_count(  # type: ignore[no-untyped-def]
        app, client, db, world, as_api, course) -> None:
    limits(app, checkin_submissions_per_hour=2)
    url = f"/api/v1/patients/{world.patient_north.id}/checkins"
    headers = as_api("patient")
    first = client.post(url, json=_body(1), headers={**headers, "Idempotency-Key": "rate-limit-key-1"})
    # A retry of the first (same key) is replayed, not stored or counted again.
    again = client.post(url, json=_body(1), headers={**headers, "Idempotency-Key": "rate-limit-key-1"})
    second = client.post(url, json=_body(2), headers={**headers, "Idempotency-Key": "rate-limit-key-2"})
    assert [first.status_code, again.status_code, second.status_code] == [201, 201, 201], first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    refused = client.post(url, json=_body(3), headers={**headers, "Idempotency-Key": "rate-limit-key-3"})
    assert refused.status_code == 429
    assert "Several check-ins have been sent for you in the last hour" in refused.json()["detail"]
    assert "crisis line" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    db.expire_all()
    stored = db.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.patient_id == world.patient_north.id, CheckIn.status == "completed"))
    assert stored == 2
    # Staff entering a check-in taken by phone are signed in and audited, and not held by the patient's limit.
    staff = client.post(url, json=_body(4), headers=as_api("nurse"))
    assert staff.status_code == 201, staff.text


def test_the_check_in_page_refused_by_the_limit_keeps_the_answers_and_says_why(app, client, db, world,  # type: ignore[no-untyped-def]
                                                                              course) -> None:
    limits(app, checkin_submissions_per_hour=1)
    sign_in_browser(client, db, world.patient_user)
    page = client.get("/me/checkin")
    data = dict(form_fields(page.text, "/me/checkin"))
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    assert client.post("/me/checkin", data=data, follow_redirects=False).status_code == 303
    page = client.get("/me/checkin")
    data = dict(form_fields(page.text, "/me/checkin"))  # a new form: a new submission key
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(31).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    refused = client.post("/me/checkin", data=data, follow_redirects=False)
    assert refused.status_code == 429
    assert "Several check-ins have been sent for you in the last hour" in refused.text
    assert 'name="pcl5-q1"' in refused.text  # the form again, not an error page


def test_bad_check_in_links_from_one_address_are_refused_after_the_limit(app, client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    limits(app, checkin_link_failures_per_hour=2)
    assert [client.get(f"/checkin/not-a-link-{n}").status_code for n in range(2)] == [410, 410]
    refused = client.get("/checkin/not-a-link-3")
    assert refused.status_code == 429 and "check-in links that do not work" in refused.text
    db.expire_all()
    keys = set(db.scalars(select(RateLimitHit.key).where(RateLimitHit.bucket == ratelimit.CHECKIN_LINK_FAILURE)))
    assert keys == {"ip:testclient"}  # counted per address, never per token (a guess names no patient)


def test_a_replayed_check_in_link_is_refused_and_counts_as_a_bad_link(app, client, db, world, course) -> None:  # type: ignore[no-untyped-def]
    limits(app, checkin_link_failures_per_hour=50)
    token, _ = links.issue(db, purpose=reminders.LINK_PURPOSE, ttl=timedelta(hours=72),
                           patient_id=world.patient_north.id)
    db.commit()
    page = client.get(f"/checkin/{token}")
    assert page.status_code == 200
    data = dict(form_fields(page.text, f"/checkin/{token}"))
    data.update({f"pcl5-{k}": str(v) for k, v in pcl5_answers(30).items()})
    data.update({f"phq9-{k}": str(v) for k, v in phq9_answers(6, 0).items()})
    assert client.post(f"/checkin/{token}", data=data, follow_redirects=False).status_code == 303
    replay = client.get(f"/checkin/{token}")
    assert replay.status_code == 410
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == ratelimit.CHECKIN_LINK_FAILURE)) == 1
    assert db.scalar(select(func.count()).select_from(RateLimitHit).where(
        RateLimitHit.bucket == ratelimit.CHECKIN_SUBMIT, RateLimitHit.key == f"patient:{world.patient_north.id}")) == 1


def test_the_limits_are_settings_with_their_defaults() -> None:
    fields = Settings.model_fields
    assert {name: fields[name].default for name in ("invitation_attempts_per_hour", "invitations_sent_per_hour",
                                                     "checkin_submissions_per_hour",
                                                     "checkin_link_failures_per_hour")} == {
        "invitation_attempts_per_hour": 20, "invitations_sent_per_hour": 30, "checkin_submissions_per_hour": 12,
        "checkin_link_failures_per_hour": 20}
