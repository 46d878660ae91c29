"""The real server as a separate process (`tenfour serve` on a free loopback port), for the crash and load tests:
it can be killed with SIGKILL and restarted on the same database, and its memory read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from tests import factories
from tests.checkins_support import give_course, monday_weeks_ago, sync

TENFOUR = Path(sys.executable).with_name("tenfour")
START_TIMEOUT_S = 60  # a start-up wait on a busy 2-core machine, not an assertion about speed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServedApp:
    """`tenfour serve` against ``database_url``; start(), kill() (SIGKILL), stop() (SIGTERM), rss_kib()."""

    database_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)  # on top of the test defaults below

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"serve-{self.port}.log"

    def environment(self) -> dict[str, str]:
        return {**os.environ, "TENFOUR_DATABASE_URL": self.database_url, "TENFOUR_DATA_DIR": str(self.data_dir),
                "TENFOUR_ENVIRONMENT": "test", "TENFOUR_SECRET_KEY": "served-test-secret-" + "s" * 32,
                "TENFOUR_MAIL_BACKEND": "file", "TENFOUR_BASE_URL": self.base_url, "TENFOUR_SWEEP_INTERVAL_S": "0",
                # The crash and load harnesses send hundreds of check-ins for a few patients within a minute, which
                # the per-patient limit (12 an hour by default) rightly refuses: they measure durability and memory.
                "TENFOUR_CHECKIN_SUBMISSIONS_PER_HOUR": "1000000", **self.env}

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([str(TENFOUR), "serve", "--host", "127.0.0.1", "--port", str(self.port),  # noqa: S603
                                         "--workers", str(self.workers)],
                                        env=self.environment(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"tenfour serve exited with {self.process.returncode}: see {log.name}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"tenfour serve did not answer: see {log.name}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flush, as a power cut or the OOM killer would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def rss_kib(self) -> int:
        """Resident memory of the server process, from /proc (Linux)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")


@dataclass(frozen=True)
class CheckinWorld:
    """A clinic with a patient whose check-ins have begun (a given induction course), and its staff."""

    patient_id: int
    patient_email: str
    nurse_email: str
    prescriber_email: str
    clinic_slug: str


def seed_checkin_world(db: Session, slug: str = "crash-test") -> CheckinWorld:
    clinic = factories.make_clinic(db, name=f"Clinic {slug}", slug=slug)
    prescriber = factories.make_user(db, role="prescriber", clinics=[clinic])
    nurse = factories.make_user(db, role="nurse", clinics=[clinic])
    patient = factories.make_patient(db, clinic, first_name="Casey", last_name="Crash")
    patient_user = factories.make_user(db, role="patient", clinics=[])
    patient.user_id = patient_user.id
    db.flush()
    first = monday_weeks_ago(3)
    course = give_course(db, patient, prescriber, first)
    sync(db, course, first - timedelta(days=1))
    db.flush()
    return CheckinWorld(patient.id, patient_user.email, nurse.email, prescriber.email, clinic.slug)


def seed_checkin_patients(db: Session, slug: str, count: int) -> list[tuple[int, str]]:
    """``count`` patients of one new clinic whose check-ins have begun: (patient id, email) each."""
    clinic = factories.make_clinic(db, name=f"Clinic {slug}", slug=slug)
    prescriber = factories.make_user(db, role="prescriber", clinics=[clinic])
    first = monday_weeks_ago(3)
    made = []
    for _ in range(count):
        patient = factories.make_patient(db, clinic)
        user = factories.make_user(db, role="patient", clinics=[])
        patient.user_id = user.id
        db.flush()
        sync(db, give_course(db, patient, prescriber, first), first - timedelta(days=1))
        made.append((patient.id, user.email))
    db.flush()
    return made


def bearer(base_url: str, email: str, password: str = factories.PASSWORD) -> dict[str, str]:
    response = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
