"""Use cases of the clinics domain: create and edit clinics, hours, chairs and policy. Never commits."""

from __future__ import annotations

import re
import unicodedata
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import event
from sqlalchemy.orm import Session

from tenfour.audit.service import Actor, record
from tenfour.clinics import repository
from tenfour.clinics.models import WEEKDAYS, Chair, Clinic, ClinicPolicyValue
from tenfour.core import policy as policy_core
from tenfour.db import utcnow
from tenfour.errors import Conflict, Problem, ValidationFailed

DEFAULT_OPENING_HOURS: dict[str, list[list[str]]] = {
    **{day: [["08:00", "18:00"]] for day in WEEKDAYS[:5]},
    "sat": [["09:00", "13:00"]],
    "sun": [],
}
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(name: str) -> str:
    """'North Shore Clinic' -> 'north-shore-clinic'; 'north' stays 'north'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60].strip("-")


def validate_timezone(value: str, field: str = "timezone") -> str:
    value = (value or "").strip()
    try:
        if not value or value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed.single(
            field, "iana_time_zone", f"'{value}' is not a known time zone; use a name like America/Chicago"
        ) from None
    return value


def validate_opening_hours(hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    problems: list[Problem] = []
    result: dict[str, list[list[str]]] = {}
    unknown = set(hours) - set(WEEKDAYS)
    for day in sorted(unknown):
        problems.append(Problem(f"opening_hours.{day}", "weekday", "is not a weekday (use mon ... sun)"))
    for day in WEEKDAYS:
        intervals: list[tuple[time, time]] = []
        for index, pair in enumerate(hours.get(day) or []):
            field = f"opening_hours.{day}[{index}]"
            try:
                start, end = (time.fromisoformat(str(v)) for v in pair)
            except (TypeError, ValueError):
                problems.append(Problem(field, "time_format", "needs an opening and a closing time as HH:MM"))
                continue
            if end <= start:
                problems.append(Problem(field, "order", "closing time must be after opening time"))
                continue
            intervals.append((start, end))
        intervals.sort()
        for (_, end_a), (start_b, _) in zip(intervals, intervals[1:], strict=False):
            if start_b < end_a:
                problems.append(Problem(f"opening_hours.{day}", "overlap", "opening times overlap"))
        result[day] = [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in intervals]
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    return result


def create_clinic(
    db: Session,
    actor: Actor,
    *,
    name: str,
    timezone: str,
    slug: str | None = None,
    opening_hours: dict[str, Any] | None = None,
    chairs: int = 4,
    phone: str | None = None,
    address: str | None = None,
    is_synthetic: bool = False,
) -> Clinic:
    name = (name or "").strip()
    problems: list[Problem] = []
    if not name:
        problems.append(Problem("name", "required", "is required"))
    elif len(name) > 120:
        problems.append(Problem("name", "max_length", "must be at most 120 characters"))
    slug = (slug or slugify(name)).strip().lower()
    if not SLUG_PATTERN.match(slug) or len(slug) > 60:
        problems.append(Problem("slug", "format", "use lowercase letters, digits and single hyphens (max 60)"))
    if not 0 <= chairs <= 100:
        problems.append(Problem("chairs", "range", "must be between 0 and 100"))
    for key, value, limit in (("phone", phone, 40), ("address", address, 300)):
        if value and len(value) > limit:
            problems.append(Problem(key, "max_length", f"must be at most {limit} characters"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    timezone = validate_timezone(timezone)
    hours = validate_opening_hours(opening_hours if opening_hours is not None else DEFAULT_OPENING_HOURS)
    if repository.by_slug(db, slug) is not None:
        raise Conflict(f"A clinic with the slug '{slug}' already exists.", [Problem("slug", "unique", "is taken")])
    clinic = Clinic(
        name=name, slug=slug, timezone=timezone, opening_hours=hours, phone=phone, address=address,
        is_synthetic=is_synthetic,
    )
    clinic.chairs = [Chair(name=f"Chair {i}", position=i) for i in range(1, chairs + 1)]
    db.add(clinic)
    db.flush()
    record(db, actor, "clinic.create", clinic_id=clinic.id, record_type="clinic", record_id=clinic.id,
           detail={"name": name, "slug": slug, "timezone": timezone, "chairs": chairs})
    return clinic


ON_CALL_MAX = 10


def on_call_emails(text: str | None) -> list[str]:
    """The clinic's on-call list (stored comma-separated): who is emailed when an urgent alert waits too long."""
    return [part.strip() for part in (text or "").replace(";", ",").replace("\n", ",").split(",") if part.strip()]


