"""The sweep on a timer inside the server: a small daemon thread started by the app's lifespan.

Every ``TENFOUR_SWEEP_INTERVAL_S`` seconds (0 = off; off in tests unless a test asks) it runs the light sweep
(reminders, escalation of urgent alerts, email), and the full sweep when the last full one is older than
``sweep.FULL_EVERY``. Several app servers may each run one: every step claims its rows (an escalation, a reminder,
a state change happens once), and a sweep seen running elsewhere is skipped. Cron can run ``tenfour sweep`` instead.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tenfour.checkins import clock, sweep
from tenfour.config import Settings

log = logging.getLogger("tenfour.sweep")


class SweepTimer:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, interval_s: int) -> None:
        self.factory, self.settings, self.interval_s = factory, settings, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tenfour-sweep", daemon=True)
        self.runs = 0
        self.last_full: datetime | None = None

    @classmethod
    def start_for(cls, factory: sessionmaker[Session], settings: Settings) -> SweepTimer | None:
        interval = settings.effective_sweep_interval_s
        if interval <= 0:
            return None
        timer = cls(factory, settings, interval)
        timer._thread.start()
        return timer

    def tick(self) -> sweep.Summary:
        """One run: full when due, else light."""
        now = clock.now()
        if self.last_full is None:
            self.last_full = sweep.last_full_run(self.factory)
        full = self.last_full is None or now - self.last_full >= sweep.FULL_EVERY
        summary = sweep.run(self.factory, self.settings, now=now, full=full, trigger="timer")
        if full and not summary.skipped:
            self.last_full = now
            from tenfour.jobs.tasks import purge_expired_exports

            purge_expired_exports(self.factory, self.settings)  # as the worker's full sweep does
        self.runs += 1
        return summary

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - logged; the next tick tries again
                log.exception("the sweep failed; it runs again in %s s", self.interval_s)
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout=timeout)
