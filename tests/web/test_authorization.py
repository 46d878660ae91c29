"""The policy matrix: every route × every role × own clinic / other clinic × signed out, with the exact status.

Expectations are derived from tenfour.policy.ROLE_PERMISSIONS (so the table cannot drift from the policy), checked
against each route's declared policy, and pinned by literal spot checks (so a wrong policy cannot pass unnoticed).

Rules (issue 2): signed out -> 401 on the API, 303 to /login on pages; a role without the permission -> 403; a record
in another clinic -> 404; otherwise the route's success status. A page POST without a CSRF token -> 403. A success
that carries an error message for the next page (a refusal redirected back) fails its cell too.

The world is built once per module inside an outer transaction; each cell runs inside a SAVEPOINT that is rolled
back, so a write in one cell (a withdrawn consent, a deactivated account) never leaks into the next. A route that
needs its record in a particular state (an infusing session, a draft plan) names it with `record`; one that needs a
state no prepared record can share with the others gets a `setup`, run inside the cell.

The rows of the referral-to-plan, chairside, check-in and scheduling domains, with the records they name and their
request bodies, live beside this file in authz_intake.py, authz_chairside.py, authz_checkins.py and
authz_scheduling.py; the vocabulary (Spec, Matrix, roles and scopes) in authz_support.py.

Adding a route? Add a row to ROUTES (or to its domain's module). `test_every_route_is_in_the_matrix` names any route
without one, and `test_unlisted_routes_still_deny` checks the signed-out and forbidden cells of such routes meanwhile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from tests import factories
from tests.conftest import World
from tests.web import authz_chairside, authz_checkins, authz_exports, authz_intake, authz_outcomes, authz_scheduling
from tests.web.authz_support import (
    ANON,
    LOGIN_REDIRECT,
    NONE,
    OTHER,
    OWN,
    PUBLIC,
    ROLES,
    SIGNED_IN,
    Matrix,
    Spec,
)
from tests.web.authz_support import for_all as _for_all
from tests.web.infusion_helpers import Clock
from tests.web.support import api_routes, form_fields, open_token

from tenfour.accounts.models import Role
from tenfour.alerts import service as alerts_service
from tenfour.alerts.models import Severity
from tenfour.assessments import service as assessments_service
from tenfour.clinics.models import Chair
from tenfour.config import Settings
from tenfour.context import Ctx
from tenfour.patients.models import PatientConsent
from tenfour.policy import ROLE_PERMISSIONS, Permission, Principal
from tenfour.web.app import create_app
from tenfour.web.deps import route_policy
from tenfour.web.security import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, new_csrf_token
from tenfour.web.templating import FLASH_COOKIE

GAD7_ANSWERS = {f"q{n}": 1 for n in range(1, 8)}

# FastAPI's own routes that carry no policy of ours.
NOT_OURS = {"/openapi.json"}
DOMAINS = (authz_intake, authz_checkins, authz_chairside, authz_scheduling, authz_outcomes,
           authz_exports)  # built in this order

CORE_ROUTES: dict[tuple[str, str], Spec] = {
    # --- JSON API -------------------------------------------------------------------------------------------
    ("POST", "/api/v1/auth/login"): Spec(PUBLIC, 200, payload="api_login",
                                         special={(ANON, NONE): 401}),  # signed out: a wrong password
    ("POST", "/api/v1/auth/logout"): Spec(SIGNED_IN, 204),
    ("POST", "/api/v1/auth/reauth"): Spec(SIGNED_IN, 204, payload="api_reauth"),
    ("GET", "/api/v1/auth/me"): Spec(SIGNED_IN, 200),
    ("GET", "/api/v1/patients"): Spec(Permission.PATIENT_READ, 200),
    ("POST", "/api/v1/patients"): Spec(Permission.PATIENT_WRITE, 201, payload="api_new_patient"),
    ("GET", "/api/v1/patients/{patient_id}"): Spec(Permission.PATIENT_READ, 200, scoped=True),
    ("PATCH", "/api/v1/patients/{patient_id}"): Spec(Permission.PATIENT_WRITE, 200, scoped=True,
                                                     payload="api_patch_patient"),
    ("POST", "/api/v1/patients/{patient_id}/consents"): Spec(Permission.PATIENT_WRITE, 201, scoped=True,
                                                             payload="api_consent"),
    ("POST", "/api/v1/patients/{patient_id}/consents/{consent_id}/withdraw"): Spec(
        Permission.PATIENT_WRITE, 200, scoped=True),
    ("GET", "/api/v1/clinics"): Spec(Permission.CLINIC_VIEW, 200),
    ("POST", "/api/v1/clinics"): Spec(Permission.CLINIC_ADMIN, 201, payload="api_new_clinic"),
    ("GET", "/api/v1/clinics/{slug}"): Spec(Permission.CLINIC_VIEW, 200, scoped=True),
    ("GET", "/api/v1/clinics/{slug}/policy"): Spec(Permission.CLINIC_VIEW, 200, scoped=True),
    ("PATCH", "/api/v1/clinics/{slug}/policy"): Spec(Permission.CLINIC_ADMIN, 200, scoped=True,
                                                     payload="api_policy"),
    ("GET", "/api/v1/audit"): Spec(Permission.AUDIT_READ, 200),
    # --- Pages: the shell and sign-in --------------------------------------------------------------------
    ("GET", "/"): Spec(PUBLIC, 200, special={("patient", NONE): 303}),  # a patient's home is /me
    ("GET", "/privacy"): Spec(PUBLIC, 200),
    ("GET", "/cookies"): Spec(PUBLIC, 200),
    ("GET", "/docs"): Spec(PUBLIC, 200),
    ("GET", "/healthz"): Spec(PUBLIC, 200),
    ("GET", "/readyz"): Spec(PUBLIC, 200),
    ("GET", "/metrics"): Spec(PUBLIC, 200),
    ("GET", "/login"): Spec(PUBLIC, 303, special={(ANON, NONE): 200}),  # signed in: straight on
    ("POST", "/login"): Spec(PUBLIC, 303, payload="page_login", special={(ANON, NONE): 401}),
    ("POST", "/logout"): Spec(SIGNED_IN, 303),
    # Re-authentication before sensitive actions, and two-step sign-in (staff only; a wrong code is 422)
    ("GET", "/reauth"): Spec(SIGNED_IN, 200),
    ("POST", "/reauth"): Spec(SIGNED_IN, 303, payload="page_reauth"),
    ("GET", "/account/mfa"): Spec(SIGNED_IN, 200, special={("patient", NONE): 403}),
    ("POST", "/account/mfa"): Spec(SIGNED_IN, 422, payload="mfa_code", special={("patient", NONE): 403}),
    # Changing one's own password (staff and patients)
    ("GET", "/account/password"): Spec(SIGNED_IN, 200),
    ("POST", "/account/password"): Spec(SIGNED_IN, 303, payload="password_change"),
    # Switching to a clinic you do not work in: that clinic does not exist for you. A patient has none.
    ("POST", "/switch-clinic"): Spec(SIGNED_IN, 303, scoped=True, payload="switch_clinic",
                                     special={**_for_all(OTHER, 404), ("patient", OWN): 404}),
    # --- Pages: accounts ---------------------------------------------------------------------------------
    ("GET", "/admin/users"): Spec(Permission.USER_ADMIN, 200),
    ("GET", "/admin/users/new"): Spec(Permission.USER_ADMIN, 200),
    ("POST", "/admin/users/new"): Spec(Permission.USER_ADMIN, 303, payload="user_new"),
    ("GET", "/admin/users/{user_id}"): Spec(Permission.USER_ADMIN, 200, scoped=True),
    ("POST", "/admin/users/{user_id}/clinics"): Spec(Permission.USER_ADMIN, 303, scoped=True,
                                                     payload="user_clinics"),
    ("POST", "/admin/users/{user_id}/active"): Spec(Permission.USER_ADMIN, 303, scoped=True),
    ("POST", "/admin/users/{user_id}/mfa-reset"): Spec(Permission.USER_ADMIN, 303, scoped=True),
    ("POST", "/admin/users/{user_id}/password"): Spec(Permission.USER_ADMIN, 303, scoped=True,
                                                      payload="user_password"),
    # Retention and deleting a patient's record (clinic administrators; the record number names an own-clinic one)
    ("GET", "/admin/retention"): Spec(Permission.CLINIC_ADMIN, 200),
    ("POST", "/admin/retention/delete"): Spec(Permission.CLINIC_ADMIN, 303, payload="retention_delete"),
    # --- Pages: the patient registry ---------------------------------------------------------------------
    ("GET", "/patients"): Spec(Permission.PATIENT_READ, 200),
    ("GET", "/patients/new"): Spec(Permission.PATIENT_WRITE, 200),
    ("POST", "/patients/new"): Spec(Permission.PATIENT_WRITE, 303, payload="patient_new"),
    ("GET", "/patients/{patient_id}"): Spec(Permission.PATIENT_READ, 200, scoped=True),
    ("GET", "/patients/{patient_id}/edit"): Spec(Permission.PATIENT_WRITE, 200, scoped=True),
    ("POST", "/patients/{patient_id}/edit"): Spec(Permission.PATIENT_WRITE, 303, scoped=True,
                                                  payload="patient_edit"),
    ("POST", "/patients/{patient_id}/consents"): Spec(Permission.PATIENT_WRITE, 303, scoped=True,
                                                      payload="patient_consent"),
    ("POST", "/patients/{patient_id}/consents/{consent_id}/withdraw"): Spec(
        Permission.PATIENT_WRITE, 303, scoped=True),
    # --- Pages: the patient's own ------------------------------------------------------------------------
    ("GET", "/me"): Spec(Permission.SELF_READ, 200),
    ("GET", "/me/details"): Spec(Permission.SELF_READ, 200),
    ("POST", "/me/details"): Spec(Permission.SELF_WRITE, 303, payload="me_details"),
    ("GET", "/me/access-log"): Spec(Permission.SELF_READ, 200),  # who opened my record
    # --- Pages: clinics and policy -----------------------------------------------------------------------
    ("GET", "/admin/clinics"): Spec(Permission.CLINIC_ADMIN, 200),
    ("GET", "/admin/clinics/new"): Spec(Permission.CLINIC_ADMIN, 200),
    ("POST", "/admin/clinics/new"): Spec(Permission.CLINIC_ADMIN, 303, payload="clinic_new"),
    ("GET", "/admin/clinics/{clinic_id}"): Spec(Permission.CLINIC_ADMIN, 200, scoped=True),
    ("POST", "/admin/clinics/{clinic_id}"): Spec(Permission.CLINIC_ADMIN, 303, scoped=True,
                                                 payload="clinic_edit"),
    ("POST", "/admin/clinics/{clinic_id}/chairs"): Spec(Permission.CLINIC_ADMIN, 303, scoped=True,
                                                        payload="chair_add"),
    ("POST", "/admin/clinics/{clinic_id}/chairs/{chair_id}/toggle"): Spec(Permission.CLINIC_ADMIN, 303,
                                                                          scoped=True),
    ("GET", "/admin/clinics/{clinic_id}/policy"): Spec(Permission.CLINIC_ADMIN, 200, scoped=True),
    ("POST", "/admin/clinics/{clinic_id}/policy"): Spec(Permission.CLINIC_ADMIN, 303, scoped=True,
                                                        payload="policy_form"),
    ("GET", "/clinic/policy"): Spec(Permission.CLINIC_VIEW, 200),
    # --- Pages: audit --------------------------------------------------------------------------------------
    ("GET", "/admin/audit"): Spec(Permission.AUDIT_READ, 200),
    ("GET", "/admin/audit/export.csv"): Spec(Permission.AUDIT_READ, 200),
    # --- Instruments and assessments (a patient holds the assessment permissions for their own record) -----
    ("GET", "/api/v1/instruments"): Spec(SIGNED_IN, 200),
    ("GET", "/api/v1/instruments/{instrument_id}"): Spec(SIGNED_IN, 200),
    ("GET", "/api/v1/instruments/{instrument_id}/fhir"): Spec(SIGNED_IN, 200),
    ("POST", "/api/v1/instruments/{instrument_id}/score"): Spec(SIGNED_IN, 200, payload="api_score"),
    ("POST", "/api/v1/patients/{patient_id}/assessments"): Spec(Permission.ASSESSMENT_WRITE, 201, scoped=True,
                                                                payload="api_assessment"),
    ("GET", "/api/v1/patients/{patient_id}/assessments"): Spec(Permission.ASSESSMENT_READ, 200, scoped=True),
    ("GET", "/api/v1/patients/{patient_id}/assessments/{assessment_id}"): Spec(Permission.ASSESSMENT_READ, 200,
                                                                               scoped=True),
    ("POST", "/api/v1/patients/{patient_id}/assessments/{assessment_id}/corrections"): Spec(
        Permission.ASSESSMENT_CORRECT, 201, scoped=True, payload="api_correction"),
    ("GET", "/api/v1/patients/{patient_id}/assessments/{assessment_id}/fhir"): Spec(Permission.ASSESSMENT_READ, 200,
                                                                                    scoped=True),
    ("GET", "/me/questionnaires/{instrument_id}"): Spec(Permission.SELF_WRITE, 200),
    ("POST", "/me/questionnaires/{instrument_id}"): Spec(Permission.SELF_WRITE, 303, payload="answers"),
    ("GET", "/me/results/{assessment_id}"): Spec(Permission.SELF_READ, 200, scoped=True),
    ("GET", "/me/charts/scores.svg"): Spec(Permission.SELF_READ, 200),
    ("GET", "/patients/{patient_id}/assessments/new"): Spec(Permission.ASSESSMENT_WRITE, 200, scoped=True),
    ("POST", "/patients/{patient_id}/assessments/new"): Spec(Permission.ASSESSMENT_WRITE, 303, scoped=True,
                                                             payload="pcl5_answers"),
    ("GET", "/patients/{patient_id}/assessments/{assessment_id}"): Spec(Permission.ASSESSMENT_READ, 200,
                                                                        scoped=True),
    ("POST", "/patients/{patient_id}/assessments/{assessment_id}/correct"): Spec(
        Permission.ASSESSMENT_CORRECT, 303, scoped=True, payload="correction"),
    ("GET", "/patients/{patient_id}/charts/scores.svg"): Spec(Permission.ASSESSMENT_READ, 200, scoped=True),
    # --- Alerts ----------------------------------------------------------------------------------------------
    ("GET", "/api/v1/alerts"): Spec(Permission.ALERT_READ, 200),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): Spec(Permission.ALERT_ACK, 200, scoped=True),
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): Spec(Permission.ALERT_ACK, 200, scoped=True,
                                                        payload="api_resolve"),
    ("GET", "/alerts"): Spec(Permission.ALERT_READ, 200),
    ("POST", "/alerts/{alert_id}/acknowledge"): Spec(Permission.ALERT_ACK, 303, scoped=True),
    ("POST", "/alerts/{alert_id}/resolve"): Spec(Permission.ALERT_ACK, 303, scoped=True, payload="resolve"),
}
ROUTES: dict[tuple[str, str], Spec] = {**CORE_ROUTES}
for _domain in DOMAINS:
    assert not set(_domain.ROUTES) & set(ROUTES), f"{_domain.__name__} repeats rows"
    ROUTES.update(_domain.ROUTES)


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def scopes(spec: Spec) -> tuple[str, ...]:
    return (OWN, OTHER) if spec.scoped else (NONE,)


def expected(method: str, path: str, role: str, scope: str) -> int | str:
    """The status a cell must answer, from ROLE_PERMISSIONS and the rules above."""
    spec = ROUTES[(method, path)]
    if (role, scope) in spec.special:
        return spec.special[(role, scope)]
    if spec.policy == PUBLIC:
        return spec.success
    if role == ANON:
        return 401 if is_api(path) else LOGIN_REDIRECT
    if spec.policy != SIGNED_IN and Permission(spec.policy) not in ROLE_PERMISSIONS[Role(role)]:
        return 403
    if scope == OTHER:
        return 404
    return spec.success


CELLS = [
    pytest.param(method, path, role, scope, id=f"{method} {path} [{role}, {scope}]")
    for (method, path), spec in ROUTES.items()
    for role in (*ROLES, ANON)
    for scope in scopes(spec)
]
PAGE_POSTS = [(m, p) for (m, p) in ROUTES if m == "POST" and not is_api(p)]


# --- The world, built once ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix(engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    db: Session = factory()
    world = World(db)
    consents = {}
    for scope, patient in ((OWN, world.patient_north), (OTHER, world.patient_south)):
        consent = PatientConsent(patient_id=patient.id, kind="contact", version="2026-11")
        db.add(consent)
        db.flush()
        consents[scope] = consent.id
    assessments, alerts = {}, {}
    for scope, patient, clinic in ((OWN, world.patient_north, world.north), (OTHER, world.patient_south, world.south)):
        ctx = Ctx.for_principal(Principal(world.user("nurse", clinic.slug), "api"))
        assessment, _ = assessments_service.submit(db, ctx, patient.id, instrument_id="gad7", answers=GAD7_ANSWERS)
        assessments[scope] = assessment.id
        alerts[scope] = alerts_service.raise_alert(db, ctx, clinic_id=clinic.id, patient_id=patient.id,
                                                   severity=Severity.URGENT, kind="matrix", title="Matrix test",
                                                   reasons=[]).id
    ids = {
        scope: {"patient_id": patient.id, "consent_id": consents[scope], "clinic_id": clinic.id, "slug": clinic.slug,
                "user_id": world.user("nurse", clinic.slug).id, "chair_id": _first_chair(db, clinic.id),
                "assessment_id": assessments[scope], "alert_id": alerts[scope], "instrument_id": "gad7"}
        for scope, patient, clinic in ((OWN, world.patient_north, world.north),
                                       (OTHER, world.patient_south, world.south))
    }
    browser = {role: open_token(db, world.user(role), "browser") for role in ROLES}
    api = {role: open_token(db, world.user(role), "api") for role in ROLES}
    db.commit()
    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("matrix"),
                        secret_key="matrix-secret-key-" + "m" * 32, database_url=database_url, mail_backend="file")
    app = create_app(settings=settings, session_factory=factory)
    # The chairside and scheduling happen on a clock held still (authz_chairside.NOW) for every cell.
    clock = Clock(authz_chairside.NOW)
    with pytest.MonkeyPatch.context() as patch, TestClient(app, raise_server_exceptions=False) as client:
        patch.setattr("tenfour.infusions.clock.now", lambda: clock.now)
        # Jobs a cell defers (a research file to prepare) are dropped: run by the runner thread they would share
        # this one connection with the next cells. Their own tests run them (tests/web/test_export_files.py).
        patch.setattr("tenfour.jobs.runner.submit", lambda jobs: None)
        m = Matrix(connection, factory, client, world, app.state.secret_key, browser, api, ids)
        authz_intake.build(m, db)
        authz_checkins.build(m, db)
        authz_chairside.build(m, db, clock)
        authz_scheduling.build(m, db)
        authz_outcomes.build(m, db)
        authz_exports.build(m, db)
        m.payloads = _payloads(m)
        for domain in DOMAINS:
            bodies = domain.payloads(m)
            assert not set(bodies) & set(m.payloads), f"{domain.__name__} repeats payload names"
            m.payloads.update(bodies)
        yield m
    db.close()
    outer.rollback()
    connection.close()


def _first_chair(db: Session, clinic_id: int) -> int:
    return db.query(Chair).filter(Chair.clinic_id == clinic_id).order_by(Chair.position).first().id  # type: ignore[union-attr]


def _payloads(m: Matrix) -> dict[str, Callable[[str, str], dict[str, Any]]]:
    """Bodies that succeed for a permitted role on its own clinic's record. Page forms are read from the pages
    themselves, so a form that cannot be submitted as rendered fails here."""
    own = m.ids[OWN]
    edit_form = form_fields(m.page("nurse", f"/patients/{own['patient_id']}/edit"),
                            f"/patients/{own['patient_id']}/edit")
    clinic_form = form_fields(m.page("admin", f"/admin/clinics/{own['clinic_id']}"),
                              f"/admin/clinics/{own['clinic_id']}")
    policy_form = form_fields(m.page("admin", f"/admin/clinics/{own['clinic_id']}/policy"),
                              f"/admin/clinics/{own['clinic_id']}/policy")
    user_form = form_fields(m.page("admin", f"/admin/users/{own['user_id']}"),
                            f"/admin/users/{own['user_id']}/clinics")
    me_form = form_fields(m.page("patient", "/me/details"), "/me/details")
    new_clinic_form = form_fields(m.page("admin", "/admin/clinics/new"), "/admin/clinics/new")
    new_patient = {"first_name": "Casey", "last_name": "Matrix", "date_of_birth": "1984-02-29",
                   "responder_role": "ems"}

    def creds(role: str, _: str) -> dict[str, Any]:
        if role == ANON:
            return {"email": m.world.user("nurse").email, "password": "not the password at all"}
        return {"email": m.world.user(role).email, "password": factories.PASSWORD}

    return {
        "api_login": creds,
        "api_reauth": lambda role, scope: {"password": factories.PASSWORD},
        "page_reauth": lambda role, scope: {"reauth_password": factories.PASSWORD},
        "mfa_code": lambda role, scope: {"code": "not-a-code"},
        "page_login": lambda role, scope: {**creds(role, scope), "next": "/"},
        "api_new_patient": lambda role, scope: {**new_patient, "consents": [{"kind": "treatment",
                                                                             "version": "2026-11"}]},
        "api_patch_patient": lambda role, scope: {"agency": "Matrix County Fire"},
        "api_consent": lambda role, scope: {"kind": "research_deidentified", "version": "2026-11"},
        "api_new_clinic": lambda role, scope: {"name": "Matrix Clinic", "timezone": "America/Denver"},
        "api_policy": lambda role, scope: {"values": {"pcl5.provisional_cutoff": 32}},
        "switch_clinic": lambda role, scope: {"clinic_id": str(m.ids[scope]["clinic_id"])},
        "user_new": lambda role, scope: {"full_name": "Morgan Matrix", "email": "morgan.matrix@test.example",
                                         "role": "nurse", "password": "a long enough password",
                                         "clinic_ids": [str(own["clinic_id"])]},
        "user_clinics": lambda role, scope: dict(user_form),
        "user_password": lambda role, scope: {"new_password": "another long password"},
        "password_change": lambda role, scope: {"current_password": factories.PASSWORD,
                                                "new_password": "another long password",
                                                "new_password_confirm": "another long password"},
        "retention_delete": lambda role, scope: {"record_number": m.world.patient_north.record_number,
                                                 "confirm_record_number": m.world.patient_north.record_number,
                                                 "reason": "request"},
        "patient_new": lambda role, scope: {**new_patient, "consents": ["treatment"]},
        "patient_edit": lambda role, scope: {**edit_form, "agency": "Matrix County Fire"},
        "patient_consent": lambda role, scope: {"kind": "research_deidentified"},
        "me_details": lambda role, scope: {**me_form, "contact_times": "Mornings"},
        "clinic_new": lambda role, scope: {**new_clinic_form, "name": "Matrix Clinic"},
        "clinic_edit": lambda role, scope: {**clinic_form, "phone": "(555) 010-9999"},
        "chair_add": lambda role, scope: {"chair_name": "Recliner 9"},
        "policy_form": lambda role, scope: {**policy_form, "pcl5.provisional_cutoff": "32"},
        "api_score": lambda role, scope: {"answers": GAD7_ANSWERS},
        "api_assessment": lambda role, scope: {"instrument_id": "gad7", "answers": GAD7_ANSWERS},
        "api_correction": lambda role, scope: {"answers": {**GAD7_ANSWERS, "q1": 2}, "reason": "q1 misheard"},
        "answers": lambda role, scope: dict(GAD7_ANSWERS),
        "pcl5_answers": lambda role, scope: {**{f"q{n}": "1" for n in range(1, 21)}, "context": "ad_hoc"},
        "correction": lambda role, scope: {**GAD7_ANSWERS, "q1": "2", "reason": "q1 misheard"},
        "api_resolve": lambda role, scope: {"resolution": "called"},
        "resolve": lambda role, scope: {"resolution": "called"},
    }


@pytest.fixture
def cell(matrix: Matrix) -> Iterator[Matrix]:
    """One cell of the matrix, inside a SAVEPOINT that is rolled back afterwards."""
    savepoint = matrix.connection.begin_nested()
    matrix.client.cookies.clear()
    try:
        yield matrix
    finally:
        savepoint.rollback()


def call(m: Matrix, method: str, path: str, role: str, scope: str, *, with_csrf: bool = True) -> Any:
    spec = ROUTES[(method, path)]
    concrete = m.url(path, spec, m.values(spec, scope))
    if spec.setup:
        with m.factory() as session:
            m.setups[spec.setup](session)
            session.commit()
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if role != ANON:
        if is_api(path):
            headers["Authorization"] = f"Bearer {m.api[role]}"
        else:
            cookies[SESSION_COOKIE] = m.browser[role]
    body = m.payloads[spec.payload](role, scope) if spec.payload else None
    kwargs: dict[str, Any] = {}
    if is_api(path):
        if body is not None:
            kwargs["json"] = body
    elif method == "POST":
        form = {k: v for k, v in (body or {}).items() if k != CSRF_FIELD}
        if with_csrf:
            token = new_csrf_token(m.secret)
            cookies[CSRF_COOKIE] = token
            form[CSRF_FIELD] = token
        kwargs["data"] = form
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return m.client.request(method, concrete, headers=headers, follow_redirects=False, **kwargs)


def flashed(response: Any) -> dict[str, str]:
    """The one-time message a page response leaves for the next page ({"m": message, "k": kind}), if any."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == FLASH_COOKIE and rest.split(";")[0]:
            payload, _, _signature = unquote(rest.split(";")[0]).rpartition("|")
            return json.loads(payload)
    return {}