def clean_on_call_emails(text: str | None) -> str | None:
    """Validate an on-call list: email addresses separated by commas or new lines (at most 10)."""
    addresses = on_call_emails(text)
    if len(addresses) > ON_CALL_MAX:
        raise ValidationFailed.single("on_call_emails", "max_items", f"list at most {ON_CALL_MAX} addresses")
    clean = []
    for address in addresses:
        try:
            clean.append(validate_email(address, check_deliverability=False).normalized.lower())
        except EmailNotValidError:
            raise ValidationFailed.single("on_call_emails", "email",
                                          f"'{address[:60]}' is not an email address") from None
    value = ", ".join(dict.fromkeys(clean)) or None
    if value and len(value) > 1000:
        raise ValidationFailed.single("on_call_emails", "max_length", "must be at most 1000 characters")
    return value


def update_clinic(db: Session, actor: Actor, clinic: Clinic, **changes: Any) -> Clinic:
    """Validate every change first, then apply them all: a rejected edit leaves the clinic as it was."""
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name or len(name) > 120:
            problems.append(Problem("name", "length", "is required and at most 120 characters"))
        clean["name"] = name
    if "timezone" in changes:
        try:
            clean["timezone"] = validate_timezone(changes["timezone"])
        except ValidationFailed as error:
            problems.extend(error.problems)
    if "opening_hours" in changes:
        try:
            clean["opening_hours"] = validate_opening_hours(changes["opening_hours"])
        except ValidationFailed as error:
            problems.extend(error.problems)
    for key, limit in (("phone", 40), ("address", 300)):
        if key in changes:
            value = (changes[key] or "").strip() or None
            if value and len(value) > limit:
                problems.append(Problem(key, "max_length", f"must be at most {limit} characters"))
            clean[key] = value
    if "on_call_emails" in changes:  # issue 6: urgent alerts not acknowledged in time are emailed to this list
        try:
            clean["on_call_emails"] = clean_on_call_emails(changes["on_call_emails"])
        except ValidationFailed as error:
            problems.extend(error.problems)
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    before = {key: getattr(clinic, key) for key in clean}
    for key, value in clean.items():
        setattr(clinic, key, value)
    db.flush()
    changed = sorted(k for k in clean if before[k] != clean[k])
    record(db, actor, "clinic.update", clinic_id=clinic.id, record_type="clinic", record_id=clinic.id,
           detail={"changed": changed, "before": {k: before[k] for k in changed},
                   "after": {k: clean[k] for k in changed}})
    return clinic


def add_chair(db: Session, actor: Actor, clinic: Clinic, name: str) -> Chair:
    name = (name or "").strip()
    if not name or len(name) > 40:
        raise ValidationFailed.single("name", "length", "is required and at most 40 characters")
    if any(c.name.lower() == name.lower() for c in clinic.chairs):
        raise Conflict("That chair name is already used.", [Problem("name", "unique", "is already used")])
    chair = Chair(name=name, position=max((c.position for c in clinic.chairs), default=0) + 1)
    clinic.chairs.append(chair)
    db.flush()
    record(db, actor, "clinic.chair_add", clinic_id=clinic.id, record_type="chair", record_id=chair.id,
           detail={"name": name})
    return chair


