"""The network dataset of bench/network.py, loaded small: the rows are there, a seeded nurse signs in and opens the
worklist and a chart through the real app, and the app's own services read the data as the loader meant it.

PostgreSQL only (the loader COPYs). bench/http_bench.py serves the same dataset at full size.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from tests import helpers
from tests.conftest import browser_login

from tenfour.checkins import detection, repository, sweep
from tenfour.config import Settings
from tenfour.db import make_engine, make_session_factory
from tenfour.web.app import create_app

pytestmark = pytest.mark.postgres
BENCH = Path(__file__).resolve().parents[2] / "bench"
CLINICS, PATIENTS = 3, 300


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[ModuleType, Any, Engine]]:
    sys.path.insert(0, str(BENCH))
    try:
        module = importlib.import_module("network")
    finally:
        sys.path.remove(str(BENCH))
    with helpers.scratch_database(helpers.test_database_url()) as url:
        loaded = module.load(url, clinics=CLINICS, patients=PATIENTS, seed=3)
        engine = make_engine(url)
        try:
            yield module, loaded, engine
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def client(network: tuple[ModuleType, Any, Engine], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    _, _, engine = network
    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("network"), mail_backend="file",
                        secret_key="network-test-secret-" + "n" * 32, database_url=engine.url.render_as_string(
                            hide_password=False), job_backend="inprocess", base_url="http://testserver")
    with TestClient(create_app(settings=settings, session_factory=make_session_factory(engine))) as test_client:
        yield test_client


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def sign_in(client: TestClient, email: str, password: str) -> None:
    client.cookies.clear()
    browser_login(client, email, password)


def test_counts_match_what_the_loader_reports(network: tuple[ModuleType, Any, Engine]) -> None:
    module, loaded, engine = network
    for table in ("clinics", "chairs", "users", "clinic_memberships", "patients", "checkin_courses", "checkins",
                  "infusion_sessions", "infusion_vitals", "treatment_plans", "relapse_evaluations", "alerts"):
        assert scalar(engine, f"SELECT count(*) FROM {table}") == loaded.counts[table], table  # noqa: S608
    assert loaded.counts["clinics"] == CLINICS
    assert loaded.counts["patients"] == PATIENTS
    assert loaded.counts["users"] == CLINICS * len(module.STAFF_ROLES)
    assert loaded.counts["checkins"] > PATIENTS * 15  # about twenty a patient
    assert loaded.counts["infusion_sessions"] >= PATIENTS * 6  # a six-infusion course each, some boosters
    # Every clinic has patients; each patient's rows belong to their clinic, with its time zone and chairs.
    assert scalar(engine, "SELECT count(DISTINCT clinic_id) FROM patients") == CLINICS
    assert scalar(engine, "SELECT count(*) FROM checkins k JOIN patients p ON p.id = k.patient_id "
                          "WHERE k.clinic_id <> p.clinic_id") == 0
    assert scalar(engine, "SELECT count(*) FROM checkin_courses c JOIN clinics k ON k.id = c.clinic_id "
                          "WHERE c.timezone <> k.timezone") == 0
    assert scalar(engine, "SELECT count(*) FROM infusion_sessions s JOIN chairs c ON c.id = s.chair_id "
                          "WHERE c.clinic_id <> s.clinic_id") == 0
    # The loader's per-table timings are reported for every table it wrote.
    assert {"patients", "checkins", "infusion_sessions", "relapse_evaluations"} <= set(loaded.seconds)


def test_a_seeded_nurse_signs_in_and_opens_the_worklist_and_a_chart(
        network: tuple[ModuleType, Any, Engine], client: TestClient) -> None:
    module, loaded, engine = network
    clinic = loaded.clinics[0]
    sign_in(client, clinic.staff["nurse"][1], module.PASSWORD)
    # The worklist (the clinic's check-ins board) lists this clinic's patients by state, no one else's.
    urgent = rows(engine, "SELECT p.id, p.first_name, p.last_name, p.clinic_id FROM relapse_evaluations e "
                          "JOIN patients p ON p.id = e.patient_id WHERE e.state = 'urgent' ORDER BY p.id")
    mine = [r for r in urgent if r.clinic_id == clinic.id]
    assert mine, "the synthetic mix has urgent patients in every clinic"
    board = client.get("/checkins")
    assert board.status_code == 200
    assert f'href="/patients/{mine[0].id}#checkins"' in board.text
    others = [r for r in urgent if r.clinic_id != clinic.id]
    assert others and not any(f'href="/patients/{r.id}#checkins"' in board.text for r in others)
    # A chart of one of them renders, with their record and check-ins; another clinic's patient is not found.
    record_number = scalar(engine, "SELECT record_number FROM patients WHERE id = :id", id=mine[0].id)
    chart = client.get(f"/patients/{mine[0].id}")
    assert chart.status_code == 200
    assert record_number in chart.text
    assert 'id="checkins"' in chart.text  # the check-ins panel, with this patient's course
    assert client.get(f"/patients/{others[0].id}").status_code == 404


def test_the_apps_services_read_the_data_as_loaded(network: tuple[ModuleType, Any, Engine]) -> None:
    _, loaded, engine = network
    factory = make_session_factory(engine)
    clinic = loaded.clinics[1]
    with factory() as db:
        course_ids = repository.evaluable_course_ids(db, clinic.id)
        assert course_ids
        rules = detection.rules_for(db, clinic.id)
        stored = {row.patient_id: row for row in rows(engine, "SELECT * FROM relapse_evaluations "
                                                              "WHERE clinic_id = :c", c=clinic.id)}
        now = loaded_now(engine)
        for course in repository.courses_by_ids(db, course_ids[:60]):
            # A patient's history through the repository is exactly their rows in the table.
            history = repository.patient_checkins(db, course.patient_id)
            assert [c.id for c in history] == [r.id for r in rows(
                engine, "SELECT id FROM checkins WHERE patient_id = :p ORDER BY due_on, id", p=course.patient_id)]
            assert any(c.status == "completed" for c in history)
            # The per-patient evaluation (as after a submission) agrees with what the loader stored for the board.
            result = detection.evaluate_course(db, course, sweep.as_of_for(course.timezone, now), rules)
            assert result is not None
            evaluation = stored[course.patient_id]
            assert (result.state.value, detection.reasons_json(result)) == (evaluation.state, evaluation.reasons)
            assert evaluation.fingerprint == detection.fingerprint(result)
        # The schedule is in step with the infusions: a check-in would not rebuild it.
        fresh = repository.source_fingerprints(db, [row.patient_id for row in repository.course_rows(db, course_ids)])
        stored_now = repository.stored_fingerprints(db, list(fresh))
        assert {pid: stored_now[pid][0] for pid in fresh} == fresh


def test_a_checkin_entered_through_the_api_adds_to_the_history_without_rebuilding_it(
        network: tuple[ModuleType, Any, Engine], client: TestClient) -> None:
    module, loaded, engine = network
    clinic = loaded.clinics[2]
    patient_id = scalar(engine, "SELECT c.patient_id FROM checkin_courses c JOIN patients p ON p.id = c.patient_id "
                                "WHERE c.clinic_id = :c AND c.started AND c.baseline_pcl5 IS NOT NULL AND NOT EXISTS "
                                "(SELECT 1 FROM checkins k WHERE k.patient_id = c.patient_id AND k.status IN "
                                "('pending', 'missed') AND k.pcl5_form <> 'pcl5-week') ORDER BY c.patient_id LIMIT 1",
                        c=clinic.id)
    before = {r.id: r.status for r in rows(engine, "SELECT id, status FROM checkins WHERE patient_id = :p",
                                           p=patient_id)}
    token = client.post("/api/v1/auth/login", json={"email": clinic.staff["nurse"][1],
                                                     "password": module.PASSWORD}).json()["access_token"]
    answers = {"pcl5": {f"q{i}": 1 for i in range(1, 21)}, "phq9": {f"q{i}": 1 if i < 9 else 0 for i in range(1, 10)}}
    response = client.post(f"/api/v1/patients/{patient_id}/checkins", json={"answers": answers},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    submitted = response.json()["checkin"]
    assert submitted["status"] == "completed" and submitted["patient_id"] == patient_id
    after = {r.id: r.status for r in rows(engine, "SELECT id, status FROM checkins WHERE patient_id = :p",
                                          p=patient_id)}
    assert set(before) <= set(after) and len(after) - len(before) <= 1  # no schedule rebuilt, at most one extra
    assert after[submitted["id"]] == "completed"
    history = client.get(f"/api/v1/patients/{patient_id}/checkins", headers={"Authorization": f"Bearer {token}"})
    assert history.status_code == 200
    assert [c["id"] for c in history.json()["checkins"]] == sorted(after, key=lambda i: (due_on(engine, i), i))


def loaded_now(engine: Engine) -> Any:
    return scalar(engine, "SELECT max(evaluated_at) FROM relapse_evaluations")


def due_on(engine: Engine, checkin_id: int) -> Any:
    return scalar(engine, "SELECT due_on FROM checkins WHERE id = :i", i=checkin_id)
