"""Patient Health Questionnaire-9 (PHQ-9): depression severity over the last 2 weeks.

Source: Kroenke K, Spitzer RL, Williams JBW (2001). The PHQ-9: validity of a brief depression severity
measure. J Gen Intern Med 16:606-613. Nine items 0-3, total 0-27; scores of 5, 10, 15 and 20 mark mild,
moderate, moderately severe and severe depression. PHQ-2 = items 1 and 2 (Kroenke 2003).

Safety: item 9 (thoughts of being better off dead or of self-harm) above 0 raises the flag
``suicidal_ideation`` whatever the total; the clinic then starts a same-day suicide-risk assessment
(policy ``phq9.item9_same_day_assessment``).

Licence: developed by Drs Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues with an
educational grant from Pfizer Inc.; no permission required to reproduce, translate, display or
distribute. The wording below is that of the PHQ-9 form.
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

PHQ9_ID = "phq9"
VERSION = "1"
MAX_TOTAL = 27
SUICIDAL_IDEATION = "suicidal_ideation"
PHQ2_ITEMS = ("q1", "q2")

OPTIONS = options("Not at all", "Several days", "More than half the days", "Nearly every day")

ITEM_TEXTS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite \u2014 being so "
    "fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)

# Kroenke 2001: 5, 10, 15, 20 = mild, moderate, moderately severe, severe.
BANDS = check_bands(
    (
        Band("minimal", "Minimal depression", 0, 4),
        Band("mild", "Mild depression", 5, 9),
        Band("moderate", "Moderate depression", 10, 14),
        Band("moderately_severe", "Moderately severe depression", 15, 19),
        Band("severe", "Severe depression", 20, 27),
    ),
    MAX_TOTAL,
)


def _score(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Total 0-27, PHQ-2 subscale (items 1-2, 0-6), severity band, item 9 > 0 flag."""
    values = answers.values
    total = sum(values.values())
    band = band_for(total, BANDS)
    flags = [SUICIDAL_IDEATION] if values["q9"] > 0 else []
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=total,
        max_total=MAX_TOTAL,
        subscales={"phq2": sum(values[item_id] for item_id in PHQ2_ITEMS)},
        band=band.code,
        band_label=band.label,
        flags=flags,
        answered_items=dict(values),
        skipped_items=list(answers.skipped),
    )


PHQ9 = Instrument(
    id=PHQ9_ID,
    version=VERSION,
    title="Patient Health Questionnaire-9",
    short_title="PHQ-9",
    recall_period="Last 2 weeks",
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=tuple(
        Item(id=f"q{n}", number=n, text=text, options=OPTIONS, cluster="phq2" if n <= 2 else None)
        for n, text in enumerate(ITEM_TEXTS, start=1)
    ),
    licence=(
        "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or "
        "distribute."
    ),
    source=(
        "Kroenke K, Spitzer RL, Williams JBW (2001). The PHQ-9: validity of a brief depression severity "
        "measure. J Gen Intern Med 16:606-613."
    ),
    text_shipped=True,
    scorer=_score,
    max_total=MAX_TOTAL,
)

INSTRUMENTS = (PHQ9,)
