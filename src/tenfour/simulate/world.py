"""The place a simulation runs: a synthetic clinic (named, or a new one), staff of each role to act in it, the clock,
and the chairs' free slots. Simulated patients go only into synthetic clinics: a real clinic's outcomes must never
mix with invented patients."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.accounts import passwords
from tenfour.accounts import service as accounts
from tenfour.accounts.models import ClinicMembership, Role, User
from tenfour.audit.service import Actor
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics import service as clinics
from tenfour.clinics.models import WEEKDAYS, Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.errors import ValidationFailed
from tenfour.policy import Principal

USER_AGENT = "tenfour simulate (synthetic data)"
PATIENTS_PER_CHAIR = 35  # chairs of a new synthetic clinic: enough for every induction series in the window
MAX_CHAIRS = 100  # a clinic's limit (clinics.service)


@dataclass
class SimClock:
    """The simulated 'now' (aware, UTC) that ``db.simulated_time`` serves to every service."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when
        return when

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@dataclass
class World:
    clinic: Clinic
    created_clinic: bool
    coordinator: Ctx
    prescriber: Ctx
    nurse: Ctx
    chair_ids: list[int]
    chair_minutes: int
    prep_min: int
    taken: set[tuple[int, datetime]] = field(default_factory=set)  # (chair, start) booked by this simulation

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)

    def slots(self, day: date) -> list[datetime]:
        """Aware starts on ``day`` at which a whole chair booking fits the clinic's opening hours."""
        starts = []
        for opens, closes in self.clinic.opening_hours.get(WEEKDAYS[day.weekday()]) or []:
            start = datetime.combine(day, time.fromisoformat(opens), tzinfo=self.zone)
            close = datetime.combine(day, time.fromisoformat(closes), tzinfo=self.zone)
            while start + timedelta(minutes=self.chair_minutes) <= close:
                starts.append(start)
                start += timedelta(minutes=self.chair_minutes)
        return starts


@contextmanager
def low_cost_password_hashing() -> Iterator[None]:
    """Argon2id at its lowest cost while synthetic accounts are made.

    Every synthetic account (each patient's, from their invitation) gets a password of 144 random bits that is
    thrown away at once: nobody can sign in with it, and its hash would need 2**143 guesses whatever the cost.
    The work factor protects guessable human passwords; here it would only cost a third of a second per patient
    (on a 2-core machine) for no protection. Outside this block hashing is as configured; a real password set
    later on such an account is hashed at full cost, and a sign-in rehashes a low-cost hash (needs_rehash)."""
    original = passwords._hasher
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._hasher = lambda: cheap  # type: ignore[assignment]
    try:
        yield
    finally:
        passwords._hasher = original  # type: ignore[assignment]


def _ctx(user: User) -> Ctx:
    return Ctx(Principal(user, "api"), Actor(user.id, f"{user.full_name} <{user.email}>", user.role, None,
                                             USER_AGENT))


def _staff(db: Session, clinic: Clinic, role: Role, actor: Actor) -> User:
    user = db.scalars(select(User).join(ClinicMembership, ClinicMembership.user_id == User.id)
                      .where(ClinicMembership.clinic_id == clinic.id, User.role == role.value,
                             User.is_active.is_(True)).order_by(User.id)).first()
    if user is not None:
        return user
    return accounts.create_user(db, actor, email=f"sim-{role.value}@{clinic.slug}.sim.example.com",
                                full_name=f"Synthetic {role.value.title()}", role=role.value,
                                password=secrets.token_urlsafe(24), clinic_ids=[clinic.id])


def open_world(db: Session, actor: Actor, clinic_slug: str | None, n_patients: int, seed: int,
               timezone: str = "America/Chicago") -> World:
    """The clinic to fill (a synthetic one named by slug, or a new synthetic clinic) and its acting staff."""
    created = False
    if clinic_slug:
        clinic = clinics_repository.by_slug(db, clinic_slug)
        if clinic is None:
            raise ValidationFailed.single("clinic", "exists", f"no clinic with slug '{clinic_slug}'")
        if not clinic.is_synthetic:
            raise ValidationFailed.single("clinic", "synthetic_only",
                                          f"'{clinic_slug}' is a real clinic: simulated patients go only into a "
                                          "synthetic (demo) clinic, or leave --clinic out for a new one")
        if not [c for c in clinic.chairs if c.is_active]:
            raise ValidationFailed.single("clinic", "has_chairs", f"'{clinic_slug}' has no active chair")
    else:
        slug, n = f"sim-{seed}", 1
        while clinics_repository.by_slug(db, slug) is not None:
            n += 1
            slug = f"sim-{seed}-{n}"
        clinic = clinics.create_clinic(db, actor, name=f"Synthetic cohort {slug[4:]}", timezone=timezone, slug=slug,
                                       chairs=min(MAX_CHAIRS, max(4, math.ceil(n_patients / PATIENTS_PER_CHAIR))),
                                       phone="(555) 010-0000", is_synthetic=True)
        created = True
    values = effective_policy(db, clinic.id)
    prep, recovery = int(values["schedule.prep_min"]), int(values["schedule.recovery_min"])
    duration = int(values["dose.infusion_duration_min"])
    return World(clinic=clinic, created_clinic=created, coordinator=_ctx(_staff(db, clinic, Role.COORDINATOR, actor)),
                 prescriber=_ctx(_staff(db, clinic, Role.PRESCRIBER, actor)),
                 nurse=_ctx(_staff(db, clinic, Role.NURSE, actor)),
                 chair_ids=[c.id for c in clinic.chairs if c.is_active], chair_minutes=prep + duration + recovery,
                 prep_min=prep)