def observed(response: Any) -> int | str:
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/login?next="):
        return LOGIN_REDIRECT
    return response.status_code


# --- The route table --------------------------------------------------------------------------------------


def test_every_route_declares_a_policy(app) -> None:  # type: ignore[no-untyped-def]
    routes = list(api_routes(app))
    assert len(routes) >= len(ROUTES), "the route walk found fewer routes than the matrix lists"
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes
                  if r.path not in NOT_OURS and route_policy(r.dependant) is None]
    assert undeclared == [], f"routes without authorize(...), signed_in or public: {undeclared}"


def _suggested_row(method: str, route: Any) -> str:
    policy = route_policy(route.dependant)
    names = {PUBLIC: "PUBLIC", SIGNED_IN: "SIGNED_IN"}
    declared = names[str(policy)] if str(policy) in names else f"Permission.{Permission(policy).name}"
    success = 201 if method == "POST" and is_api(route.path) else 303 if method == "POST" else 200
    scoped = ", scoped=True" if "_id}" in route.path or "{slug}" in route.path else ""
    return f'    ("{method}", "{route.path}"): Spec({declared}, {success}{scoped}),  # check success, add payload='


def test_every_route_is_in_the_matrix(app) -> None:  # type: ignore[no-untyped-def]
    served = {(method, r.path): r for r in api_routes(app) for method in r.methods if r.path not in NOT_OURS}
    missing = sorted(set(served) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(served))
    rows = "\n".join(_suggested_row(m, served[(m, p)]) for m, p in missing)
    assert missing == [], (f"{len(missing)} routes have no row in ROUTES ({Path(__file__).name}); starting points "
                           "(ids in the path need a record in the `matrix` fixture or a domain's build(), bodies "
                           f"an entry in _payloads() or a domain's payloads()):\n{rows}")
    assert stale == [], f"ROUTES lists routes the app no longer serves: {stale}"


