"""Background jobs: an urgent alert defers its own escalation to its deadline, inside the transaction that raised it
(rolled back with it); the in-process runner runs it at that time and not before; the job escalates once, and not
at all after a 10-4. On PostgreSQL the same job goes to procrastinate's table and a real procrastinate worker runs it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from tests.checkins_support import ctx_for

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Alert, Severity
from tenfour.audit.models import AuditEvent
from tenfour.jobs import pending_in_process
from tenfour.jobs.queue import BACKEND_KEY
from tenfour.jobs.runner import InProcessRunner

ON_CALL = "oncall.one@north.example"


def _raise(db, world, severity: Severity = Severity.URGENT) -> Alert:  # type: ignore[no-untyped-def]
    world.north.on_call_emails = ON_CALL
    return alerts.raise_alert(db, ctx_for(world.user("nurse")), clinic_id=world.north.id,
                              patient_id=world.patient_north.id, severity=severity, kind="suicidal_ideation",
                              title="PHQ-9 item 9 answered above 0", reasons=[])


def _freeze(monkeypatch: pytest.MonkeyPatch, at) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("tenfour.checkins.clock.now", lambda: at)


def test_an_urgent_alert_defers_its_escalation_to_the_clinics_deadline(db, world) -> None:
    alert = _raise(db, world)
    jobs = pending_in_process(db)
    assert [(j.task, j.kwargs) for j in jobs] == [("escalate_alert", {"alert_id": alert.id})]
    assert jobs[0].run_at == alert.created_at + timedelta(minutes=15)  # alerts.urgent_ack_limit_min default


def test_a_watch_defers_nothing_and_a_rollback_drops_the_job(db, world) -> None:
    _raise(db, world, Severity.WATCH)
    assert pending_in_process(db) == []
    _raise(db, world)
    assert len(pending_in_process(db)) == 1
    db.rollback()
    assert pending_in_process(db) == []


def test_the_runner_escalates_at_the_deadline_once_and_not_before(db, world, session_factory, settings, mailbox,
                                                                   monkeypatch) -> None:
    runner = InProcessRunner(session_factory, settings)  # not started: the test steps it
    alert = _raise(db, world)
    deadline = alert.created_at + timedelta(minutes=15)
    runner.submit(pending_in_process(db))
    db.commit()
    assert runner.run_due(now=deadline - timedelta(seconds=1)) == 0 and runner.waiting() == 1
    _freeze(monkeypatch, deadline)
    assert runner.run_due(now=deadline) == 1
    assert runner.done[-1] == ("escalate_alert", {"state": "escalated"})
    db.expire_all()
    assert db.get(Alert, alert.id).escalated_at == deadline
    assert [str(m["To"]) for m in mailbox.messages if m["Subject"] == alerts.ESCALATION_SUBJECT] == [ON_CALL]
    actors = db.scalars(select(AuditEvent.actor_label).where(AuditEvent.action == "alert.escalate")).all()
    assert actors == ["job:escalate_alert"]
    # The sweep's safety net afterwards changes nothing: the alert was claimed once.
    again = alerts.escalate_one(db, ctx_for(world.user("nurse")), alert.id, deadline + timedelta(hours=1), "x")
    assert again.state == "not_needed"


def test_a_10_4_before_the_deadline_cancels_the_escalation(db, world, session_factory, settings, mailbox,
                                                          monkeypatch) -> None:
    runner = InProcessRunner(session_factory, settings)
    alert = _raise(db, world)
    runner.submit(pending_in_process(db))
    db.commit()
    alerts.acknowledge(db, ctx_for(world.user("nurse")), alert.id)
    db.commit()
    deadline = alert.created_at + timedelta(minutes=15)
    _freeze(monkeypatch, deadline)
    assert runner.run_due(now=deadline) == 1
    assert runner.done[-1] == ("escalate_alert", {"state": "not_needed"})
    assert [m for m in mailbox.messages if m["Subject"] == alerts.ESCALATION_SUBJECT] == []


def test_a_job_that_runs_early_comes_back_at_the_deadline(db, world, session_factory, settings, monkeypatch) -> None:
    alert = _raise(db, world)
    db.commit()
    early = alert.created_at + timedelta(minutes=5)
    outcome = alerts.escalate_one(db, ctx_for(world.user("nurse")), alert.id, early, "http://testserver")
    assert outcome.state == "not_due" and outcome.due_at == alert.created_at + timedelta(minutes=15)


def test_the_server_starts_and_stops_its_runner_with_its_lifespan(app) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        runner = app.state.job_runner
        assert runner is not None and runner._thread.is_alive()
        assert client.get("/readyz").json()["checks"]["job_queue"] == "ok"
    assert not runner._thread.is_alive()


@pytest.mark.postgres
def test_on_postgresql_the_job_is_a_procrastinate_row_in_the_same_transaction(db, world) -> None:
    db.info[BACKEND_KEY] = "procrastinate"
    alert = _raise(db, world)
    rows = db.execute(text("SELECT task_name, args, scheduled_at, status::text FROM procrastinate_jobs "
                           "WHERE task_name = 'tenfour.escalate_alert'")).all()
    assert len(rows) == 1
    task, args, scheduled_at, status = rows[0]
    assert (args if isinstance(args, dict) else json.loads(args)) == {"alert_id": alert.id}
    assert scheduled_at == alert.created_at + timedelta(minutes=15) and status == "todo"
    assert pending_in_process(db) == []
    db.rollback()  # the alert and its job go together
    assert db.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'alert_id' = :id"),
                      {"id": str(alert.id)}).scalar_one() == 0


@pytest.mark.postgres
def test_email_waits_for_one_delivery_job_however_many_messages(db, world) -> None:
    from tenfour import mail

    db.info[BACKEND_KEY] = "procrastinate"
    for n in range(3):
        mail.enqueue(db, to=f"someone{n}@example.org", subject="Hello", body="A link", purpose="test")
    count = db.execute(text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'tenfour.deliver_mail' "
                            "AND status = 'todo'")).scalar_one()
    assert count == 1


@pytest.mark.parametrize(("interval", "cron"), [(None, "* * * * *"), (0, None), (60, "* * * * *"), (30, "* * * * *"),
                                                (300, "*/5 * * * *")])
def test_the_workers_light_sweep_follows_the_sweep_interval(settings, interval, cron) -> None:  # type: ignore[no-untyped-def]
    from tenfour.jobs.worker import light_sweep_cron

    assert light_sweep_cron(settings.model_copy(update={"sweep_interval_s": interval})) == cron


def test_the_worker_command_explains_itself_on_sqlite(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from tenfour.cli import app
    from tenfour.config import get_settings

    monkeypatch.setenv("TENFOUR_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("TENFOUR_JOB_BACKEND", "auto")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker", "--once"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


def test_the_worker_registers_every_task_and_the_periodic_sweeps(settings, session_factory) -> None:  # type: ignore[no-untyped-def]
    from tenfour.jobs.tasks import TASKS
    from tenfour.jobs.worker import make_app

    pg = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1/none", "sweep_interval_s": None})
    app = make_app(pg, session_factory)  # no connection is opened by building it
    assert set(app.tasks) >= {f"tenfour.{name}" for name in TASKS}
    crons = sorted(p.cron for p in app.periodic_registry.periodic_tasks.values())
    assert crons == ["* * * * *", "*/15 * * * *"]
