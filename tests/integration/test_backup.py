"""No data lost: `tenfour backup`, `tenfour backup verify` and `tenfour restore`, on a database of the test database's
kind (SQLite online backup; pg_dump/pg_restore). A round trip into a fresh database gives every table's rows back
identical; a damaged backup or manifest is caught before anything is restored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from tests import factories
from tests.checkins_support import give_course, monday_weeks_ago, sync
from tests.helpers import clear_caches, is_postgres, scratch_database
from typer.testing import CliRunner

from tenfour import migrate
from tenfour.audit import chain
from tenfour.audit.service import Actor, record
from tenfour.backup import service
from tenfour.cli import app
from tenfour.db import make_engine, make_session_factory
from tenfour.patients.models import Patient

runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def words(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    """use(url): point the CLI at that database."""
    monkeypatch.setenv("TENFOUR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TENFOUR_ENVIRONMENT", "development")

    def point_at(url: str) -> None:
        monkeypatch.setenv("TENFOUR_DATABASE_URL", url)
        clear_caches()

    yield point_at
    clear_caches()


@pytest.fixture
def source(database_url: str) -> Iterator[tuple[str, Engine]]:
    """A migrated database with a little of everything: clinics, staff, patients, a treatment course with its
    infusions and check-in schedule, assessments, JSON, unicode, and an audit trail."""
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as db:
            clinic = factories.make_clinic(db, name="Clínica Norte", slug="norte")
            prescriber = factories.make_user(db, role="prescriber", clinics=[clinic])
            factories.make_user(db, role="nurse", clinics=[clinic], full_name="Zoë O'Brien")
            patients = [factories.make_patient(db, clinic, first_name=name) for name in ("Ana", "Bjørn", "Chloé")]
            first = monday_weeks_ago(3)
            sync(db, give_course(db, patients[0], prescriber, first), first - timedelta(days=1))
            for patient in patients:
                record(db, Actor(prescriber.id, "Dr Ñ <p@x>", "prescriber"), "patient.view", clinic_id=clinic.id,
                       patient_id=patient.id, detail={"why": "a \"quoted\", comma\nand a new line", "n": 1.5})
            db.commit()
        try:
            yield url, engine
        finally:
            engine.dispose()


def every_row(engine: Engine) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    """Every table's rows, in primary-key order."""
    rows = {}
    with engine.connect() as connection:
        inspector = inspect(connection)
        for name in sorted(inspector.get_table_names()):
            key = inspector.get_pk_constraint(name)["constrained_columns"] or [
                c["name"] for c in inspector.get_columns(name)]
            order = ", ".join(f'"{column}"' for column in key)
            query = text(f'SELECT * FROM "{name}" ORDER BY {order}')  # noqa: S608 - names from the catalogue
            rows[name] = [tuple(row) for row in connection.execute(query)]
    return rows