def test_matrix_matches_each_routes_declared_policy(app) -> None:  # type: ignore[no-untyped-def]
    declared = {(method, r.path): route_policy(r.dependant) for r in api_routes(app) for method in r.methods}
    mismatched = {key: (spec.policy, declared.get(key)) for key, spec in ROUTES.items()
                  if key in declared and str(declared[key]) != str(spec.policy)}
    assert mismatched == {}, f"ROUTES says (policy, but the route declares): {mismatched}"


def test_every_page_post_checks_csrf(app) -> None:  # type: ignore[no-untyped-def]
    def has_csrf(dependant: Any) -> bool:
        return getattr(dependant.call, "tenfour_csrf", False) or any(has_csrf(d) for d in dependant.dependencies)

    unprotected = [r.path for r in api_routes(app)
                   if not is_api(r.path) and r.methods & {"POST", "PUT", "PATCH", "DELETE"}
                   and not has_csrf(r.dependant)]
    assert unprotected == []


# --- The matrix -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "role", "scope"), CELLS)
def test_cell(cell: Matrix, method: str, path: str, role: str, scope: str) -> None:
    response = call(cell, method, path, role, scope)
    want = expected(method, path, role, scope)
    assert observed(response) == want, f"{method} {path} as {role} ({scope}): {response.text[:300]}"
    if want == ROUTES[(method, path)].success:  # a page that refuses says so in its message, often on a redirect
        assert flashed(response).get("k") != "error", f"{method} {path} as {role} ({scope}): {flashed(response)}"


