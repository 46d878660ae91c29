"""The medical screening as a patient reads it: each term of core.eligibility's vocabulary in plain words.

The terms are the contract (core.eligibility.CONDITIONS and MEDICATIONS); this module only words them for a
phone screen and groups them. A test checks that every term is worded and no other term is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    term: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    choices: tuple[Choice, ...]
    field: str = "conditions"  # the form field the group's boxes belong to


GROUPS: tuple[Group, ...] = (
    Group("reactions", "Reactions to ketamine", (
        Choice("ketamine_hypersensitivity", "An allergy or a serious reaction to ketamine or esketamine (Spravato)"),
    )),
    Group("brain_heart", "Brain, heart and blood vessels", (
        Choice("aneurysmal_vascular_disease", "An aneurysm",
               "A bulging blood vessel in the brain, chest, belly, arms or legs"),
        Choice("arteriovenous_malformation", "An arteriovenous malformation (AVM)",
               "A tangle of blood vessels, often in the brain"),
        Choice("intracerebral_hemorrhage_history", "Bleeding inside the brain at any time",
               "For example a hemorrhagic stroke"),
        Choice("raised_intracranial_pressure", "Raised pressure inside the head",
               "For example after a head injury, or a condition a doctor is treating"),
        Choice("unstable_cardiac_disease", "A heart problem that is not stable",
               "For example chest pain, heart failure or an irregular heartbeat that is not under control, or a "
               "heart attack in the past few months"),
    )),
    Group("other_conditions", "Eyes, liver and mental health", (
        Choice("raised_intraocular_pressure", "Glaucoma or raised pressure in the eye"),
        Choice("hepatic_impairment", "Liver disease", "For example cirrhosis or hepatitis"),
        Choice("psychosis_history", "Psychosis at any time",
               "Hearing or seeing things others did not, or beliefs others found untrue; or schizophrenia"),
    )),
    Group("pregnancy", "Pregnancy and breastfeeding", (
        Choice("pregnant", "I am pregnant, or might be"),
        Choice("breastfeeding", "I am breastfeeding"),
    )),
    Group("substances", "Alcohol and drugs (answers stay with your care team)", (
        Choice("active_ketamine_or_pcp_misuse", "I use ketamine or PCP outside medical care at present"),
        Choice("substance_use_disorder_other", "I have a problem with alcohol or another drug at present"),
    )),
    Group("medicines", "Medicines you take", (
        Choice("benzodiazepine", "A benzodiazepine",
               "For example lorazepam (Ativan), clonazepam (Klonopin), alprazolam (Xanax) or diazepam (Valium)"),
        Choice("lamotrigine", "Lamotrigine (Lamictal)"),
    ), field="medications"),
)

LABELS: dict[str, str] = {choice.term: choice.label for group in GROUPS for choice in group.choices}


def terms(field: str) -> frozenset[str]:
    return frozenset(choice.term for group in GROUPS if group.field == field for choice in group.choices)
