"""Test helpers shared by conftest and the tests: database URLs and scratch databases."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, make_url, text


def test_database_url() -> str:
    url = os.environ.get("TENFOUR_TEST_DATABASE_URL")
    if url:
        return url
    path = Path(tempfile.gettempdir()) / f"tenfour-test-{os.getpid()}.db"
    path.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    """A brand-new empty database of the same kind as base_url, dropped afterwards."""
    if not is_postgres(base_url):
        path = Path(tempfile.gettempdir()) / f"tenfour-scratch-{uuid.uuid4().hex}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"tenfour_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def clear_caches() -> None:
    """Forget the process's cached settings, engine and session factory (a CLI test changed the environment)."""
    from tenfour import config, db

    if db.get_engine.cache_info().currsize:
        db.get_engine().dispose()
    for cached in (config.get_settings, db.get_engine, db.get_session_factory):
        cached.cache_clear()


def cli_environment(monkeypatch: Any, url: str, data_dir: Path) -> Iterator[str]:
    """The `tenfour` command pointed at ``url`` (development settings, ``data_dir``) for one test; a generator for
    a fixture to ``yield from``."""
    monkeypatch.setenv("TENFOUR_DATABASE_URL", url)
    monkeypatch.setenv("TENFOUR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TENFOUR_ENVIRONMENT", "development")
    clear_caches()
    try:
        yield url
    finally:
        clear_caches()


def clinic_today(timezone: str = "America/Chicago") -> date:
    """Today where the test clinic is (factories make clinics in Chicago). Between midnight UTC and midnight in
    Chicago ``date.today()`` is already tomorrow there, and a reading dated with it is "in the future"."""
    return datetime.now(ZoneInfo(timezone)).date()
