"""De-identification of the research export, on small fixed records: age bands, the suppression cascade, one date shift
per patient, random keys."""

from __future__ import annotations

import random
from datetime import date, timedelta

from tenfour.exports.deidentify import (
    MAX_SHIFT_DAYS,
    SUPPRESSED,
    Event,
    PatientRecord,
    Quasi,
    age_band,
    deidentify,
    suppress,
)


def test_age_bands_are_five_years_and_ninety_and_over_is_one_band() -> None:
    assert age_band(date(1990, 6, 15), date(2026, 6, 14)) == "35-39"  # 35 the day before the birthday
    assert age_band(date(1990, 6, 15), date(2026, 6, 15)) == "35-39"
    assert age_band(date(1986, 6, 15), date(2026, 6, 15)) == "40-44"
    assert age_band(date(1937, 1, 1), date(2026, 12, 31)) == "85-89"
    assert age_band(date(1936, 1, 1), date(2026, 1, 1)) == "90+"
    assert age_band(date(1900, 1, 1), date(2026, 1, 1)) == "90+"


def _quasi(site: str, role: str, n: int, start: int) -> dict[int, Quasi]:
    return {start + i: Quasi(site, role, "male", "40-44") for i in range(n)}


def test_suppression_generalises_then_withholds_what_is_still_too_small() -> None:
    quasi = {**_quasi("site-1", "firefighter", 11, 0),  # big enough: shown as it is
             **_quasi("site-1", "police", 6, 100), **_quasi("site-1", "ems", 5, 200),  # 11 together once suppressed
             **_quasi("site-2", "police", 4, 300), **_quasi("site-3", "ems", 7, 400),  # 11 across sites
             **_quasi("site-4", "corrections", 3, 500)}  # and 3 more: the site-less group is 14
    kept, withheld = suppress(quasi, 11)
    assert withheld == set()
    assert {kept[i] for i in range(11)} == {Quasi("site-1", "firefighter", "male", "40-44")}
    assert {kept[i] for i in (100, 204)} == {Quasi("site-1", SUPPRESSED, SUPPRESSED, SUPPRESSED)}
    assert {kept[i] for i in (300, 400, 502)} == {Quasi(SUPPRESSED, SUPPRESSED, SUPPRESSED, SUPPRESSED)}
    small = {**_quasi("site-1", "firefighter", 11, 0), **_quasi("site-2", "police", 4, 300)}
    kept, withheld = suppress(small, 11)
    assert withheld == set(range(300, 304)) and set(kept) == set(range(11))


def test_one_shift_per_patient_within_bounds_and_keys_that_name_no_one() -> None:
    first = date(2026, 3, 2)
    records = [PatientRecord(ref, 7, "firefighter", "male", date(1984, 5, 1), first,
                             [Event(first - timedelta(days=7), "assessment", "pcl5", "intake", "50"),
                              Event(first, "infusion", "ketamine_iv", "infusion", "0.5", "discharged"),
                              Event(first + timedelta(days=30), "assessment", "pcl5-week", "checkin", "30")])
               for ref in range(12)]
    export = deidentify(records, 11, date(2026, 11, 1), random.Random(4))
    assert export.patients == 12 and len(export.rows) == 36 and export.withheld_small_cells == 0
    shifts = set()
    for key in {r["patient_key"] for r in export.rows}:
        mine = [r for r in export.rows if r["patient_key"] == key]
        assert [r["days_from_first_infusion"] for r in mine] == ["-7", "0", "30"]
        offsets = {(date.fromisoformat(r["date_shifted"]) - day).days
                   for r, day in zip(mine, (first - timedelta(days=7), first, first + timedelta(days=30)), strict=True)}
        assert len(offsets) == 1
        shift = offsets.pop()
        assert shift != 0 and abs(shift) <= MAX_SHIFT_DAYS
        shifts.add(shift)
        assert key.startswith("P") and not any(str(ref) == key[1:] for ref in range(12))
    assert len(shifts) > 1
    assert {r["site"] for r in export.rows} == {"site-1"} and {r["age_band"] for r in export.rows} == {"40-44"}
    assert export.rows == sorted(export.rows, key=lambda r: (r["patient_key"], r["date_shifted"]))


def test_two_exports_of_the_same_records_share_no_key() -> None:
    records = [PatientRecord(ref, 1, "ems", "female", date(1990, 1, 1), None, [Event(date(2026, 1, 5), "assessment",
                                                                                     "phq9", "intake", "9")])
               for ref in range(11)]
    one = {r["patient_key"] for r in deidentify(records, 11, date(2026, 2, 1)).rows}
    two = {r["patient_key"] for r in deidentify(records, 11, date(2026, 2, 1)).rows}
    assert len(one) == len(two) == 11 and not one & two
    assert all(r["days_from_first_infusion"] == "" for r in deidentify(records, 11, date(2026, 2, 1)).rows)


def test_patients_without_a_dated_fact_are_neither_counted_nor_used_to_reach_the_threshold() -> None:
    """Eleven consenting firefighters, one of them with nothing dated yet: the file holds ten, so their group is below
    11 and is suppressed (counting the eleventh would have shown a group of ten in the file)."""
    first = date(2026, 3, 2)
    facts = [Event(first, "infusion", "ketamine_iv", "infusion", "0.5", "discharged")]
    records = [PatientRecord(ref, 7, "firefighter", "male", date(1984, 5, 1), first if ref else None,
                             facts if ref else []) for ref in range(11)]
    export = deidentify(records, 11, date(2026, 11, 1), random.Random(4))
    assert (export.patients, export.withheld_small_cells, export.rows) == (0, 10, []), \
        "ten alone are too few, even fully suppressed"
    records.append(PatientRecord(99, 7, "firefighter", "male", date(1984, 5, 1), first, facts))
    export = deidentify(records, 11, date(2026, 11, 1), random.Random(4))
    assert export.patients == 11 == len({r["patient_key"] for r in export.rows})
    assert {r["responder_role"] for r in export.rows} == {"firefighter"}