def test_a_round_trip_into_a_fresh_database_gives_every_row_back(source, use, tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    url, engine = source
    backup = tmp_path / "backup.bin"
    use(url)
    made = run("backup", "--output", str(backup))
    assert made.exit_code == 0, made.output
    assert "Verified backup backup.bin" in words(made.output)
    if not is_postgres(url):  # the SQLite copy is a database: its whole chain is recomputed (PostgreSQL: on restore)
        assert "audit chain recomputed over 3 entries" in words(made.output)
    manifest = json.loads(service.manifest_path(backup).read_text())
    assert manifest["snapshot"]["tables"]["patients"] == 3 and manifest["snapshot"]["audit_chain"]["seq"] == 3
    assert manifest["database"] == ("postgresql" if is_postgres(url) else "sqlite")
    assert manifest["snapshot"]["alembic_revision"] == migrate.current_heads()[0]

    with scratch_database(database_url) as fresh_url:
        use(fresh_url)
        restored = run("restore", str(backup), "--yes")
        assert restored.exit_code == 0, restored.output
        assert "Verified the restored database" in words(restored.output)
        assert "audit chain recomputed over 3 entries" in words(restored.output)
        fresh = make_engine(fresh_url)
        try:
            original, copy = every_row(engine), every_row(fresh)
            assert set(copy) == set(original) and len(original) > 30
            assert sum(len(rows) for rows in original.values()) > 40
            for name in original:
                assert copy[name] == original[name], f"table {name} differs after the restore"
            with make_session_factory(fresh)() as db:  # the restored database carries on: ids, chain, all
                assert chain.verify(db).ok
                clinic_id = db.scalar(select(Patient.clinic_id))
                db.add(Patient(clinic_id=clinic_id, record_number="TF-NEW01", first_name="New", last_name="One",
                               date_of_birth=factories.date(1990, 1, 1), responder_role="ems"))
                record(db, Actor.system("test"), "patient.create", clinic_id=clinic_id)
                db.commit()
                assert chain.verify(db).entries == 4
        finally:
            fresh.dispose()


def test_backup_verify_catches_a_damaged_file(source, use, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, _ = source
    use(url)
    backup = tmp_path / "backup.bin"
    assert run("backup", "-o", str(backup)).exit_code == 0
    assert run("backup", "verify", str(backup)).exit_code == 0
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    checked = run("backup", "verify", str(backup))
    assert checked.exit_code == 1 and "was changed or damaged" in words(checked.output)


def test_backup_verify_compares_every_table_and_the_chain_head(source, use, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, _ = source
    use(url)
    backup = tmp_path / "backup.bin"
    assert run("backup", "-o", str(backup)).exit_code == 0
    path = service.manifest_path(backup)
    manifest = json.loads(path.read_text())
    manifest["snapshot"]["tables"]["patients"] = 4
    manifest["snapshot"]["audit_chain"]["hash"] = "f" * 64
    path.write_text(json.dumps(manifest))
    checked = run("backup", "verify", str(backup))
    assert checked.exit_code == 1
    assert "table patients: 4 rows expected, 3 in the backup" in words(checked.output)
    assert "audit chain head" in checked.output


def test_restore_checks_the_backup_first_and_changes_nothing_when_it_is_bad(source, use, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, engine = source
    use(url)
    backup = tmp_path / "backup.bin"
    assert run("backup", "-o", str(backup)).exit_code == 0
    with make_session_factory(engine)() as db:
        record(db, Actor.system("test"), "patient.view")
        db.commit()
    backup.write_bytes(backup.read_bytes()[:-10])
    refused = run("restore", str(backup), "--yes")
    assert refused.exit_code == 2 and "nothing was restored" in words(refused.output)
    with make_session_factory(engine)() as db:
        assert chain.verify(db).entries == 4, "the entry written after the backup is still there"


def test_restore_asks_first(source, use, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, engine = source
    use(url)
    backup = tmp_path / "backup.bin"
    assert run("backup", "-o", str(backup)).exit_code == 0
    with make_session_factory(engine)() as db:
        record(db, Actor.system("test"), "patient.view")
        db.commit()
    declined = run("restore", str(backup), stdin="n\n")
    assert declined.exit_code == 1 and "Replace everything" in declined.output
    with make_session_factory(engine)() as db:
        assert chain.verify(db).entries == 4
    accepted = run("restore", str(backup), stdin="y\n")
    assert accepted.exit_code == 0, accepted.output
    with make_session_factory(engine)() as db:
        assert chain.verify(db).entries == 3, "back to the backup's content"


def test_the_default_backup_goes_to_the_data_folder_and_a_missing_manifest_is_named(source, use, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, _ = source
    use(url)
    made = run("backup")
    assert made.exit_code == 0, made.output
    [backup] = [p for p in (tmp_path / "data" / "backups").iterdir() if not p.name.endswith(".json")]
    assert backup.name.startswith("tenfour-") and backup.suffix in (".db", ".dump")
    service.manifest_path(backup).unlink()
    checked = run("backup", "verify", str(backup))
    assert checked.exit_code == 2 and "manifest.json is missing" in words(checked.output)


def test_missing_postgresql_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service.shutil, "which", lambda name: None)
    monkeypatch.setattr(service, "glob", lambda pattern: [])
    monkeypatch.setattr(service.os, "access", lambda path, mode: False)
    with pytest.raises(service.BackupError, match="pg_dump was not found. Install the PostgreSQL client tools"):
        service.find_tool("pg_dump")
