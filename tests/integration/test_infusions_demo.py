"""The demo's infusion history: past sessions complete and consistent with the rules, and today's chairs at the north
clinic in every phase, so the chairside board is alive when a nurse signs in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.helpers import scratch_database

from tenfour import demo, migrate
from tenfour.clinics.models import Clinic
from tenfour.core import rosters
from tenfour.db import make_engine, make_session_factory
from tenfour.infusions.models import (
    InfusionAdverseEvent,
    InfusionDischarge,
    InfusionDose,
    InfusionSession,
    InfusionVitals,
)
from tenfour.patients.models import Patient
from tenfour.patients.rosters import roster_for


@pytest.fixture(scope="module")
def seeded(database_url: str) -> Iterator[Session]:
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as db:
            assert demo.seed(db)
            db.commit()
            yield db
        engine.dispose()


def test_todays_north_chairs_are_in_every_phase(seeded: Session) -> None:
    north = seeded.scalars(select(Clinic).where(Clinic.slug == "north")).one()
    today = datetime.now(UTC).date()
    open_steps = Counter(s.status for s in seeded.scalars(select(InfusionSession).where(
        InfusionSession.clinic_id == north.id, InfusionSession.status != "discharged")))
    assert open_steps == Counter({"infusing": 2, "recovery": 1, "prechecks_passed": 1, "arrived": 1,
                                  "scheduled": 1}), today
    waiting = seeded.scalars(select(InfusionDose).join(InfusionSession).where(
        InfusionSession.status == "prechecks_passed")).one()
    assert waiting.verified_at is None  # a dose for the nurse to verify
    notify = seeded.scalars(select(InfusionVitals).join(InfusionSession).where(
        InfusionSession.status == "infusing", InfusionVitals.level == "notify")).one()
    assert notify.alert_id is not None and not notify.actions


def test_past_sessions_are_complete(seeded: Session) -> None:
    done = seeded.scalars(select(InfusionSession).where(InfusionSession.status == "discharged")).all()
    assert len(done) > 50
    for session in done[:40]:
        assert [t.to_status for t in session.transitions] == [
            "scheduled", "arrived", "prechecks_passed", "infusing", "recovery", "discharged"]
        assert session.cadss_assessment_id is not None
        discharge = seeded.scalars(select(InfusionDischarge).where(InfusionDischarge.session_id == session.id)).one()
        assert session.infusion_ended_at is not None
        assert (discharge.return_to_duty_at - session.infusion_ended_at).total_seconds() == 24 * 3600
    assert seeded.scalar(select(func.count()).select_from(InfusionAdverseEvent)) > 0
    treated = seeded.scalars(select(Patient).where(Patient.status.in_(("active", "maintenance", "discharged"))))
    with_sessions = set(seeded.scalars(select(InfusionSession.patient_id)))
    assert {p.id for p in treated} <= with_sessions


def test_past_sessions_respect_the_rosters_no_duty_window(seeded: Session) -> None:
    clinics = {c.id: c for c in seeded.scalars(select(Clinic))}
    for session in seeded.scalars(select(InfusionSession).where(InfusionSession.status == "discharged")):
        patient = seeded.get(Patient, session.patient_id)
        assert patient is not None
        roster = roster_for(patient, clinics[session.clinic_id].timezone)
        if roster is None or session.duty_override_at is not None:
            continue
        assert session.infusion_started_at and session.infusion_ended_at
        assert rosters.duty_conflict(roster, session.infusion_started_at, session.infusion_ended_at, 24) is None
