"""Test fixtures: one database for the session (SQLite by default, PostgreSQL with TENFOUR_TEST_DATABASE_URL),
built by the real migrations; every test runs inside an outer transaction that is rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tenfour import migrate
from tenfour.config import Settings
from tenfour.db import make_engine
from tenfour.web.app import create_app
from tests import factories
from tests.helpers import is_postgres, scratch_database, test_database_url
from tests.mailbox import Mailbox, start_mail_server

DATABASE_URL = test_database_url()
# Jobs wait on the session and run in-process after the commit (mail goes out within the request, as the tests
# expect) on both databases; the procrastinate path has its own tests (tests/integration/test_jobs*.py).
os.environ.setdefault("TENFOUR_JOB_BACKEND", "inprocess")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Argon2id with minimal cost in tests only: the same code path, a fraction of the CPU time."""
    from argon2 import PasswordHasher

    from tenfour.accounts import passwords

    original = passwords._hasher
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._hasher = lambda: cheap  # type: ignore[assignment]
    passwords._dummy_hash.cache_clear()
    factories.password_hash.cache_clear()
    yield
    passwords._hasher = original  # type: ignore[assignment]
    passwords._dummy_hash.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_postgres(DATABASE_URL):
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only behaviour; set TENFOUR_TEST_DATABASE_URL to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"tenfour test database: {'postgresql' if is_postgres(DATABASE_URL) else 'sqlite'}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """SQLite: a temporary file. PostgreSQL: a fresh database on the server named by TENFOUR_TEST_DATABASE_URL,
    created for this run and dropped after it, so several runs (CI, engineers) never share tables."""
    if is_postgres(DATABASE_URL):
        with scratch_database(DATABASE_URL) as url:
            yield url
    else:
        yield DATABASE_URL


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
    if not is_postgres(database_url):
        path = database_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    connection = engine.connect()
    transaction = connection.begin()
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Sessions join the outer transaction; their commit() only releases a SAVEPOINT.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def mail_server() -> Iterator[tuple[Mailbox, int]]:
    controller, mailbox, port = start_mail_server()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mailbox(mail_server: tuple[Mailbox, int]) -> Mailbox:
    """The messages the app sent during this test (a real SMTP server on loopback)."""
    box, _ = mail_server
    box.clear()
    return box


@pytest.fixture
def settings(tmp_path: Path, mail_server: tuple[Mailbox, int], database_url: str) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, secret_key="test-secret-key-" + "x" * 32,
                    database_url=database_url, smtp_host="127.0.0.1", smtp_port=mail_server[1],
                    base_url="http://testserver")


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return create_app(settings=settings, session_factory=session_factory)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# --- A small world: two clinics, staff of each role in each, patients in each ----------------------


class World:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.north = factories.make_clinic(db, name="North Test Clinic", slug="north-test")
        self.south = factories.make_clinic(db, name="South Test Clinic", slug="south-test",
                                           timezone="America/Los_Angeles")
        self.staff = {
            (role, clinic.slug): factories.make_user(db, role=role, clinics=[clinic])
            for role in ("admin", "prescriber", "nurse", "coordinator", "manager")
            for clinic in (self.north, self.south)
        }
        self.patient_north = factories.make_patient(db, self.north, first_name="Nora", last_name="North")
        self.patient_south = factories.make_patient(db, self.south, first_name="Sam", last_name="South")
        self.patient_user = factories.make_user(db, role="patient", clinics=[])
        self.patient_north.user_id = self.patient_user.id
        self.other_patient_user = factories.make_user(db, role="patient", clinics=[])
        self.patient_south.user_id = self.other_patient_user.id
        db.flush()

    def user(self, role: str, clinic: str = "north-test"):  # type: ignore[no-untyped-def]
        if role == "patient":
            return self.patient_user
        return self.staff[(role, clinic)]


@pytest.fixture
def world(db: Session) -> World:
    world = World(db)
    db.commit()
    return world


def api_login(client: TestClient, email: str, password: str = factories.PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_from(client: TestClient, path: str = "/login") -> str:
    import re

    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def browser_login(client: TestClient, email: str, password: str = factories.PASSWORD) -> None:
    token = csrf_from(client)
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": password, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def as_api(client: TestClient, world: World):  # type: ignore[no-untyped-def]
    """as_api(role, clinic) -> auth headers for that staff member (or the patient)."""
    cache: dict[tuple[str, str], dict[str, str]] = {}

    def headers(role: str, clinic: str = "north-test") -> dict[str, str]:
        key = (role, clinic)
        if key not in cache:
            cache[key] = api_login(client, world.user(role, clinic).email)
        return cache[key]

    return headers


@pytest.fixture
def course(db: Session, world: World):  # type: ignore[no-untyped-def]
    """North's patient with an induction course begun three weeks ago and its check-in schedule built (check-ins are
    due): the check-ins, idempotency, rate-limit and attack tests start from it."""
    from datetime import timedelta

    from tests.checkins_support import give_course, monday_weeks_ago, sync

    first = monday_weeks_ago(3)
    made = give_course(db, world.patient_north, world.user("prescriber"), first)
    sync(db, made, first - timedelta(days=1))
    db.commit()
    return made
