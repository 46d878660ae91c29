"""make_<entity>(db, **overrides): realistic records for tests, each overridable."""

from __future__ import annotations

import itertools
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from tenfour.accounts import passwords
from tenfour.accounts.models import ClinicMembership, User
from tenfour.clinics.models import Chair, Clinic
from tenfour.patients.models import Patient

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@lru_cache
def password_hash() -> str:
    return passwords.hash_password(PASSWORD)


def make_clinic(db: Session, **overrides: Any) -> Clinic:
    n = next(_counter)
    values: dict[str, Any] = {"name": f"Clinic {n}", "slug": f"clinic-{n}", "timezone": "America/Chicago",
                              "opening_hours": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}
    values.update(overrides)
    clinic = Clinic(**values)
    clinic.chairs = [Chair(name=f"Chair {i}", position=i) for i in range(1, 4)]
    db.add(clinic)
    db.flush()
    return clinic


def make_user(db: Session, role: str = "nurse", clinics: list[Clinic] | None = None, **overrides: Any) -> User:
    n = next(_counter)
    values: dict[str, Any] = {"email": f"{role}{n}@test.example", "full_name": f"Test {role.title()} {n}",
                              "role": role, "password_hash": password_hash()}
    values.update(overrides)
    user = User(**values)
    user.memberships = [ClinicMembership(clinic_id=c.id) for c in clinics or []]
    db.add(user)
    db.flush()
    return user


def make_patient(db: Session, clinic: Clinic, **overrides: Any) -> Patient:
    n = next(_counter)
    values: dict[str, Any] = {"clinic_id": clinic.id, "record_number": f"TF-T{n:05d}", "first_name": "Alex",
                              "last_name": f"Rivera{n}", "date_of_birth": date(1985, 4, 12),
                              "responder_role": "firefighter", "agency": "Test Fire Dept"}
    values.update(overrides)
    patient = Patient(**values)
    db.add(patient)
    db.flush()
    return patient
