"""Issue 6, "Done when": each scenario through the services and the sweep, with the alert it must raise, nothing more.

Every scenario: baseline PCL-5 50 (response at 35 or below), six infusions Mon/Wed/Fri over two weeks, default clinic
policy; check-ins answered on the days they are due (entered by a nurse from a phone call, so the test can live in the
past), then the sweep runs day by day.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.checkins_support import (  # noqa: F401 - the clock fixture
    CSSRS_HIGH,
    CSSRS_LOW,
    Clock,
    Course,
    alerts_of,
    check_in,
    clock,
    give_course,
    monday_weeks_ago,
    sync,
)

from tenfour.alerts.models import Alert
from tenfour.checkins import repository, sweep
from tenfour.checkins.models import BoosterProposal, CheckinCourse
from tenfour.config import Settings


@pytest.fixture
def course(db: Session, world, clock: Clock) -> Course:  # type: ignore[no-untyped-def]  # noqa: F811
    first = monday_weeks_ago(20)
    made = give_course(db, world.patient_north, world.user("prescriber"), first)
    clock.at(first - timedelta(days=1))
    sync(db, made, first - timedelta(days=1))
    return made


def answer_next(db: Session, clock: Clock, world, course: Course, scores: list[int], **kw) -> date:  # type: ignore[no-untyped-def]  # noqa: F811
    """Answer the next scheduled check-ins, in order, on the days they are due; returns the last day."""
    assert course.course is not None
    due = sorted((c for c in repository.scheduled_checkins(db, course.course.id) if c.status == "pending"),
                 key=lambda c: c.due_on)
    assert len(due) >= len(scores)
    day = due[0].due_on
    for row, score in zip(due, scores, strict=False):
        check_in(db, clock, world.user("nurse"), course.patient, row.due_on, score, **kw)
        day = row.due_on
    return day


def sweep_days(db: Session, session_factory: sessionmaker[Session], clock: Clock,  # noqa: F811
               settings: Settings, start: date, days: int) -> None:
    for offset in range(days):
        clock.at(start + timedelta(days=offset), 11)
        sweep.run(session_factory, settings, now=clock.now, trigger="test")
    db.expire_all()


def state(db: Session, course: Course) -> tuple[str, set[str]]:
    db.expire_all()
    evaluation = repository.evaluation(db, course.patient.id)
    assert evaluation is not None
    return evaluation.state, {r["rule"] for r in evaluation.reasons}


COURSE_SCORES = [42, 38, 34, 31, 29, 28]  # responds on the third check-in (34 <= 35)


def test_responder_who_stays_well_raises_nothing(db, session_factory, clock, world, course, settings) -> None:  # noqa: F811
    last = answer_next(db, clock, world, course, COURSE_SCORES + [27, 26, 26, 25, 26, 25, 24, 25])
    sweep_days(db, session_factory, clock, settings, last + timedelta(days=1), 5)
    assert state(db, course) == ("stable", {"stable"})
    assert alerts_of(db, course.patient) == []
    assert db.scalars(select(BoosterProposal)).all() == []  # no standing maintenance


def test_early_relapse_raises_watch_then_act_and_proposes_a_booster(db, session_factory, clock, world, course,  # noqa: F811
                                                                     settings) -> None:
    answer_next(db, clock, world, course, COURSE_SCORES + [26, 25])
    last = answer_next(db, clock, world, course, [37])  # 12 above the best 25: reliable worsening
    assert state(db, course)[0] == "watch"
    assert "watch_reliable_worsening" in state(db, course)[1]
    answer_next(db, clock, world, course, [38])  # the second non-responding score in a row
    assert state(db, course)[0] == "act"
    sweep_days(db, session_factory, clock, settings, last + timedelta(days=8), 3)
    assert alerts_of(db, course.patient) == [("watch", "relapse"), ("act", "relapse")]
    act = db.scalars(select(Alert).where(Alert.severity == "act")).one()
    assert any(r["rule"] == "act_loss_of_response" for r in act.reasons)
    proposal = db.scalars(select(BoosterProposal).where(BoosterProposal.patient_id == course.patient.id)).one()
    checkin_course = db.get(CheckinCourse, course.course.id)  # type: ignore[union-attr]
    end = checkin_course.course_end
    loss = last + timedelta(days=7)
    durability = (loss - end).days
    assert proposal.latest_treatment_end == end
    assert proposal.window_start == end + timedelta(days=durability * 75 // 100)
    assert proposal.window_end == end + timedelta(days=durability)
    assert proposal.status == "proposed"


def test_slow_drift_is_caught_by_the_trend_rule_alone(db, session_factory, clock, world, course, settings) -> None:  # noqa: F811
    answer_next(db, clock, world, course, COURSE_SCORES + [27, 26, 25])
    last = answer_next(db, clock, world, course, [27, 29, 31])  # +2 a week; every score still responds
    sweep_days(db, session_factory, clock, settings, last + timedelta(days=1), 3)
    assert state(db, course) == ("watch", {"watch_rising_trend"})
    assert alerts_of(db, course.patient) == [("watch", "relapse")]


def test_suicide_flag_in_a_stable_period_points_to_the_safety_alert(db, session_factory, clock, world, course,  # noqa: F811
                                                                    settings) -> None:
    answer_next(db, clock, world, course, COURSE_SCORES + [26, 25])
    flagged = answer_next(db, clock, world, course, [26], item9=1, cssrs=CSSRS_LOW)
    assert state(db, course) == ("urgent", {"urgent_phq9_item9"})
    safety = db.scalars(select(Alert).where(Alert.patient_id == course.patient.id)).one()
    assert (safety.severity, safety.kind, safety.source_type) == ("urgent", "suicidal_ideation", "assessment")
    assert repository.evaluation(db, course.patient.id).alert_id == safety.id  # type: ignore[union-attr]
    sweep_days(db, session_factory, clock, settings, flagged + timedelta(days=1), 2)
    answer_next(db, clock, world, course, [25])  # the next week, no flag: stable again, nothing raised
    assert state(db, course)[0] == "stable"
    assert alerts_of(db, course.patient) == [("urgent", "suicidal_ideation")]


def test_cssrs_high_adds_its_own_urgent_alert_and_nothing_from_relapse(db, clock, world, course) -> None:  # noqa: F811
    answer_next(db, clock, world, course, COURSE_SCORES + [26])
    answer_next(db, clock, world, course, [26], item9=2, cssrs=CSSRS_HIGH)
    assert state(db, course) == ("urgent", {"urgent_phq9_item9", "urgent_cssrs_high"})
    assert alerts_of(db, course.patient) == [("urgent", "suicidal_ideation"), ("urgent", "imminent_risk")]
    newest = db.scalars(select(Alert).order_by(Alert.id.desc())).first()
    assert repository.evaluation(db, course.patient.id).alert_id == newest.id  # type: ignore[union-attr]


def test_non_responder_is_flagged_for_review_without_an_alert(db, session_factory, clock, world, course,  # noqa: F811
                                                              settings) -> None:
    last = answer_next(db, clock, world, course, [48, 47, 45, 44, 45, 44, 45, 46])
    sweep_days(db, session_factory, clock, settings, last + timedelta(days=1), 3)
    assert state(db, course) == ("non_responder", {"non_responder"})
    assert alerts_of(db, course.patient) == []


def test_missed_check_ins_are_marked_and_raise_one_watch(db, session_factory, clock, world, course,  # noqa: F811
                                                         settings) -> None:
    last = answer_next(db, clock, world, course, COURSE_SCORES + [27, 26, 26])
    sweep_days(db, session_factory, clock, settings, last + timedelta(days=1), 18)  # two weekly check-ins pass
    assert state(db, course) == ("watch", {"watch_overdue"})
    assert alerts_of(db, course.patient) == [("watch", "relapse")]
    missed = [c for c in repository.scheduled_checkins(db, course.course.id) if c.status == "missed"]  # type: ignore[union-attr]
    assert [c.due_on for c in missed] == [last + timedelta(days=7), last + timedelta(days=14)]
    # The patient checks in again: the overdue warning ends, and no new alert is raised.
    answer_next(db, clock, world, course, [26])
    assert state(db, course)[0] == "stable"
    assert alerts_of(db, course.patient) == [("watch", "relapse")]
