"""Who the synthetic patients are and what will happen to them: drawn up front from the seed, before any service is
called (pure: no database). The journey (journey.py) then plays each fate through the real services.

Durability is drawn as the day after the end of the induction course on which loss of response is *confirmed* by the
product's rule (two consecutive check-ins no longer meeting the response rule, ``core.relapse``): the quantity the
outcomes report estimates, and TenFour's measure of what Feder et al. 2021 report as time to loss of response. The
patient answers the check-in whose window holds that day on that day; as two check-ins after the course are needed,
the earliest day is the second-week check-in (docs/simulate.md).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tenfour.core import instruments
from tenfour.simulate.params import SimulationParams

FIRST_NAMES = ("Avery", "Blake", "Casey", "Dana", "Elliot", "Finley", "Gray", "Harper", "Indy", "Jordan", "Kai",
               "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sawyer", "Taylor", "Umber", "Vale",
               "Wren", "Xen", "Yael", "Zion", "Marisol", "Dmitri", "Ngozi", "Tomasz", "Aroha", "Ilse", "Rafferty",
               "Soledad", "Kenji", "Odalys", "Bram", "Ximena", "Torvald", "Anouk")
LAST_NAMES = ("Abernathy", "Bellweather", "Castellanos", "Delacroix", "Eastwood", "Fairbanks", "Galloway",
              "Hargreave", "Ibarra", "Jablonski", "Kowalczyk", "Lindqvist", "Montgomery", "Nakamura", "Okafor",
              "Prendergast", "Quintero", "Rasmussen", "Szymanski", "Thorsen", "Underhill", "Villanueva",
              "Whitlock", "Yoshida", "Zielinski", "Ashcombe", "Brannigan", "Corcoran", "Drummond", "Esposito")
ROLES = ("firefighter", "firefighter", "firefighter", "police", "police", "ems", "ems", "dispatcher", "corrections")
AGENCIES = {"firefighter": "Riverbend Fire District", "police": "Riverbend Police Department",
            "ems": "Tri-County EMS", "dispatcher": "Riverbend Emergency Communications",
            "corrections": "Riverbend County Jail", "other": "Riverbend County"}
RELATIONS = ("self", "self", "self", "self", "peer_support", "peer_support", "supervisor", "family")
EXCLUSIONS = ("psychosis_history", "aneurysmal_vascular_disease", "active_ketamine_or_pcp_misuse")
REASONS = ("Nightmares and poor sleep since a fatal call.", "Short-tempered at home and withdrawn from the crew.",
           "Flashbacks at work after a line-of-duty death.", "Not coping since a child fatality call.",
           "Drinking more after night shifts; avoiding the station.")


class Funnel(StrEnum):
    LOST_AT_REFERRAL = "lost_at_referral"  # declined or unreachable
    INTAKE_INCOMPLETE = "intake_incomplete"
    INELIGIBLE = "ineligible"
    TREATED = "treated"


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str
    phone: str
    date_of_birth: date
    sex: str
    responder_role: str
    agency: str
    relation: str
    reason: str
    weight_kg: int
    height_cm: int
    systolic_bp: int
    diastolic_bp: int


@dataclass(frozen=True)
class Fate:
    """One synthetic patient's path, drawn from the seed. ``durability_days`` is set for responders only."""

    index: int
    seed: int
    person: Person
    referred_at: datetime
    funnel: Funnel
    needs_review: bool
    baseline_pcl5: int
    responder: bool
    reduction: float  # share of the baseline at full effect
    relapsed_reduction: float
    durability_days: float | None
    induction_stops_after: int | None  # infusions given before stopping, or None (completes the course)
    followup_dropout_weeks: float | None  # weeks after the course at which they stop checking in
    research_consent: bool
    share_consent: bool
    declined: bool  # lost at referral: declined (else unreachable)


def _durability(params: SimulationParams, rng: random.Random) -> float:
    return rng.weibullvariate(params.durability_scale(), params.shape())


