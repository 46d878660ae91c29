"""Generalized Anxiety Disorder 7-item scale (GAD-7): anxiety severity over the last 2 weeks.

Source: Spitzer RL, Kroenke K, Williams JBW, Loewe B (2006). A brief measure for assessing generalized
anxiety disorder: the GAD-7. Arch Intern Med 166:1092-1097. Seven items 0-3, total 0-21; cutpoints 5, 10
and 15 mark mild, moderate and severe anxiety.

Licence: developed by Drs Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues with an
educational grant from Pfizer Inc.; no permission required to reproduce, translate, display or
distribute. The wording below is that of the GAD-7 form.
"""

from __future__ import annotations

from tenfour.core.instruments.base import (
    Band,
    Instrument,
    Item,
    ScoreResult,
    ValidAnswers,
    band_for,
    check_bands,
    options,
)

GAD7_ID = "gad7"
VERSION = "1"
MAX_TOTAL = 21

OPTIONS = options("Not at all", "Several days", "More than half the days", "Nearly every day")

ITEM_TEXTS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
)

# Spitzer 2006: cutpoints 5, 10, 15.
BANDS = check_bands(
    (
        Band("minimal", "Minimal anxiety", 0, 4),
        Band("mild", "Mild anxiety", 5, 9),
        Band("moderate", "Moderate anxiety", 10, 14),
        Band("severe", "Severe anxiety", 15, 21),
    ),
    MAX_TOTAL,
)


def _score(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Total 0-21 and severity band."""
    total = sum(answers.values.values())
    band = band_for(total, BANDS)
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=total,
        max_total=MAX_TOTAL,
        band=band.code,
        band_label=band.label,
        answered_items=dict(answers.values),
        skipped_items=list(answers.skipped),
    )


GAD7 = Instrument(
    id=GAD7_ID,
    version=VERSION,
    title="Generalized Anxiety Disorder 7-item scale",
    short_title="GAD-7",
    recall_period="Last 2 weeks",
    instructions="Over the last 2 weeks, how often have you been bothered by the following problems?",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=tuple(
        Item(id=f"q{n}", number=n, text=text, options=OPTIONS) for n, text in enumerate(ITEM_TEXTS, start=1)
    ),
    licence=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
        "distribute."
    ),
    source=(
        "Spitzer RL, Kroenke K, Williams JBW, Loewe B (2006). A brief measure for assessing generalized "
        "anxiety disorder: the GAD-7. Arch Intern Med 166:1092-1097."
    ),
    text_shipped=True,
    scorer=_score,
    max_total=MAX_TOTAL,
)

INSTRUMENTS = (GAD7,)
