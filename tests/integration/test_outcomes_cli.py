"""`tenfour report outcomes` on the seeded demo: the JSON is the dashboard's report (real numbers, each estimate with
its interval and n), the table says the same, bad input is named, and the run is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.helpers import scratch_database
from typer.testing import CliRunner

from tenfour import config, demo, migrate
from tenfour import db as tenfour_db
from tenfour.audit.models import AuditEvent
from tenfour.cli import app
from tenfour.clinics.models import Clinic
from tenfour.outcomes import service

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_url(database_url: str) -> Iterator[str]:
    with scratch_database(database_url) as url:
        migrate.upgrade(url)
        engine = tenfour_db.make_engine(url)
        with tenfour_db.session_scope(tenfour_db.make_session_factory(engine)) as session:
            demo.seed(session)
        engine.dispose()
        yield url


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.setenv("TENFOUR_DATABASE_URL", demo_url)
    monkeypatch.setenv("TENFOUR_DATA_DIR", str(tmp_path))
    caches = (config.get_settings, tenfour_db.get_engine, tenfour_db.get_session_factory)
    for cached in caches:
        cached.cache_clear()
    try:
        yield demo_url
    finally:
        if tenfour_db.get_engine.cache_info().currsize:
            tenfour_db.get_engine().dispose()
        for cached in caches:
            cached.cache_clear()


def test_json_is_the_dashboards_report_with_real_numbers(demo_env: str) -> None:
    result = runner.invoke(app, ["report", "outcomes", "--clinic", "north", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    with tenfour_db.session_scope() as db:
        north = db.scalars(select(Clinic).where(Clinic.slug == "north")).one()
        expected = service.compute(db, [north], service.Selection()).report
    assert printed == expected
    for key in ("response_rate", "remission_rate", "median_days_to_loss_of_response"):
        assert set(printed[key]) >= {"value", "ci95", "n"}
    assert printed["funnel"]["started"] >= 10 and printed["response_rate"]["n"] >= 10  # the demo has real numbers
    low, high = printed["response_rate"]["ci95"]
    assert 0 <= low <= printed["response_rate"]["value"] <= high <= 1
    assert printed["safety"]["infusions"] > 50 and printed["cadss6_mean"]["n"] > 50
    with tenfour_db.session_scope() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "outcomes.view")
                           .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.actor_label.startswith("cli:") and event.detail["channel"] == "cli"


def test_the_table_says_the_same(demo_env: str) -> None:
    printed = json.loads(runner.invoke(app, ["report", "outcomes", "--clinic", "all", "--json"]).output)
    result = runner.invoke(app, ["report", "outcomes", "--clinic", "all"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    response = printed["response_rate"]
    assert f"{round(100 * response['value'])}% ({response['count']} of {response['n']})" in result.output
    assert "Claims and trials vs this clinic (verdict rule: product choice)" in result.output
    assert f"started {printed['funnel']['started']}" in result.output
    assert [c["slug"] for c in printed["scope"]["clinics"]] == ["bayside", "north"]


def test_filters_and_bad_input(demo_env: str) -> None:
    police = json.loads(runner.invoke(app, ["report", "outcomes", "--clinic", "north", "--role", "police",
                                            "--json"]).output)
    everyone = json.loads(runner.invoke(app, ["report", "outcomes", "--clinic", "north", "--json"]).output)
    assert police["scope"]["filters"]["role"] == "police"
    assert police["funnel"]["started"] < everyone["funnel"]["started"]
    unknown = runner.invoke(app, ["report", "outcomes", "--clinic", "nowhere"])
    assert unknown.exit_code == 2 and "clinic: no clinic with slug 'nowhere'" in unknown.output
    bad = runner.invoke(app, ["report", "outcomes", "--clinic", "north", "--role", "pilot", "--from", "2026-02-30"])
    assert bad.exit_code == 2
    assert "role: must be one of" in bad.output and "from: must be a date written as YYYY-MM-DD" in bad.output
