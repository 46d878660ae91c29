"""The chart reads less and derives more from rows it already holds. Each derivation must answer exactly as the
query it replaces, over varied data:

* the check-ins panel's trajectory takes the completed check-ins from the course's rows (``repository.completed_in``)
  instead of ``completed_checkins``;
* the warning-sign statistics read the submission times only (``repository.completed_times``), and nothing more
  when the patient lists no sign;
* the intake panel finds the intake answers among every assessment of the patient, which the scores panel reads
  anyway (``intake.service.intake_assessments_among``);
* the scheduling panel takes the coming infusions from the infusions panel's read of the patient's sessions, and the
  coming one-off duty changes from the roster's read of them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tenfour.assessments import repository as assessments_repository
from tenfour.assessments.models import Assessment, AssessmentContext
from tenfour.checkins import repository, service, views
from tenfour.checkins.models import CheckIn, CheckInStatus, WarningSign, WarningSignEndorsement
from tenfour.context import Ctx
from tenfour.core.infusion import Step
from tenfour.infusions import repository as infusions_repository
from tenfour.infusions.models import InfusionSession
from tenfour.intake import service as intake_service
from tenfour.scheduling import clock as scheduling_clock
from tenfour.scheduling import pages as scheduling_pages
from tenfour.scheduling import repository as scheduling_repository
from tenfour.scheduling.models import PatientDutyChange

STATUSES = [s.value for s in CheckInStatus]


@contextmanager
def _selects(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            seen.append(args[2])

    bind = db.get_bind()
    event.listen(bind, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", note)


def _old_sign_stats(db: Session, patient_id: int) -> list[tuple[int, int, int]]:
    """``service.sign_stats`` as it was: every completed check-in of the patient read as rows."""
    counts = repository.endorsement_counts(db, patient_id)
    completed = repository.patient_checkins(db, patient_id, [CheckInStatus.COMPLETED.value])
    stats = []
    for sign in repository.warning_signs(db, patient_id, include_removed=True):
        asked = sum(1 for c in completed if c.completed_at and c.completed_at >= sign.added_at
                    and (sign.removed_at is None or c.completed_at < sign.removed_at))
        stats.append((sign.id, counts.get(sign.id, 0), asked))
    return stats


def test_completed_rows_and_trajectory_from_the_course_rows_match_the_query(db: Session, course) -> None:  # type: ignore[no-untyped-def]
    course_id = course.course.id
    rows = repository.course_checkins(db, course_id)
    for twin in rows:  # a second check-in on each day: ties on the day and, below, on the time of submission
        db.add(CheckIn(clinic_id=twin.clinic_id, patient_id=twin.patient_id, course_id=twin.course_id,
                       kind=repository.EXTRA, due_on=twin.due_on, pcl5_form=twin.pcl5_form))
    db.flush()
    rows = repository.course_checkins(db, course_id)
    base = datetime(2026, 3, 2, 15, tzinfo=UTC)
    rng = random.Random(11)
    orders_seen = set()
    for _trial in range(40):
        for row in rows:
            row.status = rng.choice(STATUSES)
            # Submitted on one of a few days at one of a few times: submission order is not id order, and ties
            # on the day (and on the time) are broken by the time, then the id.
            row.completed_at = base + timedelta(days=rng.randint(0, 3), hours=rng.choice((0, 0, 5)))
            row.completed_on = row.completed_at.date() - timedelta(days=rng.randint(0, 1))
            row.pcl5_total = rng.randint(0, 80)
        db.flush()
        rows = repository.course_checkins(db, course_id)
        expected = repository.completed_checkins(db, course_id)
        derived = repository.completed_in(rows)
        assert [c.id for c in derived] == [c.id for c in expected]
        orders_seen.add(tuple(c.id for c in expected) != tuple(sorted(c.id for c in expected)))
        patient = course.patient
        old = views.trajectory(db, patient, course.course)
        new = views.trajectory(db, patient, course.course, rows)
        assert (new.points, new.lines, new.infusions) == (old.points, old.lines, old.infusions)
    assert True in orders_seen, "some trials order the rows other than by id"
    db.rollback()


def test_the_chart_reads_the_completed_check_ins_once(db: Session, course) -> None:  # type: ignore[no-untyped-def]
    with _selects(db) as seen:
        views.chart(db, course.patient)
    checkin_reads = [s for s in seen if "FROM checkins" in s]
    assert len(checkin_reads) == 1, checkin_reads  # the course's rows: the schedule and the trajectory share them


def test_sign_stats_match_the_rows_they_replace(db: Session, course, world) -> None:  # type: ignore[no-untyped-def]
    patient = course.patient
    assert service.sign_stats(db, patient.id) == []
    rows = repository.course_checkins(db, course.course.id)
    base = datetime(2026, 3, 2, 15, tzinfo=UTC)
    rng = random.Random(5)
    signs = []
    for n in range(5):  # added at different times, some removed later
        added = base + timedelta(days=rng.randint(0, 20))
        signs.append(WarningSign(clinic_id=patient.clinic_id, patient_id=patient.id, code=None, label=f"sign {n}",
                                 added_at=added, removed_at=added + timedelta(days=rng.randint(1, 15))
                                 if n % 2 else None))
    db.add_all(signs)
    db.flush()
    for _trial in range(15):
        db.query(WarningSignEndorsement).delete()
        for row in rows:
            row.status = rng.choice(STATUSES)
            # Some submitted exactly when a sign was added or removed: the bounds count in and out as before.
            edge = rng.choice(signs)
            row.completed_at = (rng.choice((edge.added_at, edge.removed_at or edge.added_at)) if rng.random() < .3
                                else base + timedelta(days=rng.randint(-2, 40), hours=rng.randint(0, 23)))
            row.completed_on = row.completed_at.date()
        db.flush()
        for row in rows:
            if row.status == CheckInStatus.COMPLETED.value:
                for sign in rng.sample(signs, rng.randint(0, 2)):
                    db.add(WarningSignEndorsement(checkin_id=row.id, warning_sign_id=sign.id))
        db.flush()
        new = [(s.sign.id, s.endorsed, s.asked) for s in service.sign_stats(db, patient.id)]
        assert new == _old_sign_stats(db, patient.id)
        assert any(asked for _, _, asked in new) and len(new) == len(signs)
    # Another patient's check-ins and signs count for them only.
    assert service.sign_stats(db, world.patient_south.id) == []
    db.rollback()


def test_sign_stats_read_nothing_more_without_signs(db: Session, course) -> None:  # type: ignore[no-untyped-def]
    with _selects(db) as seen:
        assert service.sign_stats(db, course.patient.id) == []
    assert len(seen) == 1 and "warning_signs" in seen[0]


def test_scheduling_panel_upcoming_sessions_and_changes_match_the_queries(db: Session, course, world,  # type: ignore[no-untyped-def]
                                                                          monkeypatch) -> None:
    patient = course.patient
    template = course.sessions[0]
    now = datetime(2026, 6, 1, 14, tzinfo=UTC)
    monkeypatch.setattr(scheduling_clock, "now", lambda: now)
    rng = random.Random(3)
    ctx = Ctx.system("test")
    for _trial in range(12):
        for _ in range(6):  # sessions around now, some at the same start (ties broken by id), some aborted
            start = now + timedelta(hours=rng.choice((-48, -1, 0, 0, 1, 30, 30, 200)))
            db.add(InfusionSession(clinic_id=patient.clinic_id, patient_id=patient.id, chair_id=template.chair_id,
                                   plan_id=template.plan_id, status=rng.choice([s.value for s in Step]),
                                   scheduled_start=start, scheduled_end=start + timedelta(minutes=100),
                                   infusion_duration_min=40))
        for _ in range(3):  # duty changes ending before, at and after now
            end = now + timedelta(hours=rng.choice((-5, 0, 3, 50)))
            db.add(PatientDutyChange(patient_id=patient.id, kind=rng.choice(("leave", "overtime")),
                                     start=end - timedelta(hours=rng.choice((4, 60))), end=end))
        db.flush()
        panel = scheduling_pages.chart_panel(db, ctx, patient)
        assert panel is not None
        expected = [s for s in scheduling_repository.patient_sessions(db, patient.id) if s.scheduled_start >= now][:8]
        assert [s.id for s in panel["upcoming"]] == [s.id for s in expected]
        assert [c.id for c in panel["changes"]] == [c.id for c in scheduling_repository.duty_changes(
            db, [patient.id], start=now)]
    assert panel["changes"] and len(panel["upcoming"]) == 8
    assert {s.status for s in infusions_repository.for_patient(db, patient.id)} >= {Step.ABORTED.value}
    db.rollback()


def test_intake_answers_among_every_assessment_match_the_query(db: Session, world) -> None:  # type: ignore[no-untyped-def]
    patient, other = world.patient_north, world.patient_south
    rng = random.Random(9)
    base = datetime(2026, 1, 5, 9, tzinfo=UTC)
    instruments = [*intake_service.QUESTIONNAIRES, "cadss6", "pcl5-week"]
    contexts = [c.value for c in AssessmentContext]
    made: list[Assessment] = []
    checked = 0
    for _trial in range(10):
        for _ in range(8):  # intake and other administrations, some at the same moment (ties broken by id)
            who = patient if rng.random() < .85 else other
            made.append(Assessment(clinic_id=who.clinic_id, patient_id=who.id, instrument_id=rng.choice(instruments),
                                   instrument_version="1", context=rng.choice(contexts), answers={}, result={},
                                   entered_by="staff", administered_at=base + timedelta(days=rng.choice((0, 0, 3)))))
        db.add_all(made[-8:])
        db.flush()
        mine = [a for a in made if a.patient_id == patient.id]
        taken = {a.supersedes_id for a in made}
        intake = [a for a in mine if a.context == AssessmentContext.INTAKE.value
                  and a.instrument_id in intake_service.QUESTIONNAIRES]
        # Corrections (a new version supersedes the latest version): of an intake answer, and of any.
        for original in [rng.choice(intake or mine), rng.choice(mine)]:
            while original.id in taken:
                original = next(a for a in made if a.supersedes_id == original.id)
            correction = Assessment(clinic_id=original.clinic_id, patient_id=original.patient_id,
                                    instrument_id=original.instrument_id, instrument_version="1",
                                    context=original.context, answers={}, result={}, entered_by="staff",
                                    # The app keeps the original's time; an earlier one here makes leaving
                                    # out the superseded row matter (else the correction, later, wins anyway).
                                    administered_at=original.administered_at - timedelta(days=rng.choice((0, 5))),
                                    supersedes_id=original.id,
                                    version_number=original.version_number + 1)
            db.add(correction)
            db.flush()
            made.append(correction)
            taken.add(original.id)
        expected = intake_service.intake_assessments(db, patient.id)
        derived = intake_service.intake_assessments_among(assessments_repository.for_patient(db, patient.id))
        assert {k: a.id for k, a in derived.items()} == {k: a.id for k, a in expected.items()}
        assert intake_service.for_staff(db, patient, chart=True).assessments == expected
        checked += len(expected)
    assert checked > 10 and any(a.supersedes_id for a in made if a.context == AssessmentContext.INTAKE.value)
    db.rollback()





def test_a_patients_booster_requests_match_the_clinic_list_filtered(db: Session, world) -> None:  # type: ignore[no-untyped-def]
    """The chart's maintenance view reads one patient's requests, not every request of the clinic."""
    from datetime import date

    from tests import factories

    from tenfour.checkins.models import BoosterRequest

    north = world.patient_north
    neighbour = factories.make_patient(db, world.north, first_name="Ned", last_name="North")
    start = date(2026, 3, 2)
    rows = ((north, north.clinic_id), (north, world.patient_south.clinic_id), (neighbour, north.clinic_id),
            (world.patient_south, world.patient_south.clinic_id))
    for patient, clinic_id in rows:
        for offset in (14, 0, 0, 7):  # ties on the window's start, broken by id
            db.add(BoosterRequest(clinic_id=clinic_id, patient_id=patient.id, window_start=start + timedelta(offset),
                                  window_end=start + timedelta(offset + 14), priority="normal"))
    db.flush()
    expected = [r for r, _ in repository.clinic_requests(db, north.clinic_id) if r.patient_id == north.id]
    assert len(expected) == 4
    assert repository.patient_requests(db, north.clinic_id, north.id) == expected
    assert views.maintenance(db, north, start).requests == expected
    db.rollback()
