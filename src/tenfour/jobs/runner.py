"""The in-process job runner (SQLite, demos, `TENFOUR_JOB_BACKEND=inprocess`): one daemon thread per server process
that runs each committed job at its time. Jobs live in memory: one lost with the process is redone by the periodic
sweep (the server's timer), which escalates overdue alerts and sends the outbox too."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tenfour.config import Settings
from tenfour.db import utcnow
from tenfour.jobs.queue import Job
from tenfour.jobs.tasks import TASKS

log = logging.getLogger("tenfour.jobs")
_current: InProcessRunner | None = None
_lock = threading.Lock()


class InProcessRunner:
    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory, self.settings = factory, settings
        self._heap: list[tuple[datetime, int, Job]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="tenfour-jobs", daemon=True)
        self.done: list[tuple[str, dict]] = []  # (task, result) of the jobs run, newest last (bounded)

    def start(self) -> InProcessRunner:
        global _current
        with _lock:
            _current = self
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        global _current
        with _lock:
            if _current is self:
                _current = None
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def submit(self, jobs: list[Job]) -> None:
        with self._wake:
            for job in jobs:
                heapq.heappush(self._heap, (job.run_at or utcnow(), next(self._order), job))
            self._wake.notify_all()

    def waiting(self) -> int:
        with self._wake:
            return len(self._heap)

    def run_due(self, now: datetime | None = None) -> int:
        """Run every job whose time has come (the thread's step; tests call it directly). Returns how many ran."""
        ran = 0
        while True:
            with self._wake:
                if not self._heap or self._heap[0][0] > (now or utcnow()):
                    return ran
                _, _, job = heapq.heappop(self._heap)
            self._run(job)
            ran += 1

    def _run(self, job: Job) -> None:
        try:
            result = TASKS[job.task](self.factory, self.settings, **job.kwargs)
        except Exception:  # noqa: BLE001 - logged; the sweep redoes the work
            log.exception("job failed", extra={"job": job.task})
            return
        self.done = [*self.done[-99:], (job.task, result)]

    def _loop(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                timeout = 30.0
                if self._heap:
                    timeout = max(0.0, min(timeout, (self._heap[0][0] - utcnow()).total_seconds()))
                self._wake.wait(timeout)
                if self._stopping:
                    return
            self.run_due()


def submit(jobs: list[Job]) -> None:
    """Hand committed jobs to this process's runner. Without one (a CLI command, a test without the server's
    lifespan) they are left to the sweep, which does the same work."""
    with _lock:
        runner = _current
    if runner is None:
        log.debug("no in-process job runner; %d job(s) left to the sweep", len(jobs))
        return
    runner.submit(jobs)
