"""The outcomes counted in the database (set-based, from each course's stored facts) equal the per-patient reference
loop exactly — every tally and the whole report — on a synthetic network that exercises every definition, with and
without each filter; after the records change in every way the stored facts depend on (a check-in answered, missed,
a course rebuilt, an infusion's adverse event, the clinic's policy, another as-of day), the next count recounts what
changed and still equals the loop; and the numbers themselves are checked against a few patients worked out by hand
(so agreeing cannot mean agreeing on nothing). Runs on SQLite and PostgreSQL (bench/outcomes_bench.py does the same
at scale, timed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.outcomes_support import AS_OF, NOW, add_course, load_network

from tenfour.audit.service import Actor
from tenfour.checkins.models import CheckIn, CheckinCourse
from tenfour.clinics.service import set_policy_values
from tenfour.infusions.models import InfusionAdverseEvent, InfusionSession
from tenfour.outcomes import facts, reference, repository, service
from tenfour.outcomes.models import CourseOutcome, InfusionOutcome
from tenfour.outcomes.selection import Selection


@pytest.fixture
def network(db: Session, world) -> Session:  # type: ignore[no-untyped-def]
    load_network(db, world.north, 220, seed=8)
    load_network(db, world.south, 90, seed=9)
    # The south clinic counts response at 55% and needs 3 check-ins for a loss of response: its own policy applies.
    set_policy_values(db, Actor.system("test"), world.south, {"outcome.response_reduction_pct": 55,
                                                             "relapse.act_consecutive_checkins": 3})
    return db


SELECTIONS = [
    Selection(),
    Selection(responder_role="police"),
    Selection(agency="Metro Fire (synthetic)"),
    Selection(protocol="induction"),
    Selection(period_from=AS_OF - timedelta(days=200), period_to=AS_OF - timedelta(days=60)),
    Selection(responder_role="firefighter", protocol="induction", period_from=AS_OF - timedelta(days=400)),
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.as_dict().items()
                                                                         if v) or "everyone")
def test_set_based_equals_the_per_patient_loop(network: Session, world, selection: Selection) -> None:  # type: ignore[no-untyped-def]
    clinics = [world.north, world.south]
    fast = service.compute(network, clinics, selection, NOW)
    slow = service.compute(network, clinics, selection, NOW, counting=reference.tally_clinic)
    assert fast.tallies.as_dict() == slow.tallies.as_dict()
    assert fast.report == slow.report


def test_the_network_exercises_every_definition(network: Session, world) -> None:  # type: ignore[no-untyped-def]
    t = service.compute(network, [world.north, world.south], Selection(), NOW).tallies
    assert t.started > 250 and 0 < t.completed_induction < t.started
    assert t.no_baseline > 0 and t.in_progress > 0 and t.response_n > 100
    assert 0 < t.responders < t.response_n and 0 < t.remitters < t.remission_n
    assert set(t.h24_missing) >= {"missed", "short_form", "not_scheduled"} and t.h24_n > 100
    events = sum(n for (_, lost), n in t.survival.items() if lost)
    censored = sum(n for (_, lost), n in t.survival.items() if not lost)
    assert events > 10 and censored > 10
    assert 0 < t.booster_needed_14w < t.booster_full_window and 0 < t.booster_needed < t.booster_followed
    assert min(week for week, _ in t.trajectory) == -1 and max(week for week, _ in t.trajectory) > 14
    assert t.infusions > 1500 and t.stopped_early > 0 and t.notify_vitals > 0 and t.cadss_missing > 0
    assert set(t.adverse) == {"nausea_vomiting", "hypertension", "agitation"}
    assert t.referred > t.started // 2 and 0 < t.eligible < t.eligibility_decided
    assert t.checkins_missed > 0 and t.checkins_completed > 1000


def _same_as_the_loop(db: Session, clinics, selection: Selection = Selection(), now=NOW) -> service.Computed:  # type: ignore[no-untyped-def]
    fast = service.compute(db, clinics, selection, now)
    slow = service.compute(db, clinics, selection, now, counting=reference.tally_clinic)
    assert fast.tallies.as_dict() == slow.tallies.as_dict()
    assert fast.report == slow.report
    return fast


@pytest.mark.parametrize("in_list_limit", [facts.IN_LIST_LIMIT, 3], ids=["by-ids", "by-stale-condition"])
def test_stored_facts_are_recounted_when_their_records_change(network: Session, world, monkeypatch,  # type: ignore[no-untyped-def]
                                                              in_list_limit: int) -> None:
    """Nothing stale is ever counted: each kind of write marks what it touches, and the next view recounts exactly
    those courses (and sessions) first — through the triggers, whichever code made the write. Both ways of
    recounting: by the ids (a few courses) and by the stale condition itself (more than ``IN_LIST_LIMIT``)."""
    monkeypatch.setattr(facts, "IN_LIST_LIMIT", in_list_limit)
    clinics = [world.north, world.south]
    first = _same_as_the_loop(network, clinics)
    assert first.recounted == first.tallies.started  # the first view counts every course of the two clinics
    assert _same_as_the_loop(network, clinics).recounted == 0  # nothing changed: nothing recounted

    courses = list(network.scalars(select(CheckinCourse).where(CheckinCourse.clinic_id == world.north.id,
                                                               CheckinCourse.started.is_(True),
                                                               CheckinCourse.baseline_pcl5.is_not(None))
                                   .order_by(CheckinCourse.id)))
    # 1. A patient answers a check-in (a full PCL-5 after the course: can make or break a response).
    course = courses[0]
    network.add(CheckIn(clinic_id=course.clinic_id, patient_id=course.patient_id, course_id=course.id,
                        kind="extra", due_on=AS_OF - timedelta(days=1), status="completed",
                        completed_at=NOW - timedelta(days=1), completed_on=AS_OF - timedelta(days=1),
                        pcl5_total=0))
    # 2. The sweep marks a pending check-in missed (a bulk UPDATE).
    pending = network.scalars(select(CheckIn).where(CheckIn.status == "pending",
                                                    CheckIn.course_id.not_in([c.id for c in courses[:3]]))).first()
    assert pending is not None
    network.execute(update(CheckIn).where(CheckIn.id == pending.id).values(status="missed", missed_at=NOW))
    # 3. A course is rebuilt with another baseline, and another course stops being current.
    courses[1].baseline_pcl5 = 80
    courses[2].is_current = False
    # 4. An adverse event is recorded on an infusion.
    session = network.scalar(select(InfusionSession).where(InfusionSession.clinic_id == world.north.id,
                                                           InfusionSession.infusion_started_at.is_not(None))
                             .limit(1))
    assert session is not None
    network.add(InfusionAdverseEvent(session_id=session.id, event_type="tachycardia", severity="mild",
                                     onset_at=session.infusion_started_at, action_taken="observed",
                                     outcome="resolved"))
    network.flush()
    stale = set(network.scalars(select(CourseOutcome.course_id).where(
        CourseOutcome.computed_changes != CourseOutcome.changes)))
    assert stale == {courses[0].id, courses[1].id, courses[2].id, pending.course_id}
    assert network.scalar(select(InfusionOutcome.computed_changes != InfusionOutcome.changes)
                          .where(InfusionOutcome.session_id == session.id))
    after = _same_as_the_loop(network, clinics)
    assert after.recounted == len(stale) == 4  # both clinics are in the view: exactly the four changed courses
    assert after.tallies.adverse["tachycardia"] == first.tallies.adverse["tachycardia"] + 1
    assert after.tallies.as_dict() != first.tallies.as_dict()

    # 5. The south clinic's policy changes: its courses are recounted under the new rules, north's are not.
    set_policy_values(network, Actor.system("test"), world.south, {"relapse.act_consecutive_checkins": 2})
    south = service.scopes_for(network, [world.south], NOW)[0]
    assert facts.stale_course_ids(network, south) and not facts.stale_course_ids(
        network, service.scopes_for(network, [world.north], NOW)[0])
    _same_as_the_loop(network, clinics)

    # 6. Another as-of day: an earlier one recounts (nothing from after it may count); a later one reuses the facts
    # unless a dated input comes into view.
    _same_as_the_loop(network, clinics, now=NOW - timedelta(days=30))
    assert _same_as_the_loop(network, clinics, now=NOW).recounted > 0
    assert _same_as_the_loop(network, clinics, now=NOW + timedelta(days=3)).recounted == 0


def test_a_clinics_own_policy_changes_its_counts(network: Session, world) -> None:  # type: ignore[no-untyped-def]
    """South counts response at 55%: the same patients under north's 30% rule have more responders."""
    south = service.scopes_for(network, [world.south], NOW)[0]
    own = repository.tally_clinic(network, south, Selection())
    north_rules = service.scopes_for(network, [world.north], NOW)[0].rules
    as_north = repository.tally_clinic(network, replace(south, rules=north_rules), Selection())
    assert own.response_n == as_north.response_n
    assert own.responders < as_north.responders


