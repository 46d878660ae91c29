"""Signing in and out: browser sessions and API tokens, the generic failure, rate limits, CSRF, cookie flags,
security headers and session lifetimes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests import factories
from tests.conftest import api_login, browser_login, csrf_from
from tests.web.support import app, bearer, module_app  # noqa: F401

from tenfour.accounts.models import AuthSession, User
from tenfour.accounts.service import GENERIC_LOGIN_ERROR
from tenfour.audit.models import AuditEvent
from tenfour.db import utcnow
from tenfour.web.app import create_app


def set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """name -> the raw Set-Cookie header of each cookie the response sets."""
    result = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        result[name] = header
    return result


def flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def login_form(client: TestClient, email: str, password: str, next_: str = "/"):  # type: ignore[no-untyped-def]
    token = csrf_from(client)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password, "next": next_},
                       follow_redirects=False)


# --- API tokens -----------------------------------------------------------------------------------------


def test_api_login_returns_a_bearer_token_that_works(client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"email": world.user("nurse").email,
                                                       "password": factories.PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and len(body["access_token"]) >= 40 and body["expires_at"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert (me["email"], me["role"], me["clinics"], me["active_clinic"]) == (
        world.user("nurse").email, "nurse", ["north-test"], "north-test")


def test_only_a_hash_of_the_token_is_stored(client, world, db) -> None:  # type: ignore[no-untyped-def]
    token = api_login(client, world.user("nurse").email)["Authorization"].removeprefix("Bearer ")
    stored = db.scalars(select(AuthSession.token_hash).where(AuthSession.user_id == world.user("nurse").id)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in stored


def test_email_is_matched_without_regard_to_case_or_spaces(client, world) -> None:  # type: ignore[no-untyped-def]
    email = world.user("nurse").email
    response = client.post("/api/v1/auth/login", json={"email": f"  {email.upper()} ", "password": factories.PASSWORD})
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client, world) -> None:  # type: ignore[no-untyped-def]
    wrong = client.post("/api/v1/auth/login", json={"email": world.user("nurse").email, "password": "nope" * 4})
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@test.example", "password": "nope" * 4})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": GENERIC_LOGIN_ERROR}
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


def test_a_deactivated_account_cannot_sign_in_and_its_tokens_stop_working(client, world, db) -> None:  # type: ignore[no-untyped-def]
    nurse = world.user("nurse")
    headers = api_login(client, nurse.email)
    db.get(User, nurse.id).is_active = False  # type: ignore[union-attr]
    db.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    response = client.post("/api/v1/auth/login", json={"email": nurse.email, "password": factories.PASSWORD})
    assert response.status_code == 401 and response.json() == {"detail": GENERIC_LOGIN_ERROR}


def test_api_logout_ends_the_token(client, world) -> None:  # type: ignore[no-untyped-def]
    headers = api_login(client, world.user("nurse").email)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_bad_login_bodies_are_422_naming_the_field(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/auth/login", json={"email": "a@b.example"})
    assert response.status_code == 422
    assert [(p["field"], p["rule"]) for p in response.json()["problems"]] == [("password", "missing")]
    long = client.post("/api/v1/auth/login", json={"email": "a" * 255, "password": "x"})
    assert [(p["field"], p["rule"]) for p in long.json()["problems"]] == [("email", "string_too_long")]


def test_tokens_work_only_on_the_api_and_cookies_only_on_pages(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(db, world.user("nurse"))
    db.commit()
    page = client.get("/patients", headers=headers, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    browser_login(client, world.user("nurse").email)
    assert client.get("/patients").status_code == 200
    assert client.get("/api/v1/patients").status_code == 401, "a cookie never drives the API (no CSRF there)"


def test_a_token_in_the_query_string_is_ignored(client, world) -> None:  # type: ignore[no-untyped-def]
    token = api_login(client, world.user("nurse").email)["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/api/v1/patients?access_token={token}").status_code == 401
    assert client.get("/api/v1/patients", headers={"Authorization": f"Basic {token}"}).status_code == 401


# --- Browser sign-in -----------------------------------------------------------------------------------


def test_login_sets_an_httponly_samesite_session_cookie(client, world) -> None:  # type: ignore[no-untyped-def]
    response = login_form(client, world.user("nurse").email, factories.PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = set_cookies(response)["tenfour_session"]
    assert {"httponly", "samesite", "path"} <= flags(cookie)
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in flags(cookie), "plain http (development): no Secure flag, or the cookie is lost"


def test_over_https_every_cookie_is_secure(client, world) -> None:  # type: ignore[no-untyped-def]
    with TestClient(client.app, base_url="https://testserver") as https:
        page = https.get("/login")
        assert "secure" in flags(set_cookies(page)["tenfour_csrf"])
        assert page.headers["strict-transport-security"].startswith("max-age=")
        response = login_form(https, world.user("nurse").email, factories.PASSWORD)
        assert "secure" in flags(set_cookies(response)["tenfour_session"])


def test_behind_a_proxy_force_secure_cookies(world, session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    proxy_settings = settings.model_copy(update={"force_secure_cookies": True})
    with TestClient(create_app(proxy_settings, session_factory)) as proxied:
        page = proxied.get("/login")
        assert "secure" in flags(set_cookies(page)["tenfour_csrf"])
        token = SimpleCookie(page.headers["set-cookie"])["tenfour_csrf"].value
        proxied.cookies.set("tenfour_csrf", token)  # the client would not send a Secure cookie over http
        response = proxied.post("/login", data={"csrf_token": token, "email": world.user("nurse").email,
                                                "password": factories.PASSWORD, "next": "/"},
                                follow_redirects=False)
        assert response.status_code == 303
        assert "secure" in flags(set_cookies(response)["tenfour_session"])


def test_wrong_password_on_the_page_is_generic_keeps_the_email_and_drops_the_password(client, world) -> None:  # type: ignore[no-untyped-def]
    response = login_form(client, world.user("nurse").email, "the wrong password")
    assert response.status_code == 401
    assert GENERIC_LOGIN_ERROR in response.text
    assert f'value="{world.user("nurse").email}"' in response.text
    assert "the wrong password" not in response.text
    assert "tenfour_session" not in set_cookies(response)


def test_a_patient_lands_on_their_own_page(client, world) -> None:  # type: ignore[no-untyped-def]
    response = login_form(client, world.patient_user.email, factories.PASSWORD)
    assert response.headers["location"] == "/me"


@pytest.mark.parametrize(("next_", "target"), [
    ("/patients?q=hale", "/patients?q=hale"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_login_only_redirects_to_local_paths(client, world, next_, target) -> None:  # type: ignore[no-untyped-def]
    response = login_form(client, world.user("nurse").email, factories.PASSWORD, next_)
    assert response.headers["location"] == target


def test_a_signed_in_visitor_is_sent_on_from_the_login_page(client, world) -> None:  # type: ignore[no-untyped-def]
    browser_login(client, world.user("nurse").email)
    response = client.get("/login?next=/patients", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/patients"


def test_logout_ends_the_session_and_says_so(client, world, db) -> None:  # type: ignore[no-untyped-def]
    browser_login(client, world.user("nurse").email)
    session_cookie = client.cookies.get("tenfour_session")
    token = csrf_from(client, "/")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert "max-age=0" in set_cookies(response)["tenfour_session"].lower(), "the browser forgets the cookie"
    assert "You are signed out." in client.get("/login").text
    # The old cookie, replayed, no longer opens anything.
    client.cookies.clear()
    replay = client.get("/patients", headers={"Cookie": f"tenfour_session={session_cookie}"},
                        follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


def test_the_login_form_is_csrf_protected(client, world) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"email": world.user("nurse").email, "password": factories.PASSWORD},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "tenfour_session" not in set_cookies(response)


def test_htmx_requests_may_carry_the_csrf_token_in_a_header(client, world) -> None:  # type: ignore[no-untyped-def]
    browser_login(client, world.user("nurse").email)
    token = csrf_from(client, "/")
    response = client.post("/patients/new", headers={"X-CSRF-Token": token},
                           data={"first_name": "Hx", "last_name": "Request", "date_of_birth": "1980-01-01",
                                 "responder_role": "ems"}, follow_redirects=False)
    assert response.status_code == 303


# --- Repeated failures are slowed ----------------------------------------------------------------------


@pytest.fixture
def strict(world, session_factory, settings) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An app that slows sign-in after 2 failures per account (8 per address)."""
    strict_settings = settings.model_copy(update={"login_max_failures": 2})
    with TestClient(create_app(strict_settings, session_factory), raise_server_exceptions=False) as client:
        yield client


