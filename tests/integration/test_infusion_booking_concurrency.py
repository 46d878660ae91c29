"""Concurrent bookings on PostgreSQL: eight people book the same chair at the same moment, from eight threads with
their own connections and transactions; exactly one wins and the others are told the chair is taken. The same for
one patient booked into different chairs at once. (The chair row lock: SELECT ... FOR UPDATE.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests import factories
from tests.helpers import scratch_database
from tests.web.infusion_helpers import Clock, sign_plan

from tenfour import migrate
from tenfour.accounts.models import User
from tenfour.clinics.models import Clinic
from tenfour.context import Ctx
from tenfour.db import make_engine, make_session_factory
from tenfour.errors import Conflict
from tenfour.infusions import booking
from tenfour.infusions.models import InfusionSession
from tenfour.policy import Principal

pytestmark = pytest.mark.postgres
THREADS = 8


@dataclass
class Setup:
    factory: sessionmaker[Session]
    clinic_id: int
    chair_ids: list[int]
    nurse_id: int
    patient_ids: list[int]


@pytest.fixture
def fresh_database(database_url: str) -> Iterator[Engine]:
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=THREADS + 2)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def setup(fresh_database: Engine, monkeypatch: pytest.MonkeyPatch) -> Setup:
    clock = Clock()
    monkeypatch.setattr("tenfour.infusions.clock.now", lambda: clock.now)
    factory = make_session_factory(fresh_database)
    with factory() as db:
        clinic = factories.make_clinic(db, name="Race Clinic", slug="race")
        nurse = factories.make_user(db, role="nurse", clinics=[clinic])
        prescriber = factories.make_user(db, role="prescriber", clinics=[clinic])
        patients = [factories.make_patient(db, clinic, last_name=f"Racer{i}") for i in range(THREADS)]
        for patient in patients:
            sign_plan(db, patient, prescriber.id)
        db.commit()
        return Setup(factory, clinic.id, [c.id for c in clinic.chairs], nurse.id, [p.id for p in patients])


def _race(setup: Setup, calls: list[tuple[int, int]]) -> list[object]:
    """Run booking.book for each (patient, chair) in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)
    start = Clock().now

    def run(index: int, patient_id: int, chair_id: int) -> None:
        with setup.factory() as db:
            nurse = db.get(User, setup.nurse_id)
            assert nurse is not None
            ctx = Ctx.for_principal(Principal(nurse, "api", None, setup.clinic_id))
            barrier.wait()
            try:
                session = booking.book(db, ctx, patient_id=patient_id, chair_id=chair_id, start=start)
                db.commit()
                outcomes[index] = session.id
            except Conflict as error:
                db.rollback()
                outcomes[index] = error.problems[0].rule
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                db.rollback()
                outcomes[index] = repr(error)

    threads = [threading.Thread(target=run, args=(i, p, c)) for i, (p, c) in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_only_one_of_many_concurrent_bookings_of_a_chair_wins(setup: Setup) -> None:
    chair = setup.chair_ids[0]
    outcomes = _race(setup, [(patient, chair) for patient in setup.patient_ids])
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(winners) == 1, outcomes
    assert sorted(o for o in outcomes if not isinstance(o, int)) == ["chair_taken"] * (THREADS - 1)
    with setup.factory() as db:
        held = db.scalar(select(func.count()).select_from(InfusionSession).where(InfusionSession.chair_id == chair))
        assert held == 1
        assert db.get(Clinic, setup.clinic_id) is not None


def test_one_patient_booked_into_different_chairs_at_once_wins_once(setup: Setup) -> None:
    patient = setup.patient_ids[0]
    outcomes = _race(setup, [(patient, chair) for chair in setup.chair_ids])
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(winners) == 1, outcomes
    assert {o for o in outcomes if not isinstance(o, int)} == {"patient_double_booked"}
    with setup.factory() as db:
        count = db.scalar(select(func.count()).select_from(InfusionSession)
                          .where(InfusionSession.patient_id == patient))
        assert count == 1
