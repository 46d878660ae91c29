"""What the fuzzing found, pinned as plain tests (docs/reliability.md): the API's error answers are documented as they
are, file downloads declare their content type, and a roster shift start with a UTC offset is refused naming the
field instead of being stored and echoed back in a shape the document does not allow."""

from __future__ import annotations

from tests.web.support import app, module_app  # noqa: F401 - one app per module


def test_every_api_operation_documents_the_error_answers_it_can_give(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["Error"]["required"] == ["detail"]
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "404", "422"} <= set(responses), f"{method} {path}"
            assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_a_validation_error_has_the_documented_shape(client, as_api, world) -> None:  # type: ignore[no-untyped-def]
    response = client.patch(f"/api/v1/patients/{world.patient_north.id}", json={"years_of_service": "many"},
                            headers=as_api("nurse"))
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["problems"] == [{"field": "years_of_service", "rule": "int_parsing", "message": body["problems"][0]
                                 ["message"]}]


def test_downloads_declare_their_content_type(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json()["paths"]
    assert "text/calendar" in paths["/api/v1/me/appointments.ics"]["get"]["responses"]["200"]["content"]
    assert "text/calendar" in paths["/api/v1/patients/{patient_id}/appointments.ics"]["get"]["responses"]["200"][
        "content"]
    assert "application/fhir+json" in paths["/api/v1/me/fhir-bundle"]["get"]["responses"]["200"]["content"]


def test_a_shift_start_with_a_utc_offset_is_refused_naming_the_field(client, as_api, world) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/patients/{world.patient_north.id}"
    refused = client.patch(url, json={"roster_shift_start": "16:47:00Z"}, headers=as_api("nurse"))
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["roster_shift_start"]
    accepted = client.patch(url, json={"roster_shift_start": "07:00"}, headers=as_api("nurse"))
    assert accepted.status_code == 200 and accepted.json()["roster_shift_start"] == "07:00:00"
