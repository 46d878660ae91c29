"""Instruments as data: options, items, the instrument itself, answer validation and the score result.

Every instrument module builds an :class:`Instrument` from these frozen dataclasses and gives it a scorer.
Validation is shared: it collects EVERY problem in the answers (not only the first) and raises one
:class:`~tenfour.core.errors.CoreError` whose problems each name the item id and the rule broken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tenfour.core.errors import CoreError, FieldProblem

# Rules named in validation problems (FieldProblem.rule).
REQUIRED = "required"
UNKNOWN_ITEM = "unknown_item"
OUT_OF_RANGE = "out_of_range"
NOT_AN_INTEGER = "not_an_integer"
SKIP_LOGIC = "skip_logic"
WRONG_VERSION = "wrong_version"

SELF_REPORT = "self-report"
CLINICIAN = "clinician-administered"


@dataclass(frozen=True)
class Option:
    """One answer choice: the stored integer and the words shown beside it."""

    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question of an instrument.

    ``id`` is the key of the answer (``"q1"`` ...); for short forms it keeps the parent instrument's
    numbering (PCL-5-8 item ``"q4"`` is PCL-5 item 4), so answers line up across forms.
    ``number`` is the position on this form (1-based); ``source_number`` the number in the parent
    instrument where the form is a short form. ``text`` is the official wording when the instrument's
    text is shipped, otherwise a neutral short label. ``cluster`` is the subscale the item belongs to
    (the DSM-5 cluster for the PCL-5). ``asked_when = ("q2", 1)`` means the item is asked only when item
    q2 was answered 1, and must be left blank otherwise (skip logic).
    """

    id: str
    number: int
    text: str
    options: tuple[Option, ...]
    cluster: str | None = None
    source_number: int | None = None
    asked_when: tuple[str, int] | None = None

    @property
    def values(self) -> frozenset[int]:
        return frozenset(option.value for option in self.options)

    @property
    def min_value(self) -> int:
        return min(self.values)

    @property
    def max_value(self) -> int:
        return max(self.values)

    def label_of(self, value: int) -> str:
        """The option label shown for a stored value (KeyError if the value is not an option)."""
        for option in self.options:
            if option.value == value:
                return option.label
        raise KeyError(value)


@dataclass(frozen=True)
class Band:
    """A severity band: totals from ``low`` to ``high`` inclusive."""

    code: str
    label: str
    low: int
    high: int


@dataclass(frozen=True)
class ScoreResult:
    """The scored answers of one administration.

    ``total`` and ``max_total`` are None for instruments without a total (C-SSRS screener).
    ``band`` is a machine code (``"moderately_severe"``) and ``band_label`` its words.
    ``provisional_diagnosis`` and ``above_cutoff`` are None where the instrument has no such rule,
    ``cutoff`` is the cutoff actually applied. ``flags`` are safety flags such as ``suicidal_ideation``
    and ``imminent_risk``. ``answered_items`` holds the validated answers in form order;
    ``skipped_items`` the items not asked because of skip logic.
    """

    instrument_id: str
    version: str
    total: int | None
    max_total: int | None
    subscales: dict[str, int] = field(default_factory=dict)
    band: str | None = None
    band_label: str | None = None
    provisional_diagnosis: bool | None = None
    above_cutoff: bool | None = None
    cutoff: int | None = None
    risk_level: str | None = None
    flags: list[str] = field(default_factory=list)
    answered_items: dict[str, int] = field(default_factory=dict)
    skipped_items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ValidAnswers:
    """Answers that passed validation: values in form order and the items skip logic left out."""

    values: dict[str, int]
    skipped: list[str]


# A scorer turns validated answers into a result; ``cutoff`` is None unless the instrument accepts one.
Scorer = Callable[["Instrument", ValidAnswers, "int | None"], ScoreResult]


