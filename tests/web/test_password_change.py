"""Changing one's own password (staff and patients): the current password first, the new one twice under the NIST
SP 800-63B rules, every other session signed out, audited; a wrong current password counts like a failed sign-in."""

from __future__ import annotations

from sqlalchemy import func, select
from tests import factories
from tests.web.support import app, csrf_on, module_app, sign_in_browser  # noqa: F401 - one app per module

from tenfour.accounts import passwords
from tenfour.accounts.models import AuthSession, User
from tenfour.audit.models import AuditEvent
from tenfour.web.security import SESSION_COOKIE

NEW = "ladder twelve harbour quietly"


def change(client, token: str, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    return client.post("/account/password", data={"csrf_token": token, "current_password": current,
                                                   "new_password": new, "new_password_confirm": confirm or new},
                       follow_redirects=False)


def live_sessions(db, user: User) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user.id,
                                                                         AuthSession.ended_at.is_(None)))


def actions(db, user: User) -> list[str]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).where(AuditEvent.record_type == "user",
                                                           AuditEvent.record_id == str(user.id))
                           .order_by(AuditEvent.id)))


def test_staff_change_their_password_and_every_other_session_ends(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    phone = client.post("/api/v1/auth/login", json={"email": nurse.email, "password": factories.PASSWORD})
    assert phone.status_code == 200
    sign_in_browser(client, db, nurse)
    page = client.get("/account/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    assert live_sessions(db, nurse) == 2
    done = change(client, csrf_on(page.text), factories.PASSWORD, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/account/mfa"
    db.expire_all()
    assert passwords.verify_password(db.get(User, nurse.id).password_hash, NEW)
    assert live_sessions(db, nurse) == 1  # this one stays; the API token is dead
    old_token = phone.json()["access_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert client.get("/account/mfa").status_code == 200  # still signed in here
    assert "user.password_change" in actions(db, nurse)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_change"))
    assert event.detail == {"other_sessions_ended": 1}
    assert NEW not in str(event.detail) and factories.PASSWORD not in str(event.detail)


def test_a_wrong_current_password_is_refused_counted_and_audited(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    token = sign_in_browser(client, db, nurse)
    refused = change(client, token, "not my password at all", NEW)
    assert refused.status_code == 422 and "is not your current password" in refused.text
    assert "user.password_change_failed" in actions(db, nurse)
    db.expire_all()
    assert passwords.verify_password(db.get(User, nurse.id).password_hash, factories.PASSWORD)


def test_the_new_password_follows_the_rules_and_is_typed_twice(client, db, world) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    token = sign_in_browser(client, db, nurse)
    short = change(client, token, factories.PASSWORD, "short")
    assert short.status_code == 422 and "at least 12 characters" in short.text
    common = change(client, token, factories.PASSWORD, "password1234")
    assert common.status_code == 422 and "commonly used" in common.text
    mismatch = change(client, token, factories.PASSWORD, NEW, NEW + " typo")
    assert mismatch.status_code == 422 and "does not match the new password" in mismatch.text
    same = change(client, token, factories.PASSWORD, factories.PASSWORD)
    assert same.status_code == 422 and "must be different" in same.text
    db.expire_all()
    assert passwords.verify_password(db.get(User, nurse.id).password_hash, factories.PASSWORD)


def test_repeated_wrong_current_passwords_are_slowed_like_sign_in(client, db, world, app) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    token = sign_in_browser(client, db, nurse)
    for _ in range(app.state.settings.login_max_failures):
        assert change(client, token, "wrong guess number one", NEW).status_code == 422
    slowed = change(client, token, factories.PASSWORD, NEW)
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) > 0


def test_patients_change_their_password_too_from_their_home_page(client, db, world) -> None:  # type: ignore[no-untyped-def]
    patient = world.patient_user
    sign_in_browser(client, db, patient)
    home = client.get("/me")
    assert 'href="/account/password"' in home.text
    page = client.get("/account/password")
    done = change(client, csrf_on(page.text), factories.PASSWORD, NEW)
    assert done.status_code == 303 and done.headers["location"] == "/me"
    db.expire_all()
    assert passwords.verify_password(db.get(User, patient.id).password_hash, NEW)


def test_the_account_page_links_to_it(client, db, world) -> None:  # type: ignore[no-untyped-def]
    sign_in_browser(client, db, world.user("prescriber"))
    assert 'href="/account/password"' in client.get("/account/mfa").text


def test_signed_out_it_asks_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.delete(SESSION_COOKIE)
    response = client.get("/account/password", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
