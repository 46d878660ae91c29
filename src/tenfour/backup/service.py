"""Backups that are checked: `tenfour backup`, `tenfour backup verify` and `tenfour restore`.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the app keeps
running. PostgreSQL: ``pg_dump --format=custom`` from an exported snapshot, and ``pg_restore`` in one transaction.

Every backup gets a manifest beside it (``<backup>.manifest.json``): the SHA-256 of the backup file, the row count of
every table and the audit chain's head (position and hash), all read from the same snapshot as the backup itself.
The verify step compares the backup's content with the manifest; a restore is checked the same way, against the
restored database, and then the whole audit chain is recomputed (``audit.chain.verify``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, make_url, text
from sqlalchemy.orm import Session

from tenfour.audit import chain
from tenfour.db import make_engine
from tenfour.errors import TenFourError

FORMAT = "tenfour-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
CHAIN_HEAD_TABLE = "audit_chain_head"


class BackupError(TenFourError):
    status_code = 400
    default_message = "The backup could not be made or read."


@dataclass
class Snapshot:
    """What a database held at one moment: row counts per table, the audit chain's head, the schema revision."""

    tables: dict[str, int]
    audit_chain: dict[str, Any]  # {"seq": int, "hash": str}
    alembic_revision: str | None


@dataclass
class Manifest:
    format: str
    database: str  # sqlite | postgresql
    created_at: str
    file: str
    sha256: str
    snapshot: Snapshot

    def write(self, path: Path) -> None:
        manifest_path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        where = manifest_path(path)
        if not where.is_file():
            raise BackupError(f"No manifest beside the backup: {where} is missing. It is written by `tenfour backup`; "
                              "without it the backup cannot be checked.")
        try:
            data = json.loads(where.read_text())
            if data.get("format") != FORMAT:
                raise BackupError(f"{where} is not a TenFour backup manifest ({FORMAT}).")
            return cls(**{**data, "snapshot": Snapshot(**data["snapshot"])})
        except (ValueError, TypeError, KeyError) as error:
            raise BackupError(f"{where} cannot be read: {error}") from None


@dataclass
class Check:
    """The outcome of a verify step: every difference found (empty when it holds)."""

    what: str
    entries: int = 0  # audit entries whose chain was recomputed (0 when it could not be)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def database_kind(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {url.split(':', 1)[0]}.")


def default_output(data_dir: Path, url: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return data_dir / "backups" / f"tenfour-{stamp}.{'db' if database_kind(url) == 'sqlite' else 'dump'}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _snapshot(names: list[str], fetch: Callable[[str], list[tuple[Any, ...]]]) -> Snapshot:
    # Table names come from the database's own catalogue, quoted.
    tables = {name: int(fetch(f"SELECT count(*) FROM {_quote(name)}")[0][0])  # noqa: S608
              for name in sorted(names)}
    head = {"seq": 0, "hash": chain.GENESIS}
    if CHAIN_HEAD_TABLE in tables:
        rows = fetch("SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1")
        if rows:
            head = {"seq": int(rows[0][0]), "hash": str(rows[0][1])}
    revision = None
    if "alembic_version" in tables:
        rows = fetch("SELECT version_num FROM alembic_version")
        revision = str(rows[0][0]) if rows else None
    return Snapshot(tables, head, revision)


def snapshot_of(connection: Connection) -> Snapshot:
    """Row counts of every table, the chain head and the revision, in the connection's current transaction."""
    return _snapshot(inspect(connection).get_table_names(),
                     lambda sql: [tuple(row) for row in connection.execute(text(sql))])


def _sqlite_snapshot(connection: sqlite3.Connection) -> Snapshot:
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return _snapshot(names, lambda sql: connection.execute(sql).fetchall())


def compare(expected: Snapshot, found: Snapshot, what: str) -> list[str]:
    differences = []
    for name in sorted(set(expected.tables) | set(found.tables)):
        want, have = expected.tables.get(name), found.tables.get(name)
        if want is None:
            continue  # a table the backup never had (see restore's notes)
        if have is None:
            differences.append(f"table {name}: in the backup ({want} rows) but not in {what}")
        elif want != have:
            differences.append(f"table {name}: {want} rows expected, {have} in {what}")
    if expected.audit_chain != found.audit_chain:
        differences.append(f"audit chain head: expected position {expected.audit_chain['seq']} hash "
                           f"{expected.audit_chain['hash']}, {what} has position {found.audit_chain['seq']} hash "
                           f"{found.audit_chain['hash']}")
    return differences


def _verify_chain(url: str, check: Check, *, read_only_sqlite: bool = False) -> None:
    engine = (create_engine(f"sqlite:///file:{make_url(url).database}?mode=ro&uri=true") if read_only_sqlite
              else make_engine(url))
    try:
        with Session(engine) as db:
            report = chain.verify(db)
    finally:
        engine.dispose()
    check.entries = report.entries
    if report.broken is not None:
        check.differences.append(f"audit chain broken at entry {report.broken.entry_id} (position "
                                 f"{report.broken.seq}): {report.broken.problem}")


# --- SQLite ---------------------------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _sqlite_backup(url: str, output: Path) -> Snapshot:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"There is no database at {source_path}.")
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, isolation_level=None)
    try:
        source.execute("PRAGMA busy_timeout=10000")
        source.execute("BEGIN")  # one read snapshot for the counts and the copy
        snapshot = _sqlite_snapshot(source)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, readable read-only
        finally:
            target.close()
        source.execute("COMMIT")
    finally:
        source.close()
    partial.replace(output)
    return snapshot


