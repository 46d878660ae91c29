"""The job worker on PostgreSQL: a procrastinate app whose tasks are ``tasks.TASKS`` and whose periodic jobs are the
sweeps (light every minute, full every quarter hour, as the server's own timer does on SQLite). Run it with
`tenfour worker`; several may run at once (procrastinate locks each job; the tasks claim their rows)."""

from __future__ import annotations

import logging
import time
from typing import Any

import procrastinate
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from tenfour.config import Settings
from tenfour.jobs.queue import QUEUE, TASK_PREFIX
from tenfour.jobs.tasks import TASKS

log = logging.getLogger("tenfour.jobs")
LIGHT_SWEEP_CRON = "* * * * *"
FULL_SWEEP_CRON = "*/15 * * * *"


def conninfo(database_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(settings: Settings, factory: sessionmaker[Session]) -> procrastinate.App:
    url = settings.effective_database_url()
    if not url.startswith("postgresql"):
        raise ValueError("the job worker needs PostgreSQL; on SQLite the server runs jobs itself")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))
    for name, function in TASKS.items():
        task = app.task(name=TASK_PREFIX + name, queue=QUEUE, retry=_retry(name))(_bound(name, function, factory,
                                                                                           settings))
        light = light_sweep_cron(settings)
        if name == "sweep" and light is not None:
            app.periodic(cron=light, periodic_id="light", task_kwargs={"full": False})(task)
            app.periodic(cron=FULL_SWEEP_CRON, periodic_id="full", task_kwargs={"full": True})(task)
    return app


def light_sweep_cron(settings: Settings) -> str | None:
    """TENFOUR_SWEEP_INTERVAL_S for the worker: unset = every minute, 0 = no periodic sweeps (cron runs
    `tenfour sweep`, or a test wants only the jobs it defers), else every whole number of minutes (at least 1)."""
    if settings.sweep_interval_s is None:
        return LIGHT_SWEEP_CRON
    if settings.sweep_interval_s == 0:
        return None
    minutes = max(1, round(settings.sweep_interval_s / 60))
    return LIGHT_SWEEP_CRON if minutes == 1 else f"*/{minutes} * * * *"


def _retry(name: str) -> Any:
    # Escalation and email are retried with backoff (a mail server hiccup); a sweep is not (the next one comes soon).
    return False if name == "sweep" else procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5)


def _bound(name: str, function: Any, factory: sessionmaker[Session], settings: Settings) -> Any:
    def run(**kwargs: Any) -> None:
        kwargs.pop("timestamp", None)  # periodic jobs receive their scheduled time; the sweep reads the clock
        started = time.perf_counter()
        result = function(factory, settings, **kwargs)
        log.info("job done", extra={"job": name, "duration_ms": round((time.perf_counter() - started) * 1000),
                                    "result": {k: v for k, v in result.items() if isinstance(v, int | bool | str)}})

    run.__name__ = name
    run.__doc__ = function.__doc__
    return run


def run_worker(settings: Settings, factory: sessionmaker[Session], *, concurrency: int = 1, wait: bool = True,
               name: str | None = None) -> None:
    """Run until SIGINT/SIGTERM (graceful: the job in hand finishes), or, with ``wait`` False, until the queue is
    empty (periodic jobs are not deferred then)."""
    app = make_app(settings, factory)
    log.info("job worker starting", extra={"job": "worker", "concurrency": concurrency})
    app.run_worker(queues=[QUEUE], concurrency=concurrency, wait=wait, name=name or "tenfour-worker",
                   delete_jobs="successful", shutdown_graceful_timeout=60)
    log.info("job worker stopped", extra={"job": "worker"})
