"""PTSD Checklist for DSM-5 (PCL-5): past-month and past-week forms, and the 8-item short form.

Source: Weathers, Litz, Keane, Palmieri, Marx & Schnurr (2013), The PTSD Checklist for DSM-5 (PCL-5),
National Center for PTSD (form version date 11 April 2018). Public domain: a work of the U.S. Department
of Veterans Affairs, so the official wording below is shipped verbatim.

Scoring (National Center for PTSD, "Using the PTSD Checklist for DSM-5"): 20 items 0-4, total 0-80;
clusters B 1-5, C 6-7, D 8-14, E 15-20. Provisional DSM-5 diagnosis: an item rated 2 ("Moderately") or
higher counts as endorsed; needs at least 1 B, 1 C, 2 D and 2 E items. Provisional cutoff 31-33; the
clinic's value is policy ``pcl5.provisional_cutoff`` (default 33) and a total at or above it is
"above cutoff".

Short form (Price, Szafranski, van Stolk-Cooke & Gros 2016): PCL-5 items 1, 4, 6, 7, 9, 12, 18, 19, each
0-4, total 0-32. Its items keep their PCL-5 ids (``q4`` is PCL-5 item 4).
"""

from __future__ import annotations

from collections.abc import Mapping

from tenfour.core import policy
from tenfour.core.instruments.base import Instrument, Item, ScoreResult, ValidAnswers, options

PCL5_ID = "pcl5"
PCL5_WEEK_ID = "pcl5-week"
PCL5_8_ID = "pcl5-8"
VERSION = "1"

ENDORSED_AT = 2  # "Moderately" or more counts as a symptom for the DSM-5 rule (NCPTSD)
# Least number of endorsed items per DSM-5 cluster for a provisional diagnosis (NCPTSD).
DSM5_MIN_ENDORSED = {"B": 1, "C": 1, "D": 2, "E": 2}
CLUSTER_ITEMS = {"B": range(1, 6), "C": range(6, 8), "D": range(8, 15), "E": range(15, 21)}
PCL5_8_ITEM_NUMBERS = (1, 4, 6, 7, 9, 12, 18, 19)  # Price et al. 2016

OPTIONS = options("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")

# Official wording, PCL-5 (National Center for PTSD), items 1-20 in order.
ITEM_TEXTS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again "
    "(as if you were actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience "
    "(for example, heart pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, "
    "conversations, activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, having "
    "thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, "
    "the world is completely dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or have "
    "loving feelings for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    'Being "superalert" or watchful or on guard?',
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)

_INSTRUCTIONS = (
    "Below is a list of problems that people sometimes have in response to a very stressful experience. "
    "Please read each problem carefully and then circle one of the numbers to the right to indicate how "
    "much you have been bothered by that problem in the {period}."
)
_STEM = "In the {period}, how much were you bothered by:"

LICENCE = (
    "Public domain: developed by staff of the U.S. Department of Veterans Affairs National Center for "
    "PTSD; may be reproduced, displayed and distributed without permission."
)
SOURCE = (
    "Weathers FW, Litz BT, Keane TM, Palmieri PA, Marx BP, Schnurr PP (2013). The PTSD Checklist for "
    "DSM-5 (PCL-5). National Center for PTSD (form version 11 April 2018); scoring per NCPTSD "
    "'Using the PTSD Checklist for DSM-5 (PCL-5)'."
)
SOURCE_PCL5_8 = (
    "Price M, Szafranski DD, van Stolk-Cooke K, Gros DF (2016). Investigation of abbreviated 4 and "
    "8 item versions of the PTSD Checklist 5. Psychiatry Research 239:124-130. Items from " + SOURCE
)


def cluster_of(number: int) -> str:
    """The DSM-5 symptom cluster (B, C, D or E) of PCL-5 item ``number`` (1-20)."""
    for cluster, numbers in CLUSTER_ITEMS.items():
        if number in numbers:
            return cluster
    raise ValueError(f"PCL-5 has no item {number}")


