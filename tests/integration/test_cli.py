"""The `tenfour` command, run through Typer's CliRunner against scratch databases of the test database's kind.

The CLI reads its configuration from the environment (TENFOUR_*), like a deployment does; the cached settings,
engine and session factory are cleared around each test so every command sees the scratch database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.helpers import cli_environment, scratch_database
from typer.testing import CliRunner

from tenfour import db, demo, migrate
from tenfour.accounts import passwords
from tenfour.accounts.models import Role, User
from tenfour.cli import app
from tenfour.clinics.models import Clinic
from tenfour.patients.models import Patient

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_database(database_url: str) -> Iterator[str]:
    with scratch_database(database_url) as url:
        yield url


@pytest.fixture(scope="module")
def demo_database(database_url: str) -> Iterator[str]:
    with scratch_database(database_url) as url:
        yield url


@pytest.fixture
def cli_db(cli_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    yield from cli_environment(monkeypatch, cli_database, tmp_path)


@pytest.fixture
def demo_db(demo_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    yield from cli_environment(monkeypatch, demo_database, tmp_path)


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def words(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare text with the line breaks taken out."""
    return " ".join(text.split())


def session() -> Session:
    return db.get_session_factory()()


@pytest.fixture
def migrated(cli_db: str) -> str:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    return cli_db


# --- Help -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["serve"], ["db"], ["db", "upgrade"], ["clinic", "create"],
                                     ["user", "create"], ["demo"]])
def test_help_everywhere(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


# --- Database --------------------------------------------------------------------------------------------


def test_db_upgrade_reports_the_revision(cli_db: str) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0
    assert "is at revision head" in words(result.output)
    assert "@" not in result.output or "***@" in result.output, "a password in the URL is never printed"
    engine: Engine = db.get_engine()
    with engine.connect() as connection:
        assert migrate.current_heads()[0] == connection.exec_driver_sql(
            "SELECT version_num FROM alembic_version").scalar_one()


# --- Clinics ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "extra", "slug"), [
    ("north", [], "north"),
    ("North Shore Clinic", [], "north-shore-clinic"),
    ("Clínica São José", [], "clinica-sao-jose"),
    ("Bay Area Responders", ["--slug", "bayarea"], "bayarea"),
])
def test_clinic_create_derives_the_slug(migrated: str, name: str, extra: list[str], slug: str) -> None:
    result = run("clinic", "create", name, "--timezone", "America/Chicago", "--chairs", "2", *extra)
    assert result.exit_code == 0, result.output
    assert f"Created clinic {name} (slug {slug}, America/Chicago, 2 chairs)." in words(result.output)
    with session() as s:
        clinic = s.scalar(select(Clinic).where(Clinic.slug == slug))
        assert clinic is not None and clinic.name == name and len(clinic.chairs) == 2
        assert clinic.is_synthetic is False
    assert slug in run("clinic", "list").output


@pytest.mark.parametrize(("args", "field", "rule"), [
    (["Moon Base", "--timezone", "Moon/Tranquility"], "timezone", "iana_time_zone"),
    (["   ", "--timezone", "UTC"], "name", "required"),
    (["Odd", "--timezone", "UTC", "--slug", "Not_A_Slug"], "slug", "format"),
    (["Many Chairs", "--timezone", "UTC", "--chairs", "500"], "chairs", "range"),
    (["North Again", "--timezone", "UTC", "--slug", "north-dup"], "slug", "unique"),
])
def test_clinic_create_reports_errors_cleanly(migrated: str, args: list[str], field: str, rule: str) -> None:
    if rule == "unique":
        assert run("clinic", "create", "North Dup", "--timezone", "UTC").exit_code == 0
    with session() as s:
        before = s.scalar(select(func.count()).select_from(Clinic))
    result = run("clinic", "create", *args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), "no traceback"
    assert "Traceback" not in result.output
    assert f"{field}:" in words(result.stderr) and f"({rule})" in result.stderr
    assert words(result.stderr).startswith("Error:")
    with session() as s:
        assert s.scalar(select(func.count()).select_from(Clinic)) == before


# --- Users -----------------------------------------------------------------------------------------------


@pytest.fixture
def clinic_slug(migrated: str) -> str:
    with session() as s:
        exists = s.scalar(select(Clinic).where(Clinic.slug == "cli-users")) is not None
    if not exists:  # outside the session: SQLite lets one writer in at a time
        assert run("clinic", "create", "CLI Users", "--timezone", "UTC").exit_code == 0
    return "cli-users"


