"""A short load run on loopback: mixed patient and staff traffic from plain httpx clients in threads against the real
server (`tenfour serve`, its own process), bounded in time. Counts requests and errors per kind and reads the
server's resident memory at the end of each half.

    .venv/bin/python -m tests.load --seconds 60      # a scratch database of the test kind, seeded, served, loaded

tests/integration/test_load.py runs it for 30 s and asserts zero errors and no memory growth beyond a bound.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.checkins_support import pcl5_answers, phq9_answers
from tests.served import CheckinWorld, ServedApp, bearer

EVALUATE = {"baseline_pcl5": 50, "course_start": "2025-03-03", "course_end": "2025-03-14", "as_of": "2025-03-29",
            "checkins": [{"date": "2025-03-15", "pcl5": 27}, {"date": "2025-03-22", "pcl5": 26},
                         {"date": "2025-03-29", "pcl5": 28}]}


@dataclass
class LoadResult:
    seconds: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    rss_kib_first_half: int = 0
    rss_kib_second_half: int = 0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.requests.items()))
        return (f"{self.total} requests in {self.seconds:.0f} s ({self.total / max(self.seconds, 1e-9):.0f}/s), "
                f"errors {len(self.errors)}; server RSS {self.rss_kib_first_half // 1024} MiB at half time, "
                f"{self.rss_kib_second_half // 1024} MiB at the end; {kinds}")


WRITERS = 25  # patients sending check-ins in turn, so no one's history grows past a realistic size in a short run


@dataclass(frozen=True)
class Patients:
    """Patients sending check-ins in turn (each one's history stays small, as a real patient's does: one patient
    with a thousand check-ins would make every submission's evaluation bigger, and memory with it), and one reading
    their own history, so that the server's memory at the end is compared with its memory at half time on the same
    work."""

    writers: list[tuple[int, dict[str, str]]]
    reader: CheckinWorld
    reader_headers: dict[str, str]


def _patient(http: httpx.Client, who: Patients, n: int) -> list[tuple[str, int]]:
    """A patient opening the app, sending a check-in (sometimes twice: a double tap); a patient reading theirs."""
    patient_id, headers = who.writers[n % len(who.writers)]
    url = f"/api/v1/patients/{patient_id}/checkins"
    answers = {"answers": {"pcl5": pcl5_answers(20 + n % 8, seed=n), "phq9": phq9_answers(5, 0)}}
    key = {"Idempotency-Key": f"load-{n:06d}-{time.monotonic_ns()}"}
    sent = [("patient: me", http.get("/api/v1/auth/me", headers=headers).status_code),
            ("patient: check-in", http.post(url, json=answers, headers={**headers, **key}).status_code)]
    if n % 5 == 0:
        sent.append(("patient: check-in retried", http.post(url, json=answers, headers={**headers, **key})
                     .status_code))
    sent.append(("patient: history", http.get(f"/api/v1/patients/{who.reader.patient_id}/checkins",
                                              headers=who.reader_headers).status_code))
    return sent


def _staff(http: httpx.Client, world: CheckinWorld, headers: dict[str, str], n: int) -> list[tuple[str, int]]:
    """A nurse working the list: patients, one record, its check-ins, alerts, the relapse calculator, a page."""
    return [("staff: patients", http.get("/api/v1/patients", headers=headers).status_code),
            ("staff: patient", http.get(f"/api/v1/patients/{world.patient_id}", headers=headers).status_code),
            ("staff: check-ins", http.get(f"/api/v1/patients/{world.patient_id}/checkins", headers=headers)
             .status_code),
            ("staff: alerts", http.get("/api/v1/alerts", headers=headers).status_code),
            ("staff: relapse evaluate", http.post("/api/v1/relapse/evaluate", json=EVALUATE, headers=headers)
             .status_code),
            ("public: login page", http.get("/login").status_code)]


def run_load(app: ServedApp, world: CheckinWorld, writers: list[tuple[int, str]], seconds: float, patients: int = 2,
             staff: int = 2) -> LoadResult:
    """Drive ``patients`` + ``staff`` client threads for ``seconds``; every answer must be 2xx. Check-ins are sent
    by the ``writers`` (patient id, email) in turn; everything else reads ``world`` (its patient and its nurse)."""
    result = LoadResult()
    lock = threading.Lock()
    counter = itertools.count()
    stop = threading.Event()
    who = Patients([(patient_id, bearer(app.base_url, email)) for patient_id, email in writers], world,
                   bearer(app.base_url, world.patient_email))
    staff_headers = bearer(app.base_url, world.nurse_email)

    def worker(kind: str) -> None:
        with httpx.Client(base_url=app.base_url, timeout=30) as http:
            while not stop.is_set():
                try:
                    n = next(counter)
                    answers = _patient(http, who, n) if kind == "patient" else _staff(http, world, staff_headers, n)
                except httpx.HTTPError as error:
                    answers = [(f"{kind}: transport", 0)]
                    with lock:
                        result.errors.append(f"{kind}: {type(error).__name__} {error}")
                with lock:
                    for name, status in answers:
                        result.requests[name] += 1
                        if not 200 <= status < 300 and status != 0:
                            result.errors.append(f"{name}: HTTP {status}")

    threads = [threading.Thread(target=worker, args=(kind,), daemon=True)
               for kind in ["patient"] * patients + ["staff"] * staff]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds / 2)
    result.rss_kib_first_half = app.rss_kib()
    time.sleep(seconds / 2)
    result.rss_kib_second_half = app.rss_kib()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    from tenfour import migrate
    from tenfour.db import make_engine, make_session_factory, session_scope
    from tests.helpers import scratch_database, test_database_url
    from tests.served import seed_checkin_patients, seed_checkin_world

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--patients", type=int, default=2)
    parser.add_argument("--staff", type=int, default=2)
    args = parser.parse_args()
    with scratch_database(test_database_url()) as url, tempfile.TemporaryDirectory() as data_dir:
        migrate.upgrade(url)
        engine = make_engine(url)
        with session_scope(make_session_factory(engine)) as db:
            world, writers = seed_checkin_world(db, "load-read"), seed_checkin_patients(db, "load-write", WRITERS)
        engine.dispose()
        app = ServedApp(url, Path(data_dir))
        app.start()
        try:
            result = run_load(app, world, writers, args.seconds, args.patients, args.staff)
        finally:
            app.stop()
    print(("postgresql" if url.startswith("postgresql") else "sqlite") + ": " + result.summary())
    for error in result.errors[:20]:
        print("  error:", error)


if __name__ == "__main__":
    main()
