"""Turning an HTML form into a validated Pydantic model, with errors kept beside each field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from tenfour.errors import Problem, TenFourError
from tenfour.web.errors import problems_from_pydantic
from tenfour.web.security import CSRF_FIELD

Model = TypeVar("Model", bound=BaseModel)


class FormErrors(dict[str, str]):
    """field -> message; a field named in several problems keeps the first message."""

    @classmethod
    def from_problems(cls, problems: list[Problem]) -> FormErrors:
        errors = cls()
        for problem in problems:
            errors.setdefault(problem.field.split(".")[0] or "form", problem.message)
        return errors


def form_values(form: FormData, multi: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Plain dict of the submitted values (without the CSRF token); `multi` fields stay lists."""
    values: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        if key in multi:
            values[key] = [v for v in form.getlist(key) if isinstance(v, str)]
        else:
            value = form.get(key)
            values[key] = value if isinstance(value, str) else None
    return values


def parse(model: type[Model], values: dict[str, Any], *, drop_blank: bool = True) -> tuple[Model | None, FormErrors]:
    data = {k: v for k, v in values.items() if not (drop_blank and v == "")}
    try:
        return model.model_validate(data), FormErrors()
    except ValidationError as error:
        return None, FormErrors.from_problems(problems_from_pydantic(list(error.errors())))


def errors_from(error: TenFourError) -> FormErrors:
    errors = FormErrors.from_problems(error.problems)
    if not errors:
        errors["form"] = error.message
    return errors