@pytest.mark.parametrize(("method", "path"), PAGE_POSTS, ids=[f"{m} {p}" for m, p in PAGE_POSTS])
@pytest.mark.parametrize("role", (*ROLES, ANON))
def test_page_post_without_csrf_token_is_refused(cell: Matrix, method: str, path: str, role: str) -> None:
    response = call(cell, method, path, role, OWN if ROUTES[(method, path)].scoped else NONE, with_csrf=False)
    assert response.status_code == 403, response.text[:300]
    assert "did not come from TenFour" in response.text


def test_page_post_with_a_token_that_does_not_match_its_cookie_is_refused(cell: Matrix) -> None:
    token_a, token_b = new_csrf_token(cell.secret), new_csrf_token(cell.secret)
    response = cell.client.post("/patients/new", data={CSRF_FIELD: token_a, "first_name": "X"},
                                headers={"Cookie": f"{SESSION_COOKIE}={cell.browser['nurse']}; "
                                                   f"{CSRF_COOKIE}={token_b}"}, follow_redirects=False)
    assert response.status_code == 403


def test_page_post_with_a_forged_token_is_refused(cell: Matrix) -> None:
    forged = "abc.0123456789abcdef0123456789abcdef"
    response = cell.client.post("/patients/new", data={CSRF_FIELD: forged, "first_name": "X"},
                                headers={"Cookie": f"{SESSION_COOKIE}={cell.browser['nurse']}; "
                                                   f"{CSRF_COOKIE}={forged}"}, follow_redirects=False)
    assert response.status_code == 403