def test_repeated_failures_for_one_account_are_refused_for_a_while(strict, world, db) -> None:  # type: ignore[no-untyped-def]
    email = world.user("nurse").email
    for _ in range(2):
        assert strict.post("/api/v1/auth/login", json={"email": email, "password": "wrong" * 3}).status_code == 401
    limited = strict.post("/api/v1/auth/login", json={"email": email, "password": factories.PASSWORD})
    assert limited.status_code == 429, "even the right password waits once the limit is reached"
    assert 1 <= int(limited.headers["retry-after"]) <= 15 * 60
    assert "wait" in limited.json()["detail"].lower()
    # The same answer for an account that does not exist, so the limit reveals nothing either.
    for _ in range(2):
        strict.post("/api/v1/auth/login", json={"email": "ghost@test.example", "password": "wrong" * 3})
    ghost = strict.post("/api/v1/auth/login", json={"email": "ghost@test.example", "password": "wrong" * 3})
    assert ghost.status_code == 429 and ghost.json() == limited.json()
    # Another account from the same address is not yet affected.
    other = strict.post("/api/v1/auth/login", json={"email": world.user("manager").email,
                                                   "password": factories.PASSWORD})
    assert other.status_code == 200
    db.expire_all()
    failures = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
    assert len(failures) == 4, "each failure is audited (the refused attempts are not even checked)"


