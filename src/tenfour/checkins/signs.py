"""The warning signs patients are taught (DESIGN.md: common patient education, not a validated scale).

A patient chooses theirs with their clinician from this list, and adds any in their own words.
"""

from __future__ import annotations

WARNING_SIGNS: dict[str, str] = {
    "sleep": "Sleep change or nightmares",
    "irritability": "Irritability or anger",
    "avoidance": "Avoiding people, places or reminders",
    "withdrawal": "Pulling away from family, friends or crew",
    "hypervigilance": "On edge, always on guard",
    "substances": "More alcohol or other substances",
    "hopelessness": "Feeling hopeless",
    "triggers": "Anniversaries and triggers",
}
OWN_WORDS_MAX = 120
MAX_SIGNS = 12  # a list a person can read on a phone and remember
