"""Run a simulation: draw the fates, open the world, play each patient's journey on the simulated clock, and commit in
batches (one transaction per batch: a failure loses at most the batch, and the database never holds a half-made
patient). Emails the services queue for synthetic patients are marked as never to be sent."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tenfour.audit.service import Actor, record
from tenfour.context import Ctx
from tenfour.db import simulated_time
from tenfour.errors import ValidationFailed
from tenfour.mail import MAX_ATTEMPTS, OUTBOX_FLAG, OutboxMessage
from tenfour.policy import Principal
from tenfour.referrals.models import Referral
from tenfour.simulate import cohort
from tenfour.simulate.journey import Journey, Outcome
from tenfour.simulate.params import SimulationParams
from tenfour.simulate.world import SimClock, World, low_cost_password_hashing, open_world

NOT_SENT = "not sent: synthetic patient (tenfour simulate)"
Progress = Callable[[int, int], None]


@dataclass
class Summary:
    """What a run made, with the drawn truth beside it (what the outcomes report should recover)."""

    clinic_slug: str
    clinic_created: bool
    preset: str
    seed: int
    patients: int
    funnel: dict[str, int]
    started: int
    completed_induction: int
    responders_drawn: int
    infusions: int
    checkins: int
    adverse_events: int
    alerts_answered: int
    boosters_accepted: int
    losses_confirmed: int
    measured_median_durability_days: float | None
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list, repr=False)

    def lines(self) -> list[str]:
        rate = (f"{self.responders_drawn / self.completed_induction:.0%}" if self.completed_induction else "n/a")
        median = (f"{self.measured_median_durability_days:g} days" if self.measured_median_durability_days
                  is not None else "n/a")
        return [
            f"Clinic {self.clinic_slug}{' (new)' if self.clinic_created else ''}: {self.patients} synthetic referrals "
            f"(preset {self.preset}, seed {self.seed}) in {self.seconds:.1f} s.",
            "Funnel: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.funnel.items())),
            f"Started {self.started}, completed the induction {self.completed_induction}; responders drawn among "
            f"completers {self.responders_drawn} ({rate}).",
            f"{self.infusions} infusions charted, {self.checkins} check-ins answered, {self.adverse_events} adverse "
            f"events, {self.alerts_answered} alerts answered, {self.boosters_accepted} boosters accepted.",
            f"Loss of response confirmed for {self.losses_confirmed} responders; median of those (uncensored only, "
            f"not the Kaplan-Meier estimate): {median}.",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outcomes"}


def _silence_outbox(db: Session, patient_ids: list[int]) -> None:
    """The services queue invitations for synthetic patients like any other: mark them as never to be sent."""
    if patient_ids:
        db.execute(update(OutboxMessage).where(OutboxMessage.patient_id.in_(patient_ids),
                                               OutboxMessage.sent_at.is_(None))
                   .values(attempts=MAX_ATTEMPTS, last_error=NOT_SENT))
    db.info.pop(OUTBOX_FLAG, None)


def run(factory: sessionmaker[Session], params: SimulationParams, *, patients: int, seed: int,
        clinic_slug: str | None = None, preset_name: str = "custom", base_url: str = "http://localhost:8000",
        batch_size: int = 25, progress: Progress | None = None, now: datetime | None = None,
        actor: Actor | None = None) -> Summary:
    """Simulate ``patients`` referrals into a synthetic clinic (``clinic_slug``, or a new one) through the services.

    ``now`` is the end of the synthetic timeline (default: the real now); every patient is referred
    ``params.enrolment_*_days_ago`` before it and followed up to it.
    """
    started_at = time.perf_counter()
    until = now or datetime.now(UTC)
    actor = actor or Actor.system("tenfour simulate")
    clock = SimClock(until)
    outcomes: list[Outcome] = []
    with low_cost_password_hashing():
        return _run(factory, params, patients, seed, clinic_slug, preset_name, base_url, batch_size, progress, until,
                    actor, clock, outcomes, started_at)


def _run(factory: sessionmaker[Session], params: SimulationParams, patients: int, seed: int, clinic_slug: str | None,
         preset_name: str, base_url: str, batch_size: int, progress: Progress | None, until: datetime, actor: Actor,
         clock: SimClock, outcomes: list[Outcome], started_at: float) -> Summary:
    with factory() as db, simulated_time(clock):
        world = open_world(db, actor, clinic_slug, patients, seed)
        clinic_id = world.clinic.id
        fates = cohort.draw(params, patients, seed, world.clinic.slug, until.astimezone(world.zone).date())
        index_0 = next(f for f in fates if f.index == 0)
        if db.scalar(select(Referral.id).where(Referral.clinic_id == clinic_id,
                                               Referral.email == index_0.person.email).limit(1)) is not None:
            raise ValidationFailed.single("seed", "unused_in_clinic",
                                          f"seed {seed} was already simulated into {world.clinic.slug}; choose "
                                          "another seed (the same seed makes the same people)")
        record(db, actor, "simulation.start", clinic_id=clinic_id, record_type="clinic", record_id=clinic_id,
               detail={"patients": patients, "seed": seed, "preset": preset_name})
        db.commit()
    for first in range(0, len(fates), batch_size):
        batch = fates[first:first + batch_size]
        with factory() as db, simulated_time(clock):
            world = _reload(db, world)
            made = [Journey(db, world, clock, params, fate, until, base_url).run() for fate in batch]
            _silence_outbox(db, [o.patient_id for o in made if o.patient_id is not None])
            db.commit()
        outcomes += made
        if progress is not None:
            progress(len(outcomes), len(fates))
    with factory() as db:
        summary = _summarise(world, params, preset_name, seed, outcomes, time.perf_counter() - started_at)
        record(db, actor, "simulation.finish", clinic_id=clinic_id, record_type="clinic", record_id=clinic_id,
               detail={k: v for k, v in summary.as_dict().items() if k in ("patients", "started", "checkins",
                                                                          "infusions", "seconds")})
        db.commit()
    return summary


def _reload(db: Session, world: World) -> World:
    """The world's clinic and staff, loaded in this batch's session."""
    from tenfour.accounts.models import User
    from tenfour.clinics.models import Clinic

    def again(ctx: Ctx) -> Ctx:
        assert ctx.principal is not None
        user = db.get(User, ctx.principal.user.id)
        assert user is not None
        return Ctx(Principal(user, ctx.principal.via), ctx.actor)

    clinic = db.get(Clinic, world.clinic.id)
    assert clinic is not None
    return replace(world, clinic=clinic, coordinator=again(world.coordinator), prescriber=again(world.prescriber),
                   nurse=again(world.nurse))


def _summarise(world: World, params: SimulationParams, preset_name: str, seed: int, outcomes: list[Outcome],
               seconds: float) -> Summary:
    funnel = Counter(o.fate.funnel.value for o in outcomes)
    started = [o for o in outcomes if o.infusions_given > 0]
    completed = [o for o in started if o.course_end is not None]
    losses = [o.measured_durability_days for o in completed if o.measured_durability_days is not None]
    return Summary(
        clinic_slug=world.clinic.slug, clinic_created=world.created_clinic, preset=preset_name, seed=seed,
        patients=len(outcomes), funnel=dict(funnel), started=len(started), completed_induction=len(completed),
        responders_drawn=sum(1 for o in completed if o.fate.responder), infusions=sum(o.infusions_given
                                                                                      for o in outcomes),
        checkins=sum(o.checkins_done for o in outcomes), adverse_events=sum(o.adverse_events for o in outcomes),
        alerts_answered=sum(o.alerts_answered for o in outcomes),
        boosters_accepted=sum(o.boosters_accepted for o in outcomes), losses_confirmed=len(losses),
        measured_median_durability_days=statistics.median(losses) if losses else None, seconds=round(seconds, 1),
        outcomes=outcomes)
