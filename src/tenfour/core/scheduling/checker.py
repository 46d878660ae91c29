"""Independent checker: re-derives every scheduling rule from the instance and a produced schedule.

Written apart from the solvers on purpose: it works on aware datetimes and calendar dates directly and
imports nothing from ``feasibility.py``, ``cpsat.py`` or ``baseline.py`` (only the input/output
dataclasses), so a bug in the shared rules or the model cannot hide itself. It returns every violation
found (an empty list means the schedule is valid).

Rules checked (names in ``RULES``): each placed session has the policy's chair time shape; a known chair
and request; sessions of a request are all placed or the request is listed unplaced (never both); chair
time inside the horizon, inside one opening block of an open day, not on a closure; no two sessions (fixed
ones included) on a chair at once; fixed sessions untouched; patients infusing at any instant <= N x nurses
on duty; the patient not on duty during the chair time and no duty interval starting within the no-duty
window after the chair time ends; at most one session per patient per local date (fixed included); no
session before the request's earliest start or after its latest end; series: the requested count with
indexes 0..n-1, consecutive dates at least min_days + 1 apart, at most m sessions in any 7 consecutive
dates, last date - first date <= window - 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tenfour.core.scheduling.model import (
    FixedSession,
    PlacedSession,
    RequestKind,
    Schedule,
    SchedulingInstance,
)

RULES = (
    "session_shape", "unknown_chair", "unknown_request", "patient_mismatch", "request_accounting",
    "horizon", "closure", "opening_hours", "chair_overlap", "fixed_session", "nurse_limit",
    "on_duty", "no_duty_window", "one_session_per_day", "earliest_start", "latest_end",
    "series_count", "series_spacing", "series_per_week", "series_window",
)


@dataclass(frozen=True)
class Violation:
    """A broken rule (one of ``RULES``), what broke it, and the request concerned when there is one."""

    rule: str
    message: str
    request_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"rule": self.rule, "message": self.message, "request_id": self.request_id}


def _label(s: PlacedSession) -> str:
    return f"{s.request_id}#{s.session_index}"


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


class _Checker:
    def __init__(self, instance: SchedulingInstance, schedule: Schedule) -> None:
        self.instance = instance
        self.schedule = schedule
        self.rules = instance.policy
        self.zone = ZoneInfo(instance.clinic.timezone)
        self.requests = {r.request_id: r for r in instance.requests}
        self.found: list[Violation] = []

    def add(self, rule: str, message: str, request_id: str | None = None) -> None:
        self.found.append(Violation(rule, message, request_id))

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def run(self) -> list[Violation]:
        sessions = self.schedule.sessions
        for s in sessions:
            self.shape(s)
            self.placement(s)
            self.duty(s)
            self.request_window(s)
        self.accounting()
        self.chairs()
        self.nurses()
        self.patient_days()
        self.series()
        return self.found

    # --- per session ---------------------------------------------------------------------------------
    def shape(self, s: PlacedSession) -> None:
        r, minute = self.rules, timedelta(minutes=1)
        expected = (r.prep_min, r.infusion_min, r.recovery_min)
        actual = ((s.infusion_start - s.start) / minute, (s.infusion_end - s.infusion_start) / minute,
                  (s.end - s.infusion_end) / minute)
        if actual != expected:
            self.add("session_shape", f"{_label(s)}: prep/infusion/recovery are {actual} min, policy says "
                     f"{expected}", s.request_id)
        if s.chair_id not in self.instance.clinic.chair_ids:
            self.add("unknown_chair", f"{_label(s)}: chair {s.chair_id!r} is not one of the clinic's chairs",
                     s.request_id)

    def placement(self, s: PlacedSession) -> None:
        clinic = self.instance.clinic
        first = self.local_date(self.instance.start)
        horizon_end = _local_midnight(first + timedelta(days=self.instance.days), self.zone)
        if s.start < self.instance.start or s.end > horizon_end:
            self.add("horizon", f"{_label(s)}: {s.start.isoformat()} to {s.end.isoformat()} is outside the "
                     f"planning horizon {self.instance.start.isoformat()} to {horizon_end.isoformat()}",
                     s.request_id)
        day = self.local_date(s.start)
        if day in clinic.closures:
            self.add("closure", f"{_label(s)}: the clinic is closed on {day}", s.request_id)
            return
        for opens, closes in clinic.opening_hours.get(day.weekday(), ()):
            begin = datetime.combine(day, opens).replace(tzinfo=self.zone)
            finish = datetime.combine(day, closes).replace(tzinfo=self.zone)
            if begin <= s.start and s.end <= finish:
                return
        self.add("opening_hours", f"{_label(s)}: chair time {s.start.astimezone(self.zone):%a %H:%M}-"
                 f"{s.end.astimezone(self.zone):%H:%M} is not inside one opening block of {day}", s.request_id)

    def duty(self, s: PlacedSession) -> None:
        window = timedelta(hours=self.rules.no_duty_window_h)
        for on, off in self.instance.on_duty.get(s.patient_id, ()):
            if on < s.end and off > s.start:
                self.add("on_duty", f"{_label(s)}: patient {s.patient_id} is on duty {on.isoformat()} to "
                         f"{off.isoformat()} during the session", s.request_id)
            elif s.end <= on < s.end + window:
                self.add("no_duty_window", f"{_label(s)}: a shift starts {on.isoformat()}, "
                         f"{(on - s.end) / timedelta(hours=1):.2f} h after the session ends "
                         f"(no shift may start within {self.rules.no_duty_window_h:g} h)", s.request_id)

    def request_window(self, s: PlacedSession) -> None:
        request = self.requests.get(s.request_id)
        if request is None:
            return
        if s.start < request.earliest_start:
            self.add("earliest_start", f"{_label(s)} starts {s.start.isoformat()}, before the earliest start "
                     f"{request.earliest_start.isoformat()}", s.request_id)
        if request.latest_end is not None and s.end > request.latest_end:
            self.add("latest_end", f"{_label(s)} ends {s.end.isoformat()}, after the window's end "
                     f"{request.latest_end.isoformat()}", s.request_id)

    # --- across sessions -----------------------------------------------------------------------------
    def accounting(self) -> None:
        unplaced = [u.request_id for u in self.schedule.unplaced]
        placed = {s.request_id for s in self.schedule.sessions}
        for s in self.schedule.sessions:
            request = self.requests.get(s.request_id)
            if request is None:
                self.add("unknown_request", f"{_label(s)}: no such request", s.request_id)
            elif request.patient_id != s.patient_id:
                self.add("patient_mismatch", f"{_label(s)}: patient {s.patient_id} but the request is for "
                         f"{request.patient_id}", s.request_id)
        for rid in self.requests:
            listed = unplaced.count(rid)
            if rid in placed and listed:
                self.add("request_accounting", f"{rid} is both placed and listed as unplaced", rid)
            elif rid not in placed and listed != 1:
                self.add("request_accounting", f"{rid} is neither placed nor explained as unplaced", rid)
        for rid in set(unplaced) - set(self.requests):
            self.add("unknown_request", f"unplaced {rid}: no such request", rid)

    def chairs(self) -> None:
        by_chair: dict[str, list[tuple[datetime, datetime, str, PlacedSession | FixedSession]]] = defaultdict(list)
        for s in self.schedule.sessions:
            by_chair[s.chair_id].append((s.start, s.end, _label(s), s))
        for i, f in enumerate(self.instance.fixed_sessions):
            by_chair[f.chair_id].append((f.start, f.end, f"fixed session {f.booking_id or i}", f))
        for chair, items in by_chair.items():
            items.sort(key=lambda e: e[0])
            for i, (start_a, end_a, name_a, a) in enumerate(items):
                for start_b, _end_b, name_b, b in items[i + 1:]:
                    if start_b >= end_a:
                        break
                    fixed = isinstance(a, FixedSession) or isinstance(b, FixedSession)
                    both_fixed = isinstance(a, FixedSession) and isinstance(b, FixedSession)
                    if both_fixed:
                        continue  # the input's own business (rejected by validate_instance)
                    request_id = b.request_id if isinstance(b, PlacedSession) else getattr(a, "request_id", None)
                    self.add("fixed_session" if fixed else "chair_overlap",
                             f"chair {chair}: {name_a} ({start_a.isoformat()}) and {name_b} "
                             f"({start_b.isoformat()}) overlap", request_id)

    def nurses_on_duty(self, moment: datetime) -> int:
        clinic = self.instance.clinic
        if clinic.nurse_shifts:
            return sum(1 for n in clinic.nurse_shifts if n.start <= moment < n.end)
        return clinic.nurses_by_date.get(self.local_date(moment), clinic.nurses_per_day)

    def nurses(self) -> None:
        infusions = [(s.infusion_start, s.infusion_end, _label(s)) for s in self.schedule.sessions]
        infusions += [(f.infusion_start, f.infusion_end, "fixed") for f in self.instance.fixed_sessions]
        if not self.schedule.sessions:
            return
        # Occupancy only rises at an infusion start; capacity only falls at a nurse shift end or a new date.
        moments = {a for a, _, _ in infusions}
        for shift in self.instance.clinic.nurse_shifts:
            moments.add(shift.end)
        for a, _, _ in infusions:
            moments.add(_local_midnight(self.local_date(a), self.zone))
        for moment in sorted(moments):
            running = [name for a, b, name in infusions if a <= moment < b]
            if not running:
                continue
            limit = self.rules.max_infusing_per_nurse * self.nurses_on_duty(moment)
            if len(running) > limit and any(name != "fixed" for name in running):
                self.add("nurse_limit", f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}: {len(running)} infusing "
                         f"({', '.join(sorted(running))}) with a limit of {limit}")

    def patient_days(self) -> None:
        days: dict[tuple[str, date], list[str]] = defaultdict(list)
        for s in self.schedule.sessions:
            days[(s.patient_id, self.local_date(s.start))].append(_label(s))
        for f in self.instance.fixed_sessions:
            key = (f.patient_id, self.local_date(f.start))
            if key in days:
                days[key].append("fixed session")
        for (patient, day), names in days.items():
            if len(names) > 1:
                self.add("one_session_per_day", f"patient {patient} has {len(names)} sessions on {day}: "
                         f"{', '.join(names)}", names[0].split("#")[0])

    def series(self) -> None:
        by_request: dict[str, list[PlacedSession]] = defaultdict(list)
        for s in self.schedule.sessions:
            by_request[s.request_id].append(s)
        r = self.rules
        for rid, sessions in by_request.items():
            request = self.requests.get(rid)
            if request is None:
                continue
            expected = request.session_count(r)
            indexes = sorted(s.session_index for s in sessions)
            if indexes != list(range(expected)):
                self.add("series_count", f"{rid}: session indexes {indexes}, expected 0..{expected - 1}", rid)
            if request.kind != RequestKind.INDUCTION:
                continue
            dates = sorted(self.local_date(s.start) for s in sessions)
            for before, after in _pairs(dates):
                if (after - before).days < r.min_days_between_sessions + 1:
                    self.add("series_spacing", f"{rid}: sessions on {before} and {after} need "
                             f"{r.min_days_between_sessions} clear day(s) between them", rid)
            for d in dates:
                in_week = [e for e in dates if d <= e < d + timedelta(days=7)]
                if len(in_week) > r.max_sessions_per_week:
                    self.add("series_per_week", f"{rid}: {len(in_week)} sessions in the 7 days from {d} "
                             f"(at most {r.max_sessions_per_week})", rid)
            if dates and (dates[-1] - dates[0]).days > r.series_window_days - 1:
                self.add("series_window", f"{rid}: first session {dates[0]}, last {dates[-1]}: not within "
                         f"{r.series_window_days} days", rid)


def _pairs(items: list[date]) -> Iterable[tuple[date, date]]:
    return zip(items, items[1:], strict=False)


def check_schedule(instance: SchedulingInstance, schedule: Schedule) -> list[Violation]:
    """Every rule the schedule breaks (empty list = valid). The instance is assumed valid
    (``validate_instance``)."""
    return _Checker(instance, schedule).run()
