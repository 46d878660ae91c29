"""A synthetic network for the outcomes identity test and bench/outcomes_bench.py: the check-ins network of
``checkins.synthetic`` (every relapse trajectory), extended with what the outcomes count — treatment plans, the
course's infusions (its JSON and the infusion sessions), boosters after the course (some at night UTC, so the local
day differs), the 24-hour check-in, vitals at the notify and stop lines, adverse events, CADSS-6 totals, referrals
and eligibility decisions, and patients across roles and agencies.

Pure data (dicts of column values with every column), deterministic for a seed; the bench writes them with COPY,
the test with plain INSERTs. Every row is ``is_synthetic`` where the table has the flag.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tenfour.checkins import synthetic as checkins_synthetic

ROLES = ("firefighter", "firefighter", "police", "ems", "dispatcher", "corrections", "other")
AGENCIES = ("Metro Fire (synthetic)", "County Sheriff (synthetic)", "City EMS (synthetic)", None)
COURSE_OFFSETS = (0, 2, 4, 7, 9, 11)  # Mon/Wed/Fri over two weeks: the synthetic course ends on day 11
TABLE_ORDER = ("patients", "treatment_plans", "referrals", "eligibility_decisions", "checkin_courses",
               "warning_signs", "checkins", "warning_sign_endorsements", "assessments", "infusion_sessions",
               "infusion_vitals", "infusion_adverse_events")


@dataclass
class Ids:
    """The next id of each table (the caller starts them above what the database holds)."""

    start: int
    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next.get(table, self.start)
        self.next[table] = value + 1
        return value


@dataclass
class Person:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in TABLE_ORDER})


def plan_row(ids: Ids, patient: dict[str, Any], protocol: str, infusions: int, signed: datetime) -> dict[str, Any]:
    return {"id": ids.take("treatment_plans"), "clinic_id": patient["clinic_id"], "patient_id": patient["id"],
            "version_number": 1, "supersedes_id": None, "protocol": protocol, "infusions_planned": infusions,
            "dose_ug_per_kg": 500, "infusion_duration_min": 40, "max_infusions_per_week": 3,
            "pregnancy_check_required": False, "notes": None, "eligibility_decision_id": None, "created_at": signed,
            "created_by_id": None, "signed_at": signed, "signed_by_id": None}


def session_row(ids: Ids, patient: dict[str, Any], chair_id: int, plan_id: int, at: datetime, given: bool,
             stopped: bool, now: datetime) -> dict[str, Any]:
    return {"id": ids.take("infusion_sessions"), "clinic_id": patient["clinic_id"], "patient_id": patient["id"],
            "chair_id": chair_id, "plan_id": plan_id, "status": "discharged" if given else "scheduled",
            "scheduled_start": at - timedelta(minutes=20), "scheduled_end": at + timedelta(minutes=80),
            "infusion_duration_min": 40, "booked_by_id": None, "created_at": now, "updated_at": now,
            "infusion_started_at": at if given else None,
            "infusion_ended_at": at + timedelta(minutes=40) if given else None, "stopped_early": stopped,
            "abort_reason": None, "rescheduled_from_id": None, "cadss_assessment_id": None,
            "duty_override_by_id": None, "duty_override_at": None, "duty_override_reason": None}


def vitals_row(ids: Ids, session: dict[str, Any], level: str) -> dict[str, Any]:
    at = session["infusion_started_at"] + timedelta(minutes=30)
    high = level != "ok"
    return {"id": ids.take("infusion_vitals"), "session_id": session["id"], "phase": "infusing", "taken_at": at,
            "systolic_bp": 185 if high else 128, "diastolic_bp": 95 if high else 80, "heart_rate": 88,
            "spo2": 96, "respiratory_rate": None, "sedation": None, "level": level, "reasons": [],
            "recorded_by_id": None, "recorded_at": at, "alert_id": None, "actions": [], "action_note": None,
            "actions_recorded_by_id": None, "actions_recorded_at": None}


def adverse_row(ids: Ids, session: dict[str, Any], event_type: str) -> dict[str, Any]:
    at = session["infusion_started_at"] + timedelta(minutes=25)
    return {"id": ids.take("infusion_adverse_events"), "session_id": session["id"], "event_type": event_type,
            "description": None, "severity": "mild", "onset_at": at, "action_taken": "Observed (synthetic)",
            "outcome": "resolved", "recorded_by_id": None, "recorded_at": at, "alert_id": None}


def cadss_row(ids: Ids, patient: dict[str, Any], session: dict[str, Any], total: int) -> dict[str, Any]:
    at = session["infusion_started_at"] + timedelta(minutes=45)
    return {"id": ids.take("assessments"), "clinic_id": patient["clinic_id"], "patient_id": patient["id"],
            "instrument_id": "cadss6", "instrument_version": "2021", "context": "infusion", "answers": {},
            "total": total, "band": None, "risk_level": None, "flags": [], "result": {"total": total},
            "entered_by": "staff", "entered_by_user_id": None, "administered_at": at, "created_at": at,
            "supersedes_id": None, "version_number": 1, "correction_reason": None}


def referral_row(ids: Ids, clinic_id: int, patient: dict[str, Any] | None, role: str | None, agency: str | None,
              at: datetime) -> dict[str, Any]:
    number = ids.take("referrals")
    return {"id": number, "clinic_id": clinic_id, "reference": f"SYN{number:09d}", "status": "intake_complete"
            if patient else "new", "referrer_relation": "peer_support", "referrer_name": None,
            "referrer_contact": None, "first_name": "Synthetic", "last_name": f"Referral {number}", "phone": None,
            "email": None, "preferred_contact": "phone", "contact_times": None, "ok_to_leave_message": False,
            "responder_role": role, "agency": agency, "reason": "Synthetic referral", "consent_to_contact": True,
            "patient_id": patient["id"] if patient else None, "is_synthetic": True, "created_at": at,
            "updated_at": at}


def decision_row(ids: Ids, patient: dict[str, Any], outcome: str, override: str | None, at: datetime) -> dict[str, Any]:
    return {"id": ids.take("eligibility_decisions"), "clinic_id": patient["clinic_id"], "patient_id": patient["id"],
            "rules_version": "synthetic", "inputs": {}, "thresholds": {}, "outcome": outcome, "reasons": [],
            "created_at": at, "created_by_id": None, "override_outcome": override,
            "override_reason": "Synthetic override" if override else None, "overridden_by_id": None,
            "overridden_at": at if override else None}


def generate(n_patients: int, checkins_per_patient: int, *, clinic_id: int, chair_id: int, as_of: date,
             seed: int = 8, first_id: int = 1) -> Iterator[Person]:
    """``n_patients`` patients of one clinic with everything the outcomes count, as of a day."""
    rng = random.Random(seed)
    ids = Ids(first_id)
    now = datetime.combine(as_of, time(12), tzinfo=UTC)
    network = checkins_synthetic.generate(
        n_patients, checkins_per_patient, clinic_id=clinic_id, as_of=as_of, seed=seed, first_patient_id=first_id,
        first_course_id=first_id, first_checkin_id=first_id * 40, first_sign_id=first_id * 10)
    for index, base in enumerate(network):
        person = Person()
        rows = person.rows
        patient = dict(base.patient)
        patient["responder_role"] = ROLES[index % len(ROLES)]
        patient["agency"] = AGENCIES[(index // 3) % len(AGENCIES)]
        patient["is_synthetic"] = True
        course = dict(base.course)
        start: date = course["course_start"]
        signed = datetime.combine(start - timedelta(days=9), time(15), tzinfo=UTC)
        induction = plan_row(ids, patient, "induction", 6, signed)
        rows["patients"].append(patient)
        rows["treatment_plans"].append(induction)
        course["plan_id"] = None if rng.random() < 0.1 else induction["id"]  # some histories came without a plan
        if rng.random() < 0.03:
            course["baseline_pcl5"] = None  # no PCL-5 before the first infusion
        # The course's infusions: given up to today; now and then one was never given (the course stopped short).
        skip = rng.choice((4, 5)) if rng.random() < 0.06 else None
        infusions = []
        for number, offset in enumerate(COURSE_OFFSETS):
            at = datetime.combine(start + timedelta(days=offset), time(14, rng.randint(0, 50)), tzinfo=UTC)
            given = at.date() <= as_of and number != skip
            infusions.append((at, given, False, induction["id"]))
        # Boosters after an ended course: a third of them, some given, some booked, some late in the UTC evening.
        end: date | None = course["course_end"]
        if end is not None and end <= as_of and rng.random() < 0.35:
            booster_plan = plan_row(ids, patient, "booster", 1, datetime.combine(end, time(15), tzinfo=UTC))
            rows["treatment_plans"].append(booster_plan)
            day = end + timedelta(days=rng.randint(14, 110))
            for _ in range(rng.choice((1, 1, 2))):
                hour = time(2, 30) if rng.random() < 0.3 else time(15, 10)  # 02:30 UTC is the evening before
                at = datetime.combine(day, hour, tzinfo=UTC)
                infusions.append((at, at.date() <= as_of, True, booster_plan["id"]))
                day += timedelta(days=rng.randint(20, 60))
        course["infusions"] = []
        for at, given, booster, plan_id in infusions:
            session = session_row(ids, patient, chair_id, plan_id, at, given, given and rng.random() < 0.02, now)
            rows["infusion_sessions"].append(session)
            course["infusions"].append({"session_id": session["id"], "at": at.isoformat(), "given": given,
                                        "booster": booster})
            if not given:
                continue
            roll = rng.random()
            if roll < 0.08:
                rows["infusion_vitals"].append(vitals_row(ids, session, "notify"))
            elif roll < 0.09:
                rows["infusion_vitals"].append(vitals_row(ids, session, "stop"))
            if rng.random() < 0.2:
                rows["infusion_vitals"].append(vitals_row(ids, session, "ok"))
            for event_type, chance in (("nausea_vomiting", 0.15), ("hypertension", 0.07), ("agitation", 0.02)):
                if rng.random() < chance:
                    rows["infusion_adverse_events"].append(adverse_row(ids, session, event_type))
                    if rng.random() < 0.1:  # a second report of the same kind: the infusion still counts once
                        rows["infusion_adverse_events"].append(adverse_row(ids, session, event_type))
            if rng.random() < 0.95:
                cadss = cadss_row(ids, patient, session, rng.randint(0, 14))
                rows["assessments"].append(cadss)
                session["cadss_assessment_id"] = cadss["id"]
        rows["checkin_courses"].append(course)
        checkins = [dict(c) for c in base.checkins]
        if checkins and rng.random() < 0.95:
            checkins[0]["kind"] = "after_first_infusion"  # the check-in the day after the first infusion
        rows["checkins"].extend(checkins)
        rows["warning_signs"].extend(base.signs)
        rows["warning_sign_endorsements"].extend(base.endorsements)
        referred_at = datetime.combine(start - timedelta(days=rng.randint(20, 60)), time(16), tzinfo=UTC)
        if rng.random() < 0.6:
            rows["referrals"].append(referral_row(ids, clinic_id, patient, None, None, referred_at))
        if rng.random() < 0.1:  # someone referred who never became a patient
            rows["referrals"].append(referral_row(ids, clinic_id, None, ROLES[(index + 1) % len(ROLES)],
                                               AGENCIES[index % len(AGENCIES)], referred_at))
        decided = referred_at + timedelta(days=7)
        if rng.random() < 0.2:  # an earlier decision, replaced by the latest
            rows["eligibility_decisions"].append(decision_row(ids, patient, "review", None, decided))
        if rng.random() < 0.92:
            outcome, override = rng.choice((("eligible", None), ("eligible", None), ("eligible", None),
                                            ("review", "eligible"), ("review", None), ("excluded", None)))
            rows["eligibility_decisions"].append(decision_row(ids, patient, outcome, override,
                                                           decided + timedelta(days=1)))
        yield person


def insert_all(db: Any, people: list[Person]) -> None:
    """Write people with plain INSERTs, table by table in foreign-key order (the test's loader; the bench COPYs)."""
    from sqlalchemy import insert

    from tenfour.db import Base, import_all_models

    import_all_models()
    tables = Base.metadata.tables
    for name in TABLE_ORDER:
        rows = [row for person in people for row in person.rows[name]]
        if rows:
            db.execute(insert(tables[name]), rows)
    db.flush()
