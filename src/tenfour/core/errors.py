"""Errors raised by the pure core: each names the field and the rule it broke."""
from dataclasses import dataclass


@dataclass
class FieldProblem:
    field: str
    rule: str
    message: str


class CoreError(ValueError):
    """Bad input to a clinical rule: every problem names the field and the rule."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def single(cls, field: str, rule: str, message: str) -> "CoreError":
        return cls([FieldProblem(field, rule, message)])
