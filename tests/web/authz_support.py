"""The vocabulary of the policy matrix (tests/web/test_authorization.py), shared with the modules that hold the rows and
the records of each domain (tests/web/authz_*.py): roles and scopes, how a route is declared (Spec), and the built
world the cells run against (Matrix)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import World

from tenfour.web.security import SESSION_COOKIE

ROLES = ("admin", "prescriber", "nurse", "coordinator", "manager", "patient")
STAFF = tuple(r for r in ROLES if r != "patient")
ANON = "anonymous"
OWN, OTHER, NONE = "own", "other", "-"
PUBLIC, SIGNED_IN = "public", "signed_in"
LOGIN_REDIRECT = "303 -> /login"  # pages answer a signed-out visitor with a redirect to the sign-in page
CLINICS = {OWN: "north-test", OTHER: "south-test"}


@dataclass(frozen=True)
class Spec:
    """How to call one route, what it declares, and what it answers when everything is allowed."""

    policy: str  # a Permission value, "public" or "signed_in"
    success: int
    scoped: bool = False  # the path names a record that lives in a clinic (or belongs to one patient)
    payload: str | None = None  # key into Matrix.payloads
    # Cells that differ from the general rule, keyed by role (or ANON) and scope.
    special: dict[tuple[str, str], int | str] = field(default_factory=dict)
    # The record the path names, when the route needs one in a particular state (a session that is infusing, a
    # draft plan): a key into Matrix.records. Default: Matrix.ids.
    record: str | None = None
    query: str | None = None  # a query string, formatted like the path (e.g. "patient={patient_id}")
    # Puts the record in the state the route needs, inside the cell (rolled back with it): a key into Matrix.setups.
    setup: str | None = None


def for_all(scope: str, status: int | str, roles: tuple[str, ...] = ROLES) -> dict[tuple[str, str], int | str]:
    return {(role, scope): status for role in roles}


@dataclass
class Matrix:
    connection: Connection
    factory: sessionmaker[Session]
    client: TestClient
    world: World
    secret: str
    browser: dict[str, str]  # role -> session cookie value
    api: dict[str, str]  # role -> bearer token
    ids: dict[str, dict[str, Any]]  # scope -> path parameter values
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # name -> scope -> path values
    payloads: dict[str, Callable[[str, str], dict[str, Any]]] = field(default_factory=dict)
    setups: dict[str, Callable[[Session], None]] = field(default_factory=dict)
    helpers: dict[tuple[str, str], str] = field(default_factory=dict)  # (role, clinic slug) -> bearer token of the
    # staff who prepare records (walk sessions, run the scheduler), so the matrix's own staff start fresh

    def values(self, spec: Spec, scope: str) -> dict[str, Any]:
        """The path (and query) values of a route's cell: the scope's ids, with the route's record in that scope."""
        scope = OWN if scope == NONE else scope
        return {**self.ids[scope], **(self.records[spec.record][scope] if spec.record else {})}

    def url(self, path: str, spec: Spec, values: dict[str, Any]) -> str:
        return path.format(**values) + (f"?{spec.query.format(**values)}" if spec.query else "")

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api[role]}"}

    def page(self, role: str, path: str) -> str:
        """A page as `role` of the own clinic sees it (to read a form the way a browser would)."""
        self.client.cookies.clear()
        response = self.client.get(path, headers={"Cookie": f"{SESSION_COOKIE}={self.browser[role]}"})
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.text
