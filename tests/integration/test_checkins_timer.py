"""The sweep on the server's timer: off in tests unless asked (TENFOUR_SWEEP_INTERVAL_S), full first then light."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tenfour.checkins.models import SweepRun
from tenfour.checkins.timer import SweepTimer
from tenfour.config import Settings
from tenfour.web.app import create_app


def test_off_in_tests_unless_asked(settings, session_factory) -> None:
    assert settings.effective_sweep_interval_s == 0
    assert Settings(environment="development", sweep_interval_s=None).effective_sweep_interval_s == 60
    assert Settings(environment="test", sweep_interval_s=30).effective_sweep_interval_s == 30
    app = create_app(settings=settings, session_factory=session_factory)
    with TestClient(app):
        assert app.state.sweep_timer is None
    assert SweepTimer.start_for(session_factory, settings) is None


def test_a_tick_runs_the_full_sweep_then_the_light_one(db, settings, session_factory, monkeypatch) -> None:
    timer = SweepTimer(session_factory, settings, interval_s=60)
    first = timer.tick()
    assert first.full and not first.skipped
    second = timer.tick()
    assert not second.full  # the full sweep runs at most every 15 minutes
    assert timer.last_full is not None
    timer.last_full -= timedelta(minutes=16)
    assert timer.tick().full
    db.expire_all()
    runs = db.scalars(select(SweepRun).order_by(SweepRun.id)).all()
    assert [(r.trigger, r.summary["full"], r.finished_at is not None) for r in runs] == [
        ("timer", True, True), ("timer", False, True), ("timer", True, True)]
