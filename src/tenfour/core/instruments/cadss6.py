"""CADSS-6: six-item Clinician-Administered Dissociative States Scale for ketamine infusions.

Source: Rodrigues NB, McIntyre RS, Lipsitz O, et al. (2021). A simplified 6-item clinician administered
dissociative symptom scale (CADSS-6) for monitoring dissociative effects of sub-anesthetic ketamine
infusions. J Affect Disord (2021). It keeps items 1, 2, 6, 7, 15 and 22 of the 23-item CADSS
(Bremner JD, Krystal JH, Putnam FW, et al. 1998, J Trauma Stress 11:125-136), each rated 0-4;
total 0-24. No severity bands are defined (none in DESIGN.md).

Licence: the CADSS is copyrighted by its author (J. Douglas Bremner); no licence to reproduce its wording
in software was found, so TenFour ships item ids and neutral labels only (``text_shipped=False``) and the
nurse rates from the clinic's licensed copy. Items keep their CADSS numbers as ids (``q15`` is CADSS
item 15).
"""

from __future__ import annotations

from tenfour.core.instruments.base import CLINICIAN, Instrument, Item, Option, ScoreResult, ValidAnswers

CADSS6_ID = "cadss6"
VERSION = "1"
MAX_TOTAL = 24
CADSS_ITEM_NUMBERS = (1, 2, 6, 7, 15, 22)  # Rodrigues et al. 2021

# Neutral option labels: the anchor wording belongs to the licensed form.
OPTIONS = tuple(Option(value, str(value)) for value in range(5))


def _score(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Total 0-24 (sum of the six ratings)."""
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=sum(answers.values.values()),
        max_total=MAX_TOTAL,
        answered_items=dict(answers.values),
        skipped_items=list(answers.skipped),
    )


CADSS6 = Instrument(
    id=CADSS6_ID,
    version=VERSION,
    title="Clinician-Administered Dissociative States Scale, 6-item version",
    short_title="CADSS-6",
    recall_period="Present state (at this time), during or soon after the infusion",
    instructions=(
        "Rate each of the six CADSS items from 0 to 4 using the wording and anchors of the clinic's "
        "licensed CADSS form."
    ),
    stem="",
    items=tuple(
        Item(
            id=f"q{number}",
            number=position,
            text=f"CADSS item {number}",
            options=OPTIONS,
            source_number=number,
        )
        for position, number in enumerate(CADSS_ITEM_NUMBERS, start=1)
    ),
    licence=(
        "Copyright J. Douglas Bremner (Clinician-Administered Dissociative States Scale). Reproduction "
        "of the wording needs the copyright holder's permission; TenFour does not ship it."
    ),
    source=(
        "Rodrigues NB, McIntyre RS, Lipsitz O, et al. (2021). J Affect Disord (CADSS-6); "
        "Bremner JD, Krystal JH, Putnam FW, et al. (1998). Measurement of dissociative states with the "
        "Clinician-Administered Dissociative States Scale (CADSS). J Trauma Stress 11:125-136."
    ),
    text_shipped=False,
    text_source=(
        "The clinic obtains the CADSS (23-item form, whose items 1, 2, 6, 7, 15 and 22 make the CADSS-6) "
        "from its author, Dr J. Douglas Bremner (Emory University), or the distributor he names."
    ),
    scorer=_score,
    administration=CLINICIAN,
    max_total=MAX_TOTAL,
)

INSTRUMENTS = (CADSS6,)
