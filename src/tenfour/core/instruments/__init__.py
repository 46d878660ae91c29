"""Clinical instruments: definitions as data, answer validation and exact scoring.

Registry of every instrument TenFour ships: PCL-5 (past month ``pcl5``, past week ``pcl5-week``, 8-item
``pcl5-8``), PHQ-9 (``phq9``), GAD-7 (``gad7``), C-SSRS screener (``cssrs-screen``) and CADSS-6
(``cadss6``). Sources and licences: docs/instruments.md.

    result = score("pcl5", {"q1": 2, ..., "q20": 1}, cutoff=clinic_policy["pcl5.provisional_cutoff"])

Bad answers raise one :class:`~tenfour.core.errors.CoreError` listing every problem, each naming the item
id (or ``version`` / ``cutoff`` / ``instrument_id``) and the rule broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenfour.core.errors import CoreError, FieldProblem
from tenfour.core.instruments import cadss6, cssrs, gad7, pcl5, phq9
from tenfour.core.instruments.base import (
    NOT_AN_INTEGER,
    OUT_OF_RANGE,
    WRONG_VERSION,
    Band,
    Instrument,
    Item,
    Option,
    ScoreResult,
    ValidAnswers,
    find_problems,
)

UNKNOWN_INSTRUMENT = "unknown_instrument"
NOT_APPLICABLE = "not_applicable"

_ALL: tuple[Instrument, ...] = (
    *pcl5.INSTRUMENTS,
    *phq9.INSTRUMENTS,
    *gad7.INSTRUMENTS,
    *cssrs.INSTRUMENTS,
    *cadss6.INSTRUMENTS,
)
_BY_ID: dict[str, Instrument] = {instrument.id: instrument for instrument in _ALL}

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "Option",
    "ScoreResult",
    "ValidAnswers",
    "all_instruments",
    "get",
    "score",
]


def _lookup(instrument_id: str) -> Instrument:
    instrument = _BY_ID.get(instrument_id)
    if instrument is None:
        known = ", ".join(_BY_ID)
        raise CoreError.single("instrument_id", UNKNOWN_INSTRUMENT, f"must be one of {known}")
    return instrument


def _version_problem(instrument: Instrument, version: str | None) -> FieldProblem | None:
    if version is None or version == instrument.version:
        return None
    return FieldProblem(
        "version",
        WRONG_VERSION,
        f"answers are for {instrument.short_title} version {version}; this is version {instrument.version}",
    )


def get(instrument_id: str, version: str | None = None) -> Instrument:
    """The instrument with this id; if ``version`` is given it must be the shipped version.

    Raises CoreError (``instrument_id``/``unknown_instrument`` or ``version``/``wrong_version``).
    """
    instrument = _lookup(instrument_id)
    problem = _version_problem(instrument, version)
    if problem is not None:
        raise CoreError([problem])
    return instrument


def all_instruments() -> list[Instrument]:
    """Every shipped instrument, in a fixed order (PCL-5 forms, PHQ-9, GAD-7, C-SSRS, CADSS-6)."""
    return list(_ALL)


def _cutoff_problem(instrument: Instrument, cutoff: Any) -> FieldProblem | None:
    if cutoff is None:
        return None
    if not instrument.accepts_cutoff:
        return FieldProblem("cutoff", NOT_APPLICABLE, f"{instrument.short_title} has no clinic cutoff")
    if isinstance(cutoff, bool) or not isinstance(cutoff, int):
        return FieldProblem("cutoff", NOT_AN_INTEGER, "must be a whole number of points")
    if instrument.max_total is not None and not 0 <= cutoff <= instrument.max_total:
        return FieldProblem("cutoff", OUT_OF_RANGE, f"must be between 0 and {instrument.max_total}")
    return None


def score(
    instrument_id: str,
    answers: Mapping[str, Any],
    *,
    version: str | None = None,
    cutoff: int | None = None,
) -> ScoreResult:
    """Validate and score one administration.

    ``answers`` maps item ids to integer answers (None = not answered). ``version`` is the instrument
    version the answers were collected on (checked when given). ``cutoff`` is the clinic's provisional
    cutoff in points for the 20-item PCL-5 forms (policy ``pcl5.provisional_cutoff``; the policy default
    when None); other instruments refuse one. Every problem is collected and raised as one CoreError;
    answers are checked against the shipped version even when the version is wrong, so the caller sees
    everything at once.
    """
    instrument = _lookup(instrument_id)
    valid, item_problems = find_problems(instrument, answers)
    checks = (_version_problem(instrument, version), _cutoff_problem(instrument, cutoff))
    problems = [problem for problem in checks if problem is not None] + item_problems
    if problems:
        raise CoreError(problems)
    return instrument.scorer(instrument, valid, cutoff)
