"""The cohort simulator: a small cohort made through the real services, checked record by record against what each
patient's drawn fate says should have happened (states, counts, the timeline, the loss-of-response day the product's
own rule finds), and the run's safeguards (synthetic clinics only, a seed once per clinic, no email sent)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests import factories
from tests.helpers import scratch_database

from tenfour import migrate
from tenfour.alerts.models import Alert
from tenfour.assessments.models import Assessment
from tenfour.audit.models import AuditEvent
from tenfour.checkins import detection
from tenfour.checkins.models import CheckIn, CheckinCourse, RelapseEvaluation
from tenfour.clinics.models import Clinic
from tenfour.core import relapse
from tenfour.db import make_engine, make_session_factory
from tenfour.eligibility.models import EligibilityDecision
from tenfour.errors import ValidationFailed
from tenfour.infusions.models import InfusionSession
from tenfour.mail import MAX_ATTEMPTS, OutboxMessage
from tenfour.patients.models import Patient
from tenfour.plans.models import TreatmentPlan
from tenfour.referrals.models import Referral
from tenfour.simulate import cohort, runner
from tenfour.simulate.cohort import Funnel
from tenfour.simulate.params import preset

# Every branch of the funnel with 12 patients (seed 3), and a follow-up short enough to keep the test quick.
PARAMS = preset("feder2021", referral_lost_rate=0.15, intake_incomplete_rate=0.1, ineligible_rate=0.12,
                review_rate=0.3, induction_dropout_rate=0.15, enrolment_start_days_ago=170, enrolment_end_days_ago=130,
                suicide_risk_answer_rate=0.05, adverse_event_rate=0.3, notify_vitals_rate=0.1, stop_vitals_rate=0.05)
SEED, N = 3, 12


@dataclass
class Simulated:
    summary: runner.Summary
    factory: sessionmaker[Session]


@pytest.fixture(scope="module")
def simulated(database_url: str) -> Iterator[Simulated]:
    """One cohort for the module, made in a scratch database of the test database's kind (and committed, as the
    command commits it); the tests read it."""
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        try:
            yield Simulated(runner.run(factory, PARAMS, patients=N, seed=SEED, preset_name="test"), factory)
        finally:
            engine.dispose()


@pytest.fixture
def sim_db(simulated: Simulated) -> Iterator[Session]:
    with simulated.factory() as session:
        yield session


def _clinic(db: Session, summary: runner.Summary) -> Clinic:
    clinic = db.scalar(select(Clinic).where(Clinic.slug == summary.clinic_slug))
    assert clinic is not None
    return clinic


def test_every_fate_is_played_through_the_services(sim_db: Session, simulated: Simulated) -> None:
    db, summary = sim_db, simulated.summary
    clinic = _clinic(db, summary)
    assert clinic.is_synthetic and summary.clinic_created
    outcomes = summary.outcomes
    assert len(outcomes) == N and {o.fate.funnel for o in outcomes} == set(Funnel)
    referrals = list(db.scalars(select(Referral).where(Referral.clinic_id == clinic.id)))
    assert len(referrals) == N and all(r.is_synthetic for r in referrals)
    by_email = {r.email: r for r in referrals}
    for outcome in outcomes:
        fate, referral = outcome.fate, by_email[outcome.fate.person.email]
        if fate.funnel == Funnel.LOST_AT_REFERRAL:
            assert outcome.patient_id is None and referral.patient_id is None
            assert referral.status == ("declined" if fate.declined else "unreachable")
            continue
        patient = db.get(Patient, outcome.patient_id)
        assert patient is not None and patient.is_synthetic and referral.patient_id == patient.id
        assert patient.user_id is not None  # the account the invitation made
        expected = {Funnel.INTAKE_INCOMPLETE: "intake", Funnel.INELIGIBLE: "ineligible", Funnel.TREATED: "active"}
        assert patient.status == expected[fate.funnel]
        decisions = list(db.scalars(select(EligibilityDecision).where(EligibilityDecision.patient_id == patient.id)))
        plans = list(db.scalars(select(TreatmentPlan).where(TreatmentPlan.patient_id == patient.id)))
        if fate.funnel != Funnel.TREATED:
            assert plans == [] and (decisions == [] if fate.funnel == Funnel.INTAKE_INCOMPLETE
                                    else decisions[0].final_outcome == "excluded")
            continue
        assert decisions[-1].final_outcome == "eligible"
        assert (decisions[-1].override_outcome == "eligible") == fate.needs_review
        assert len(plans) == 1 and plans[0].signed_at is not None
        sessions = list(db.scalars(select(InfusionSession).where(InfusionSession.patient_id == patient.id)))
        statuses = Counter(s.status for s in sessions)
        given = fate.induction_stops_after or 6
        assert statuses == ({"discharged": given, "aborted": 6 - given} if given < 6 else {"discharged": 6})
        assert outcome.infusions_given == given
        done = db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.patient_id == patient.id,
                                                                          CheckIn.status == "completed"))
        assert done == outcome.checkins_done > 0
        assert db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.patient_id == patient.id,
                                                                          CheckIn.kind == "extra")) == 0


def test_the_product_finds_the_drawn_response_and_loss_of_response(sim_db: Session, simulated: Simulated) -> None:
    db = sim_db
    completers = [o for o in simulated.summary.outcomes if o.course_end is not None]
    assert len(completers) >= 5 and {o.fate.responder for o in completers} == {True, False}
    confirmed = 0
    for outcome in completers:
        course = db.scalar(select(CheckinCourse).where(CheckinCourse.patient_id == outcome.patient_id,
                                                       CheckinCourse.is_current.is_(True)))
        assert course is not None and course.course_end == outcome.course_end
        history = detection.history_for(db, course, date.today())
        rules = detection.rules_for(db, course.clinic_id)
        assert history is not None
        loss = relapse.loss_of_response_date(history, rules.relapse, after=course.course_end)
        assert loss == outcome.loss_confirmed_on
        evaluation = db.scalar(select(RelapseEvaluation).where(RelapseEvaluation.patient_id == outcome.patient_id))
        assert evaluation is not None and evaluation.responded == outcome.fate.responder
        if not outcome.fate.responder:
            assert loss is None
        elif loss is not None:
            confirmed += 1
            assert outcome.fate.durability_days is not None
            assert outcome.measured_durability_days == max(14, math.ceil(outcome.fate.durability_days))
    assert confirmed >= 2


def test_the_timeline_is_coherent_and_ends_today(sim_db: Session, simulated: Simulated) -> None:
    db, summary = sim_db, simulated.summary
    now = datetime.now(UTC)
    for outcome in summary.outcomes:
        if outcome.course_end is None:
            continue
        referral = db.scalar(select(Referral).where(Referral.patient_id == outcome.patient_id))
        plan = db.scalar(select(TreatmentPlan).where(TreatmentPlan.patient_id == outcome.patient_id))
        first = db.scalar(select(func.min(InfusionSession.infusion_started_at))
                          .where(InfusionSession.patient_id == outcome.patient_id))
        last = db.scalar(select(func.max(Assessment.administered_at))
                         .where(Assessment.patient_id == outcome.patient_id))
        assert referral is not None and plan is not None and plan.signed_at is not None
        assert now - timedelta(days=PARAMS.enrolment_start_days_ago + 1) < referral.created_at
        assert referral.created_at < plan.signed_at < first < last <= now
    # The audit trail carries the simulated times and the acting staff, not the moment of the run.
    clinic = _clinic(db, summary)
    discharges = list(db.scalars(select(AuditEvent).where(AuditEvent.clinic_id == clinic.id,
                                                          AuditEvent.action == "infusion.discharge")))
    assert len(discharges) == summary.infusions
    assert all(e.actor_user_id is not None and e.user_agent == "tenfour simulate (synthetic data)"
               and e.at < now - timedelta(days=20) for e in discharges)


def test_no_email_leaves_and_no_alert_is_left_open(sim_db: Session, simulated: Simulated) -> None:
    db, summary = sim_db, simulated.summary
    clinic = _clinic(db, summary)
    ids = [o.patient_id for o in summary.outcomes if o.patient_id is not None]
    messages = list(db.scalars(select(OutboxMessage).where(OutboxMessage.patient_id.in_(ids))))
    assert len(messages) == len(ids)  # one invitation each
    assert all(m.sent_at is None and m.attempts == MAX_ATTEMPTS and "synthetic" in (m.last_error or "")
               for m in messages)
    raised = list(db.scalars(select(Alert).where(Alert.clinic_id == clinic.id)))
    assert raised and all(a.resolved_at is not None and a.acknowledged_at is not None for a in raised)
    assert summary.alerts_answered >= len([a for a in raised if a.resolution != "infusion_action"])


def test_simulated_patients_go_only_into_synthetic_clinics(db: Session, session_factory: sessionmaker[Session]
                                                          ) -> None:
    real = factories.make_clinic(db, slug="real-clinic")
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        runner.run(session_factory, PARAMS, patients=2, seed=1, clinic_slug="real-clinic")
    assert refused.value.problems[0].field == "clinic" and refused.value.problems[0].rule == "synthetic_only"
    with pytest.raises(ValidationFailed) as missing:
        runner.run(session_factory, PARAMS, patients=2, seed=1, clinic_slug="no-such-clinic")
    assert missing.value.problems[0].rule == "exists"
    assert db.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == real.id)) == 0


def test_a_seed_is_used_once_per_clinic(db: Session, session_factory: sessionmaker[Session]) -> None:
    quick = preset("feder2021", referral_lost_rate=1.0)  # referrals only: fast
    first = runner.run(session_factory, quick, patients=2, seed=5)
    with pytest.raises(ValidationFailed) as again:
        runner.run(session_factory, quick, patients=2, seed=5, clinic_slug=first.clinic_slug)
    assert again.value.problems[0].field == "seed"
    other = runner.run(session_factory, quick, patients=2, seed=6, clinic_slug=first.clinic_slug)
    assert other.clinic_slug == first.clinic_slug and not other.clinic_created
    clinic = db.scalar(select(Clinic).where(Clinic.slug == first.clinic_slug))
    assert db.scalar(select(func.count()).select_from(Referral).where(Referral.clinic_id == clinic.id)) == 4


def test_the_draw_is_deterministic_for_a_seed() -> None:
    today = date(2026, 6, 1)
    one, two = cohort.draw(PARAMS, 30, 9, "x", today), cohort.draw(PARAMS, 30, 9, "x", today)
    assert one == two
    assert cohort.draw(PARAMS, 30, 10, "x", today) != one


@pytest.mark.parametrize(("overrides", "field"), [
    ({"response_probability": 1.5}, "response_probability"),
    ({"median_days_to_loss_of_response": 0}, "median_days_to_loss_of_response"),
    ({"durability_distribution": "gamma"}, "durability_distribution"),
    ({"responder_reduction": (0.2, 0.5)}, "responder_reduction"),
    ({"enrolment_start_days_ago": 400}, "enrolment_start_days_ago"),
])
def test_bad_parameters_are_refused_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        preset("feder2021", **overrides)
    assert field in [p.field for p in refused.value.problems]


def test_an_unknown_preset_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        preset("hopeful2030")
    assert refused.value.problems[0].field == "preset"


def test_answers_add_up_to_the_total() -> None:
    import random

    rng = random.Random(1)
    for instrument_id, total in (("pcl5", 57), ("pcl5-8", 20), ("gad7", 9), ("cadss6", 4), ("pcl5", 200)):
        answers = cohort.answers_for(instrument_id, total, rng)
        assert sum(answers.values()) == min(total, 80)
    phq9 = cohort.phq9_answers(11, 1, rng)
    assert sum(phq9.values()) == 11 and phq9["q9"] == 1


def test_the_command_makes_a_cohort_and_refuses_bad_input(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tenfour import config, db
    from tenfour.cli import app

    def clear() -> None:
        if db.get_engine.cache_info().currsize:
            db.get_engine().dispose()
        for cached in (config.get_settings, db.get_engine, db.get_session_factory):
            cached.cache_clear()

    cli = CliRunner()
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        monkeypatch.setenv("TENFOUR_DATABASE_URL", url)
        monkeypatch.setenv("TENFOUR_DATA_DIR", str(tmp_path))
        clear()
        try:
            made = cli.invoke(app, ["simulate", "--patients", "3", "--seed", "4", "--quiet", "--json"])
            assert made.exit_code == 0, made.output
            summary = json.loads(made.stdout)
            assert summary["patients"] == 3 and summary["clinic_slug"] == "sim-4" and summary["clinic_created"]
            again = cli.invoke(app, ["simulate", "--patients", "3", "--seed", "4", "--clinic", "sim-4", "--quiet"])
            assert again.exit_code == 2 and "seed" in again.output
            bad = cli.invoke(app, ["simulate", "--patients", "3", "--seed", "5", "--response-probability", "2"])
            assert bad.exit_code == 2 and "response_probability" in bad.output
            shown = cli.invoke(app, ["simulate", "--patients", "1", "--seed", "6", "--quiet"])
            assert shown.exit_code == 0 and "sourced: Feder et al. 2021" in shown.output
        finally:
            clear()
