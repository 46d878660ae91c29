"""API fuzzing: schemathesis generates requests from the app's own OpenAPI document for every operation, sends them
in process to the ASGI app (no network) on the test database with two seeded clinics, signed in as each role (and
as nobody), and checks every answer: never a 5xx, and the status code, content type and body each as the document
declares. Bounded and repeatable: a fixed number of derandomized cases per operation and role."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.web.support import app, bearer, module_app  # noqa: F401 - one app per module

from tenfour.config import Settings
from tenfour.web.app import create_app

ROLES = ("admin", "prescriber", "nurse", "coordinator", "manager", "patient", "anonymous")
CASES_PER_OPERATION_AND_ROLE = 5
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

# The document only: requests go to each test's app (tests.web.support: one app per module, on the test's database).
# Bounded: no coverage phase (it sends every boundary case the document allows, thousands, unbounded by
# max_examples); the fuzzing phase, valid and invalid requests, CASES_PER_OPERATION_AND_ROLE of them, derandomized.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(
    create_app(settings=Settings(environment="test", secret_key="schema-only-" + "x" * 32)).openapi(), config=CONFIG)
SENT: list[int] = []  # one entry per request, for the figures in docs/reliability.md


@pytest.fixture(autouse=True)
def no_job_runs_on_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs a request defers (a research export to prepare) are dropped: the in-process runner thread would run them
    on this test's one database connection while the next request uses it. tests/web/test_export_files.py runs them."""
    monkeypatch.setattr("tenfour.jobs.runner.submit", lambda jobs: None)


@pytest.fixture(params=ROLES)
def role_headers(request, db, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Signed in as each role of the north clinic (a Bearer token), or as nobody."""
    if request.param == "anonymous":
        return {}
    made = bearer(db, world.user(request.param))
    db.commit()
    return made


@schema.parametrize()
@settings(max_examples=CASES_PER_OPERATION_AND_ROLE, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_answer_as_documented(case, app, world, role_headers) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    if len(SENT) % 2 and case.path_parameters:
        # Every other case names seeded records (the north clinic, its patient, a real instrument), so that the
        # answers that follow a successful look-up are fuzzed too, not only "not found".
        known = {"patient_id": world.patient_north.id, "slug": world.north.slug, "instrument_id": "phq9"}
        case.path_parameters.update({name: known[name] for name in case.path_parameters if name in known})
    response = case.call(app=app, headers=role_headers)
    SENT.append(response.status_code)
    case.validate_response(response, checks=CHECKS)


def teardown_module() -> None:
    print(f"\nschemathesis: {len(SENT)} requests; by status: {dict(sorted(Counter(SENT).items()))}")