# --- A few patients worked out by hand -----------------------------------------------------------------------------


def test_hand_worked_cohort(db: Session, world) -> None:  # type: ignore[no-untyped-def]
    """Four patients of baseline 50 (response at 35 or lower, remission below 33, reliable improvement at 40):

    A: 24 h 38 (improved); 30 on day 14 and 28 on day 21 (responded, remitted); 40 and 42 on days 28 and 35: the
       second non-responding score in a row is a loss of response on day 35, 24 days after the course end (day 11).
    B: 24 h 45 (not improved); 34 on day 18, then missed, 33 on day 40: responded (not remitted: 33 is not below
       33), never lost: censored at day 40, 29 days after the end; a booster on day 50 counts as needing one.
    C: 24 h missed; 48, 46 on days 14, 21: did not respond.
    D: no baseline PCL-5: started, counted as missing, judged on nothing.
    """
    start = AS_OF - timedelta(days=150)
    add_course(db, world.north, baseline=50, scores=[(1, 38), (14, 30), (21, 28), (28, 40), (35, 42)], start=start)
    add_course(db, world.north, baseline=50, scores=[(1, 45), (18, 34), (25, None), (40, 33)], start=start,
            booster_day=50)
    add_course(db, world.north, baseline=50, scores=[(1, None), (14, 48), (21, 46)], start=start)
    add_course(db, world.north, baseline=None, scores=[(1, 30)], start=start)
    for counting in (repository.tally_clinic, reference.tally_clinic):
        t = service.compute(db, [world.north], Selection(), NOW, counting=counting).tallies
        assert (t.started, t.completed_induction, t.no_baseline, t.response_n, t.responders) == (4, 4, 1, 3, 2)
        assert (t.remission_n, t.remitters) == (3, 1)  # A's best 28; B's best 33 is not below the cutoff 33
        assert (t.h24_n, t.h24_improved, dict(t.h24_missing)) == (2, 1, {"missed": 1})
        assert dict(t.survival) == {(24, True): 1, (29, False): 1}
        # Needed a booster: A (loss on day 35) and B (booster on day 50), both within 14 weeks of the end.
        assert (t.booster_followed, t.booster_needed, t.booster_full_window, t.booster_needed_14w) == (3, 2, 3, 2)
        assert t.trajectory[(-1, 50)] == 3 and t.trajectory[(0, 38)] == 1 and t.trajectory[(3, 28)] == 1
        assert (t.checkins_completed, t.checkins_missed) == (11, 2)
