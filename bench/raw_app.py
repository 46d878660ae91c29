"""The raw ceiling for bench/http_bench.py: a minimal Starlette + psycopg app that runs the SQL the real app ran.

For each request bench/http_bench.py sends (the clinic's check-ins board, a patient's chart, a check-in
submission), the benchmark first recorded every statement the real app issued for that very request, with its
parameters (SQLAlchemy's ``before_cursor_execute``), into a pickle file. This app answers the same method, path and
sign-in token by running those statements again, in order, in one transaction on a pooled psycopg connection, then
renders a minimal response from the rows (an HTML table per query, or a small JSON for the submission).

What cannot be replayed word for word is adjusted, nothing else: the audit chain (its head is locked and read, the
new links take the next positions and the ids of the audit entries this transaction inserted). Rows inserted get new
ids from their sequences; updates hit the same rows as the recorded request did.

    RAW_CAPTURES=captures.pickle RAW_DSN=postgresql://... RAW_POOL=10 \\
        .venv/bin/python -m uvicorn --app-dir bench raw_app:create_app --factory --port 8001
"""

from __future__ import annotations

import html
import os
import pickle
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

SESSION_COOKIE = "tenfour_session"  # tenfour.web.security.SESSION_COOKIE, not imported: this app stands alone


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any  # a dict, or a list of dicts when executemany
    many: bool
    returned: list[tuple[Any, ...]] | None  # rows the real app got back, for RETURNING and the audit head lock


def request_key(method: str, path: str, token: str | None) -> str:
    return f"{method} {path} {token or '-'}"


def request_token(headers: Any, cookies: Any) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:]
    return cookies.get(SESSION_COOKIE)


@dataclass
class Replay:
    """The running adjustments of one replayed request: the audit entries it inserted and the chain head."""

    audit_ids: dict[int, int] = field(default_factory=dict)  # recorded id -> id inserted now
    head_seq: int | None = None
    head_hash: str | None = None
    links: int = 0

    def run(self, cursor: psycopg.Cursor, statement: Statement) -> list[tuple[Any, ...]]:
        sql, params = statement.sql, statement.params
        if sql.startswith("INSERT INTO audit_chain ") or sql.startswith("INSERT INTO audit_chain("):
            rows = params if statement.many else [params]
            adjusted = []
            for row in rows:
                self.links += 1
                adjusted.append({**row, "seq": (self.head_seq or 0) + self.links,
                                 "event_id": self.audit_ids.get(row["event_id"], row["event_id"])})
            params = adjusted if statement.many else adjusted[0]
        elif sql.startswith("UPDATE audit_chain_head"):
            params = {**params, "seq": (self.head_seq or 0) + self.links}
        elif "FROM audit_events" in sql and self.audit_ids:
            params = {k: self.audit_ids.get(v, v) if isinstance(v, int) else v for k, v in params.items()}
        if statement.many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description is not None else []
        if sql.startswith("INSERT INTO audit_events") and statement.returned and rows:
            self.audit_ids[statement.returned[0][0]] = rows[0][0]
        elif "FROM audit_chain_head" in sql and "FOR UPDATE" in sql and rows:
            self.head_seq, self.head_hash = rows[0][0], rows[0][1]
        return rows


class Pool:
    """A fixed set of psycopg connections (the real app's SQLAlchemy pool holds up to 15; so may this one)."""

    def __init__(self, dsn: str, size: int) -> None:
        self.connections: queue.Queue[psycopg.Connection] = queue.Queue()
        for _ in range(size):
            self.connections.put(psycopg.connect(dsn))

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        connection = self.connections.get()
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            self.connections.put(connection)


def create_app() -> Starlette:
    captures: dict[str, list[Statement]] = pickle.loads(Path(os.environ["RAW_CAPTURES"]).read_bytes())  # noqa: S301 - our own file
    pool = Pool(os.environ["RAW_DSN"], int(os.environ.get("RAW_POOL", "10")))

    def replay(key: str) -> list[list[tuple[Any, ...]]] | None:
        statements = captures.get(key)
        if statements is None:
            return None
        with pool.connection() as connection, connection.cursor() as cursor:
            state = Replay()
            return [state.run(cursor, statement) for statement in statements]

    def table(results: list[list[tuple[Any, ...]]]) -> str:
        parts = []
        for rows in results:
            if rows:
                parts.append("<table>" + "".join("<tr>" + "".join(f"<td>{html.escape(str(value))}</td>"
                                                                  for value in row) + "</tr>" for row in rows)
                             + "</table>")
        return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"

    async def page(request: Request) -> Response:
        key = request_key("GET", request.url.path, request_token(request.headers, request.cookies))
        results = await run_in_threadpool(replay, key)
        if results is None:
            return HTMLResponse("not recorded", status_code=404)
        return HTMLResponse(table(results))

    async def submit(request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or "answers" not in body:
            return JSONResponse({"detail": "answers: required"}, status_code=422)
        key = request_key("POST", request.url.path, request_token(request.headers, request.cookies))
        results = await run_in_threadpool(replay, key)
        if results is None:
            return JSONResponse({"detail": "not recorded"}, status_code=404)
        inserted = [rows[0][0] for rows in results
                    if len(rows) == 1 and len(rows[0]) == 1 and isinstance(rows[0][0], int)]
        return JSONResponse({"status": "completed", "ids": inserted[:8], "statements": len(results)},
                            status_code=201)

    return Starlette(routes=[Route("/checkins", page), Route("/patients/{patient_id:int}", page),
                             Route("/api/v1/patients/{patient_id:int}/checkins", submit, methods=["POST"])])
