"""Sweep benchmark: the vectorised relapse evaluation against a per-patient ORM loop, on a synthetic network.

    .venv/bin/python bench/sweep_bench.py --patients 100000 --checkins 20      # the issue's size
    .venv/bin/python bench/sweep_bench.py --patients 2000                      # a quick run

Builds a scratch PostgreSQL database (dropped and created again: point --url at one used for nothing else), migrates
it, bulk-loads the synthetic network with COPY (psycopg, not the ORM), then evaluates every patient twice:

- vectorised (the sweep): per batch, one windowed query for the check-ins the rules can look at, one aggregate for
  the next due check-in, one for the warning signs of the latest check-ins, then ``core.relapse.evaluate``;
- the baseline: one patient at a time through the ORM, loading each whole history (``sweep.evaluate_orm_loop``).

It asserts identical results for every patient (state, every reason word for word, responded, best score) and prints
both times and their ratio (issue 6 aims for 20x or more). Nothing here is a timed test: the test suite runs the
identical-results check at a small size (tests/integration/test_checkins_sweep.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import bulk  # bench/bulk.py, beside this script
import psycopg
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import make_url, text

from tenfour import migrate
from tenfour.checkins import detection, repository, sweep, synthetic
from tenfour.checkins.models import CheckIn, CheckinCourse, WarningSign, WarningSignEndorsement
from tenfour.db import make_engine, make_session_factory
from tenfour.patients.models import Patient

console = Console()
TABLES = ((Patient, "patient"), (CheckinCourse, "course"), (WarningSign, "signs"), (CheckIn, "checkins"),
          (WarningSignEndorsement, "endorsements"))


def columns(model: Any) -> list[str]:
    return [c.name for c in model.__table__.columns if not (c.name == "id" and model is WarningSignEndorsement)]


def load(url: str, patients: int, per_patient: int, as_of: date, seed: int) -> tuple[int, dict[str, int]]:
    """COPY the network in; returns the clinic id and the row counts."""
    dsn = make_url(url).render_as_string(hide_password=False).replace("+psycopg", "")
    counts: Counter[str] = Counter()
    with psycopg.connect(dsn) as connection:
        clinic_id = bulk.synthetic_clinic(connection)
        cols = {model: columns(model) for model, _ in TABLES}
        people = synthetic.generate(patients, per_patient, clinic_id=clinic_id, as_of=as_of, seed=seed)
        bulk.copy_in_chunks(connection, people, patients, console,
                            lambda cursor, chunk: _copy(cursor, cols, chunk, counts))
        bulk.finish(connection, (model.__table__.name for model, _ in TABLES))
    return clinic_id, dict(counts)


def _copy(cursor: psycopg.Cursor, cols: dict[Any, list[str]], chunk: Sequence[synthetic.Patient],
          counts: Counter[str]) -> None:
    for model, attribute in TABLES:
        rows: list[dict[str, Any]] = []
        for person in chunk:
            value = getattr(person, attribute)
            rows.extend(value if isinstance(value, list) else [value])
        if not rows:
            continue
        names = cols[model]
        with cursor.copy(f"COPY {model.__table__.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([Jsonb(row[n]) if isinstance(row.get(n), list) else row.get(n) for n in names])
        counts[model.__table__.name] += len(rows)


def same(a: Any, b: Any) -> bool:
    return (a.state, a.reasons, a.responded, a.best_pcl5) == (b.state, b.reasons, b.responded, b.best_pcl5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("TENFOUR_BENCH_DATABASE_URL",
                                                        "postgresql://postgres@127.0.0.1/tenfour_bench"),
                        help="a PostgreSQL database to drop and create again (default %(default)s)")
    parser.add_argument("--patients", type=int, default=100_000, help="patients (default %(default)s)")
    parser.add_argument("--checkins", type=int, default=20, help="completed check-ins per patient, about "
                                                                   "(default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=5000, help="courses per vectorised batch")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    if not args.url.startswith("postgresql"):
        parser.error("the benchmark runs on PostgreSQL (COPY); give a postgresql:// URL")

    as_of = date(2026, 6, 1)
    now = datetime(2026, 6, 1, 17, tzinfo=UTC)  # noon in Chicago
    bulk.recreate(args.url)
    migrate.upgrade(args.url)
    started = time.perf_counter()
    clinic_id, counts = load(args.url, args.patients, args.checkins, as_of, args.seed)
    load_s = time.perf_counter() - started
    console.print(f"Loaded {counts} in {load_s:.1f} s")

    engine = make_engine(args.url)
    factory = make_session_factory(engine)
    with factory() as db:
        rules = detection.rules_for(db, clinic_id)
        course_ids = repository.evaluable_course_ids(db, clinic_id)

    started = time.perf_counter()
    fast: dict[int, Any] = {}
    for start in range(0, len(course_ids), args.batch_size):
        with factory() as db:  # one transaction per batch, as the sweep does
            fast.update(sweep.evaluate_vectorised(db, course_ids[start:start + args.batch_size], now, rules,
                                                  args.batch_size))
    fast_s = time.perf_counter() - started
    console.print(f"Vectorised: {len(fast)} patients in {fast_s:.2f} s")

    started = time.perf_counter()
    slow: dict[int, Any] = {}
    with Progress(TextColumn("per-patient ORM loop"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("orm", total=len(course_ids))
        for start in range(0, len(course_ids), 1000):
            with factory() as db:  # a fresh session every 1000 patients, so the identity map stays small
                slow.update(sweep.evaluate_orm_loop(db, course_ids[start:start + 1000], now, rules))
            bar.advance(task, min(1000, len(course_ids) - start))
    slow_s = time.perf_counter() - started

    differing = [cid for cid in course_ids if not same(fast[cid], slow[cid])]
    states = Counter(result.state.value for result in fast.values())
    with engine.connect() as connection:
        server = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()

    table = Table(title="Sweep benchmark: relapse evaluation of every patient")
    for column in ("machine", "size", "command", "vectorised", "per-patient ORM loop", "ratio", "identical"):
        table.add_column(column)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, PostgreSQL {server}"
    size = f"{len(course_ids):,} patients, {counts.get('checkins', 0):,} check-ins"
    command = "bench/sweep_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    table.add_row(machine, size, command.strip(), f"{fast_s:.2f} s", f"{slow_s:.2f} s", f"{slow_s / fast_s:.1f}x",
                  "yes" if not differing else f"NO ({len(differing)} differ)")
    console.print(table)
    console.print(f"States: {dict(sorted(states.items()))}")
    console.print(f"| {machine} | {size} | `{command.strip()}` | {fast_s:.2f} s | {slow_s:.2f} s | "
                  f"{slow_s / fast_s:.1f}x | {'yes' if not differing else 'no'} |", highlight=False, soft_wrap=True)
    assert not differing, f"{len(differing)} patients differ, e.g. course {differing[:5]}"
    assert len(fast) == len(slow) == len(course_ids)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