def _item(position: int, source_number: int, *, short_form: bool) -> Item:
    return Item(
        id=f"q{source_number}",
        number=position,
        text=ITEM_TEXTS[source_number - 1],
        options=OPTIONS,
        cluster=cluster_of(source_number),
        source_number=source_number if short_form else None,
    )


def provisional_dsm5_diagnosis(answers: Mapping[str, int]) -> bool:
    """DSM-5 provisional PTSD rule on the 20 PCL-5 answers (keys ``q1``..``q20``, values 0-4).

    An item rated 2 or more is endorsed; the rule needs >= 1 B (items 1-5), >= 1 C (6-7), >= 2 D (8-14)
    and >= 2 E (15-20) endorsed items. Source: National Center for PTSD, Using the PCL-5.
    """
    for cluster, needed in DSM5_MIN_ENDORSED.items():
        endorsed = sum(1 for n in CLUSTER_ITEMS[cluster] if answers[f"q{n}"] >= ENDORSED_AT)
        if endorsed < needed:
            return False
    return True


def _cluster_totals(instrument: Instrument, values: Mapping[str, int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in instrument.items:
        if item.cluster is not None:
            totals[item.cluster] = totals.get(item.cluster, 0) + values[item.id]
    return totals


def _score_full(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Total 0-80, cluster subscales, DSM-5 provisional diagnosis and the cutoff (>= cutoff is above)."""
    applied = policy.default("pcl5.provisional_cutoff") if cutoff is None else cutoff
    total = sum(answers.values.values())
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=total,
        max_total=instrument.max_total,
        subscales=_cluster_totals(instrument, answers.values),
        provisional_diagnosis=provisional_dsm5_diagnosis(answers.values),
        above_cutoff=total >= applied,
        cutoff=applied,
        answered_items=dict(answers.values),
        skipped_items=list(answers.skipped),
    )


def _score_short(instrument: Instrument, answers: ValidAnswers, cutoff: int | None) -> ScoreResult:
    """Total 0-32 and cluster subscales (2 items each). No diagnosis or cutoff: none is in DESIGN.md."""
    return ScoreResult(
        instrument_id=instrument.id,
        version=instrument.version,
        total=sum(answers.values.values()),
        max_total=instrument.max_total,
        subscales=_cluster_totals(instrument, answers.values),
        answered_items=dict(answers.values),
        skipped_items=list(answers.skipped),
    )


def _full_form(instrument_id: str, period: str, title_suffix: str, recall: str) -> Instrument:
    return Instrument(
        id=instrument_id,
        version=VERSION,
        title="PTSD Checklist for DSM-5" + title_suffix,
        short_title="PCL-5" + title_suffix,
        recall_period=recall,
        instructions=_INSTRUCTIONS.format(period=period),
        stem=_STEM.format(period=period),
        items=tuple(_item(n, n, short_form=False) for n in range(1, 21)),
        licence=LICENCE,
        source=SOURCE,
        text_shipped=True,
        scorer=_score_full,
        max_total=80,
        accepts_cutoff=True,
    )


PCL5 = _full_form(PCL5_ID, "past month", "", "Past month")
PCL5_WEEK = _full_form(PCL5_WEEK_ID, "past week", " (past week)", "Past week")
PCL5_8 = Instrument(
    id=PCL5_8_ID,
    version=VERSION,
    title="PTSD Checklist for DSM-5, 8-item short form",
    short_title="PCL-5-8",
    recall_period="Past week",
    instructions=_INSTRUCTIONS.format(period="past week"),
    stem=_STEM.format(period="past week"),
    items=tuple(
        _item(position, number, short_form=True)
        for position, number in enumerate(PCL5_8_ITEM_NUMBERS, start=1)
    ),
    licence=LICENCE,
    source=SOURCE_PCL5_8,
    text_shipped=True,
    scorer=_score_short,
    max_total=32,
)

INSTRUMENTS = (PCL5, PCL5_WEEK, PCL5_8)
