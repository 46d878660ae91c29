"""What the benchmarks share to bulk-load a synthetic network into a scratch PostgreSQL database: drop and create
the database, one synthetic clinic, COPY in chunks with a progress bar, COPY of rows given as dicts with the tables'
columns (bench/network.py), and the id sequences set after COPY."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import make_url

T = TypeVar("T")
CHUNK = 2000


def recreate(url: str) -> str:
    """Drop and create the database named in `url`; returns its psycopg connection string."""
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.render_as_string(hide_password=False).replace("+psycopg", "")


def synthetic_clinic(connection: psycopg.Connection) -> int:
    return connection.execute(
        "INSERT INTO clinics (name, slug, timezone, opening_hours, is_synthetic, created_at) "
        "VALUES ('Synthetic network', 'synthetic', 'America/Chicago', '{}', true, now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]


def copy_in_chunks(connection: psycopg.Connection, people: Iterable[T], total: int, console: Console,
                   copy: Callable[[psycopg.Cursor, Sequence[T]], None]) -> None:
    """Feed `people` to `copy` CHUNK at a time, with a progress bar counting them."""
    with Progress(TextColumn("loading (COPY)"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar, connection.cursor() as cursor:
        task = bar.add_task("copy", total=total)
        chunk: list[T] = []
        for person in people:
            chunk.append(person)
            if len(chunk) == CHUNK:
                copy(cursor, chunk)
                bar.advance(task, len(chunk))
                chunk = []
        if chunk:
            copy(cursor, chunk)
            bar.advance(task, len(chunk))


def finish(connection: psycopg.Connection, tables: Iterable[str]) -> None:
    """Set each table's id sequence past the COPYed ids, commit and ANALYZE."""
    for table in tables:
        connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
                           f"COALESCE((SELECT max(id) FROM {table}), 1))")
    connection.commit()
    connection.execute("ANALYZE")


def copy_rows(cursor: psycopg.Cursor, table: str, columns: Sequence[str], rows: Iterable[dict]) -> int:
    """COPY dicts of column values into `table` (JSON columns from lists and dicts); returns the rows written."""
    from psycopg.types.json import Jsonb

    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Jsonb(row[n]) if isinstance(row.get(n), list | dict) else row.get(n) for n in columns])
            count += 1
    return count


def table_columns(table_names: Iterable[str], skip_id: Iterable[str] = ()) -> dict[str, list[str]]:
    """The columns of each table as the models declare them (the migrations create the same ones); `skip_id`
    names tables whose id the database assigns."""
    from tenfour.db import Base, import_all_models

    import_all_models()
    skip = set(skip_id)
    tables = Base.metadata.tables
    return {name: [c.name for c in tables[name].columns if not (c.name == "id" and name in skip)]
            for name in table_names}


def sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    """A staff member signed in through the server at ``base``: (the browser's session cookie as ``name=value``,
    an API bearer token)."""
    import re

    import httpx

    from tenfour.web.security import SESSION_COOKIE

    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, "no CSRF token on /login"
        response = client.post("/login", data={"csrf_token": match.group(1), "email": email, "password": password,
                                               "next": "/"}, follow_redirects=False)
        assert response.status_code == 303, response.text
        cookie = next(v for k, v in response.headers.multi_items()
                      if k.lower() == "set-cookie" and v.startswith(f"{SESSION_COOKIE}="))
        api = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert api.status_code == 200, api.text
        return cookie.split(";", 1)[0], api.json()["access_token"]