# --- Literal spot checks: these pin the policy itself, independent of ROLE_PERMISSIONS -------------------

SPOT_CHECKS = [
    ("GET", "/api/v1/patients/{patient_id}", "nurse", OTHER, 404),
    ("GET", "/api/v1/patients/{patient_id}", "nurse", OWN, 200),
    ("PATCH", "/api/v1/patients/{patient_id}", "manager", OWN, 403),  # managers read, never edit
    ("GET", "/api/v1/patients/{patient_id}", "manager", OWN, 200),
    ("GET", "/api/v1/patients/{patient_id}", "admin", OWN, 403),  # administrators do not read charts
    ("GET", "/patients/{patient_id}", "admin", OWN, 403),
    ("GET", "/api/v1/patients", "patient", NONE, 403),  # a patient sees only themself, via /me
    ("GET", "/api/v1/patients", ANON, NONE, 401),
    ("POST", "/patients/new", "coordinator", NONE, 303),
    ("POST", "/patients/new", "manager", NONE, 403),
    ("GET", "/me", "patient", NONE, 200),
    ("GET", "/me", "nurse", NONE, 403),
    ("GET", "/admin/users", "nurse", NONE, 403),
    ("GET", "/admin/users/{user_id}", "admin", OTHER, 404),
    ("GET", "/admin/clinics/{clinic_id}", "admin", OTHER, 404),
    ("PATCH", "/api/v1/clinics/{slug}/policy", "prescriber", OWN, 403),
    ("GET", "/api/v1/clinics/{slug}/policy", "prescriber", OTHER, 404),
    ("GET", "/admin/audit", "admin", NONE, 200),
    ("GET", "/admin/audit", "prescriber", NONE, 403),
    ("GET", "/admin/audit", ANON, NONE, LOGIN_REDIRECT),
    ("GET", "/clinic/policy", "patient", NONE, 403),
    # Referral to plan
    ("POST", "/api/v1/referrals", ANON, NONE, 201),  # anyone may refer, without an account
    ("GET", "/api/v1/referrals", "manager", NONE, 403),  # a referral is clinical: not for managers
    ("GET", "/api/v1/referrals", "admin", NONE, 403),
    ("GET", "/api/v1/referrals/{referral_id}", "coordinator", OTHER, 404),
    ("GET", "/invite/{token}", ANON, NONE, 200),  # the single-use link is the key
    ("GET", "/me/intake", "nurse", NONE, 403),
    ("POST", "/api/v1/patients/{patient_id}/eligibility/{decision_id}/override", "coordinator", OWN, 403),
    ("POST", "/api/v1/patients/{patient_id}/eligibility/{decision_id}/override", "prescriber", OWN, 200),
    ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/sign", "nurse", OWN, 403),  # prescribers sign
    ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/sign", "prescriber", OWN, 200),
    ("POST", "/api/v1/patients/{patient_id}/plans/{plan_id}/sign", "prescriber", OTHER, 404),
    # Chairside
    ("GET", "/api/v1/infusion-sessions/{session_id}", "manager", OWN, 403),  # managers do not read charts
    ("POST", "/api/v1/infusion-sessions/{session_id}/arrive", "coordinator", OWN, 403),
    ("POST", "/api/v1/infusion-sessions/{session_id}/arrive", "nurse", OTHER, 404),
    ("POST", "/api/v1/infusion-sessions/{session_id}/dose/{dose_id}/verify", "prescriber", OWN, 200),
    ("POST", "/api/v1/infusion-sessions/{session_id}/duty-override", "nurse", OWN, 403),  # a prescriber's call
    ("POST", "/api/v1/infusion-sessions/{session_id}/cancel", "manager", OWN, 200),  # the front desk
    ("GET", "/chairside", "coordinator", NONE, 403),
    # Check-ins
    ("GET", "/api/v1/patients/{patient_id}/checkins", "patient", OWN, 200),  # a patient reads their own
    ("GET", "/api/v1/patients/{patient_id}/checkins", "patient", OTHER, 404),
    ("GET", "/patients/{patient_id}/checkins/enter", "patient", OWN, 403),  # phone check-ins: staff only
    ("POST", "/api/v1/booster-proposals/{proposal_id}/accept", "nurse", OWN, 403),
    ("POST", "/api/v1/booster-proposals/{proposal_id}/accept", "prescriber", OTHER, 404),
    # Scheduling
    ("POST", "/api/v1/scheduling/runs", "manager", NONE, 201),
    ("POST", "/api/v1/scheduling/runs", "prescriber", NONE, 403),
    ("GET", "/api/v1/me/scheduling/requests/{request_id}/slots", "patient", OTHER, 404),
    ("POST", "/me/schedule/{request_id}/book", "patient", OTHER, 404),
    ("POST", "/schedule/runs/{run_id}/commit", "coordinator", OTHER, 404),
    ("GET", "/api/v1/fhir/Appointment", "nurse", OTHER, 404),
    ("POST", "/api/v1/rosters/preview", ANON, NONE, 401),
    # Research files prepared in the background: exporters of the file's clinics only
    ("POST", "/exports/files", "manager", NONE, 303),
    ("POST", "/exports/files", "nurse", NONE, 403),
    ("POST", "/exports/files", "patient", NONE, 403),
    ("GET", "/exports/files/{export_id}", "admin", OWN, 200),
    ("GET", "/exports/files/{export_id}", "manager", OTHER, 404),
    ("GET", "/exports/files/{export_id}", "prescriber", OWN, 403),
    ("GET", "/exports/files/{export_id}", "patient", OWN, 403),
    ("POST", "/api/v1/exports/deidentified", "admin", NONE, 202),
    ("POST", "/api/v1/exports/deidentified", "coordinator", NONE, 403),
    ("GET", "/api/v1/exports/files/{export_id}", "admin", OTHER, 404),
    ("GET", "/api/v1/exports/files/{export_id}/content", "manager", OTHER, 404),
    ("GET", "/api/v1/exports/files/{export_id}/content", "nurse", OWN, 403),
]


