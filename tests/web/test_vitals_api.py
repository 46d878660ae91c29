"""POST /api/v1/vitals/evaluate: every default line at its boundary (DESIGN.md), the clinic's own lines, impossible
values refused rather than evaluated, and who may call it."""

from __future__ import annotations

import pytest

from tenfour.audit.service import Actor
from tenfour.clinics.service import set_policy_values

URL = "/api/v1/vitals/evaluate"
NORMAL = {"systolic_bp": 120, "diastolic_bp": 78, "heart_rate": 72, "spo2": 98}


def _level(client, as_api, phase, **values):  # type: ignore[no-untyped-def]
    response = client.post(URL, json={"phase": phase, **NORMAL, **values}, headers=as_api("nurse"))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("phase", "values", "level"), [
    ("pre", {"systolic_bp": 140}, "ok"), ("pre", {"systolic_bp": 141}, "caution"),
    ("pre", {"systolic_bp": 179}, "caution"), ("pre", {"systolic_bp": 180}, "hold"),
    ("pre", {"diastolic_bp": 90}, "ok"), ("pre", {"diastolic_bp": 91}, "caution"),
    ("pre", {"diastolic_bp": 110}, "hold"),
    ("infusing", {"systolic_bp": 179}, "ok"), ("infusing", {"systolic_bp": 180}, "notify"),
    ("infusing", {"systolic_bp": 199}, "notify"), ("infusing", {"systolic_bp": 200}, "stop"),
    ("infusing", {"diastolic_bp": 109}, "ok"), ("infusing", {"diastolic_bp": 110}, "notify"),
    ("infusing", {"systolic_bp": 190, "diastolic_bp": 120}, "stop"),
    ("infusing", {"heart_rate": 130}, "ok"), ("infusing", {"heart_rate": 131}, "notify"),
    ("infusing", {"spo2": 92}, "ok"), ("infusing", {"spo2": 91}, "notify"), ("infusing", {"spo2": 88}, "notify"),
    ("infusing", {"spo2": 87}, "stop"),
    ("recovery", {"systolic_bp": 180}, "notify"), ("recovery", {"spo2": 87}, "stop"),
])
def test_each_line_at_its_boundary(client, as_api, phase, values, level):
    assert _level(client, as_api, phase, **values)["level"] == level


def test_reasons_name_measurement_line_and_rule(client, as_api):
    body = _level(client, as_api, "infusing", systolic_bp=204, spo2=91)
    assert body["level"] == "stop"
    reasons = {(r["measurement"], r["rule"], r["level"]) for r in body["reasons"]}
    assert reasons == {("systolic_bp", "vitals.stop_sbp", "stop"), ("spo2", "vitals.notify_spo2", "notify")}
    assert body["reasons"][0]["level"] == "stop"  # most severe first


def test_sedation_rules(client, as_api):
    assert _level(client, as_api, "infusing", sedation="responds_to_touch")["level"] == "notify"
    assert _level(client, as_api, "recovery", sedation="unresponsive")["level"] == "stop"
    assert _level(client, as_api, "pre", sedation="responds_to_touch")["level"] == "hold"


def test_uses_the_clinics_lines(client, as_api, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {"vitals.notify_sbp": 170})
    db.commit()
    assert _level(client, as_api, "infusing", systolic_bp=172)["level"] == "notify"
    south = client.post(URL, json={"phase": "infusing", **NORMAL, "systolic_bp": 172},
                        headers=as_api("nurse", "south-test")).json()
    assert south["level"] == "ok"


@pytest.mark.parametrize(("values", "field"), [
    ({"systolic_bp": 20}, "systolic_bp"), ({"spo2": 140}, "spo2"), ({"heart_rate": 0}, "heart_rate"),
    ({"diastolic_bp": 130}, "diastolic_bp"), ({"respiratory_rate": 100}, "respiratory_rate")])
def test_impossible_values_are_refused_not_evaluated(client, as_api, values, field):
    response = client.post(URL, json={"phase": "infusing", **NORMAL, **values}, headers=as_api("nurse"))
    assert response.status_code == 422
    assert field in {p["field"] for p in response.json()["problems"]}
    assert "level" not in response.json()


def test_unknown_phase_and_malformed_bodies(client, as_api):
    response = client.post(URL, json={"phase": "after", **NORMAL}, headers=as_api("nurse"))
    assert response.status_code == 422 and response.json()["problems"][0]["rule"] == "known_choice"
    assert client.post(URL, json={"phase": "pre", **NORMAL, "spo2": "high"}, headers=as_api("nurse")).status_code == 422
    assert client.post(URL, json={"phase": "pre"}, headers=as_api("nurse")).status_code == 422


@pytest.mark.parametrize(("role", "status"), [("nurse", 200), ("prescriber", 200), ("coordinator", 403),
                                              ("manager", 403), ("admin", 403), ("patient", 403)])
def test_who_may_evaluate(client, as_api, role, status):
    response = client.post(URL, json={"phase": "pre", **NORMAL}, headers=as_api(role))
    assert response.status_code == status
    assert client.post(URL, json={"phase": "pre", **NORMAL}).status_code == 401
