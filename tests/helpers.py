"""Test helpers shared by conftest and the tests: database URLs and scratch databases."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