def _sqlite_content(path: Path) -> tuple[Snapshot, list[str]]:
    """What a SQLite backup file holds, opened read-only, and what its integrity check says."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check") if row[0] != "ok"]
        snapshot = _sqlite_snapshot(connection)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a readable SQLite database: {error}") from None
    finally:
        connection.close()
    return snapshot, problems


def _sqlite_restore(url: str, path: Path) -> None:
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        target.execute("PRAGMA busy_timeout=10000")
        source.backup(target)  # page by page, under the target's write lock: all or nothing
    except sqlite3.DatabaseError as error:
        raise BackupError(f"The restore failed and the database was left as it was: {error}") from None
    finally:
        target.close()
        source.close()


# --- PostgreSQL ----------------------------------------------------------------------------------------------------


def find_tool(name: str) -> str:
    """pg_dump / pg_restore: on PATH, else in the usual Debian/Ubuntu and source-build places."""
    found = shutil.which(name)
    if found:
        return found
    def version(path: str) -> int:
        part = path.split("/")[4]
        return int(part) if part.isdigit() else 0

    candidates = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    candidates.append(f"/usr/local/pgsql/bin/{name}")
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} was not found. Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install "
                      f"postgresql-client, the server's major version or newer) or put {name} on PATH.")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it (never on a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - no shell
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def _pg_backup(url: str, output: Path) -> Snapshot:
    pg_dump = find_tool("pg_dump")
    uri, env = _libpq(url)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        with (engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection,
              connection.begin()):
            connection.execute(text("SET TRANSACTION READ ONLY"))
            exported = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            snapshot = snapshot_of(connection)
            # pg_dump reads the very snapshot the counts were taken in, while this transaction stays open.
            _run([pg_dump, "--format=custom", f"--snapshot={exported}", f"--file={partial}", f"--dbname={uri}"],
                 env, "pg_dump")
    finally:
        engine.dispose()
    partial.replace(output)
    return snapshot


def _pg_content(path: Path) -> Snapshot:
    """Row counts and the chain head read from a custom-format dump (pg_restore to text; no database needed)."""
    pg_restore = find_tool("pg_restore")
    result = _run([pg_restore, "--data-only", "--file=-", str(path)], dict(os.environ), "pg_restore (reading)")
    tables: dict[str, int] = {}
    head = {"seq": 0, "hash": chain.GENESIS}
    revision = None
    table, columns, rows = None, [], 0
    for line in result.stdout.splitlines():
        if table is None:
            if line.startswith("COPY ") and line.endswith(" FROM stdin;"):
                name, _, column_list = line[5:-len(" FROM stdin;")].partition(" (")
                table = name.split(".", 1)[-1].strip('"')
                columns = [c.strip().strip('"') for c in column_list.rstrip(")").split(",")] if column_list else []
                rows = 0
            continue
        if line == "\\.":
            tables[table] = rows
            table = None
            continue
        rows += 1
        values = dict(zip(columns, line.split("\t"), strict=False))
        if table == CHAIN_HEAD_TABLE and values.get("id") == "1":
            head = {"seq": int(values["seq"]), "hash": values["entry_hash"]}
        elif table == "alembic_version":
            revision = values.get("version_num")
    return Snapshot(tables, head, revision)


def _pg_tables(path: Path) -> set[str]:
    """Every table a dump defines (an empty table has no COPY block in some pg_dump versions)."""
    result = _run([find_tool("pg_restore"), "--list", str(path)], dict(os.environ), "pg_restore --list")
    names = set()
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[3] == "TABLE" and parts[4] != "DATA":
            names.add(parts[5])
    return names


def _pg_restore(url: str, path: Path) -> None:
    pg_restore = find_tool("pg_restore")
    uri, env = _libpq(url)
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={uri}", str(path)], env, "pg_restore (nothing was changed)")


# --- The three commands ---------------------------------------------------------------------------------------------


def backup(url: str, output: Path) -> tuple[Manifest, Check]:
    """Write the backup and its manifest, then check the backup against the manifest."""
    kind = database_kind(url)
    if output.exists() and output.is_dir():
        raise BackupError(f"{output} is a folder; give a file name.")
    output.parent.mkdir(parents=True, exist_ok=True)
    snapshot = _sqlite_backup(url, output) if kind == "sqlite" else _pg_backup(url, output)
    manifest = Manifest(FORMAT, kind, datetime.now(UTC).isoformat(timespec="seconds"), output.name,
                        file_sha256(output), snapshot)
    manifest.write(output)
    return manifest, verify_backup(output)


def verify_backup(path: Path) -> Check:
    """Is this backup whole? Its file hash, every table's row count and the chain head match the manifest; for
    SQLite also the integrity check and the whole audit chain, recomputed inside the backup."""
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    manifest = Manifest.read(path)
    check = Check(f"backup {path.name}")
    digest = file_sha256(path)
    if digest != manifest.sha256:
        check.differences.append(f"the file's SHA-256 is {digest}, the manifest says {manifest.sha256}: the file "
                                 "was changed or damaged")
        return check
    if manifest.database == "sqlite":
        found, problems = _sqlite_content(path)
        check.differences += [f"integrity check: {p}" for p in problems]
        check.differences += compare(manifest.snapshot, found, "the backup")
        if check.ok:
            _verify_chain(f"sqlite:///{path}", check, read_only_sqlite=True)
    else:
        found = _pg_content(path)
        for name in _pg_tables(path) - set(found.tables):
            found.tables[name] = 0
        check.differences += compare(manifest.snapshot, found, "the backup")
        check.notes.append("the audit chain's head was compared; the whole chain is recomputed after a restore")
    return check


def restore(url: str, path: Path) -> Check:
    """Replace the database's content with the backup's, then check the result against the manifest and recompute
    the audit chain."""
    kind = database_kind(url)
    backup_check = verify_backup(path)
    if not backup_check.ok:
        raise BackupError("The backup does not match its manifest; nothing was restored: "
                          + "; ".join(backup_check.differences))
    manifest = Manifest.read(path)
    if manifest.database != kind:
        raise BackupError(f"This is a {manifest.database} backup; the database is {kind}.")
    if kind == "sqlite":
        _sqlite_restore(url, path)
    else:
        _pg_restore(url, path)
    check = Check("the restored database")
    with _connection(url) as connection:
        found = snapshot_of(connection)
    check.differences += compare(manifest.snapshot, found, "the restored database")
    extra = sorted(set(found.tables) - set(manifest.snapshot.tables))
    if extra:
        check.notes.append(f"tables the backup does not have were left as they were: {', '.join(extra)}")
    _verify_chain(url, check)
    return check


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()
