"""The chart's check-in schedule reads a course's check-ins once and finds the open one and the next due one among
them (``repository.open_in`` / ``next_due_in``): these must answer exactly as the queries they replace
(``open_checkin`` / ``next_due``), for every mix of statuses and every day."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy.orm import Session

from tenfour.checkins import repository
from tenfour.checkins.models import CheckIn, CheckInStatus

STATUSES = [s.value for s in CheckInStatus]


def test_open_and_next_due_from_the_rows_read_match_the_queries(db: Session, course) -> None:  # type: ignore[no-untyped-def]
    rows = repository.course_checkins(db, course.course.id)
    assert len(rows) >= 4, "the fixture's course has a schedule to play with"
    for twin in rows:  # extra check-ins on days already due: ties on the day, broken by id
        db.add(CheckIn(clinic_id=twin.clinic_id, patient_id=twin.patient_id, course_id=twin.course_id,
                       kind=repository.EXTRA, due_on=twin.due_on, pcl5_form=twin.pcl5_form))
    db.flush()
    rows = repository.course_checkins(db, course.course.id)
    days = sorted({c.due_on for c in rows})
    rng = random.Random(7)
    checked = 0
    for trial in range(60):
        for row in rows:  # a random mix of statuses, one of them always each kind after the first trials
            row.status = rng.choice(STATUSES) if trial else CheckInStatus.PENDING.value
        db.flush()
        rows = repository.course_checkins(db, course.course.id)
        assert repository.next_due_in(rows) == repository.next_due(db, course.course.id)
        for today in (days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=30)):
            assert repository.open_in(rows, today) is repository.open_checkin(db, course.course.id, today)
            checked += 1
    assert checked > 25
    db.rollback()
