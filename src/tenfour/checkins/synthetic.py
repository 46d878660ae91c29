"""A synthetic network of patients, courses and check-ins, for the sweep benchmark and its identical-states test.

Pure data (dicts of column values), deterministic for a seed: bench/sweep_bench.py writes it with PostgreSQL COPY,
the test suite with plain INSERTs. Trajectories cover every rule: responders who stay well, early relapse, slow drift,
non-responders, a suicide-risk answer, warning signs, same-day check-ins, 8-item short forms, missed and pending
check-ins, courses still in progress.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

KINDS = ("stable", "stable", "stable", "relapse", "drift", "non_responder", "flagged", "signs", "silent", "in_course")
SIGN_LABELS = ("Sleep change or nightmares", "Irritability or anger", "Avoiding people, places or reminders",
               "Pulling away from family, friends or crew", "On edge, always on guard")


@dataclass
class Patient:
    """One synthetic patient: the rows to write for them (``id`` values are assigned by the caller's offsets)."""

    patient: dict[str, Any]
    course: dict[str, Any]
    checkins: list[dict[str, Any]] = field(default_factory=list)
    signs: list[dict[str, Any]] = field(default_factory=list)
    endorsements: list[dict[str, Any]] = field(default_factory=list)


def _score(kind: str, baseline: int, week: float, rng: random.Random) -> int:
    low = baseline * 0.5
    if kind == "non_responder":
        value = baseline * (1 - 0.1 * min(week, 2) / 2)
    elif kind == "relapse" and week > 6:
        value = low + (week - 6) * 6
    elif kind == "drift" and week > 4:
        value = low + (week - 4) * 2.2
    else:
        value = baseline - (baseline - low) * min(1.0, week / 2)
    return max(0, min(80, round(value + rng.randint(-2, 2))))


def generate(n_patients: int, checkins_per_patient: int, *, clinic_id: int, as_of: date, seed: int = 6,
             first_patient_id: int = 1, first_course_id: int = 1, first_checkin_id: int = 1,
             first_sign_id: int = 1) -> Iterator[Patient]:
    """``n_patients`` patients of one clinic, about ``checkins_per_patient`` completed check-ins each, as of a day."""
    rng = random.Random(seed)
    checkin_id, sign_id = first_checkin_id, first_sign_id
    now = datetime.combine(as_of, time(12), tzinfo=UTC)
    for index in range(n_patients):
        pid, cid = first_patient_id + index, first_course_id + index
        kind = KINDS[index % len(KINDS)] if index % 7 else rng.choice(KINDS)
        baseline = rng.randint(35, 70)
        n = max(3, checkins_per_patient + rng.randint(-3, 3))
        span = 12 + (n - 6) * 7 if kind != "in_course" else 10  # six check-ins in the course, then weekly
        start = as_of - timedelta(days=span + rng.randint(2, 20))
        end = start + timedelta(days=11)
        if kind == "in_course":
            start, end = as_of - timedelta(days=rng.randint(3, 9)), as_of + timedelta(days=4)
        out = Patient(
            patient={"id": pid, "clinic_id": clinic_id, "record_number": f"SYN{pid:08d}", "first_name": "Synthetic",
                     "last_name": f"Patient {pid}", "date_of_birth": date(1980, 1, 1) + timedelta(days=pid % 9000),
                     "sex": "unknown", "preferred_contact": "email", "responder_role": "firefighter",
                     "status": "active", "is_synthetic": True, "created_at": now, "updated_at": now},
            course={"id": cid, "clinic_id": clinic_id, "patient_id": pid, "plan_id": None, "is_current": True,
                    "timezone": "America/Chicago", "course_start": start,
                    "course_end": None if kind == "in_course" and rng.random() < 0.5 else end, "started": True,
                    "infusions_planned": 6, "infusions": [], "baseline_pcl5": baseline,
                    "baseline_assessment_id": None, "tracking_since": start, "horizon_end": as_of + timedelta(120),
                    "source_fingerprint": None, "created_at": now, "synced_at": now})
        signs = []
        if kind in ("signs", "relapse") or rng.random() < 0.1:
            for label in rng.sample(SIGN_LABELS, 4):
                signs.append({"id": sign_id, "clinic_id": clinic_id, "patient_id": pid, "code": None, "label": label,
                              "added_at": now - timedelta(days=400), "added_by_id": None, "removed_at": None,
                              "removed_by_id": None})
                sign_id += 1
        out.signs = signs
        days = [start + timedelta(days=d) for d in (1, 3, 5, 8, 10, 12)]
        days += [end + timedelta(weeks=w) for w in range(1, max(1, n - 5))]
        days = [d for d in days if d <= as_of][:n]
        silent_after = len(days) - 2 if kind == "silent" else len(days)
        for position, day in enumerate(days):
            week = (day - start).days / 7
            status = "completed" if position < silent_after else "missed"
            if rng.random() < 0.04 and position < silent_after - 1:
                status = "missed"
            short = rng.random() < 0.08
            score = _score(kind, baseline, week, rng)
            item9 = 1 if kind == "flagged" and position == len(days) - 1 else (1 if rng.random() < 0.01 else 0)
            endorsed = (rng.randint(3, 4) if kind == "signs" and position == len(days) - 1 else
                        rng.choice((0, 0, 0, 1, 2))) if signs else 0
            repeats = 2 if rng.random() < 0.03 else 1  # now and then two check-ins on one day
            for repeat in range(repeats):
                completed = status == "completed"
                at = datetime.combine(day, time(18 + repeat, rng.randint(0, 59)), tzinfo=UTC)
                row = {"id": checkin_id, "clinic_id": clinic_id, "patient_id": pid, "course_id": cid,
                       "kind": "weekly" if position >= 6 else "after_infusion", "due_on": day,
                       "infusion_index": None, "week": None, "pcl5_form": "pcl5-8" if short else "pcl5-week",
                       "status": status, "created_at": now - timedelta(days=400), "cancelled_at": None,
                       "missed_at": at if status == "missed" else None, "completed_at": at if completed else None,
                       "completed_on": day if completed else None, "submission_key": None,
                       "entered_by": "patient" if completed else None, "entered_by_user_id": None,
                       "via": "link" if completed else None, "pcl5_assessment_id": None, "phq9_assessment_id": None,
                       "cssrs_assessment_id": None,
                       "pcl5_total": None if short or not completed else min(80, score + repeat),
                       "pcl5_short_total": round(score * 0.4) if short and completed else None,
                       "phq9_total": round(score * 0.3) if completed else None,
                       "phq9_item9": item9 if completed else None,
                       "cssrs_risk": ("high" if rng.random() < 0.3 else "low") if item9 and completed else None,
                       "signs_endorsed": endorsed if completed else 0, "note": None}
                out.checkins.append(row)
                if completed and endorsed:
                    for sign in signs[:endorsed]:
                        out.endorsements.append({"checkin_id": checkin_id, "warning_sign_id": sign["id"]})
                checkin_id += 1
        if not out.checkins:
            yield out
            continue
        # The next scheduled check-in: pending, a week after the last one (overdue for the silent ones).
        next_day = (days[-1] if days else as_of) + timedelta(days=7)
        out.checkins.append({**out.checkins[-1], "id": checkin_id, "due_on": next_day, "status": "pending",
                             "completed_at": None, "completed_on": None, "missed_at": None, "entered_by": None,
                             "via": None, "pcl5_total": None, "pcl5_short_total": None, "phq9_total": None,
                             "phq9_item9": None, "cssrs_risk": None, "signs_endorsed": 0})
        checkin_id += 1
        yield out
