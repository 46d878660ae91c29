"""POST /api/v1/dosing/calculate: hand-worked examples for each weight basis and rounding rule (the same as
docs/clinical-rules.md), the clinic's own settings, the maximum refused with the limit named, impossible input
refused, and who may call it."""

from __future__ import annotations

import pytest

from tenfour.audit.service import Actor
from tenfour.clinics.service import set_policy_values

URL = "/api/v1/dosing/calculate"
BASE = {"dose_mg_per_kg": 0.5, "duration_min": 40, "concentration_mg_per_ml": 1}


@pytest.mark.parametrize(("extra", "expected"), [
    # 80 kg actual: 40.0 mg, 40.00 mL, 60.0 mL/h
    ({"weight_kg": 80}, (40.0, 40.0, 60.0, "actual", 80.0)),
    # man 180 cm, 100 kg, ideal (Devine): 75.0 kg -> 37.5 mg; 56.25 -> 56.3 mL/h (half-up)
    ({"weight_kg": 100, "height_cm": 180, "sex": "male", "weight_basis": "ideal"}, (37.5, 37.5, 56.3, "ideal", 75.0)),
    # man 180 cm, 100 kg, adjusted: 75.0 + 0.4 x 25.0 = 85.0 kg -> 42.5 mg; 63.75 -> 63.8 mL/h
    ({"weight_kg": 100, "height_cm": 180, "sex": "male", "weight_basis": "adjusted"},
     (42.5, 42.5, 63.8, "adjusted", 85.0)),
    # woman 165 cm, 90 kg, ideal: 56.9 kg -> 28.45 -> 28.5 mg; 42.75 -> 42.8 mL/h
    ({"weight_kg": 90, "height_cm": 165, "sex": "female", "weight_basis": "ideal"},
     (28.5, 28.5, 42.8, "ideal", 56.9)),
    # woman 165 cm, 90 kg, adjusted: 56.9 + 0.4 x 33.1 = 70.14 -> 70.1 kg; 35.05 mg -> 35.0 (nearest 0.5 mg); 52.5 mL/h
    ({"weight_kg": 90, "height_cm": 165, "sex": "female", "weight_basis": "adjusted"},
     (35.0, 35.0, 52.5, "adjusted", 70.1)),
    # woman 165 cm, 50 kg asks for ideal: the actual weight (below IBW 56.9) is used -> 25.0 mg, 37.5 mL/h
    ({"weight_kg": 50, "height_cm": 165, "sex": "female", "weight_basis": "ideal"}, (25.0, 25.0, 37.5, "actual", 50.0)),
    # 80.5 kg: 40.25 -> 40.5 mg (half-up; half-even would give 40.0); 60.75 -> 60.8 mL/h
    ({"weight_kg": 80.5}, (40.5, 40.5, 60.8, "actual", 80.5)),
])
def test_hand_worked_examples(client, as_api, extra, expected):
    response = client.post(URL, json={**BASE, **extra}, headers=as_api("nurse"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["dose_mg"], body["volume_ml"], body["rate_ml_per_h"], body["weight_basis"],
            body["dosing_weight_kg"]) == expected
    assert body["formula"]


def test_actual_below_ideal_is_warned(client, as_api):
    body = client.post(URL, json={**BASE, "weight_kg": 50, "height_cm": 165, "sex": "female",
                                  "weight_basis": "ideal"}, headers=as_api("nurse")).json()
    assert any(w.startswith("actual_weight_below_ideal") for w in body["warnings"])


def test_uses_the_clinics_rounding_and_weight_basis(client, as_api, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {"dose.rounding_mg": 1.0, "dose.rounding_ml_per_h": 1.0,
                                                             "dose.weight_basis": "adjusted"})
    db.commit()
    # north: adjusted basis by default (85.0 kg), dose to 1 mg: 42.5 -> 43 mg; 43 mL over 40 min = 64.5 -> 65 mL/h
    north = client.post(URL, json={**BASE, "weight_kg": 100, "height_cm": 180, "sex": "male"},
                        headers=as_api("nurse")).json()
    assert (north["weight_basis"], north["dose_mg"], north["rate_ml_per_h"]) == ("adjusted", 43.0, 65.0)
    south = client.post(URL, json={**BASE, "weight_kg": 100, "height_cm": 180, "sex": "male"},
                        headers=as_api("nurse", "south-test")).json()
    assert (south["weight_basis"], south["dose_mg"], south["rate_ml_per_h"]) == ("actual", 50.0, 75.0)


@pytest.mark.parametrize(("mg_per_kg", "status"), [(1.0, 200), (1.01, 422)])
def test_the_maximum_boundary(client, as_api, mg_per_kg, status):
    response = client.post(URL, json={**BASE, "weight_kg": 80, "dose_mg_per_kg": mg_per_kg}, headers=as_api("nurse"))
    assert response.status_code == status
    if status == 422:
        problem = response.json()["problems"][0]
        assert (problem["field"], problem["rule"]) == ("dose_mg_per_kg", "max_dose")
        assert "1 mg/kg" in problem["message"] and "dose.max_mg_per_kg" in problem["message"]


def test_over_the_clinics_own_maximum(client, as_api, world, db):
    set_policy_values(db, Actor.system("test"), world.north, {"dose.max_mg_per_kg": 0.75})
    db.commit()
    response = client.post(URL, json={**BASE, "weight_kg": 80, "dose_mg_per_kg": 0.8}, headers=as_api("nurse"))
    assert response.status_code == 422 and "0.75 mg/kg" in response.json()["detail"]
    other = client.post(URL, json={**BASE, "weight_kg": 80, "dose_mg_per_kg": 0.8},
                        headers=as_api("nurse", "south-test"))
    assert other.status_code == 200


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"weight_kg": 0}, "weight_kg", "plausible_range"),
    ({"weight_kg": 400}, "weight_kg", "plausible_range"),
    ({"weight_kg": 80, "duration_min": 0}, "duration_min", "plausible_range"),
    ({"weight_kg": 80, "concentration_mg_per_ml": 0}, "concentration_mg_per_ml", "plausible_range"),
    ({"weight_kg": 80, "weight_basis": "ideal"}, "height_cm", "required_for_weight_basis"),
    ({"weight_kg": 80, "weight_basis": "lean"}, "weight_basis", "known_choice"),
])
def test_impossible_input_is_refused_naming_the_field(client, as_api, body, field, rule):
    response = client.post(URL, json={**BASE, **body}, headers=as_api("nurse"))
    assert response.status_code == 422
    assert (field, rule) in {(p["field"], p["rule"]) for p in response.json()["problems"]}


def test_malformed_bodies_are_422_not_500(client, as_api):
    for body in ({"weight_kg": "heavy", **BASE}, {"weight_kg": 80}, {**BASE, "weight_kg": 80, "extra": 1},
                 {**BASE, "weight_kg": "NaN"}):
        assert client.post(URL, json=body, headers=as_api("nurse")).status_code == 422


@pytest.mark.parametrize(("role", "status"), [("nurse", 200), ("prescriber", 200), ("coordinator", 403),
                                              ("manager", 403), ("admin", 403), ("patient", 403)])
def test_who_may_calculate(client, as_api, role, status):
    response = client.post(URL, json={**BASE, "weight_kg": 80}, headers=as_api(role))
    assert response.status_code == status


def test_signed_out_is_401(client):
    assert client.post(URL, json={**BASE, "weight_kg": 80}).status_code == 401