def draw(params: SimulationParams, n_patients: int, seed: int, clinic_slug: str, today: date) -> list[Fate]:
    """``n_patients`` fates, in the order their referrals arrive. Deterministic for a seed."""
    rng = random.Random(f"tenfour-simulate:{seed}")
    span = params.enrolment_start_days_ago - params.enrolment_end_days_ago
    first_day = datetime.combine(today - timedelta(days=params.enrolment_start_days_ago), time(0), tzinfo=UTC)
    fates = []
    for index in range(n_patients):
        role = rng.choice(ROLES)
        sex = "male" if rng.random() < 0.75 else "female"
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        person = Person(
            first_name=first, last_name=last, email=f"{first}.{last}.{seed}-{index}@{clinic_slug}.sim.example.com"
            .lower(), phone=f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}",
            date_of_birth=date(1962, 1, 1) + timedelta(days=rng.randint(0, 365 * 38)), sex=sex, responder_role=role,
            agency=f"{AGENCIES[role]} (synthetic)", relation=rng.choice(RELATIONS), reason=rng.choice(REASONS),
            weight_kg=rng.randint(62, 118), height_cm=rng.randint(160, 195), systolic_bp=rng.randint(110, 136),
            diastolic_bp=rng.randint(66, 86))
        roll = rng.random()
        if roll < params.referral_lost_rate:
            funnel = Funnel.LOST_AT_REFERRAL
        elif roll < params.referral_lost_rate + params.intake_incomplete_rate:
            funnel = Funnel.INTAKE_INCOMPLETE
        elif roll < params.referral_lost_rate + params.intake_incomplete_rate + params.ineligible_rate:
            funnel = Funnel.INELIGIBLE
        else:
            funnel = Funnel.TREATED
        responder = rng.random() < params.response_probability
        low, high = params.responder_reduction if responder else params.non_responder_reduction
        stops = rng.randint(2, 5) if rng.random() < params.induction_dropout_rate else None
        weekly = params.followup_dropout_per_week
        dropout_weeks = rng.expovariate(-math.log(1 - weekly)) if 0 < weekly < 1 else (0.0 if weekly >= 1 else None)
        fates.append(Fate(
            index=index, seed=rng.getrandbits(32), person=person,
            referred_at=first_day + timedelta(seconds=rng.uniform(0, span * 86400)), funnel=funnel,
            needs_review=rng.random() < params.review_rate,
            baseline_pcl5=max(34, min(78, round(rng.gauss(params.baseline_pcl5_mean, params.baseline_pcl5_sd)))),
            responder=responder, reduction=rng.uniform(low, high),
            relapsed_reduction=rng.uniform(*params.relapsed_reduction),
            durability_days=_durability(params, rng) if responder else None, induction_stops_after=stops,
            followup_dropout_weeks=dropout_weeks, research_consent=rng.random() < params.research_consent_rate,
            share_consent=rng.random() < params.share_with_own_clinician_rate, declined=rng.random() < 0.5))
    return sorted(fates, key=lambda f: f.referred_at)


def answers_for(instrument_id: str, total: int, rng: random.Random) -> dict[str, int]:
    """Answers to every item of an instrument (none of the conditional ones) adding up to ``total`` (clamped)."""
    instrument = instruments.get(instrument_id)
    items = [item for item in instrument.items if item.asked_when is None]
    top = {item.id: max(o.value for o in item.options) for item in items}
    total = max(0, min(total, sum(top.values())))
    answers = dict.fromkeys(top, 0)
    ids = list(top)
    while total > 0:
        item = rng.choice(ids)
        if answers[item] < top[item]:
            answers[item] += 1
            total -= 1
    return answers


def phq9_answers(total: int, item9: int, rng: random.Random) -> dict[str, int]:
    """PHQ-9 answers adding up to ``total`` with item 9 (thoughts of self-harm) set to ``item9``."""
    answers = answers_for("phq9", max(0, total - item9), random.Random(rng.random()))
    while answers["q9"]:  # keep item 9 out of the random share, then set it
        answers["q9"] -= 1
        movable = [k for k, v in answers.items() if k != "q9" and v < 3]
        if movable:
            answers[rng.choice(movable)] += 1
    answers["q9"] = item9
    return answers


def noisy(value: float, rng: random.Random, spread: int = 2) -> int:
    return round(value) + rng.randint(-spread, spread)


def as_dict(fate: Fate) -> dict[str, Any]:
    """The drawn truth of one patient, for the simulation's summary (what the report should recover)."""
    return {"index": fate.index, "funnel": fate.funnel.value, "responder": fate.responder,
            "durability_days": fate.durability_days, "baseline_pcl5": fate.baseline_pcl5}
