"""Production mode as docs/deployment.md runs it, on the local PostgreSQL: `tenfour serve --workers 2` (separate
processes behind one port) and `tenfour worker` (procrastinate). A patient's check-in answers PHQ-9 item 9 above 0;
the server raises an urgent alert and defers its escalation; nobody gives it a 10-4; at the clinic's deadline the
worker runs the escalation job, which emails the on-call list. Readiness, metrics and JSON logs (without the
patient's name or email) are checked on the way, and both services stop cleanly on SIGTERM.

The clinic's acknowledgement limit is set to its minimum (1 minute), so the test waits about a minute for it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from tests.checkins_support import pcl5_answers, phq9_answers
from tests.helpers import scratch_database
from tests.helpers import test_database_url as database_kind
from tests.served import TENFOUR, ServedApp, bearer, seed_checkin_world

from tenfour import migrate
from tenfour.alerts.models import Alert
from tenfour.audit.models import AuditEvent
from tenfour.clinics.models import Clinic, ClinicPolicyValue
from tenfour.db import make_engine, make_session_factory, session_scope

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ON_CALL = "on.call@clinic.example"
WAIT_S = 180  # an upper bound for a loaded 2-core machine, not a claim about speed


def _wait(what: str, check, timeout: float = WAIT_S):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _server_workers(pid: int) -> list[int]:
    """The worker processes uvicorn spawned (multiprocessing's resource tracker is a child too, not a worker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(p) for p in path.read_text().split()] if path.exists() else []
    return [child for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")]


def test_workers_and_a_job_worker_escalate_an_unacknowledged_alert_and_stop_cleanly(tmp_path: Path) -> None:
    with scratch_database(database_kind()) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            world = seed_checkin_world(db, slug="production-test")
            clinic = db.scalars(select(Clinic).where(Clinic.slug == world.clinic_slug)).one()
            clinic.on_call_emails = ON_CALL
            db.add(ClinicPolicyValue(clinic_id=clinic.id, key="alerts.urgent_ack_limit_min", value=1))
        env = {"TENFOUR_JOB_BACKEND": "procrastinate", "TENFOUR_LOG_FORMAT": "json"}
        server = ServedApp(url, tmp_path, workers=2, env=env)
        worker_log = (tmp_path / "worker.log").open("ab")
        worker = None
        try:
            server.start()
            worker = subprocess.Popen([str(TENFOUR), "worker", "--concurrency", "2"],  # noqa: S603
                                      env=server.environment(), stdout=worker_log, stderr=subprocess.STDOUT)
            assert server.process is not None
            assert len(_wait("two server processes", lambda: len(_server_workers(server.process.pid)) >= 2 and
                             _server_workers(server.process.pid))) == 2

            ready = _wait("readiness with a job worker", lambda: (
                (r := httpx.get(f"{server.base_url}/readyz", timeout=5)).status_code == 200
                and r.json()["checks"].get("job_workers", 0) >= 1 and r.json()))
            assert ready["checks"]["migrations"] == "ok" and ready["checks"]["job_queue"] == "ok"

            headers = bearer(server.base_url, world.patient_email)
            answer = httpx.post(f"{server.base_url}/api/v1/patients/{world.patient_id}/checkins", headers=headers,
                                json={"answers": {"pcl5": pcl5_answers(40), "phq9": phq9_answers(12, item9=1)}},
                                timeout=30)
            assert answer.status_code == 201, answer.text

            with factory() as db:
                alert = db.scalars(select(Alert).where(Alert.patient_id == world.patient_id,
                                                       Alert.severity == "urgent")).one()
                job = db.execute(text("SELECT scheduled_at, status::text FROM procrastinate_jobs "
                                      "WHERE task_name = 'tenfour.escalate_alert'")).one()
            assert job.status == "todo" and (job.scheduled_at - alert.created_at).total_seconds() == 60

            def escalated() -> bool:
                with factory() as db:
                    return db.scalar(select(Alert.escalated_at).where(Alert.id == alert.id)) is not None

            _wait("the escalation job", escalated)
            with factory() as db:
                actors = db.scalars(select(AuditEvent.actor_label).where(AuditEvent.action == "alert.escalate")).all()
            assert actors == ["job:escalate_alert"]  # the job, not a sweep (periodic sweeps are off here)
            mail = _wait("the escalation email", lambda: [p for p in (tmp_path / "mail").glob("*.eml")
                                                          if "Urgent alert not acknowledged" in p.read_text()])
            assert f"To: {ON_CALL}" in mail[0].read_text()

            metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text
            assert 'route="/api/v1/patients/{patient_id}/checkins"' in metrics
            assert "tenfour_alerts_open" in metrics and "tenfour_job_queue_depth" in metrics
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
            server.stop()
            worker_code = worker.wait(timeout=60) if worker is not None else None
            engine.dispose()
        assert server.process is not None and server.process.returncode == 0, server.log_path.read_text()[-3000:]
        assert worker_code == 0, (tmp_path / "worker.log").read_text()[-3000:]

        lines = [line for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        records = [json.loads(line) for line in lines]
        assert any(r.get("route") == "/api/v1/patients/{patient_id}/checkins" and r.get("status") == 201
                   for r in records)
        everything = server.log_path.read_text() + (tmp_path / "worker.log").read_text()
        for secret in ("Casey", "Crash", world.patient_email, str(world.patient_id) + "/checkins"):
            assert secret not in everything
