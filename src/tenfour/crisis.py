"""Crisis resources shown to patients: always one tap away, and at once when a safety flag is raised.

Only lines whose number was checked against the operator's own page are listed here; each carries its
source. A clinic adds its local first-responder lines (peer support, its own on-call number) in its
settings; those are shown after these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrisisLine:
    name: str
    phone: str  # what to dial
    how: str  # plain words: call, text, press 1 ...
    audience: str
    source: str


NATIONAL_LINES: tuple[CrisisLine, ...] = (
    CrisisLine("988 Suicide & Crisis Lifeline", "988", "Call or text 988, any time. Veterans: press 1.",
               "Anyone in the United States", "https://988lifeline.org"),
    CrisisLine("Emergency", "911", "Call 911 if you are in danger now.", "Anyone", "Emergency services"),
    CrisisLine("CopLine", "1-800-267-5463", "Call 1-800-COPLINE, any time. Answered by retired officers.",
               "Current and former law enforcement personnel and their families", "https://www.copline.org"),
)


def parse_clinic_lines(text: str | None) -> list[CrisisLine]:
    """A clinic's extra lines, one per line of text: 'Name | phone | note'."""
    lines = []
    for raw in (text or "").splitlines():
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) >= 2 and parts[0] and parts[1]:
            lines.append(CrisisLine(parts[0][:80], parts[1][:40], (parts[2] if len(parts) > 2 else "")[:200],
                                    "Your clinic's list", "Your clinic"))
    return lines


def tel_href(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return f"tel:{digits}"
