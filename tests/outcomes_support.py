"""Helpers for the outcomes tests: a synthetic network (outcomes.synthetic, plain INSERTs) and single patients whose
course and check-ins are written out by hand, so their outcomes can be worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenfour.clinics.models import Chair, Clinic
from tenfour.outcomes import synthetic
from tenfour.patients.models import Patient

_numbers = itertools.count(1)
AS_OF = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 17, tzinfo=UTC)  # noon in Chicago, 10:00 in Los Angeles: the same as-of day


def load_network(db: Session, clinic: Clinic, n: int, seed: int) -> None:
    chair = db.scalars(select(Chair).where(Chair.clinic_id == clinic.id)).first()
    assert chair is not None
    first = (db.scalar(select(Patient.id).order_by(Patient.id.desc())) or 0) + 1000 + seed * 100_000
    people = list(synthetic.generate(n, 20, clinic_id=clinic.id, chair_id=chair.id, as_of=AS_OF, seed=seed,
                                     first_id=first))
    synthetic.insert_all(db, people)


def add_course(db: Session, clinic: Clinic, *, baseline: int | None, scores: list[tuple[int, int | None]],
               start: date, booster_day: int | None = None, role: str = "firefighter",
               agency: str | None = None) -> Patient:
    """A patient with a six-infusion course from ``start`` (ends day 11) and check-ins ``(day, PCL-5)``; day 1 is the
    24-hour check-in. A score of None is a missed check-in."""
    chair = db.scalars(select(Chair).where(Chair.clinic_id == clinic.id)).first()
    assert chair is not None
    patient = Patient(clinic_id=clinic.id, record_number=f"H{next(_numbers):06d}", first_name="Hand",
                      last_name="Worked", date_of_birth=date(1980, 1, 1), responder_role=role, agency=agency)
    db.add(patient)
    db.flush()
    people_rows: dict[str, list[dict]] = {t: [] for t in synthetic.TABLE_ORDER}
    ids = synthetic.Ids(900_000 + patient.id * 100)
    now = datetime.combine(AS_OF, time(12), tzinfo=UTC)
    plan = synthetic.plan_row(ids, {"clinic_id": clinic.id, "id": patient.id}, "induction", 6, now - timedelta(400))
    people_rows["treatment_plans"].append(plan)
    infusions = []
    for offset in synthetic.COURSE_OFFSETS:
        at = datetime.combine(start + timedelta(days=offset), time(15), tzinfo=UTC)
        session = synthetic.session_row(ids, {"clinic_id": clinic.id, "id": patient.id}, chair.id, plan["id"], at, True,
                                     False, now)
        people_rows["infusion_sessions"].append(session)
        infusions.append({"session_id": session["id"], "at": at.isoformat(), "given": True, "booster": False})
    if booster_day is not None:
        at = datetime.combine(start + timedelta(days=booster_day), time(15), tzinfo=UTC)
        infusions.append({"session_id": None, "at": at.isoformat(), "given": True, "booster": True})
    course_id = ids.take("checkin_courses")
    people_rows["checkin_courses"].append({
        "id": course_id, "clinic_id": clinic.id, "patient_id": patient.id, "plan_id": plan["id"], "is_current": True,
        "timezone": "America/Chicago", "course_start": start, "course_end": start + timedelta(days=11),
        "started": True, "infusions_planned": 6, "infusions": infusions, "baseline_pcl5": baseline,
        "baseline_assessment_id": None, "tracking_since": start, "horizon_end": None, "source_fingerprint": None,
        "created_at": now, "synced_at": now})
    for day, score in scores:
        when = datetime.combine(start + timedelta(days=day), time(18), tzinfo=UTC)
        done = score is not None
        people_rows["checkins"].append({
            "id": ids.take("checkins"), "clinic_id": clinic.id, "patient_id": patient.id, "course_id": course_id,
            "kind": "after_first_infusion" if day == 1 else "weekly", "due_on": when.date(), "infusion_index": None,
            "week": None, "pcl5_form": "pcl5-week", "status": "completed" if done else "missed",
            "created_at": now, "cancelled_at": None, "missed_at": None if done else when,
            "completed_at": when if done else None, "completed_on": when.date() if done else None,
            "submission_key": None, "entered_by": "patient" if done else None, "entered_by_user_id": None,
            "via": None, "pcl5_assessment_id": None, "phq9_assessment_id": None, "cssrs_assessment_id": None,
            "pcl5_total": score, "pcl5_short_total": None, "phq9_total": None, "phq9_item9": None,
            "cssrs_risk": None, "signs_endorsed": 0, "note": None})
    person = synthetic.Person(people_rows)
    synthetic.insert_all(db, [person])
    return patient
