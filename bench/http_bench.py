"""HTTP benchmark: the real app against a raw Starlette + psycopg app running the same SQL, under the same load.

    .venv/bin/python bench/network.py                   # once: the network dataset (50 clinics, 100,000 patients)
    .venv/bin/python bench/http_bench.py                # serve both, load each operation, print the table

On the network dataset (bench/network.py), three operations of a clinic's day:

- worklist: ``GET /checkins``, the clinic's check-ins board (every patient by relapse state, missed check-ins, due
  today, booster proposals), signed in as each clinic's nurse;
- chart: ``GET /patients/{id}``, the staff chart of a patient with every panel;
- check-in: ``POST /api/v1/patients/{id}/checkins``, a nurse entering a check-in (PCL-5 and PHQ-9) by API.

The real app is ``tenfour serve`` (one uvicorn process on loopback, TENFOUR_DATABASE_URL at the dataset). Its SQL is
recorded first: every request the load will send is made once in-process (``create_app`` on the same database)
with SQLAlchemy's ``before_cursor_execute`` listening, and the statements with their parameters are saved. The raw
app (bench/raw_app.py, one uvicorn process too) answers the same requests by running those statements again on
psycopg and rendering a minimal response. Both are driven by the same wrk script (same requests, same connections,
same duration), one after the other, after a warm-up. Prints requests/s and p50/p95/p99 latency of each, the ratio
real/raw of the throughputs (issue 10 aims for >= 0.5) and whether the reads' p95 is under 100 ms.

wrk comes from Debian (``apt-get install -y wrk``). Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bulk  # bench/bulk.py, beside this script
import httpx
import psycopg
from raw_app import SESSION_COOKIE, Statement, request_key  # bench/raw_app.py, beside this script
from rich.console import Console
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine

console = Console()
BENCH = Path(__file__).resolve().parent
TENFOUR = Path(sys.executable).with_name("tenfour")
DEFAULT_URL = "postgresql://postgres@127.0.0.1/tenfour_network"
PASSWORD = "network-dataset-password"  # noqa: S105 - bench/network.py's staff password (synthetic data)
SECRET = "http-bench-secret-key-" + "k" * 32
READ_P95_TARGET_MS = 100.0
START_TIMEOUT_S = 120


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- The dataset: who signs in, which patients ------------------------------------------------------------------


def staff_and_patients(dsn: str, n_clinics: int, n_patients: int, seed: int) -> list[tuple[int, str, list[int]]]:
    """(clinic id, its nurse's email, patients to open and check in) for the first clinics of the network: patients
    in a started course whose check-in due now, if any, asks the full weekly PCL-5 (as the extra check-ins the
    repeated submissions become do), so that one answer form fits every submission."""
    rng = random.Random(seed)
    with psycopg.connect(dsn) as connection:
        nurses = connection.execute(
            "SELECT m.clinic_id, u.email FROM users u JOIN clinic_memberships m ON m.user_id = u.id "
            "WHERE u.role = 'nurse' ORDER BY m.clinic_id LIMIT %s", (n_clinics,)).fetchall()
        chosen = []
        for clinic_id, email in nurses:
            ids = [row[0] for row in connection.execute(
                "SELECT p.id FROM patients p JOIN checkin_courses c ON c.patient_id = p.id AND c.is_current "
                "WHERE p.clinic_id = %s AND p.status = 'active' AND c.started AND c.baseline_pcl5 IS NOT NULL "
                "AND c.course_start IS NOT NULL AND NOT EXISTS (SELECT 1 FROM checkins k WHERE k.patient_id = p.id "
                "AND k.status IN ('pending', 'missed') AND k.pcl5_form <> 'pcl5-week') ORDER BY p.id", (clinic_id,))]
            chosen.append((clinic_id, email, sorted(rng.sample(ids, min(len(ids), n_patients // n_clinics)))))
    if not chosen or not any(ids for _, _, ids in chosen):
        raise SystemExit("no network dataset here: load it first with bench/network.py")
    return chosen


def answers(rng: random.Random) -> dict[str, Any]:
    from tenfour.core import instruments

    pcl5 = {item.id: rng.choice((0, 1, 1, 2)) for item in instruments.get("pcl5-week").items}
    phq9 = {item.id: rng.choice((0, 1)) for item in instruments.get("phq9").items}
    phq9["q9"] = 0  # no suicide-risk answer: the C-SSRS follow-up is another request
    return {"answers": {"pcl5": pcl5, "phq9": phq9}}


# --- Servers --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(command: list[str], env: dict[str, str], log: Path, health: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen([*command, "--port", str(port)], env={**os.environ, **env},  # noqa: S603
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}: see {log}")
            try:
                httpx.get(base + health, timeout=2)
                break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer: see {log}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def sign_in(base: str, email: str) -> tuple[str, str]:
    """(browser session token, API bearer token) for a staff member, through the server."""
    cookie, token = bulk.sign_in(base, email, PASSWORD)
    return cookie.split("=", 1)[1], token


# --- Recording the real app's SQL -----------------------------------------------------------------------------


def record(url: str, data_dir: Path, calls: dict[str, list[Call]]) -> dict[str, list[Statement]]:
    """Make every call once in-process and keep the statements each issued (with the rows RETURNING gave)."""
    from fastapi.testclient import TestClient

    from tenfour.config import Settings
    from tenfour.db import make_engine, make_session_factory
    from tenfour.web.app import create_app

    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    settings = Settings(environment="test", data_dir=data_dir, secret_key=SECRET, database_url=sa_url,
                        mail_backend="file", sweep_interval_s=0)
    engine = make_engine(sa_url)
    app = create_app(settings=settings, session_factory=make_session_factory(engine))
    current: list[Statement] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        current.append(Statement(statement, parameters, executemany, None))

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        wanted = " RETURNING " in statement or ("audit_chain_head" in statement and "FOR UPDATE" in statement)
        if wanted and not executemany and cursor.description is not None:
            rows = cursor.fetchall()
            cursor.scroll(0, mode="absolute")  # give SQLAlchemy its rows back
            last = current[-1]
            current[-1] = Statement(last.sql, last.params, last.many, [tuple(r) for r in rows])

    captures: dict[str, list[Statement]] = {}
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        with TestClient(app, raise_server_exceptions=True) as client:
            for operation, operation_calls in calls.items():
                for call in operation_calls:
                    current.clear()
                    response = client.request(call.method, call.path, headers=call.headers, content=call.body)
                    if response.status_code not in (200, 201):
                        raise RuntimeError(f"{operation}: {call.method} {call.path} answered "
                                           f"{response.status_code}: {response.text[:300]}")
                    captures[request_key(call.method, call.path, token_of(call.headers))] = list(current)
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
        engine.dispose()
    return captures


def token_of(headers: dict[str, str]) -> str | None:
    if "Authorization" in headers:
        return headers["Authorization"].split(" ", 1)[1]
    cookie = headers.get("Cookie", "")
    return cookie.split("=", 1)[1] if cookie.startswith(f"{SESSION_COOKIE}=") else None


# --- Load: wrk with a script of the calls ---------------------------------------------------------------------


def lua_string(text: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def wrk_script(calls: Sequence[Call], path: Path) -> Path:
    entries = []
    for call in calls:
        headers = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in call.headers.items())
        body = lua_string(call.body) if call.body is not None else "nil"
        entries.append(f"  {{{lua_string(call.method)}, {lua_string(call.path)}, {{{headers}}}, {body}}}")
    path.write_text(
        "local calls = {\n" + ",\n".join(entries) + "\n}\n"
        "local counter = 0\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  local c = calls[(counter % #calls) + 1]\n"
        "  return wrk.format(c[1], c[2], c[3], c[4])\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        "  local e = summary.errors\n"
        "  io.write(string.format('WRKJSON {\"requests\": %d, \"duration_us\": %d, \"errors\": %d, "
        "\"p50_us\": %d, \"p95_us\": %d, \"p99_us\": %d}\\n', summary.requests, summary.duration, "
        "e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95), "
        "latency:percentile(99)))\n"
        "end\n")
    return path


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> Figures:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    result = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script),  # noqa: S603
                             base + "/"], capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON "):])
    return Figures(data["requests"], data["duration_us"] / 1e6, data["errors"], data["p50_us"] / 1000,
                   data["p95_us"] / 1000, data["p99_us"] / 1000)


# --- Main -----------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TENFOUR_NETWORK_DATABASE_URL", DEFAULT_URL),
                        help="the network dataset (bench/network.py) (default %(default)s)")
    parser.add_argument("--clinics", type=int, default=5, help="clinics whose nurses sign in (default %(default)s)")
    parser.add_argument("--patients", type=int, default=400,
                        help="patients drawn: half have their charts opened, the others get the check-ins "
                             "(default %(default)s)")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per operation and app")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default %(default)s)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes of each app (tenfour serve --workers, uvicorn --workers)")
    parser.add_argument("--operations", default="worklist,chart,checkin")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args(argv)
    dsn = make_url(args.database_url).render_as_string(hide_password=False).replace("+psycopg", "")
    operations = [o for o in args.operations.split(",") if o]
    work = Path(tempfile.mkdtemp(prefix="tenfour-http-bench-"))
    rng = random.Random(args.seed)
    chosen = staff_and_patients(dsn, args.clinics, args.patients, args.seed)
    with psycopg.connect(dsn) as connection:
        size = connection.execute("SELECT (SELECT count(*) FROM clinics), (SELECT count(*) FROM patients), "
                                  "(SELECT count(*) FROM infusion_sessions), (SELECT count(*) FROM checkins)"
                                  ).fetchone()
        server_version = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    assert size is not None
    dataset = f"{size[0]} clinics, {size[1]:,} patients, {size[2]:,} infusion sessions, {size[3]:,} check-ins"
    console.print(f"Dataset: {dataset}", highlight=False)

    real_env = {"TENFOUR_DATABASE_URL": args.database_url, "TENFOUR_DATA_DIR": str(work),
                "TENFOUR_ENVIRONMENT": "production", "TENFOUR_SECRET_KEY": SECRET, "TENFOUR_MAIL_BACKEND": "file",
                "TENFOUR_SWEEP_INTERVAL_S": "0", "TENFOUR_BASE_URL": "http://127.0.0.1"}
    workers = ["--workers", str(args.workers)] if args.workers > 1 else []
    real_command = [str(TENFOUR), "serve", "--host", "127.0.0.1", *workers]
    results: dict[tuple[str, str], Figures] = {}
    with served(real_command, real_env, work / "real.log", "/login") as real:
        tokens = {email: sign_in(real, email) for _, email, _ in chosen}
        calls = build_calls(chosen, tokens, rng)
        calls = {op: calls[op] for op in operations}
        console.print(f"Recording the real app's SQL for {sum(len(c) for c in calls.values())} requests ...")
        captures = record(args.database_url, work, calls)
        per_op = {op: [len(captures[request_key(c.method, c.path, token_of(c.headers))]) for c in op_calls]
                  for op, op_calls in calls.items()}
        for op, counts in per_op.items():
            console.print(f"  {op}: {min(counts)}-{max(counts)} statements a request", highlight=False)
        (work / "captures.pickle").write_bytes(pickle.dumps(captures))
        scripts = {op: wrk_script(op_calls, work / f"{op}.lua") for op, op_calls in calls.items()}
        raw_env = {"RAW_CAPTURES": str(work / "captures.pickle"), "RAW_DSN": dsn, "RAW_POOL": "15",
                   "PYTHONPATH": str(BENCH)}
        raw_command = [sys.executable, "-m", "uvicorn", "raw_app:create_app", "--factory", "--host", "127.0.0.1",
                       "--no-access-log", "--log-level", "warning", *workers]
        with served(raw_command, raw_env, work / "raw.log", "/checkins") as raw:
            for op in operations:
                for name, base in (("real", real), ("raw", raw)):
                    run_wrk(base, scripts[op], args.warmup, args.connections)
                    figures = run_wrk(base, scripts[op], args.seconds, args.connections)
                    results[(op, name)] = figures
                    console.print(f"  {op:<9} {name:<4} {figures.rps:8.1f} req/s  p50 {figures.p50_ms:7.1f} ms  "
                                  f"p95 {figures.p95_ms:7.1f} ms  p99 {figures.p99_ms:7.1f} ms  "
                                  f"errors {figures.errors}", highlight=False)
    report(results, operations, args, dataset, server_version, per_op)
    return 0


def build_calls(chosen: list[tuple[int, str, list[int]]], tokens: dict[str, tuple[str, str]],
                rng: random.Random) -> dict[str, list[Call]]:
    worklist, chart, checkin = [], [], []
    for _, email, patient_ids in chosen:
        browser, api = tokens[email]
        cookie = {"Cookie": f"{SESSION_COOKIE}={browser}"}
        worklist.append(Call("GET", "/checkins", cookie))
        # Different patients for the two: the check-ins each run submits must not lengthen the charts it opens
        # (the histories of the check-in patients still grow from run to run; reload the dataset to reset them).
        for patient_id in patient_ids[0::2]:
            chart.append(Call("GET", f"/patients/{patient_id}", cookie))
        for patient_id in patient_ids[1::2]:
            checkin.append(Call("POST", f"/api/v1/patients/{patient_id}/checkins",
                                {"Authorization": f"Bearer {api}", "Content-Type": "application/json"},
                                json.dumps(answers(rng))))
    rng.shuffle(chart)
    rng.shuffle(checkin)
    return {"worklist": worklist, "chart": chart, "checkin": checkin}


def report(results: dict[tuple[str, str], Figures], operations: list[str], args: argparse.Namespace,
           dataset: str, server_version: str, per_op: dict[str, list[int]]) -> None:
    labels = {"worklist": "worklist GET /checkins", "chart": "chart GET /patients/{id}",
              "checkin": "check-in POST /api/v1/patients/{id}/checkins"}
    header = ("operation", "SQL statements a request", "real req/s", "real p50 / p95 / p99 ms", "raw req/s",
              "raw p50 / p95 / p99 ms", "real/raw", "read p95 < 100 ms")
    rows = []
    for op in operations:
        real, raw = results[(op, "real")], results[(op, "raw")]
        ratio = real.rps / raw.rps if raw.rps else 0.0
        read_ok = "—" if op == "checkin" else ("yes" if real.p95_ms < READ_P95_TARGET_MS else "no")
        statements = f"{min(per_op[op])}–{max(per_op[op])}"
        cells = (labels[op], statements, f"{real.rps:.1f}",
                 f"{real.p50_ms:.0f} / {real.p95_ms:.0f} / {real.p99_ms:.0f}", f"{raw.rps:.1f}",
                 f"{raw.p50_ms:.0f} / {raw.p95_ms:.0f} / {raw.p99_ms:.0f}", f"{ratio:.2f}", read_ok)
        rows.append(cells)
        if real.errors or raw.errors:
            console.print(f"[red]{op}: errors real {real.errors}, raw {raw.errors}[/red]")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, PostgreSQL {server_version}"
    command = ("bench/http_bench.py " + " ".join(sys.argv[1:])).strip()
    console.print(f"Machine: {machine}; dataset: {dataset}; command: {command}", highlight=False, soft_wrap=True)
    console.print(f"HTTP benchmark: real app vs raw Starlette + psycopg (same SQL), wrk -t1 -c{args.connections}, "
                  f"{args.seconds} s each, {args.workers} server process(es) each", highlight=False, soft_wrap=True)
    console.print("| " + " | ".join(header) + " |", highlight=False, soft_wrap=True)
    console.print("|" + "---|" * len(header), highlight=False, soft_wrap=True)
    for cells in rows:
        console.print("| " + " | ".join(cells) + " |", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    raise SystemExit(main())