def set_chair_active(db: Session, actor: Actor, chair: Chair, active: bool) -> None:
    chair.is_active = active
    db.flush()
    record(db, actor, "clinic.chair_active", clinic_id=chair.clinic_id, record_type="chair",
           record_id=chair.id, detail={"active": active})


_POLICY_CACHE = "tenfour_policy_cache"


def effective_policy(db: Session, clinic_id: int) -> dict[str, Any]:
    """The clinic's policy values: its overrides over the defaults of core.policy.

    Read once per transaction and clinic (a chart or a check-in asks several times); a flush that touches a policy
    value, a commit or a rollback forgets it."""
    return dict(_resolved(db, frozenset({clinic_id}))[clinic_id])


def effective_policies(db: Session, clinic_ids: frozenset[int]) -> list[dict[str, Any]]:
    """The policy values of each of these clinics (read together, and from the same per-transaction cache as
    ``effective_policy``): the signed-in staff member's clinics, whose strictest setting applies to them."""
    return [dict(values) for values in _resolved(db, clinic_ids).values()]


def _resolved(db: Session, clinic_ids: frozenset[int]) -> dict[int, dict[str, Any]]:
    cache = db.info.setdefault(_POLICY_CACHE, {})
    missing = frozenset(clinic_ids) if _policy_pending(db) else frozenset(clinic_ids) - cache.keys()
    if missing:
        for clinic_id, overrides in repository.policy_overrides_for(db, missing).items():
            cache[clinic_id] = policy_core.resolve(overrides)
    return {clinic_id: cache[clinic_id] for clinic_id in clinic_ids}


def _policy_pending(db: Session) -> bool:
    """A policy value added or changed in this session and not flushed yet (the query below would flush it)."""
    return any(isinstance(row, ClinicPolicyValue) for row in (*db.new, *db.dirty, *db.deleted))


def _forget_policies(session: Session, *_: Any) -> None:
    session.info.pop(_POLICY_CACHE, None)


def _forget_policies_if_changed(session: Session, *_: Any) -> None:
    if _policy_pending(session):
        session.info.pop(_POLICY_CACHE, None)


event.listen(Session, "before_flush", _forget_policies_if_changed)
event.listen(Session, "after_commit", _forget_policies)
event.listen(Session, "after_soft_rollback", _forget_policies)


def set_policy_values(db: Session, actor: Actor, clinic: Clinic, raw_values: dict[str, Any]) -> list[str]:
    """Change several settings at once; all are validated (each and together) before any is saved.

    Returns the keys that changed. Each change is audited with its old and new value and its source.
    """
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for key, raw in raw_values.items():
        try:
            parsed[key] = policy_core.validate(key, raw)
        except policy_core.PolicyError as error:
            problems.append(Problem(key, "policy", error.message))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    rows = repository.policy_overrides(db, clinic.id)
    current = policy_core.resolve({k: r.value for k, r in rows.items()})
    proposed = {**current, **parsed}
    consistency = policy_core.check_consistency(proposed)
    if consistency:
        problems = [Problem(e.key, "consistency", e.message) for e in consistency]
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    changed = []
    for key, value in parsed.items():
        if current[key] == value:
            continue
        setting = policy_core.BY_KEY[key]
        row = rows.get(key)
        if value == setting.default:
            if row is not None:
                db.delete(row)
        elif row is None:
            db.add(ClinicPolicyValue(clinic_id=clinic.id, key=key, value=value, updated_by_id=actor.user_id))
        else:
            row.value = value
            row.updated_at = utcnow()
            row.updated_by_id = actor.user_id
        record(db, actor, "clinic.policy_change", clinic_id=clinic.id, record_type="policy", record_id=key,
               detail={"key": key, "before": current[key], "after": value, "default": setting.default,
                       "basis": setting.basis.value, "source": setting.source})
        changed.append(key)
    db.flush()
    return changed
