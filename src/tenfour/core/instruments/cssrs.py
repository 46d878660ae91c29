"""Columbia-Suicide Severity Rating Scale, screen version (C-SSRS screener): suicide-risk triage.

Source: Posner K, Brown GK, Stanley B, et al. (2011). The Columbia-Suicide Severity Rating Scale.
Am J Psychiatry 168:1266-1277; screen version of the Columbia Lighthouse Project. Risk triage as set out
in TenFour's DESIGN.md:

- Q1 wish to be dead, Q2 active suicidal thoughts. Q2 no: Q3-Q5 are skipped, go to Q6.
  Q2 yes: Q3 thoughts of a method, Q4 intent, Q5 plan with intent.
- Q6 suicidal behaviour (``q6``), and when yes whether it was within the past 3 months (``q6_recent``).
- Answers are yes = 1, no = 0.
- Risk: Q1 or Q2 yes only -> low; Q3 yes or behaviour more than 3 months ago -> moderate;
  Q4, Q5 or behaviour within 3 months -> high (flag ``imminent_risk``: crisis workflow now).
  Any Q1/Q2 yes adds flag ``suicidal_ideation``. All no -> risk level ``none``.

Licence: the wording is copyright of the Research Foundation for Mental Hygiene, Inc.; electronic
implementations are licensed (with certification of each implementation) through the copyright holder's
exclusive electronic licensee. TenFour therefore ships the structure and the scoring with neutral labels
only (``text_shipped=False``); the clinic enters the licensed wording it obtains from the Columbia
Lighthouse Project. See docs/instruments.md.
"""

from __future__ import annotations

from tenfour.core.instruments.base import Instrument, Item, Option, ScoreResult, ValidAnswers

CSSRS_ID = "cssrs-screen"
VERSION = "1"

YES, NO = 1, 0
OPTIONS = (Option(YES, "Yes"), Option(NO, "No"))

RISK_NONE, RISK_LOW, RISK_MODERATE, RISK_HIGH = "none", "low", "moderate", "high"
RISK_LEVELS = (RISK_NONE, RISK_LOW, RISK_MODERATE, RISK_HIGH)
SUICIDAL_IDEATION = "suicidal_ideation"
IMMINENT_RISK = "imminent_risk"

# Neutral short labels (not the licensed wording), with skip logic.
_ITEMS = (
    ("q1", 1, "Wish to be dead", None),
    ("q2", 2, "Active suicidal thoughts", None),
    ("q3", 3, "Suicidal thoughts with a method", ("q2", YES)),
    ("q4", 4, "Suicidal intent", ("q2", YES)),
    ("q5", 5, "Suicidal plan with intent", ("q2", YES)),
    ("q6", 6, "Suicidal behaviour (ever)", None),
    ("q6_recent", 6, "Suicidal behaviour within the past 3 months", ("q6", YES)),
)


def risk_level(values: dict[str, int]) -> str:
    """Risk level (none, low, moderate, high) from validated screener answers (skipped items absent)."""
    behaviour = values.get("q6") == YES
    recent = behaviour and values.get("q6_recent") == YES
    if values.get("q4") == YES or values.get("q5") == YES or recent:
        return RISK_HIGH
    if values.get("q3") == YES or behaviour:
        return RISK_MODERATE
    if values.get("q1") == YES or values.get("q2") == YES:
        return RISK_LOW
    return RISK_NONE


def _score(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Risk level and flags; the screener has no total."""
    values = answers.values
    level = risk_level(values)
    flags = []
    if values["q1"] == YES or values["q2"] == YES:
        flags.append(SUICIDAL_IDEATION)
    if level == RISK_HIGH:
        flags.append(IMMINENT_RISK)
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=None,
        max_total=None,
        risk_level=level,
        flags=flags,
        answered_items=dict(values),
        skipped_items=list(answers.skipped),
    )


CSSRS_SCREEN = Instrument(
    id=CSSRS_ID,
    version=VERSION,
    title="Columbia-Suicide Severity Rating Scale, screen version",
    short_title="C-SSRS screener",
    recall_period="Past month or since the last visit (thoughts); ever and past 3 months (behaviour)",
    instructions=(
        "Ask questions 1 and 2. If question 2 is yes, ask questions 3, 4 and 5; if it is no, go to "
        "question 6. Ask question 6; if yes, ask whether it was within the past 3 months. Use the "
        "licensed wording of the Columbia Lighthouse Project."
    ),
    stem="",
    items=tuple(
        Item(id=item_id, number=number, text=label, options=OPTIONS, asked_when=asked_when)
        for item_id, number, label, asked_when in _ITEMS
    ),
    licence=(
        "Copyright The Research Foundation for Mental Hygiene, Inc. Free of charge for clinical, "
        "community and non-profit research use from the Columbia Lighthouse Project; electronic "
        "implementations are licensed and certified through the copyright holder's electronic licensee. "
        "TenFour does not ship the wording."
    ),
    source=(
        "Posner K, Brown GK, Stanley B, et al. (2011). The Columbia-Suicide Severity Rating Scale. "
        "Am J Psychiatry 168:1266-1277; C-SSRS screen version (Columbia Lighthouse Project)."
    ),
    text_shipped=False,
    text_source=(
        "The Columbia Lighthouse Project (Columbia University / New York State Psychiatric Institute) "
        "publishes the screen version; for use inside software the clinic also needs the electronic "
        "licence of the Research Foundation for Mental Hygiene's licensee."
    ),
    scorer=_score,
    administration="asked by staff or self-report",
)

INSTRUMENTS = (CSSRS_SCREEN,)
