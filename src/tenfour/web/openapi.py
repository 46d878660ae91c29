"""The OpenAPI document says what the API really answers when something is wrong. Errors are mapped once
(web/errors.py) to ``{"detail", "code"?, "problems"?: [{"field", "rule", "message"}]}``; FastAPI alone would
document a 422 shaped like its own validation error and leave out the 4xx answers every route can give (not signed
in, role not allowed, not found in your clinics, too many requests). tests/fuzz checks every answer against this."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMAS: dict[str, Any] = {
    "Problem": {"type": "object", "required": ["field", "rule", "message"],
                "properties": {"field": {"type": "string"}, "rule": {"type": "string"},
                               "message": {"type": "string"}}},
    "Error": {"type": "object", "required": ["detail"],
              "properties": {"detail": {"type": "string"}, "code": {"type": "string"},
                             "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}},
}
# Answers any API operation can give, whatever the route: the error family of tenfour.errors.
COMMON_ERRORS = {
    "401": "Not signed in (or the session ended)",
    "403": "Your role may not do this",
    "404": "Not found in your clinics",
    "422": "Bad input: each problem names the field and the rule",
    "429": "Too many requests; wait for Retry-After seconds",
}
BODY_ERRORS = {"400": "The body could not be read", "413": "The body is too large"}


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe the error answers as they are (computed once, like FastAPI's own)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and "Error" in app.openapi_schema.get("components", {}).get("schemas", {}):
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in operations.values():
                _add_errors(operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    wanted = dict(COMMON_ERRORS)
    if "requestBody" in operation:
        wanted.update(BODY_ERRORS)
    for status, description in wanted.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if not status.startswith("4"):
            continue
        media = response.get("content", {}).get("application/json", {})
        if not media or media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
            response["content"] = {"application/json": {"schema": ERROR_REF}}
