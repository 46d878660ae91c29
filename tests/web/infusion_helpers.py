"""Helpers for the chairside tests: a clock the test moves, signed plans, and a session walked to any step.

The clock is frozen on a recent past Wednesday at 08:30 in the test clinics' time zone (inside their opening hours),
so every booking fits and every 'observe 40 minutes' happens by moving the clock, never by waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan

CHICAGO = ZoneInfo("America/Chicago")


def recent_wednesday_0830() -> datetime:
    """The latest Wednesday 08:30 Chicago time at least two days ago (so real 'now' is always later)."""
    day = datetime.now(UTC).astimezone(CHICAGO).date() - timedelta(days=2)
    while day.weekday() != 2:
        day -= timedelta(days=1)
    return datetime.combine(day, time(8, 30), tzinfo=CHICAGO).astimezone(UTC)


@dataclass
class Clock:
    now: datetime = field(default_factory=recent_wednesday_0830)

    def advance(self, minutes: float) -> datetime:
        self.now = self.now + timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock()
    monkeypatch.setattr("tenfour.infusions.clock.now", lambda: frozen.now)
    return frozen


def sign_plan(db: Session, patient: Patient, prescriber_id: int, *, signed_at: datetime | None = None,
              **overrides: Any) -> TreatmentPlan:
    values: dict[str, Any] = {"clinic_id": patient.clinic_id, "patient_id": patient.id, "dose_ug_per_kg": 500,
                              "infusion_duration_min": 40, "created_by_id": prescriber_id,
                              "signed_at": signed_at or datetime.now(UTC) - timedelta(days=20),
                              "signed_by_id": prescriber_id}
    values.update(overrides)
    plan = TreatmentPlan(**values)
    db.add(plan)
    db.flush()
    return plan


GOOD_PRECHECKS = {"weight_kg": 80, "systolic_bp": 128, "diastolic_bp": 82, "heart_rate": 74, "spo2": 98,
                  "respiratory_rate": 14, "sedation": "alert", "fasting_hours": 6, "escort_confirmed": True,
                  "escort_name": "Dana (spouse)", "no_shift_in_window": True}
GOOD_VITALS = {"systolic_bp": 138, "diastolic_bp": 86, "heart_rate": 80, "spo2": 97, "respiratory_rate": 14,
               "sedation": "drowsy"}
STEPS = ("scheduled", "arrived", "prechecks_passed", "dosed", "verified", "infusing", "recovery", "ready",
         "discharged")


class Walker:
    """Drives one session through the API, step by step, as a nurse (a prescriber verifies the dose)."""

    def __init__(self, client: TestClient, as_api: Any, clock: Clock, patient: Patient, chair_id: int,
                 clinic: str = "north-test") -> None:
        self.client, self.as_api, self.clock = client, as_api, clock
        self.patient, self.chair_id, self.clinic = patient, chair_id, clinic
        self.session_id: int | None = None
        self.body: dict[str, Any] = {}

    def post(self, path: str, json: Any = None, role: str = "nurse", expect: int | None = 200) -> Any:
        response = self.client.post(f"/api/v1/infusion-sessions/{self.session_id}{path}", json=json or {},
                                    headers=self.as_api(role, self.clinic))
        if expect is not None:
            assert response.status_code == expect, response.text
        if response.status_code < 300:
            self.body = response.json()
        return response

    def to(self, step: str) -> dict[str, Any]:
        target = STEPS.index(step)
        if self.session_id is None:
            response = self.client.post("/api/v1/infusion-sessions", headers=self.as_api("nurse", self.clinic),
                                        json={"patient_id": self.patient.id, "chair_id": self.chair_id,
                                              "start": self.clock.now.isoformat()})
            assert response.status_code == 201, response.text
            self.session_id = response.json()["id"]
            self.body = response.json()
        actions = [
            lambda: self.post("/arrive"),
            lambda: self.post("/prechecks", GOOD_PRECHECKS),
            lambda: self.post("/dose", {}, expect=201),
            lambda: self.post(f"/dose/{self.body['doses'][-1]['id']}/verify", role="prescriber"),
            lambda: (self.clock.advance(20), self.post("/start"))[1],
            lambda: (self.clock.advance(41), self.post("/end"))[1],
            lambda: (self.clock.advance(40), self.post("/vitals", GOOD_VITALS, expect=201))[1],
            lambda: self.post("/discharge", {"alert_and_oriented": True, "escort_present": True}),
        ]
        done = self.done_steps()
        for index in range(done, target):
            actions[index]()
        return self.body

    def done_steps(self) -> int:
        status = self.body.get("status", "scheduled")
        doses = self.body.get("doses", [])
        if status == "prechecks_passed":
            if doses and doses[-1].get("verified_at"):
                return STEPS.index("verified")
            return STEPS.index("dosed") if doses else STEPS.index("prechecks_passed")
        if status == "recovery" and any(v["phase"] == "recovery" for v in self.body.get("vitals", [])):
            return STEPS.index("ready")
        return STEPS.index(status)


@pytest.fixture
def planned(db: Session, world: Any) -> TreatmentPlan:
    plan = sign_plan(db, world.patient_north, world.user("prescriber").id)
    db.commit()
    return plan


@pytest.fixture
def walker(client: TestClient, as_api: Any, clock: Clock, world: Any, planned: TreatmentPlan) -> Walker:
    chair = world.north.chairs[0]
    return Walker(client, as_api, clock, world.patient_north, chair.id)