def test_repeated_failures_from_one_address_are_refused(strict, world) -> None:  # type: ignore[no-untyped-def]
    for n in range(8):
        strict.post("/api/v1/auth/login", json={"email": f"guess{n}@test.example", "password": "wrong" * 3})
    response = strict.post("/api/v1/auth/login", json={"email": world.user("nurse").email,
                                                       "password": factories.PASSWORD})
    assert response.status_code == 429


def test_the_login_page_shows_the_wait(strict, world) -> None:  # type: ignore[no-untyped-def]
    email = world.user("nurse").email
    for _ in range(2):
        assert login_form(strict, email, "wrong" * 3).status_code == 401
    response = login_form(strict, email, factories.PASSWORD)
    assert response.status_code == 429 and response.headers["retry-after"]
    assert "Please wait" in response.text and f'value="{email}"' in response.text


# --- Session lifetimes ---------------------------------------------------------------------------------


def test_an_idle_staff_session_ends(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = api_login(client, world.user("nurse").email)
    session = db.scalars(select(AuthSession).where(AuthSession.user_id == world.user("nurse").id)).one()
    session.last_seen_at = utcnow() - timedelta(minutes=16)  # policy default: 15 min idle for staff
    db.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401, "and it does not come back"


def test_a_session_past_its_lifetime_ends(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = api_login(client, world.user("nurse").email)
    session = db.scalars(select(AuthSession).where(AuthSession.user_id == world.user("nurse").id)).one()
    session.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_a_patient_may_stay_idle_longer_than_staff(client, world, db) -> None:  # type: ignore[no-untyped-def]
    headers = api_login(client, world.patient_user.email)
    session = db.scalars(select(AuthSession).where(AuthSession.user_id == world.patient_user.id)).one()
    session.last_seen_at = utcnow() - timedelta(minutes=30)
    db.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


# --- Headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/auth/me", "/healthz", "/no-such-page"])
def test_security_headers_on_every_response(client, path) -> None:  # type: ignore[no-untyped-def]
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store", "pages and API answers with PHI are never cached"
    assert "strict-transport-security" not in headers, "HSTS only over HTTPS"


def test_static_files_may_be_cached_and_only_docs_allow_inline_styles(client) -> None:  # type: ignore[no-untyped-def]
    static = client.get("/static/css/tenfour.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    docs_csp = client.get("/docs").headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'" in docs_csp and "script-src 'self';" in docs_csp


def test_no_third_party_resources_on_any_public_page(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/login", "/privacy", "/cookies", "/docs"):
        html = client.get(path).text
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html, path


def test_session_records_address_and_agent(client, world, db) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/auth/login", json={"email": world.user("nurse").email, "password": factories.PASSWORD},
                headers={"User-Agent": "TenFour-Test/1.0"})
    stored = db.scalars(select(AuthSession).where(AuthSession.user_id == world.user("nurse").id)).one()
    assert stored.user_agent == "TenFour-Test/1.0" and stored.ip_address == "testclient"
    assert stored.kind == "api"
