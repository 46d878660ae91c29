"""Deferring a job, inside the caller's transaction.

procrastinate: the job row is inserted with the same database connection and transaction as the data it is about,
so a job exists exactly when its data was committed (no job for a rolled-back alert, no alert without its job).
In-process: the job waits on the session until the commit, then goes to this process's runner (``runner.py``);
a job lost with the process is caught by the periodic sweep, which does the same work as a safety net.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

QUEUE = "tenfour"
PENDING_KEY = "tenfour_jobs_pending"
TASK_PREFIX = "tenfour."

# The row procrastinate's own defer query writes (procrastinate/sql/queries.sql, defer_jobs), with ON CONFLICT so
# a second "deliver the outbox" while one is already waiting is a no-op instead of an error that aborts the
# caller's transaction. The triggers procrastinate installed (events, NOTIFY to workers) fire as for its own insert.
_INSERT = text(
    "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at) "
    "VALUES (:queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), :scheduled_at) "
    "ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True)
class Job:
    task: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    run_at: datetime | None = None
    queueing_lock: str | None = None


BACKEND_KEY = "tenfour_job_backend"  # a session may name its backend (tests of the procrastinate path do)


def uses_queue(db: Session) -> bool:
    """True when this session's jobs go to procrastinate: PostgreSQL, unless the backend is set to in-process."""
    from tenfour.config import get_settings

    if db.get_bind().dialect.name != "postgresql":
        return False
    return (db.info.get(BACKEND_KEY) or get_settings().job_backend) != "inprocess"


def defer(db: Session, task: str, *, run_at: datetime | None = None, queueing_lock: str | None = None,
          **kwargs: Any) -> None:
    """Queue ``task`` (a name in ``tasks.TASKS``) with JSON-able keyword arguments, to run at ``run_at`` (UTC) or
    as soon as a worker is free. ``queueing_lock``: at most one such job waiting at a time."""
    from tenfour.jobs.tasks import TASKS

    if task not in TASKS:
        raise ValueError(f"unknown job {task!r}")
    job = Job(task, kwargs, run_at, queueing_lock)
    if uses_queue(db):
        db.execute(_INSERT, {"queue": QUEUE, "task": TASK_PREFIX + task, "lock": None,
                             "queueing_lock": queueing_lock, "args": json.dumps(kwargs),
                             "scheduled_at": run_at})
        return
    pending = db.info.setdefault(PENDING_KEY, [])
    if queueing_lock is None or all(j.queueing_lock != queueing_lock for j in pending):
        pending.append(job)
    _hand_over_after_commit(db)


def pending_in_process(db: Session) -> list[Job]:
    """Jobs deferred in this session and not yet committed (in-process backend; for tests and the runner)."""
    return list(db.info.get(PENDING_KEY, []))


def _hand_over_after_commit(db: Session) -> None:
    if db.info.get("tenfour_jobs_hooked"):
        return
    db.info["tenfour_jobs_hooked"] = True

    @event.listens_for(db, "after_commit")
    def _after_commit(session: Session) -> None:
        jobs = session.info.pop(PENDING_KEY, [])
        if jobs:
            from tenfour.jobs.runner import submit

            submit(jobs)

    @event.listens_for(db, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(PENDING_KEY, None)  # rolled back with the data they were about
