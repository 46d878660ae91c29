"""End to end: 300 synthetic referrals with the ``feder2021`` preset, made through the real services, are counted by
the outcomes report (``tenfour.outcomes.service``, the same numbers as the dashboard and `tenfour report outcomes`),
and the report's 95% intervals hold the parameters the cohort was drawn with: a response rate of 67% and a median of
27.5 days to loss of response (Feder et al. 2021). Slow: about two minutes on SQLite, five on PostgreSQL (2 cores)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.helpers import scratch_database

from tenfour import migrate
from tenfour.clinics.models import Clinic
from tenfour.db import make_engine, make_session_factory
from tenfour.outcomes import service as outcomes
from tenfour.outcomes.selection import Selection
from tenfour.simulate import runner
from tenfour.simulate.params import PRESETS, preset

PATIENTS, SEED = 300, 2021


@pytest.mark.slow
def test_the_outcomes_report_recovers_a_feder2021_cohort(database_url: str) -> None:
    params = preset("feder2021")
    assert params == PRESETS["feder2021"]  # the preset as published, nothing tuned for the test
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            factory = make_session_factory(engine)
            summary = runner.run(factory, params, patients=PATIENTS, seed=SEED, preset_name="feder2021")
            with factory() as db:
                clinic = db.scalar(select(Clinic).where(Clinic.slug == summary.clinic_slug))
                assert clinic is not None
                report = outcomes.compute(db, [clinic], Selection()).report
        finally:
            engine.dispose()
    assert report["funnel"]["referred"] == PATIENTS and report["funnel"]["started"] == summary.started >= 200
    response = report["response_rate"]
    low, high = response["ci95"]
    assert response["n"] == summary.started and low <= params.response_probability <= high, response
    durability = report["median_days_to_loss_of_response"]
    low, high = durability["ci95"]
    assert durability["events"] >= 100 and low <= params.median_days_to_loss_of_response <= high, durability
    # The intervals are informative, not so wide that anything would fall inside them.
    assert response["ci95"][1] - response["ci95"][0] < 0.15 and high - low < 20
    claims = {c["key"]: c["verdict"] for c in report["claims"]}
    assert claims["feder_response"] == "consistent" and claims["feder_durability"] == "consistent"
