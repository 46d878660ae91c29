"""Outcomes benchmark: the dashboard's set-based computation against the per-patient loop, on a synthetic network.

    .venv/bin/python bench/outcomes_bench.py --patients 20000 --checkins 20
    .venv/bin/python bench/outcomes_bench.py --patients 100000 --checkins 20     # the issue's size (2M check-ins)

Builds a scratch PostgreSQL database (dropped and created again: point --url at one used for nothing else; the default
is not the sweep benchmark's), migrates it, and bulk-loads the network of ``outcomes.synthetic`` with COPY — the
check-ins network of ``checkins.synthetic`` (as bench/sweep_bench.py loads it) extended with treatment plans,
infusion sessions, boosters, vitals, adverse events, CADSS-6 scores, referrals and eligibility decisions. Then it
computes the whole dashboard report (counts, Wilson intervals, Kaplan-Meier, claims) twice:

- set-based (what /outcomes, the API and the CLI do): three statements per clinic, grouped counts only;
- the per-patient reference loop (``outcomes.reference``): the ORM and the pure rules, one patient at a time.

It asserts that both give the identical report and identical tallies, and prints both times and their ratio (issue 8
aims for 20x or more, and for the page under 2 s at 100,000 patients). Nothing here is a timed test: the test suite
runs the identity check untimed at a small size (tests/integration/test_outcomes_identity.py).
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
from sqlalchemy import text

from tenfour import migrate
from tenfour.clinics.models import Clinic
from tenfour.db import Base, import_all_models, make_engine, make_session_factory
from tenfour.outcomes import reference, service, synthetic
from tenfour.outcomes.selection import Selection

console = Console()
DEFAULT_URL = "postgresql://postgres@127.0.0.1/tenfour_outcomes_bench"


def load(dsn: str, patients: int, per_patient: int, as_of: date, seed: int) -> tuple[int, dict[str, int]]:
    """COPY the network in, table by table in foreign-key order; returns the clinic id and the row counts."""
    import_all_models()
    tables = Base.metadata.tables
    counts: Counter[str] = Counter()
    with psycopg.connect(dsn) as connection:
        clinic_id = bulk.synthetic_clinic(connection)
        chair_id = connection.execute("INSERT INTO chairs (clinic_id, name, position, is_active) "
                                      "VALUES (%s, 'Chair 1', 1, true) RETURNING id", (clinic_id,)).fetchone()[0]  # type: ignore[index]
        people = synthetic.generate(patients, per_patient, clinic_id=clinic_id, chair_id=chair_id, as_of=as_of,
                                    seed=seed, first_id=1)
        columns = {name: [c.name for c in tables[name].columns
                          if not (c.name == "id" and name == "warning_sign_endorsements")]
                   for name in synthetic.TABLE_ORDER}
        bulk.copy_in_chunks(connection, people, patients, console,
                            lambda cursor, chunk: _copy(cursor, columns, chunk, counts))
        bulk.finish(connection, synthetic.TABLE_ORDER)
    return clinic_id, dict(counts)


def _copy(cursor: psycopg.Cursor, columns: dict[str, list[str]], chunk: Sequence[synthetic.Person],
          counts: Counter[str]) -> None:
    for name in synthetic.TABLE_ORDER:
        rows = [row for person in chunk for row in person.rows[name]]
        if not rows:
            continue
        names = columns[name]
        with cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([Jsonb(row[n]) if isinstance(row.get(n), list | dict) else row.get(n) for n in names])
        counts[name] += len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("TENFOUR_OUTCOMES_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="a PostgreSQL database to drop and create again (default %(default)s)")
    parser.add_argument("--patients", type=int, default=20_000, help="patients (default %(default)s)")
    parser.add_argument("--checkins", type=int, default=20, help="check-ins per patient, about (default %(default)s)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="set-based runs (the fastest is compared)")
    parser.add_argument("--no-reference", action="store_true",
                        help="time the set-based computation only, no comparison (the loop takes an hour at 100k)")
    args = parser.parse_args(argv)
    if not args.url.startswith("postgresql"):
        parser.error("the benchmark runs on PostgreSQL (COPY); give a postgresql:// URL")

    as_of = date(2026, 6, 1)
    now = datetime(2026, 6, 1, 17, tzinfo=UTC)  # noon in Chicago
    dsn = bulk.recreate(args.url)
    migrate.upgrade(args.url)
    started = time.perf_counter()
    clinic_id, counts = load(dsn, args.patients, args.checkins, as_of, args.seed)
    console.print(f"Loaded {counts} in {time.perf_counter() - started:.1f} s")

    engine = make_engine(args.url)
    factory = make_session_factory(engine)
    with factory() as db:  # warm up: imports (lifelines, scipy), the first plan, the policy
        clinic = db.get(Clinic, clinic_id)
        assert clinic is not None
        service.compute(db, [clinic], Selection(), now)

    fast_times: list[float] = []
    fast: Any = None
    for _ in range(args.repeat):
        with factory() as db:
            clinic = db.get(Clinic, clinic_id)
            began = time.perf_counter()
            fast = service.compute(db, [clinic], Selection(), now)  # type: ignore[list-item]
            fast_times.append(time.perf_counter() - began)
    console.print(f"Set-based: {', '.join(f'{t:.2f} s' for t in fast_times)}")
    if args.no_reference:
        r = fast.report
        console.print(f"Set-based only (not compared with the loop): {fast.report['funnel']['started']:,} patients, "
                      f"{counts.get('checkins', 0):,} check-ins; fastest {min(fast_times):.2f} s; response "
                      f"{r['response_rate']}", highlight=False, soft_wrap=True)
        engine.dispose()
        return 0

    with factory() as db:
        clinic = db.get(Clinic, clinic_id)
        console.print("Per-patient reference loop: running (one patient at a time) ...")
        began = time.perf_counter()
        slow = service.compute(db, [clinic], Selection(), now, counting=reference.tally_clinic)  # type: ignore[list-item]
        slow_s = time.perf_counter() - began
    console.print(f"Per-patient loop: {slow_s:.2f} s")

    identical = fast.report == slow.report and fast.tallies.as_dict() == slow.tallies.as_dict()
    with engine.connect() as connection:
        server = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    fast_s = min(fast_times)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, PostgreSQL {server}"
    size = (f"{fast.report['funnel']['started']:,} patients, {counts.get('checkins', 0):,} check-ins, "
            f"{counts.get('infusion_sessions', 0):,} infusion sessions")
    command = ("bench/outcomes_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    r = fast.report
    console.print(f"Response {r['response_rate']}, median days to loss of response "
                  f"{r['median_days_to_loss_of_response']}", highlight=False, soft_wrap=True)
    console.print(f"| {machine} | {size} | `{command}` | {fast_s:.2f} s (runs: "
                  f"{', '.join(f'{t:.2f}' for t in fast_times)}) | {slow_s:.2f} s | {slow_s / fast_s:.1f}x | "
                  f"{'yes' if identical else 'NO'} |", highlight=False, soft_wrap=True)
    assert identical, "the set-based report differs from the per-patient loop"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
