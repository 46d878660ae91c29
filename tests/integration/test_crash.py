"""Crash safety: the real server (`tenfour serve`, its own process, on loopback) takes a stream of check-ins, each
with its own Idempotency-Key, from several clients at once; it is killed with SIGKILL in the middle of the stream and
started again on the same database. The clients then retry every submission they got no answer for, with the same
key. Every acknowledged submission must be there exactly once, and every retried one too (on SQLite and
PostgreSQL, whichever TENFOUR_TEST_DATABASE_URL names)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.checkins_support import pcl5_answers, phq9_answers
from tests.helpers import scratch_database
from tests.helpers import test_database_url as database_kind
from tests.served import CheckinWorld, ServedApp, bearer, seed_checkin_world

from tenfour import migrate
from tenfour.checkins.models import CheckIn
from tenfour.db import make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.slow

CLIENTS = 4
KILL_AFTER_ACKS = 24  # SIGKILL once this many submissions have been acknowledged, while others are in flight
PER_CLIENT = 40  # each client's stream; the kill comes long before its end


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServedApp, CheckinWorld, object]]:
    with scratch_database(database_kind()) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with session_scope(factory) as db:
            world = seed_checkin_world(db)
        app = ServedApp(url, tmp_path)
        try:
            yield app, world, factory
        finally:
            app.stop()
            engine.dispose()


def submission(key: str, n: int) -> dict:
    # The note carries the key, so the stored check-in can be traced back to the submission that made it.
    return {"answers": {"pcl5": pcl5_answers(18 + n % 10, seed=n), "phq9": phq9_answers(4 + n % 3, 0)},
            "note": f"crash-test {key}"}


class Stream:
    """Submissions sent, and which of them the server acknowledged (201 received by the client)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: dict[str, dict] = {}
        self.acknowledged: set[str] = set()
        self.failed: dict[str, str] = {}  # key -> what the client saw instead of an answer
        self.enough = threading.Event()

    def run(self, base_url: str, headers: dict[str, str], patient_id: int, client_no: int) -> None:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for n in range(PER_CLIENT):
                key = f"crash-{client_no}-{n:04d}"
                body = submission(key, client_no * 1000 + n)
                with self.lock:
                    self.sent[key] = body
                try:
                    response = http.post(f"/api/v1/patients/{patient_id}/checkins", json=body,
                                         headers={**headers, "Idempotency-Key": key})
                except httpx.TransportError as error:  # the server died with this request in flight
                    with self.lock:
                        self.failed[key] = type(error).__name__
                    return
                with self.lock:
                    if response.status_code == 201:
                        self.acknowledged.add(key)
                        if len(self.acknowledged) >= KILL_AFTER_ACKS:
                            self.enough.set()
                    else:
                        self.failed[key] = f"{response.status_code} {response.text[:200]}"


def stored_notes(factory) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_scope(factory) as db:
        rows = db.execute(select(CheckIn.note, func.count()).where(CheckIn.status == "completed")
                          .group_by(CheckIn.note)).all()
    return {note.removeprefix("crash-test "): count for note, count in rows if note}


def test_every_acknowledged_checkin_survives_a_sigkill_exactly_once(served) -> None:  # type: ignore[no-untyped-def]
    app, world, factory = served
    app.start()
    headers = bearer(app.base_url, world.patient_email)
    stream = Stream()
    clients = [threading.Thread(target=stream.run, args=(app.base_url, headers, world.patient_id, n), daemon=True)
               for n in range(CLIENTS)]
    for client in clients:
        client.start()
    assert stream.enough.wait(timeout=120), f"the stream never reached {KILL_AFTER_ACKS} answers: {stream.failed}"
    app.kill()  # mid-stream: the clients are still sending
    for client in clients:
        client.join(timeout=60)
    assert not any(client.is_alive() for client in clients)

    acknowledged = set(stream.acknowledged)
    unanswered = set(stream.sent) - acknowledged
    assert not [k for k, why in stream.failed.items() if why[:3].isdigit()], f"refused before the kill: {stream.failed}"
    assert unanswered, "the kill came after the stream ended: nothing was in flight"

    # What the database holds right after the crash: every acknowledged check-in, once.
    after_crash = stored_notes(factory)
    assert {key: after_crash.get(key, 0) for key in acknowledged} == dict.fromkeys(acknowledged, 1)

    # Restart on the same database; each client retries what it got no answer for, with the same key and body.
    app.start()
    headers = bearer(app.base_url, world.patient_email)
    with httpx.Client(base_url=app.base_url, timeout=30) as http:
        url = f"/api/v1/patients/{world.patient_id}/checkins"
        retried = {key: http.post(url, json=stream.sent[key], headers={**headers, "Idempotency-Key": key})
                   for key in sorted(unanswered)}
        assert {key: r.status_code for key, r in retried.items()} == dict.fromkeys(unanswered, 201)
        # An acknowledged one sent again (the client never saw the answer it got) is replayed, not stored again.
        again = [http.post(url, json=stream.sent[key], headers={**headers, "Idempotency-Key": key})
                 for key in sorted(acknowledged)[:5]]
        assert [(r.status_code, r.headers.get("Idempotent-Replayed")) for r in again] == [(201, "true")] * 5

    stored = stored_notes(factory)
    assert stored == dict.fromkeys(stream.sent, 1), "every submission stored exactly once, nothing else"
    replayed_in_retry = sum(r.headers.get("Idempotent-Replayed") == "true" for r in retried.values())
    print(f"\ncrash test: {len(stream.sent)} submissions, {len(acknowledged)} acknowledged before SIGKILL, "
          f"{len(unanswered)} in flight at the kill and retried ({replayed_in_retry} of them had been stored before "
          f"the kill and were replayed), records lost: 0, duplicates: 0")
