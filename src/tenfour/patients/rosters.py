"""A patient's duty roster as ``core.rosters.Roster``, built from the roster fields of the patient record.

Used by the chairside pre-checks (issue 5) and the scheduler (issue 7).
"""

from __future__ import annotations

from collections.abc import Sequence

from tenfour.core import rosters
from tenfour.core.errors import CoreError
from tenfour.patients.models import Patient


def roster_for(patient: Patient, clinic_timezone: str, *, changes: Sequence[rosters.DutyChange] = (),
               custom_on_off_h: Sequence[float] | None = None) -> rosters.Roster | None:
    """The patient's roster, or None when it cannot be used.

    None when no pattern, anchor date or shift start is recorded, for a ``custom`` pattern without its on/off
    hours (``custom_on_off_h``, stored by the scheduling domain), or when the fields break a roster rule (an
    unknown platoon, say). Callers then ask the patient about their next shift instead of guessing. The roster's
    time zone is the patient's own (their station's) when recorded, else the clinic's. The platoon defaults to A.
    ``changes`` are the one-off changes (overtime, trades, leave; see ``scheduling.rosters.patient_roster``).
    """
    if not (patient.roster_pattern and patient.roster_anchor_date and patient.roster_shift_start):
        return None
    spec = rosters.PATTERNS.get(patient.roster_pattern)
    if spec is None:
        return None
    cycle_days, blocks = None, ()
    if spec.cycle_days is None:
        if not custom_on_off_h:
            return None
        try:
            cycle_days, blocks = rosters.custom_blocks_from_on_off(list(custom_on_off_h))
        except CoreError:
            return None
    roster = rosters.Roster(
        pattern=patient.roster_pattern,
        anchor_date=patient.roster_anchor_date,
        shift_start=patient.roster_shift_start.replace(tzinfo=None),
        platoon=(patient.roster_platoon or "A").strip().upper() or "A",
        timezone=patient.timezone or clinic_timezone,
        custom_cycle_days=cycle_days,
        custom_blocks=blocks,
        changes=tuple(changes),
    )
    if rosters.roster_problems(roster):
        return None
    return roster
