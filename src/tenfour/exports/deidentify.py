"""De-identification of a row-level research export (pure: records in, rows out).

- No direct identifiers: names, contact details, dates of birth, record numbers, database ids, agencies, clinic names
  and every free-text field stay out; each patient gets a random key and each clinic a random site code, new for every
  export (two exports cannot be joined on them).
- Dates are shifted by a random number of days per patient (the same shift for all of one patient's dates, so
  intervals hold); times of day are dropped. The days since the first infusion are exact.
- Age is given in 5-year bands, 90 and over in one band (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C)).
- Small cells are suppressed (CMS cell size suppression policy: no cell of 1 to 10; the threshold is the clinic
  policy ``export.min_cell_size``): patients whose (site, role, sex, age band) group is smaller than the threshold
  have role, sex and age band replaced by "suppressed"; if that suppressed group of their site is still too small
  their site is suppressed too; if the fully suppressed group is still too small those patients are withheld.
  Group sizes count only the patients the file has rows for (a consenting patient with no dated fact is left out).
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

SUPPRESSED = "suppressed"
MAX_SHIFT_DAYS = 182
COLUMNS = ("patient_key", "site", "responder_role", "sex", "age_band", "record_type", "date_shifted",
           "days_from_first_infusion", "item", "context", "value", "category")


@dataclass(frozen=True)
class Event:
    """One dated fact about a patient: an assessment, an infusion, an adverse event, a missed check-in."""

    day: date
    record_type: str
    item: str
    context: str = ""
    value: str = ""
    category: str = ""


@dataclass
class PatientRecord:
    """What the export knows about one patient (``ref`` is the caller's own reference, never written out)."""

    ref: int
    site_ref: int
    responder_role: str
    sex: str
    date_of_birth: date
    first_infusion: date | None
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Quasi:
    site: str
    responder_role: str
    sex: str
    age_band: str


@dataclass
class Export:
    rows: list[dict[str, str]]
    patients: int
    withheld_small_cells: int
    suppressed_patients: int
    min_cell_size: int


def age_band(date_of_birth: date, on: date) -> str:
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    if age >= 90:
        return "90+"
    low = max(0, age - age % 5)
    return f"{low}-{low + 4}"


def suppress(quasi: dict[int, Quasi], min_cell_size: int) -> tuple[dict[int, Quasi], set[int]]:
    """Generalise groups smaller than ``min_cell_size`` (see the module doc); returns the new quasi-identifiers and
    the patients withheld because even their fully suppressed group is too small."""
    result = dict(quasi)
    counts = Counter(result.values())
    for ref, q in result.items():
        if counts[q] < min_cell_size:
            result[ref] = replace(q, responder_role=SUPPRESSED, sex=SUPPRESSED, age_band=SUPPRESSED)
    counts = Counter(result.values())
    for ref, q in result.items():
        if q.responder_role == SUPPRESSED and counts[q] < min_cell_size:
            result[ref] = replace(q, site=SUPPRESSED)
    counts = Counter(result.values())
    withheld = {ref for ref, q in result.items() if counts[q] < min_cell_size}
    return {ref: q for ref, q in result.items() if ref not in withheld}, withheld


def deidentify(records: Iterable[PatientRecord], min_cell_size: int, today: date,
               rng: random.Random | None = None) -> Export:
    """The export's rows: random keys and site codes, shifted dates, suppressed small cells (module doc)."""
    rng = rng or random.Random(secrets.randbits(64))
    # A patient with no dated fact has no row: they are not in the file, so they neither count as exported nor help
    # a group reach the threshold (the groups must be at least that large in the file itself).
    records = [r for r in records if r.events]
    sites = sorted({r.site_ref for r in records})
    rng.shuffle(sites)
    site_code = {ref: f"site-{i + 1}" for i, ref in enumerate(sites)}
    quasi = {r.ref: Quasi(site_code[r.site_ref], r.responder_role, r.sex,
                          age_band(r.date_of_birth, r.first_infusion or today)) for r in records}
    kept, withheld = suppress(quasi, min_cell_size)
    keys: set[str] = set()
    rows: list[dict[str, str]] = []
    for record in records:
        if record.ref not in kept:
            continue
        key = f"P{rng.getrandbits(40):010x}"
        while key in keys:
            key = f"P{rng.getrandbits(40):010x}"
        keys.add(key)
        shift = timedelta(days=rng.randint(1, MAX_SHIFT_DAYS) * rng.choice((-1, 1)))
        q = kept[record.ref]
        for event in sorted(record.events, key=lambda e: (e.day, e.record_type, e.item)):
            rows.append({
                "patient_key": key, "site": q.site, "responder_role": q.responder_role, "sex": q.sex,
                "age_band": q.age_band, "record_type": event.record_type, "date_shifted": (event.day + shift)
                .isoformat(), "days_from_first_infusion": "" if record.first_infusion is None else
                str((event.day - record.first_infusion).days), "item": event.item, "context": event.context,
                "value": event.value, "category": event.category})
    rows.sort(key=lambda r: (r["patient_key"], r["date_shifted"]))
    suppressed = sum(1 for q in kept.values() if q.responder_role == SUPPRESSED)
    return Export(rows, len(kept), len(withheld), suppressed, min_cell_size)
