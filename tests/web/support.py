"""Helpers for the web tests: sign people in without paying for a password hash, CSRF tokens, and the route table.

Signing in through the login form costs one Argon2 verification (about a quarter of a second); the tests that are
about sign-in itself use the form, every other test opens a session directly with the accounts service.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tenfour.accounts import service as accounts
from tenfour.accounts.models import User
from tenfour.config import Settings
from tenfour.web.app import create_app
from tenfour.web.security import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token


def open_token(db: Session, user: User, kind: str) -> str:
    """A live session token for `user` ("browser" for the cookie, "api" for the Bearer header)."""
    token, _ = accounts.open_session(db, user, kind=kind, ip_address="127.0.0.1", user_agent="pytest")
    db.flush()
    return token


def bearer(db: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {open_token(db, user, 'api')}"}


def sign_in_browser(client: TestClient, db: Session, user: User) -> str:
    """Put a session cookie and a valid CSRF cookie in the client's jar; returns the CSRF token for forms."""
    db.commit()  # the app's own sessions must see the user (they join the same outer transaction)
    client.cookies.set(SESSION_COOKIE, open_token(db, user, "browser"))
    db.commit()
    token = new_csrf_token(client.app.state.secret_key)  # type: ignore[attr-defined]
    client.cookies.set(CSRF_COOKIE, token)
    return token


def csrf_on(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every APIRoute the app serves, including those of included routers.

    FastAPI >= 0.160 keeps included routers as `_IncludedRouter` entries in `app.routes` instead of copying their
    routes in; `iter_route_contexts` flattens them. A plain walk over `app.routes` would find nothing and pass.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.original_route


def error_beside(html: str, field: str) -> str | None:
    """The error message rendered beside a form field (macros.html: <p class="error" id="e-FIELD">)."""
    match = re.search(rf'<p class="error" id="e-{re.escape(field)}">([^<]*)</p>', html)
    return unescape(match.group(1)) if match else None


def input_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input id="f-{re.escape(field)}" name="{re.escape(field)}"[^>]*?value="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


class _FormParser(HTMLParser):
    """Collects the fields a browser would submit for each <form> on a page, keyed by the form's action."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._action: str | None = None
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text: list[str] = []
        self._in_option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._action = a.get("action", "")
            self.forms.setdefault(self._action, [])
        elif self._action is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.forms[self._action].append((a["name"], a.get("value", "on") or "on"))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self.forms[self._action].append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select, self._select_options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._in_option = True
            self._option_value = a.get("value")
            self._option_selected = "selected" in a
            self._option_text = []
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        if self._in_option:
            self._option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._in_option:
            value = self._option_value if self._option_value is not None else "".join(self._option_text).strip()
            self._select_options.append((value, self._option_selected))
            self._in_option = False
        elif tag == "select" and self._select is not None and self._action is not None:
            chosen = next((v for v, selected in self._select_options if selected), None)
            if chosen is None and self._select_options:
                chosen = self._select_options[0][0]
            if chosen is not None:
                self.forms[self._action].append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._action is not None:
            self.forms[self._action].append((self._textarea, "".join(self._text)))
            self._textarea = None
        elif tag == "form":
            self._action = None


def form_fields(html: str, action: str) -> dict[str, str | list[str]]:
    """What a browser submits for the form posting to `action` (repeated names become lists)."""
    parser = _FormParser()
    parser.feed(html)
    assert action in parser.forms, f"no form posting to {action}; forms: {sorted(parser.forms)}"
    fields: dict[str, str | list[str]] = {}
    for name, value in parser.forms[action]:
        if name in fields:
            existing = fields[name]
            fields[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            fields[name] = value
    return fields


# --- One app per test module ------------------------------------------------------------------------------
# conftest builds a new app for every test, and a new app compiles every template again on first use (about a
# quarter of a second per test). These two fixtures share one app per module and point it at each test's
# session factory (the test's own rolled-back transaction). Import both into a test module to use them.


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory, database_url: str,
               mail_server: tuple[object, int]) -> FastAPI:
    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("app"),
                        secret_key="test-secret-key-" + "x" * 32, database_url=database_url,
                        smtp_host="127.0.0.1", smtp_port=mail_server[1], base_url="http://testserver")
    return create_app(settings=settings, session_factory=sessionmaker())


@pytest.fixture
def app(module_app: FastAPI, session_factory: sessionmaker[Session]) -> FastAPI:
    module_app.state.session_factory = session_factory
    return module_app
