"""The tamper-evident audit log: every entry is chained to the one before by SHA-256 (audit.chain), and the check
finds the first broken link when an entry is edited, deleted, moved, added behind the application's back, or cut
off the end — on SQLite and PostgreSQL. Concurrent writers on PostgreSQL keep one valid chain. The migration
backfills the chain for entries written before it, and `tenfour audit verify` reports both outcomes.

Tampering needs what only a database owner has: the tests switch the append-only triggers off inside their own
transaction (rolled back afterwards), as an attacker with the database password would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from tests.helpers import cli_environment, is_postgres, scratch_database
from typer.testing import CliRunner

from tenfour import migrate
from tenfour.audit import chain
from tenfour.audit.service import Actor, record
from tenfour.cli import app
from tenfour.db import make_engine, make_session_factory

CHAIN_REVISION = "eb616dd67736"  # migrations/versions/2026-11-25-1800_audit_chain_and_idempotency_keys.py


def before_chain() -> str:
    """The revision just before the chain's migration (whatever the history is by now)."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(CHAIN_REVISION).down_revision
    assert isinstance(down, str)
    return down


def write(db: Session, count: int, label: str = "test") -> list[int]:
    ids = [record(db, Actor(7, f"{label} <t@example.org>", "nurse", "10.0.0.1", "pytest"), "patient.view",
                  clinic_id=1, patient_id=100 + n, record_type="patient", record_id=100 + n,
                  detail={"n": n, "why": "a \"quoted\", comma", "ratio": 0.1 * n}).id for n in range(count)]
    db.commit()
    return ids


def allow_tampering(db: Session) -> None:
    """Switch the append-only triggers off, inside this test's transaction only."""
    if is_postgres(str(db.get_bind().engine.url)):
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        db.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
    else:
        for name in ("audit_events_no_update", "audit_events_no_delete", "audit_chain_no_update",
                     "audit_chain_no_delete"):
            db.execute(text(f"DROP TRIGGER {name}"))


@pytest.fixture
def entries(db: Session) -> list[int]:
    first = write(db, 3)
    return first + write(db, 3, "second transaction")


def test_a_clean_chain_verifies(db, entries) -> None:  # type: ignore[no-untyped-def]
    report = chain.verify(db)
    assert report.ok, report.broken
    assert (report.entries, report.head_seq) == (6, 6)
    links = db.execute(text("SELECT seq, event_id, prev_hash, entry_hash FROM audit_chain ORDER BY seq")).all()
    assert [link.event_id for link in links] == entries, "in commit order, each transaction's entries by id"
    assert links[0].prev_hash == chain.GENESIS
    assert all(links[i].prev_hash == links[i - 1].entry_hash for i in range(1, len(links)))
    assert report.head_hash == links[-1].entry_hash


@pytest.mark.parametrize(("column", "value"), [
    ("actor_label", "'someone else'"),
    ("action", "'patient.search'"),
    ("detail", "'{\"n\": 2, \"why\": \"nothing\", \"ratio\": 0.2}'"),
    ("ip_address", "NULL"),
])
def test_editing_one_field_is_found_at_that_entry(db, entries, column, value) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    db.execute(text(f"UPDATE audit_events SET {column} = {value} WHERE id = :id"),  # noqa: S608 - test constants
               {"id": entries[2]})
    report = chain.verify(db)
    assert not report.ok and report.broken is not None
    assert (report.broken.entry_id, report.broken.seq) == (entries[2], 3)
    assert "a field was changed" in report.broken.problem
    assert report.entries == 2, "the entries before it are sound"


