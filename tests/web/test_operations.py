"""Operations endpoints and logs: liveness, readiness, Prometheus metrics (optionally behind a token), a request id
on every answer, and log lines that never carry a patient's data."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.checkins_support import ctx_for
from tests.conftest import browser_login

from tenfour.alerts import service as alerts
from tenfour.alerts.models import Severity
from tenfour.logs import JsonFormatter
from tenfour.web.app import create_app


def _families(body: str) -> dict[str, list]:  # type: ignore[type-arg]
    return {family.name: family.samples for family in text_string_to_metric_families(body)}


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["checks"]["database"] == "ok" and body["checks"]["migrations"] == "ok"


def test_readiness_fails_when_the_schema_is_behind(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    db.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    db.commit()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["migrations"].startswith("behind")


def test_metrics_count_requests_by_route_template_and_report_open_alerts(client: TestClient, db, world) -> None:  # type: ignore[no-untyped-def]
    alerts.raise_alert(db, ctx_for(world.user("nurse")), clinic_id=world.north.id, patient_id=world.patient_north.id,
                       severity=Severity.URGENT, kind="suicidal_ideation", title="t", reasons=[])
    db.commit()
    browser_login(client, world.user("nurse").email)
    assert client.get(f"/patients/{world.patient_north.id}").status_code == 200
    body = client.get("/metrics").text
    families = _families(body)
    routes = {s.labels.get("route") for s in families["tenfour_http_request_duration_seconds"]}
    assert "/patients/{patient_id}" in routes
    assert not any(re.search(r"/\d+(/|$)", route or "") for route in routes)  # templates, never ids
    open_alerts = {(s.labels["severity"], s.labels["acknowledged"]): s.value for s in families["tenfour_alerts_open"]}
    assert open_alerts[("urgent", "no")] == 1
    assert {s.labels["status"] for s in families["tenfour_job_queue_depth"]} == {"todo"}
    assert "tenfour_sweep_last_duration_seconds" in families


def test_metrics_token_is_required_when_set(settings, session_factory) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings=settings.model_copy(update={"metrics_token": "scrape-me"}),
                     session_factory=session_factory)
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_every_answer_has_a_request_id(client: TestClient) -> None:
    first, second = client.get("/login"), client.get("/no-such-page")
    assert len(first.headers["x-request-id"]) == 16 and first.headers["x-request-id"] != second.headers["x-request-id"]


def test_request_log_names_the_route_not_the_path_or_the_query(client: TestClient, world,  # type: ignore[no-untyped-def]
                                                               caplog: pytest.LogCaptureFixture) -> None:
    browser_login(client, world.user("nurse").email)
    with caplog.at_level(logging.INFO, logger="tenfour.request"):
        assert client.get(f"/patients/{world.patient_north.id}?q=Nora").status_code == 200
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "tenfour.request"]
    assert lines, "no request line"
    record = json.loads(lines[-1])
    assert record["route"] == "/patients/{patient_id}" and record["method"] == "GET"
    assert "Nora" not in lines[-1] and f"/patients/{world.patient_north.id}" not in lines[-1]


def test_json_log_lines_keep_an_errors_type_and_stack_but_not_its_message() -> None:
    try:
        raise ValueError("Nora North, nora@example.org, PCL-5 51")
    except ValueError:
        record = logging.getLogger("tenfour.test").makeRecord(
            "tenfour.test", logging.ERROR, __file__, 1, "saving a check-in failed", (), exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["error"] == "ValueError" and data["message"] == "saving a check-in failed" and data["stack"]
    assert "Nora" not in line and "nora@example.org" not in line and "51" not in line.replace(data["time"], "")


def test_sql_parameters_never_appear_in_error_messages(db, world) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as raised:
        db.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": "Nora North"})
    assert "Nora North" not in str(raised.value)
    db.rollback()