def test_user_create_reads_the_password_from_stdin(clinic_slug: str) -> None:
    result = run("user", "create", "Pat.Admin@Example.org", "--role", "admin", "--clinic", clinic_slug,
                 "--name", "Pat Admin", "--password-stdin", stdin="a perfectly long passphrase\n")
    assert result.exit_code == 0, result.output
    assert "Created admin account pat.admin@example.org in cli-users." in words(result.output)
    assert "passphrase" not in result.output
    with session() as s:
        user = s.scalar(select(User).where(User.email == "pat.admin@example.org"))
        assert user is not None and user.full_name == "Pat Admin" and user.role == "admin"
        assert passwords.verify_password(user.password_hash, "a perfectly long passphrase")
        assert len(user.clinic_ids) == 1


@pytest.mark.parametrize(("args", "stdin", "expected"), [
    (["nurse1@example.org", "--role", "nurse", "--clinic", "nowhere"], "a perfectly long passphrase\n",
     "clinic: no clinic with slug 'nowhere' (exists)"),
    (["nurse2@example.org", "--role", "wizard", "--clinic", "cli-users"], "a perfectly long passphrase\n",
     "role: must be one of: admin, prescriber, nurse, coordinator, manager, patient (enum)"),
    (["nurse3@example.org", "--role", "nurse", "--clinic", "cli-users"], "short\n",
     "password: must be at least 12 characters (min_length)"),
    (["not-an-email", "--role", "nurse", "--clinic", "cli-users"], "a perfectly long passphrase\n",
     "(email)"),
])
def test_user_create_reports_errors_cleanly(clinic_slug: str, args: list[str], stdin: str, expected: str) -> None:
    result = run("user", "create", *args, "--password-stdin", stdin=stdin)
    assert result.exit_code == 2, result.output
    assert expected in words(result.stderr)
    with session() as s:
        assert s.scalar(select(User).where(User.email == args[0])) is None


def test_user_create_refuses_a_duplicate_email(clinic_slug: str) -> None:
    args = ["twice@example.org", "--role", "nurse", "--clinic", clinic_slug, "--password-stdin"]
    assert run("user", "create", *args, stdin="a perfectly long passphrase\n").exit_code == 0
    again = run("user", "create", *[a.replace("twice@", "TWICE@") for a in args],
                stdin="another long passphrase\n")
    assert again.exit_code == 2
    assert "An account with this email already exists." in words(again.stderr)
    assert "email: is taken (unique)" in words(again.stderr)


# --- The demo --------------------------------------------------------------------------------------------


def test_demo_seeds_a_synthetic_network_once(demo_db: str) -> None:
    first = run("demo", "--no-serve")
    assert first.exit_code == 0, first.output
    output = words(first.output)
    assert "Seeded a new demo." in output
    assert f"Password for every account: {demo.DEMO_PASSWORD}" in output
    for login in demo.LOGINS:
        assert login.email in output
    with session() as s:
        clinics = list(s.scalars(select(Clinic)))
        assert len(clinics) == 2 and all(c.is_synthetic for c in clinics)
        assert {r for r in s.scalars(select(User.role))} == {r.value for r in Role}
        patients = list(s.scalars(select(Patient)))
        assert len(patients) >= 40 and all(p.is_synthetic for p in patients)
        assert {p.clinic_id for p in patients} == {c.id for c in clinics}
        assert len({p.responder_role for p in patients}) >= 5 and len({p.agency for p in patients}) >= 8
        assert all("(synthetic)" in (p.agency or "(synthetic)") for p in patients)
        assert all(p.email.endswith("@example.com") for p in patients if p.email), "reserved, undeliverable"
        counts = (len(clinics), s.scalar(select(func.count()).select_from(User)), len(patients))

    second = run("demo", "--no-serve")
    assert second.exit_code == 0
    assert "Demo data already present (use --reset)." in words(second.output)
    with session() as s:
        assert (s.scalar(select(func.count()).select_from(Clinic)), s.scalar(select(func.count()).select_from(User)),
                s.scalar(select(func.count()).select_from(Patient))) == counts


def test_demo_reset_starts_again_but_never_on_real_clinics(demo_db: str) -> None:
    assert run("demo", "--no-serve").exit_code == 0
    reset = run("demo", "--reset", "--no-serve")
    assert reset.exit_code == 0, reset.output
    assert "Seeded a new demo." in words(reset.output)
    assert run("clinic", "create", "A Real Clinic", "--timezone", "UTC").exit_code == 0
    refused = run("demo", "--reset", "--no-serve")
    assert refused.exit_code == 2
    assert "real clinics" in words(refused.stderr) and "Traceback" not in refused.output
    with session() as s:
        assert s.scalar(select(Clinic).where(Clinic.slug == "a-real-clinic")) is not None