@pytest.mark.parametrize(("method", "path", "role", "scope", "want"), SPOT_CHECKS,
                         ids=[f"{m} {p} [{r}, {s}]" for m, p, r, s, _ in SPOT_CHECKS])
def test_spot_check(cell: Matrix, method: str, path: str, role: str, scope: str, want: int | str) -> None:
    assert expected(method, path, role, scope) == want, "the derived expectation disagrees with the policy"
    assert observed(call(cell, method, path, role, scope)) == want


def test_signed_out_page_redirect_keeps_where_the_visitor_was_going(cell: Matrix) -> None:
    response = cell.client.get("/patients?q=hale", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fpatients%3Fq%3Dhale"


def test_signed_out_api_answers_401_with_a_bearer_challenge(cell: Matrix) -> None:
    response = cell.client.get("/api/v1/patients")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "Please sign in."


def test_a_record_in_another_clinic_looks_exactly_like_a_missing_one(cell: Matrix) -> None:
    headers = {"Authorization": f"Bearer {cell.api['nurse']}"}
    other = cell.client.get(f"/api/v1/patients/{cell.ids[OTHER]['patient_id']}", headers=headers)
    missing = cell.client.get("/api/v1/patients/999999", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_another_clinic_looks_exactly_like_a_missing_one(cell: Matrix) -> None:
    headers = {"Authorization": f"Bearer {cell.api['nurse']}"}
    other = cell.client.get(f"/api/v1/clinics/{cell.ids[OTHER]['slug']}", headers=headers)
    missing = cell.client.get("/api/v1/clinics/no-such-clinic", headers=headers)
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


MISSING = {"patient_id": 999_999, "consent_id": 999_999, "clinic_id": 999_999, "slug": "no-such-clinic",
           "user_id": 999_999, "chair_id": 999_999, "assessment_id": 999_999, "alert_id": 999_999,
           "referral_id": 999_999, "decision_id": 999_999, "plan_id": 999_999, "session_id": 999_999,
           "dose_id": 999_999, "reading_id": 999_999, "checkin_id": 999_999, "proposal_id": 999_999,
           "request_id": 999_999, "run_id": 999_999, "closure_id": 999_999, "change_id": 999_999,
           "export_id": 999_999}
SCOPED_API = [(m, p) for (m, p), spec in ROUTES.items() if spec.scoped and is_api(p)]


def test_every_record_a_scoped_route_names_can_be_missing() -> None:
    named = {name for (_, path), spec in ROUTES.items() if spec.scoped
             for name in re.findall(r"\{(\w+)\}", path + (spec.query or ""))}
    assert named - set(MISSING) == set(), "add the record to MISSING, so its 404 is compared word for word"


@pytest.mark.parametrize(("method", "path"), SCOPED_API, ids=[f"{m} {p}" for m, p in SCOPED_API])
def test_another_clinics_record_answers_word_for_word_like_a_missing_one(cell: Matrix, method: str, path: str) -> None:
    """Not only the status: the message must not tell "exists elsewhere" from "does not exist"."""
    role = next(r for r in ROLES if expected(method, path, r, OTHER) == 404)
    spec = ROUTES[(method, path)]
    body = cell.payloads[spec.payload](role, OTHER) if spec.payload else None
    headers = {"Authorization": f"Bearer {cell.api[role]}"}
    values = cell.values(spec, OTHER)
    other = cell.client.request(method, cell.url(path, spec, values), headers=headers, json=body)
    assert other.status_code == 404
    for name in MISSING:  # each record the path names, missing in turn; the others those of the other clinic
        if "{" + name + "}" not in path + (spec.query or ""):
            continue
        missing = cell.client.request(method, cell.url(path, spec, {**values, name: MISSING[name]}),
                                      headers=headers, json=body)
        assert (other.status_code, other.json()) == (missing.status_code, missing.json()), name


def test_a_consent_of_another_clinics_patient_cannot_be_reached_through_an_own_patient(cell: Matrix) -> None:
    own, other = cell.ids[OWN], cell.ids[OTHER]
    headers = {"Authorization": f"Bearer {cell.api['nurse']}"}
    response = cell.client.post(f"/api/v1/patients/{own['patient_id']}/consents/{other['consent_id']}/withdraw",
                                headers=headers)
    assert response.status_code == 404


def test_a_chair_of_another_clinic_cannot_be_reached_through_an_own_clinic(cell: Matrix) -> None:
    own, other = cell.ids[OWN], cell.ids[OTHER]
    token = new_csrf_token(cell.secret)
    response = cell.client.post(f"/admin/clinics/{own['clinic_id']}/chairs/{other['chair_id']}/toggle",
                                data={CSRF_FIELD: token}, follow_redirects=False,
                                headers={"Cookie": f"{SESSION_COOKIE}={cell.browser['admin']}; "
                                                   f"{CSRF_COOKIE}={token}"})
    assert response.status_code == 404


def test_a_patient_sees_only_their_own_record_on_me(cell: Matrix) -> None:
    response = cell.client.get("/me", headers={"Cookie": f"{SESSION_COOKIE}={cell.browser['patient']}"})
    assert response.status_code == 200
    assert cell.world.patient_north.record_number in response.text
    assert cell.world.patient_south.record_number not in response.text


# --- No id is too large to answer cleanly ---------------------------------------------------------------------


def test_an_id_larger_than_the_database_holds_is_never_a_500(cell: Matrix) -> None:
    """Ids are PostgreSQL integers (SQLite: 64-bit): larger ones must be refused (422) or not found (404), never a 500
    (use web.deps.RecordId for id path parameters)."""
    crashed = []
    for route in api_routes(cell.client.app):  # type: ignore[arg-type]
        int_params = [p.name for p in route.dependant.path_params if p.field_info.annotation is int]
        if route.path in NOT_OURS or not int_params:
            continue
        values = {name: cell.ids[OWN].get(name, "gad7") for name in route.param_convertors}
        for name in int_params:
            path = route.path.format(**{**values, name: 2**64 + 1})
            for method in route.methods:
                for role in ("nurse", "admin", "patient"):
                    token = new_csrf_token(cell.secret)
                    headers = ({"Authorization": f"Bearer {cell.api[role]}"} if is_api(route.path) else
                               {"Cookie": f"{SESSION_COOKIE}={cell.browser[role]}; {CSRF_COOKIE}={token}"})
                    kwargs: dict[str, Any] = {}
                    if method != "GET":
                        kwargs = {"json": {}} if is_api(route.path) else {"data": {CSRF_FIELD: token}}
                    response = cell.client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
                    if response.status_code >= 500:
                        crashed.append(f"{method} {route.path} ({name}, as {role})")
    assert crashed == [], "answered 500:\n" + "\n".join(crashed)


# --- Routes not yet in the table still deny what they must ------------------------------------------------


def test_unlisted_routes_still_deny(cell: Matrix) -> None:
    """For a route someone added without a matrix row: signed out and roles without its permission are refused.
    (Its own/other cells need a row in ROUTES: test_every_route_is_in_the_matrix says so.)"""
    problems = []
    for route in api_routes(cell.client.app):  # type: ignore[arg-type]
        policy = route_policy(route.dependant)
        if route.path in NOT_OURS or policy in (None, PUBLIC, SIGNED_IN):
            continue
        for method in route.methods:
            if (method, route.path) in ROUTES:
                continue
            path = route.path.format(**{name: cell.ids[OWN].get(name, 1) for name in route.param_convertors})
            anon = cell.client.request(method, path, follow_redirects=False)
            if observed(anon) != (401 if is_api(route.path) else LOGIN_REDIRECT) and anon.status_code != 403:
                problems.append((method, route.path, ANON, anon.status_code))
            for role in ROLES:
                if Permission(policy) in ROLE_PERMISSIONS[Role(role)]:
                    continue
                headers = ({"Authorization": f"Bearer {cell.api[role]}"} if is_api(route.path)
                           else {"Cookie": f"{SESSION_COOKIE}={cell.browser[role]}"})
                token = new_csrf_token(cell.secret)
                data = None
                if method != "GET" and not is_api(route.path):
                    headers["Cookie"] += f"; {CSRF_COOKIE}={token}"
                    data = {CSRF_FIELD: token}
                response = cell.client.request(method, path, headers=headers, data=data, follow_redirects=False)
                if response.status_code != 403:
                    problems.append((method, route.path, role, response.status_code))
    assert problems == []