@dataclass(frozen=True)
class Instrument:
    """A clinical instrument defined as data.

    ``licence`` says what the copyright holder allows; ``text_shipped`` is False where TenFour may not
    ship the wording, in which case item texts are neutral labels and ``text_source`` says where the
    clinic obtains the licensed text. ``max_total`` is None for instruments without a total.
    ``accepts_cutoff`` is True where the caller may pass a clinic cutoff (PCL-5).
    """

    id: str
    version: str
    title: str
    short_title: str
    recall_period: str
    instructions: str
    stem: str
    items: tuple[Item, ...]
    licence: str
    source: str
    text_shipped: bool
    scorer: Scorer = field(compare=False, repr=False)
    administration: str = SELF_REPORT
    text_source: str | None = None
    max_total: int | None = None
    accepts_cutoff: bool = False

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"{self.id}: duplicate item id {item.id}")
            if item.asked_when is not None and item.asked_when[0] not in seen:
                raise ValueError(f"{self.id}: {item.id} depends on an item that does not come before it")
            seen.add(item.id)
        if not self.text_shipped and not self.text_source:
            raise ValueError(f"{self.id}: say where the clinic obtains the licensed text")

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError if none)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def validate(self, answers: Mapping[str, Any]) -> ValidAnswers:
        """Check the answers; raise one CoreError listing every problem (see :func:`find_problems`)."""
        valid, problems = find_problems(self, answers)
        if problems:
            raise CoreError(problems)
        return valid


def _value_problem(item: Item, raw: object) -> FieldProblem | None:
    # bool is a subclass of int in Python: True would silently score as 1, so it is refused.
    if isinstance(raw, bool) or not isinstance(raw, int):
        return FieldProblem(item.id, NOT_AN_INTEGER, f"must be a whole number, got {type(raw).__name__}")
    if raw not in item.values:
        allowed = ", ".join(str(v) for v in sorted(item.values))
        return FieldProblem(item.id, OUT_OF_RANGE, f"must be one of {allowed}, got {raw}")
    return None


def _is_asked(item: Item, values: Mapping[str, int], skipped: list[str]) -> bool | None:
    """True if skip logic asks the item, False if it skips it, None if that is not yet known."""
    if item.asked_when is None:
        return True
    parent_id, trigger = item.asked_when
    if parent_id in skipped:
        return False
    if parent_id not in values:
        return None
    return values[parent_id] == trigger


def find_problems(
    instrument: Instrument, answers: Mapping[str, Any]
) -> tuple[ValidAnswers, list[FieldProblem]]:
    """Validate answers against an instrument, collecting every problem.

    An answer of None counts as not answered. Rules: ``required`` (an item that is asked has no answer),
    ``not_an_integer`` (not an int, or a bool), ``out_of_range`` (not one of the item's option values),
    ``skip_logic`` (an item answered although skip logic leaves it out), ``unknown_item`` (a key that is
    not an item of this instrument). Problems come in form order, unknown items last.
    """
    problems: list[FieldProblem] = []
    values: dict[str, int] = {}
    skipped: list[str] = []
    for item in instrument.items:
        raw = answers.get(item.id)
        given = raw is not None
        asked = _is_asked(item, values, skipped)
        if asked is False:
            skipped.append(item.id)
            if given and item.asked_when is not None:
                parent_id, trigger = item.asked_when
                when = instrument.item(parent_id).label_of(trigger)
                problems.append(FieldProblem(
                    item.id, SKIP_LOGIC, f"must be left blank: it is asked only when {parent_id} is {when}"
                ))
            continue
        if not given:
            # asked is None: the item it depends on is missing or invalid (reported there), so whether
            # this one is asked is unknown and its absence is not a further problem.
            if asked:
                problems.append(FieldProblem(item.id, REQUIRED, "must be answered"))
            continue
        problem = _value_problem(item, raw)
        if problem is None:
            values[item.id] = raw
        else:
            problems.append(problem)
    known = set(instrument.item_ids)
    for key in answers:
        if key not in known:
            problems.append(
                FieldProblem(str(key), UNKNOWN_ITEM, f"is not an item of {instrument.short_title}")
            )
    return ValidAnswers(values, skipped), problems


def band_for(total: int, bands: tuple[Band, ...]) -> Band:
    """The band whose inclusive range holds the total (ValueError if none: a definition bug)."""
    for band in bands:
        if band.low <= total <= band.high:
            return band
    raise ValueError(f"no band for total {total}")


def check_bands(bands: tuple[Band, ...], max_total: int) -> tuple[Band, ...]:
    """Bands must cover 0..max_total without gaps or overlaps; returns them unchanged."""
    expected_low = 0
    for band in bands:
        if band.low != expected_low or band.high < band.low:
            raise ValueError(f"band {band.code} leaves a gap or overlaps")
        expected_low = band.high + 1
    if expected_low != max_total + 1:
        raise ValueError("bands do not reach the maximum total")
    return bands


def options(*labels: str) -> tuple[Option, ...]:
    """Options scored 0, 1, 2 ... in the order given."""
    return tuple(Option(value, label) for value, label in enumerate(labels))