def test_editing_the_time_is_found(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    shift = "at + interval '1 second'" if is_postgres(str(db.get_bind().engine.url)) else "datetime(at, '+1 second')"
    db.execute(text(f"UPDATE audit_events SET at = {shift} WHERE id = :id"), {"id": entries[4]})  # noqa: S608
    assert chain.verify(db).broken.entry_id == entries[4]  # type: ignore[union-attr]


def test_deleting_an_entry_is_found_where_it_was(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": entries[3]})
    broken = chain.verify(db).broken
    assert broken is not None and (broken.entry_id, broken.seq) == (entries[3], 4)
    assert "missing from audit_events" in broken.problem


def test_deleting_an_entry_and_its_link_is_found_at_the_next_entry(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": entries[1]})
    db.execute(text("DELETE FROM audit_chain WHERE event_id = :id"), {"id": entries[1]})
    broken = chain.verify(db).broken
    assert broken is not None and (broken.entry_id, broken.seq) == (entries[2], 3)
    assert "position 2 is missing" in broken.problem


def test_deleting_and_renumbering_is_found_by_the_broken_link(db, entries) -> None:  # type: ignore[no-untyped-def]
    """A careful attacker closes the gap in the positions: the next entry still names the deleted one's hash."""
    allow_tampering(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": entries[1]})
    db.execute(text("DELETE FROM audit_chain WHERE event_id = :id"), {"id": entries[1]})
    for seq in range(3, 7):
        db.execute(text("UPDATE audit_chain SET seq = :new WHERE seq = :old"), {"new": seq - 1, "old": seq})
    db.execute(text("UPDATE audit_chain_head SET seq = 5"))
    broken = chain.verify(db).broken
    assert broken is not None and (broken.entry_id, broken.seq) == (entries[2], 2)
    assert "link to the previous entry differs" in broken.problem


def test_reordering_links_is_found_at_the_first_moved_entry(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    db.execute(text("UPDATE audit_chain SET seq = -1 WHERE seq = 2"))
    db.execute(text("UPDATE audit_chain SET seq = 2 WHERE seq = 3"))
    db.execute(text("UPDATE audit_chain SET seq = 3 WHERE seq = -1"))
    broken = chain.verify(db).broken
    assert broken is not None and (broken.entry_id, broken.seq) == (entries[2], 2)


def test_swapping_two_entries_contents_is_found_at_the_first(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    a, b = entries[1], entries[4]
    db.execute(text("UPDATE audit_events SET id = -1 WHERE id = :a"), {"a": a})
    db.execute(text("UPDATE audit_events SET id = :a WHERE id = :b"), {"a": a, "b": b})
    db.execute(text("UPDATE audit_events SET id = :b WHERE id = -1"), {"b": b})
    broken = chain.verify(db).broken
    assert broken is not None and broken.entry_id == a


def test_cutting_entries_off_the_end_is_found(db, entries) -> None:  # type: ignore[no-untyped-def]
    allow_tampering(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": entries[5]})
    db.execute(text("DELETE FROM audit_chain WHERE event_id = :id"), {"id": entries[5]})
    report = chain.verify(db)
    assert report.broken is not None and report.broken.seq == 5
    assert "the head records 6 entries" in report.broken.problem


def test_an_entry_added_behind_the_applications_back_is_found(db, entries) -> None:  # type: ignore[no-untyped-def]
    db.execute(text("INSERT INTO audit_events (id, at, actor_label, action, detail) "
                    "VALUES (:id, :at, 'forger', 'patient.view', '{}')"),
               {"id": entries[-1] + 1000, "at": "2026-01-01 00:00:00"})
    broken = chain.verify(db).broken
    assert broken is not None and broken.entry_id == entries[-1] + 1000
    assert "inserted outside the application" in broken.problem


def test_a_rolled_back_savepoint_leaves_no_link(db) -> None:  # type: ignore[no-untyped-def]
    kept = record(db, Actor.system("test"), "patient.view", patient_id=1)
    nested = db.begin_nested()
    record(db, Actor.system("test"), "patient.update", patient_id=1)
    nested.rollback()
    with db.begin_nested():  # released, not committed: the links are written at the commit itself
        record(db, Actor.system("test"), "patient.update", patient_id=2)
    assert chain.head(db)[0] == 0
    db.commit()
    report = chain.verify(db)
    assert report.ok and report.entries == 2
    assert db.scalar(text("SELECT event_id FROM audit_chain WHERE seq = 1")) == kept.id


def test_the_links_are_append_only_too(db, entries) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import DBAPIError

    for statement in ("UPDATE audit_chain SET entry_hash = 'x' WHERE seq = 1", "DELETE FROM audit_chain"):
        nested = db.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement))
        nested.rollback()
    assert chain.verify(db).ok


# --- The migration's backfill ------------------------------------------------------------------------------------


@pytest.fixture
def scratch(database_url: str) -> Iterator[tuple[str, Engine]]:
    with scratch_database(database_url) as url:
        engine = make_engine(url)
        try:
            yield url, engine
        finally:
            engine.dispose()


def test_the_migration_chains_the_entries_already_written(scratch) -> None:  # type: ignore[no-untyped-def]
    url, engine = scratch
    migrate.upgrade(url, before_chain())
    with engine.begin() as connection:
        for n in range(25):
            connection.execute(text(
                "INSERT INTO audit_events (at, actor_user_id, actor_label, actor_role, action, patient_id, detail) "
                "VALUES (:at, 3, 'Nurse <n@x>', 'nurse', 'patient.view', :patient, :detail)"),
                {"at": f"2026-03-{1 + n % 28:02d} 10:{n:02d}:07.123456", "patient": n,
                 "detail": '{"b": [1, 2.5, "ü"], "a": null}'})
    migrate.upgrade(url)
    with make_session_factory(engine)() as db:
        report = chain.verify(db)
        assert report.ok, report.broken
        assert report.entries == 25 and report.head_seq == 25
        # and the application carries on from the backfilled head
        record(db, Actor.system("test"), "patient.view", patient_id=1)
        db.commit()
        assert chain.verify(db).entries == 26


# --- Concurrent writers (PostgreSQL) -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_writers_keep_one_valid_chain(scratch) -> None:  # type: ignore[no-untyped-def]
    url, _ = scratch
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=10)
    factory = make_session_factory(engine)
    threads, commits, per_commit = 8, 10, 3
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for _ in range(commits):
                with factory() as db:
                    for _ in range(per_commit):
                        record(db, Actor(n, f"writer {n}", "nurse"), "patient.view", patient_id=n)
                    db.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    try:
        assert failures == []
        with factory() as db:
            report = chain.verify(db)
            assert report.ok, report.broken
            assert report.entries == threads * commits * per_commit == report.head_seq
            per_writer = db.execute(text("SELECT actor_user_id, count(*) FROM audit_events e JOIN audit_chain c "
                                         "ON c.event_id = e.id GROUP BY actor_user_id")).all()
            assert dict(per_writer) == {n: commits * per_commit for n in range(threads)}
    finally:
        engine.dispose()


# --- tenfour audit verify ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_url(scratch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url, _ = scratch
    migrate.upgrade(url)
    yield from cli_environment(monkeypatch, url, tmp_path)


def test_audit_verify_reports_ok_with_the_count_then_the_first_broken_link(cli_url, scratch) -> None:  # type: ignore[no-untyped-def]
    _, engine = scratch
    with make_session_factory(engine)() as db:
        ids = write(db, 4)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "4 entries" in result.output
    with make_session_factory(engine)() as db:
        allow_tampering(db)
        db.execute(text("UPDATE audit_events SET actor_label = 'nobody' WHERE id = :id"), {"id": ids[1]})
        db.commit()
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    text_out = " ".join(result.output.split())
    assert f"entry {ids[1]}" in text_out and "position 2" in text_out and "a field was changed" in text_out
