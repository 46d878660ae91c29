"""The network dataset: a national network of clinics bulk-loaded with COPY into a scratch PostgreSQL database.

    .venv/bin/python bench/network.py                                  # 50 clinics, 100,000 patients (the issue's size)
    .venv/bin/python bench/network.py --clinics 5 --patients 2000      # a quick run

Drops and creates the database named in --database-url (point it at one used for nothing else), builds the schema
with the real migrations (``tenfour.migrate.upgrade``), then loads with COPY (psycopg, not the ORM):

- clinics with real-looking names, their time zones, opening hours and chairs; staff of each clinic (a nurse, a
  manager and a prescriber) with Argon2 password hashes from ``accounts.passwords``, so anyone can sign in;
- the patients of ``outcomes.synthetic`` (every relapse trajectory of ``checkins.synthetic``: courses, scheduled
  and completed check-ins, warning signs; treatment plans, infusion sessions with vitals, adverse events, CADSS-6,
  referrals, eligibility decisions), spread over the clinics, with names and the clinic's time zone — about six
  infusion sessions and twenty check-ins a patient, as of today;
- what the clinic pages read from the nightly sweep: each patient's relapse evaluation (computed by the app's own
  vectorised evaluation, ``checkins.sweep.evaluate_vectorised``), its transition and alert (recent ones open, older
  ones resolved), the course's source fingerprint (``checkins.repository.source_fingerprints``, so a check-in does
  not rebuild the schedule), and a finished sweep run.

Prints the load time per table, the total, and the staff sign-ins. bench/http_bench.py serves the app on it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import bulk  # bench/bulk.py, beside this script
import psycopg
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import make_url

from tenfour import migrate
from tenfour.accounts.passwords import hash_password
from tenfour.checkins import detection, repository, sweep
from tenfour.clinics.models import WEEKDAYS
from tenfour.core.relapse import RelapseState
from tenfour.db import make_engine, make_session_factory
from tenfour.outcomes import synthetic

console = Console()
DEFAULT_URL = "postgresql://postgres@127.0.0.1/tenfour_network"
PASSWORD = "network-dataset-password"  # noqa: S105 - every seeded staff member's password (synthetic data only)
STAFF_ROLES = ("nurse", "manager", "prescriber")
CHECKINS_PER_PATIENT = 20
EVALUATION_BATCH = 5000
OPEN_ALERT_DAYS = 7  # relapse alerts raised in the last week are still open; older ones were called and resolved

# (place, state, time zone): 50 sites of a national network.
SITES = (
    ("Seattle", "WA", "America/Los_Angeles"), ("Portland", "OR", "America/Los_Angeles"),
    ("Sacramento", "CA", "America/Los_Angeles"), ("Oakland", "CA", "America/Los_Angeles"),
    ("Fresno", "CA", "America/Los_Angeles"), ("Los Angeles", "CA", "America/Los_Angeles"),
    ("San Diego", "CA", "America/Los_Angeles"), ("Las Vegas", "NV", "America/Los_Angeles"),
    ("Spokane", "WA", "America/Los_Angeles"), ("Reno", "NV", "America/Los_Angeles"),
    ("Phoenix", "AZ", "America/Phoenix"), ("Tucson", "AZ", "America/Phoenix"),
    ("Denver", "CO", "America/Denver"), ("Colorado Springs", "CO", "America/Denver"),
    ("Salt Lake City", "UT", "America/Denver"), ("Albuquerque", "NM", "America/Denver"),
    ("Boise", "ID", "America/Boise"), ("Billings", "MT", "America/Denver"),
    ("Dallas", "TX", "America/Chicago"), ("Houston", "TX", "America/Chicago"),
    ("San Antonio", "TX", "America/Chicago"), ("Austin", "TX", "America/Chicago"),
    ("Oklahoma City", "OK", "America/Chicago"), ("Kansas City", "MO", "America/Chicago"),
    ("St. Louis", "MO", "America/Chicago"), ("Chicago", "IL", "America/Chicago"),
    ("Milwaukee", "WI", "America/Chicago"), ("Minneapolis", "MN", "America/Chicago"),
    ("Omaha", "NE", "America/Chicago"), ("Nashville", "TN", "America/Chicago"),
    ("Memphis", "TN", "America/Chicago"), ("New Orleans", "LA", "America/Chicago"),
    ("Birmingham", "AL", "America/Chicago"), ("Des Moines", "IA", "America/Chicago"),
    ("Indianapolis", "IN", "America/Indiana/Indianapolis"), ("Detroit", "MI", "America/Detroit"),
    ("Columbus", "OH", "America/New_York"), ("Cleveland", "OH", "America/New_York"),
    ("Pittsburgh", "PA", "America/New_York"), ("Philadelphia", "PA", "America/New_York"),
    ("Newark", "NJ", "America/New_York"), ("Brooklyn", "NY", "America/New_York"),
    ("Boston", "MA", "America/New_York"), ("Hartford", "CT", "America/New_York"),
    ("Baltimore", "MD", "America/New_York"), ("Richmond", "VA", "America/New_York"),
    ("Charlotte", "NC", "America/New_York"), ("Atlanta", "GA", "America/New_York"),
    ("Jacksonville", "FL", "America/New_York"), ("Tampa", "FL", "America/New_York"),
)
FIRST_NAMES = ("James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Aisha",
               "Daniel", "Sarah", "Jose", "Emily", "Kevin", "Nicole", "Brian", "Rachel", "Anthony", "Keisha",
               "Thomas", "Megan", "Luis", "Hannah", "Marcus", "Olivia", "Ryan", "Tanya", "Eric", "Grace",
               "Samuel", "Laura", "Andre", "Chloe", "Victor", "Diana", "Tyrone", "Erin", "Hector", "Mei")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
              "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
              "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
              "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
              "O'Brien", "Kowalski", "Okafor", "Patel", "Murphy", "Reyes", "Cohen", "Sullivan", "Kim", "Baker")


@dataclass
class Clinic:
    id: int
    name: str
    slug: str
    timezone: str
    chair_ids: list[int] = field(default_factory=list)
    staff: dict[str, tuple[int, str]] = field(default_factory=dict)  # role -> (user id, email)


@dataclass
class Loaded:
    clinics: list[Clinic]
    counts: Counter[str]
    seconds: dict[str, float]
    total_s: float
    as_of: date


def slugify(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-").replace("--", "-")


# --- Clinics, chairs, staff -----------------------------------------------------------------------------------


def load_clinics(connection: psycopg.Connection, n_clinics: int, rng: random.Random, now: datetime,
                 counts: Counter[str], seconds: dict[str, float]) -> list[Clinic]:
    if not 1 <= n_clinics <= len(SITES):
        raise SystemExit(f"--clinics must be between 1 and {len(SITES)}")
    started = time.perf_counter()
    clinics: list[Clinic] = []
    hours = {day: [["07:00", "19:00"]] if day in WEEKDAYS[:5] else ([["08:00", "14:00"]] if day == "sat" else [])
             for day in WEEKDAYS}
    for number, (place, state, tz) in enumerate(SITES[:n_clinics], start=1):
        name = f"{place} Responder Recovery Clinic"
        clinics.append(Clinic(number, name, slugify(f"{place}-{state}"), tz))
    with connection.cursor() as cursor:
        counts["clinics"] += bulk.copy_rows(cursor, "clinics", (
            "id", "name", "slug", "timezone", "opening_hours", "phone", "address", "is_synthetic", "created_at"), (
            {"id": c.id, "name": c.name, "slug": c.slug, "timezone": c.timezone, "opening_hours": hours,
             "phone": f"555-01{c.id:02d}", "address": f"{100 + c.id} Main Street, {SITES[c.id - 1][0]}, "
             f"{SITES[c.id - 1][1]} (synthetic)", "is_synthetic": True, "created_at": now} for c in clinics))
    seconds["clinics"] = time.perf_counter() - started

    started = time.perf_counter()
    chairs = []
    for clinic in clinics:
        for position in range(1, rng.randint(4, 8) + 1):
            chairs.append({"id": len(chairs) + 1, "clinic_id": clinic.id, "name": f"Chair {position}",
                           "position": position, "is_active": True})
            clinic.chair_ids.append(len(chairs))
    with connection.cursor() as cursor:
        counts["chairs"] += bulk.copy_rows(cursor, "chairs", ("id", "clinic_id", "name", "position", "is_active"),
                                           chairs)
    seconds["chairs"] = time.perf_counter() - started

    started = time.perf_counter()
    users, memberships = [], []
    with Progress(TextColumn("staff (Argon2 hashes)"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("staff", total=len(clinics) * len(STAFF_ROLES))
        for clinic in clinics:
            for role in STAFF_ROLES:
                user_id = len(users) + 1
                email = f"{role}.{clinic.slug}@network.tenfour.test"
                users.append({"id": user_id, "email": email, "role": role, "password_hash": hash_password(PASSWORD),
                              "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                              "is_active": True, "created_at": now})
                memberships.append({"id": len(memberships) + 1, "user_id": user_id, "clinic_id": clinic.id,
                                    "created_at": now})
                clinic.staff[role] = (user_id, email)
                bar.advance(task)
    with connection.cursor() as cursor:
        counts["users"] += bulk.copy_rows(cursor, "users", ("id", "email", "full_name", "role", "password_hash",
                                                            "is_active", "created_at"), users)
        counts["clinic_memberships"] += bulk.copy_rows(cursor, "clinic_memberships",
                                                       ("id", "user_id", "clinic_id", "created_at"), memberships)
    seconds["users"] = time.perf_counter() - started
    return clinics


# --- Patients and everything of theirs ------------------------------------------------------------------------


def place(person: synthetic.Person, clinic: Clinic, rng: random.Random) -> None:
    """Move one synthetic patient (generated for clinic 1) into `clinic`: its id, chairs, time zone, a name."""
    for rows in person.rows.values():
        for row in rows:
            if "clinic_id" in row:
                row["clinic_id"] = clinic.id
    patient = person.rows["patients"][0]
    patient["first_name"], patient["last_name"] = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    patient["sex"] = rng.choice(("female", "male", "male"))
    for course in person.rows["checkin_courses"]:
        course["timezone"] = clinic.timezone
    for session in person.rows["infusion_sessions"]:
        session["chair_id"] = rng.choice(clinic.chair_ids)
    for referral in person.rows["referrals"]:
        if referral["patient_id"] is not None:
            referral["first_name"], referral["last_name"] = patient["first_name"], patient["last_name"]


def load_patients(connection: psycopg.Connection, clinics: list[Clinic], n_patients: int, as_of: date, seed: int,
                  rng: random.Random, counts: Counter[str], seconds: dict[str, float]) -> None:
    columns = bulk.table_columns(synthetic.TABLE_ORDER, skip_id=("warning_sign_endorsements",))
    weights = [rng.uniform(0.5, 1.5) for _ in clinics]  # sites differ in size
    people = synthetic.generate(n_patients, CHECKINS_PER_PATIENT, clinic_id=clinics[0].id,
                                chair_id=clinics[0].chair_ids[0], as_of=as_of, seed=seed, first_id=1)

    def copy(cursor: psycopg.Cursor, chunk: Sequence[synthetic.Person]) -> None:
        for person in chunk:
            place(person, rng.choices(clinics, weights)[0], rng)
        for name in synthetic.TABLE_ORDER:
            began = time.perf_counter()
            counts[name] += bulk.copy_rows(cursor, name, columns[name],
                                           (row for person in chunk for row in person.rows[name]))
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - began

    bulk.copy_in_chunks(connection, people, n_patients, console, copy)


# --- What the sweep leaves behind -----------------------------------------------------------------------------


def load_sweep_results(url: str, dsn: str, clinics: list[Clinic], now: datetime, rng: random.Random,
                       counts: Counter[str], seconds: dict[str, float]) -> None:
    """Each patient's relapse evaluation from the app's own vectorised evaluation, with its transition and alert;
    the courses' source fingerprints; a finished sweep run.

    Courses are evaluated in batches of consecutive ids across the clinics that share the same rules (all of them
    here: no clinic overrides the policy), not clinic by clinic as the sweep does: the sweep reads a batch as its id
    range, and one clinic's courses span the whole network's ids (see docs/benchmarks.md)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    evaluations: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    fingerprints: list[tuple[int, str]] = []
    by_id = {clinic.id: clinic for clinic in clinics}
    started = time.perf_counter()
    groups: list[tuple[detection.Rules, list[int]]] = []
    with factory() as db:
        for clinic in clinics:
            rules = detection.rules_for(db, clinic.id)
            ids = repository.evaluable_course_ids(db, clinic.id)
            group = next((g for g in groups if g[0] == rules), None)
            if group is None:
                groups.append((rules, ids))
            else:
                group[1].extend(ids)
    with Progress(TextColumn("relapse evaluation (the sweep's own code)"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("evaluate", total=sum(len(ids) for _, ids in groups))
        for rules, course_ids in groups:
            course_ids.sort()
            for start in range(0, len(course_ids), EVALUATION_BATCH):
                batch = course_ids[start:start + EVALUATION_BATCH]
                with factory() as db:
                    rows = {row.id: row for row in repository.course_rows(db, batch)}
                    results = sweep.evaluate_vectorised(db, batch, now, rules, EVALUATION_BATCH)
                    fingerprints.extend(repository.source_fingerprints(
                        db, [row.patient_id for row in rows.values()]).items())
                for course_id, result in results.items():
                    course = rows[course_id]
                    _evaluated(by_id[course.clinic_id], course, result, now, rng, evaluations, transitions, alerts)
                bar.advance(task, len(batch))
    engine.dispose()
    seconds["relapse evaluation (compute)"] = time.perf_counter() - started

    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for name, rows_ in (("alerts", alerts), ("relapse_evaluations", evaluations),
                            ("relapse_transitions", transitions)):
            began = time.perf_counter()
            counts[name] += bulk.copy_rows(cursor, name, bulk.table_columns([name])[name], rows_)
            seconds[name] = time.perf_counter() - began
        began = time.perf_counter()
        cursor.execute("CREATE TEMPORARY TABLE course_fingerprints (patient_id int PRIMARY KEY, fingerprint text)")
        with cursor.copy("COPY course_fingerprints (patient_id, fingerprint) FROM STDIN") as copy:
            for row in fingerprints:
                copy.write_row(row)
        cursor.execute("UPDATE checkin_courses c SET source_fingerprint = f.fingerprint FROM course_fingerprints f "
                       "WHERE c.patient_id = f.patient_id AND c.is_current")
        seconds["course fingerprints"] = time.perf_counter() - began
        cursor.execute("INSERT INTO sweep_runs (started_at, finished_at, trigger, summary) VALUES (%s, %s, 'cli', %s)",
                       (now, now, Jsonb({"network_dataset": True, "evaluated": len(evaluations)})))
        bulk.finish(connection, ("alerts", "relapse_evaluations", "relapse_transitions"))


def _evaluated(clinic: Clinic, course: Any, result: Any, now: datetime, rng: random.Random,
               evaluations: list[dict[str, Any]], transitions: list[dict[str, Any]],
               alerts: list[dict[str, Any]]) -> None:
    """The rows ``detection.apply`` would have written for a first evaluation: the evaluation, its transition, and
    for watch/act/urgent an alert."""
    since = now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
    evaluation = {
        "id": len(evaluations) + 1, "clinic_id": clinic.id, "patient_id": course.patient_id, "course_id": course.id,
        "state": result.state.value, "reasons": detection.reasons_json(result), "responded": result.responded,
        "best_pcl5": result.best_pcl5, "baseline_pcl5": result.baseline_pcl5, "latest_pcl5": result.latest_pcl5,
        "slope_points_per_week": result.slope_points_per_week, "as_of": sweep.as_of_for(course.timezone, now),
        "evaluated_at": now, "state_since": since, "fingerprint": detection.fingerprint(result), "alert_id": None}
    transition = {"id": len(transitions) + 1, "clinic_id": clinic.id, "patient_id": course.patient_id,
                  "from_state": None, "to_state": result.state.value, "reasons": evaluation["reasons"],
                  "as_of": evaluation["as_of"], "source": "sweep", "checkin_id": None, "alert_id": None,
                  "created_at": since}
    if result.state in detection.ALERTING:
        alert = _alert(len(alerts) + 1, clinic, course.patient_id, result.state, evaluation["reasons"],
                       transition["id"], since, now, rng)
        alerts.append(alert)
        evaluation["alert_id"] = transition["alert_id"] = alert["id"]
    evaluations.append(evaluation)
    transitions.append(transition)


def _alert(alert_id: int, clinic: Clinic, patient_id: int, state: RelapseState, reasons: list[dict[str, str]],
           transition_id: int, since: datetime, now: datetime, rng: random.Random) -> dict[str, Any]:
    nurse_id = clinic.staff["nurse"][0]
    resolved = since < now - timedelta(days=OPEN_ALERT_DAYS)
    acknowledged = resolved or rng.random() < 0.5
    return {"id": alert_id, "clinic_id": clinic.id, "patient_id": patient_id,
            "severity": detection.ALERTING[state].value, "kind": "relapse", "title": detection.TITLES[state],
            "reasons": reasons, "source_type": "relapse_transition", "source_id": transition_id, "created_at": since,
            "acknowledged_at": since + timedelta(minutes=rng.randint(5, 240)) if acknowledged else None,
            "acknowledged_by_id": nurse_id if acknowledged else None,
            "resolved_at": since + timedelta(hours=rng.randint(4, 72)) if resolved else None,
            "resolved_by_id": nurse_id if resolved else None, "resolution": "called" if resolved else None,
            "resolution_note": "Called the patient (synthetic)" if resolved else None, "escalated_at": None}


# --- The whole load -------------------------------------------------------------------------------------------


def load(url: str, *, clinics: int, patients: int, seed: int, now: datetime | None = None) -> Loaded:
    """Drop, create and migrate the database at `url`, then load the network; returns what was loaded and how long
    each table took."""
    if not url.startswith("postgresql"):
        raise SystemExit("the network dataset loads into PostgreSQL (COPY); give a postgresql:// URL")
    now = now or datetime.now(UTC)
    as_of = now.date()
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    dsn = bulk.recreate(url)
    started = time.perf_counter()
    migrate.upgrade(url)
    seconds["schema (migrations)"] = time.perf_counter() - started
    with psycopg.connect(dsn) as connection:
        sites = load_clinics(connection, clinics, rng, now, counts, seconds)
        load_patients(connection, sites, patients, as_of, seed, rng, counts, seconds)
        started = time.perf_counter()
        bulk.finish(connection, ("clinics", "chairs", "users", "clinic_memberships", *synthetic.TABLE_ORDER))
        seconds["sequences + ANALYZE"] = time.perf_counter() - started
    load_sweep_results(url, dsn, sites, now, rng, counts, seconds)
    with psycopg.connect(dsn, autocommit=True) as connection:
        started = time.perf_counter()
        connection.execute("VACUUM ANALYZE")  # visibility map and statistics, as a settled database has
        seconds["VACUUM ANALYZE"] = time.perf_counter() - started
    return Loaded(sites, counts, seconds, time.perf_counter() - began, as_of)


def report(loaded: Loaded) -> None:
    table = Table(title=f"Network dataset as of {loaded.as_of}: load time per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    for name in dict.fromkeys([*loaded.seconds, *loaded.counts]):
        rows = loaded.counts.get(name)
        table.add_row(name, f"{rows:,}" if rows is not None else "", f"{loaded.seconds.get(name, 0.0):.1f}")
    table.add_row("total", f"{sum(loaded.counts.values()):,}", f"{loaded.total_s:.1f}", style="bold")
    console.print(table)
    console.print(f"{len(loaded.clinics)} clinics, {loaded.counts['patients']:,} patients, "
                  f"{loaded.counts['infusion_sessions']:,} infusion sessions, {loaded.counts['checkins']:,} check-ins "
                  f"loaded in {loaded.total_s:.1f} s", highlight=False, soft_wrap=True)
    first = loaded.clinics[0]
    console.print(f"Sign in (password for every seeded staff member: {PASSWORD}):", highlight=False, soft_wrap=True)
    for role in STAFF_ROLES:
        console.print(f"  {role:<10} {first.staff[role][1]}   ({first.name})", highlight=False, soft_wrap=True)
    console.print("  ... and role.<clinic-slug>@network.tenfour.test for every clinic, e.g. "
                  f"{loaded.clinics[-1].staff['nurse'][1]}", highlight=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TENFOUR_NETWORK_DATABASE_URL", DEFAULT_URL),
                        help="a PostgreSQL database to drop and create again (default %(default)s)")
    parser.add_argument("--clinics", type=int, default=50, help="clinics, 1 to 50 (default %(default)s)")
    parser.add_argument("--patients", type=int, default=100_000, help="patients (default %(default)s)")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args(argv)
    loaded = load(args.database_url, clinics=args.clinics, patients=args.patients, seed=args.seed)
    report(loaded)
    safe = make_url(args.database_url).render_as_string(hide_password=True)
    console.print(f"Serve it: TENFOUR_DATABASE_URL={safe} .venv/bin/tenfour serve", highlight=False, soft_wrap=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
