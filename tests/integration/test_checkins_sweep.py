"""The sweep: the vectorised evaluation gives exactly the per-patient ORM loop's result for every patient (the
benchmark's check, small and untimed); schedules follow moved infusions without touching completed check-ins; a
clinician's correction of a check-in's answers is followed; the command prints its summary."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from tests.checkins_support import (  # noqa: F401 - the clock fixture
    Clock,
    add_session,
    check_in,
    clock,
    ctx_for,
    give_course,
    monday_weeks_ago,
    pcl5_answers,
    sync,
)
from tests.helpers import scratch_database
from typer.testing import CliRunner

from tenfour import config, demo, migrate
from tenfour import db as tenfour_db
from tenfour.assessments import service as assessments
from tenfour.checkins import detection, repository, sweep, synthetic
from tenfour.checkins.models import CheckIn, CheckinCourse, RelapseEvaluation, WarningSign, WarningSignEndorsement
from tenfour.cli import app
from tenfour.core.infusion import Step
from tenfour.patients.models import Patient


def load_network(db: Session, clinic_id: int, n: int, as_of: date) -> list[int]:
    """A small synthetic network, written with plain INSERTs (the benchmark uses COPY); returns the course ids."""
    start = (db.scalar(select(Patient.id).order_by(Patient.id.desc())) or 0) + 1000
    people = list(synthetic.generate(n, 14, clinic_id=clinic_id, as_of=as_of, seed=11, first_patient_id=start,
                                     first_course_id=start, first_checkin_id=start * 100, first_sign_id=start * 10))
    for table, rows in ((Patient, [p.patient for p in people]), (CheckinCourse, [p.course for p in people]),
                        (WarningSign, [s for p in people for s in p.signs]),
                        (CheckIn, [c for p in people for c in p.checkins]),
                        (WarningSignEndorsement, [e for p in people for e in p.endorsements])):
        if rows:
            db.execute(insert(table), rows)
    db.flush()
    return [p.course["id"] for p in people]


def test_vectorised_evaluation_equals_the_orm_loop_for_every_patient(db, world) -> None:
    as_of = date(2026, 6, 1)
    course_ids = load_network(db, world.north.id, 240, as_of)
    now = datetime(2026, 6, 1, 17, tzinfo=UTC)  # noon in Chicago: as_of for every course
    rules = detection.rules_for(db, world.north.id)
    fast = sweep.evaluate_vectorised(db, course_ids, now, rules, batch_size=50)
    slow = sweep.evaluate_orm_loop(db, course_ids, now, rules)
    assert set(fast) == set(slow) == set(course_ids)
    differences = [cid for cid in course_ids if (fast[cid].state, fast[cid].reasons, fast[cid].responded,
                                                 fast[cid].best_pcl5) != (slow[cid].state, slow[cid].reasons,
                                                                          slow[cid].responded, slow[cid].best_pcl5)]
    assert differences == []
    # The network exercises every state and every rule, so the equality means something.
    assert set(Counter(r.state.value for r in fast.values())) == {"urgent", "act", "watch", "non_responder", "stable"}
    assert {rule.value for r in fast.values() for rule in r.rules} >= {
        "urgent_phq9_item9", "urgent_cssrs_high", "act_loss_of_response", "watch_reliable_worsening",
        "watch_warning_signs", "watch_rising_trend", "watch_overdue", "non_responder", "stable"}


def test_a_sparse_batch_one_clinics_courses_among_a_networks_gives_the_same(db, world) -> None:
    """Every third course, as one clinic's courses are spread among a network's ids: read as a list, not a range."""
    as_of = date(2026, 6, 1)
    course_ids = load_network(db, world.north.id, 90, as_of)[::3]
    now = datetime(2026, 6, 1, 17, tzinfo=UTC)
    rules = detection.rules_for(db, world.north.id)
    fast = sweep.evaluate_vectorised(db, course_ids, now, rules, batch_size=10)
    slow = sweep.evaluate_orm_loop(db, course_ids, now, rules)
    assert set(fast) == set(slow) == set(course_ids)
    assert all((fast[c].state, fast[c].reasons, fast[c].best_pcl5) == (slow[c].state, slow[c].reasons,
                                                                       slow[c].best_pcl5) for c in course_ids)
    sparse = str(repository.batch_filter(CheckIn.course_id, course_ids[:10]).compile())
    dense = str(repository.batch_filter(CheckIn.course_id, range(100, 110)).compile())
    assert " IN " in sparse and "BETWEEN" in dense


def test_the_full_sweep_stores_every_state_once(db, world, session_factory, settings) -> None:
    as_of = date(2026, 6, 1)
    load_network(db, world.north.id, 60, as_of)
    db.commit()
    now = datetime(2026, 6, 1, 17, tzinfo=UTC)
    first = sweep.run(session_factory, settings, now=now, trigger="test")
    assert first.counts["evaluated"] == 60 == sum(first.states.values())
    again = sweep.run(session_factory, settings, now=now, trigger="test")
    assert again.counts["state_changes"] == 0 and again.counts["alerts_raised"] == 0
    db.expire_all()
    stored = Counter(e.state for e in db.scalars(select(RelapseEvaluation)))
    assert stored == Counter(first.states)


def test_the_schedule_follows_a_moved_infusion_and_keeps_completed_check_ins(db, world, clock, session_factory,  # noqa: F811
                                                                             settings) -> None:
    first = monday_weeks_ago(6)
    course = give_course(db, world.patient_north, world.user("prescriber"), first, given=2)
    clock.at(first + timedelta(days=2), 8)
    sync(db, course, first + timedelta(days=2))
    done = check_in(db, clock, world.user("nurse"), course.patient, first + timedelta(days=1), 40)  # the 24 h one
    before = {c.id: (c.due_on, c.status) for c in repository.scheduled_checkins(db, course.course.id)}  # type: ignore[union-attr]
    # The third infusion (Friday) moves to Saturday: rescheduled = the old session aborted, a new one booked.
    friday = course.sessions[2]
    friday.status = Step.ABORTED.value
    add_session(db, course.patient, course.plan, world.north.chairs[0], first + timedelta(days=5), given=False)
    db.commit()
    clock.at(first + timedelta(days=2), 9)
    summary = sweep.run(session_factory, settings, now=clock.now, trigger="test")
    assert summary.counts["courses_synced"] == 1
    db.expire_all()
    after = {c.id: (c.due_on, c.status) for c in repository.scheduled_checkins(db, course.course.id)}  # type: ignore[union-attr]
    assert after[done.checkin.id] == before[done.checkin.id] == (first + timedelta(days=1), "completed")
    saturday_after = [due for due, status in after.values() if status == "pending" and due == first + timedelta(days=6)]
    assert saturday_after == [first + timedelta(days=6)]  # the day after the moved infusion
    cancelled = [due for cid, (due, status) in after.items() if status == "cancelled"]
    assert first + timedelta(days=5) in cancelled  # the day after the Friday that moved
    # Run again: nothing changes (the fingerprint of the infusions is the same).
    assert sweep.run(session_factory, settings, now=clock.now, trigger="test").counts["courses_synced"] == 0


def test_a_corrected_check_in_answer_is_followed_and_re_evaluated(db, world, clock, session_factory,  # noqa: F811
                                                                  settings) -> None:
    first = monday_weeks_ago(8)
    course = give_course(db, world.patient_north, world.user("prescriber"), first)
    clock.at(first - timedelta(days=1))
    sync(db, course, first - timedelta(days=1))
    rows = sorted(repository.scheduled_checkins(db, course.course.id), key=lambda c: c.due_on)  # type: ignore[union-attr]
    results = [check_in(db, clock, world.user("nurse"), course.patient, row.due_on, score)
               for row, score in zip(rows, [40, 34, 30, 28, 27, 27, 26, 26], strict=False)]
    assert repository.evaluation(db, course.patient.id).best_pcl5 == 26  # type: ignore[union-attr]
    wrong = results[-1].checkin
    original = wrong.pcl5_assessment_id
    assessments.correct(db, ctx_for(world.user("nurse")), original, pcl5_answers(37),
                        "Patient misread question 3 on the phone")
    db.commit()
    sweep.run(session_factory, settings, now=clock.now, trigger="test")
    db.expire_all()
    corrected = db.get(CheckIn, wrong.id)
    assert corrected.pcl5_total == 37 and corrected.pcl5_assessment_id not in (None, original)
    evaluation = repository.evaluation(db, course.patient.id)
    assert evaluation.latest_pcl5 == 37 and evaluation.state == "watch"  # 11 above the best 26


runner = CliRunner()


@pytest.fixture
def demo_db(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = tenfour_db.make_engine(url)
        with tenfour_db.session_scope(tenfour_db.make_session_factory(engine)) as session:
            demo.seed(session)
        engine.dispose()
        monkeypatch.setenv("TENFOUR_DATABASE_URL", url)
        monkeypatch.setenv("TENFOUR_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("TENFOUR_SMTP_PORT", "9")  # nothing listens: email stays queued, the sweep carries on
        for cached in (config.get_settings, tenfour_db.get_engine, tenfour_db.get_session_factory):
            cached.cache_clear()
        try:
            yield url
        finally:
            if tenfour_db.get_engine.cache_info().currsize:
                tenfour_db.get_engine().dispose()
            for cached in (config.get_settings, tenfour_db.get_engine, tenfour_db.get_session_factory):
                cached.cache_clear()


def test_tenfour_sweep_on_the_demo_prints_its_summary_and_changes_nothing_twice(demo_db) -> None:
    first = runner.invoke(app, ["sweep", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "Full sweep" in first.output and "patients evaluated:" in first.output
    evaluated = int(first.output.split("patients evaluated:")[1].split()[0])
    assert evaluated >= 20
    second = runner.invoke(app, ["sweep", "--quiet"])
    assert second.exit_code == 0
    assert "state changes:            0" in second.output
    light = runner.invoke(app, ["sweep", "--light", "--quiet"])
    assert light.exit_code == 0 and light.output.startswith("Light sweep")
