"""A short load run on loopback (tests/load.py): mixed patient and staff traffic against the real server for 30 s.
Zero errors, and the server's memory at the end no more than a bound above its memory at half time. Nothing here is
timed: the figures are printed (-s) and recorded in docs/reliability.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.helpers import scratch_database
from tests.helpers import test_database_url as database_kind
from tests.load import WRITERS, run_load
from tests.served import ServedApp, seed_checkin_patients, seed_checkin_world

from tenfour import migrate
from tenfour.checkins.models import CheckIn
from tenfour.db import make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.slow

SECONDS = 30
# Between half time and the end the server may grow by at most this much: caches warm up in the first half; a leak
# of even a few KiB per request would pass it within the second half's thousands of requests.
RSS_GROWTH_BOUND_KIB = 16 * 1024


def test_mixed_traffic_has_no_errors_and_memory_does_not_grow(tmp_path: Path) -> None:
    with scratch_database(database_kind()) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            world, writers = seed_checkin_world(db, "load-read"), seed_checkin_patients(db, "load-write", WRITERS)
        app = ServedApp(url, tmp_path)
        app.start()
        try:
            result = run_load(app, world, writers, SECONDS)
        finally:
            app.stop()
        with session_scope(factory) as db:
            stored = db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.status == "completed"))
        engine.dispose()
    print(f"\nload: {result.summary()}")
    assert result.errors == []
    assert result.requests["patient: check-in"] > 0 and result.requests["staff: patients"] > 0
    # A retried check-in (same Idempotency-Key) is never stored twice under load.
    assert stored == result.requests["patient: check-in"]
    assert result.rss_kib_second_half - result.rss_kib_first_half <= RSS_GROWTH_BOUND_KIB, result.summary()
