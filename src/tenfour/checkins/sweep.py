"""The periodic sweep (``tenfour sweep``, and the server's timer): keep every schedule in step with the infusions,
mark missed check-ins, evaluate every active patient, send due reminders, escalate overdue urgent alerts, and
deliver the email outbox. One session (the commit point) per batch, so one bad record never undoes the rest.

Evaluation is vectorised: per batch of one clinic's courses, three aggregated queries (a windowed history query,
the next due check-in, the warning signs of the latest check-ins) and then the pure rules; only patients whose
evaluation changed are written. ``evaluate_orm_loop`` is the per-patient baseline it is measured against
(bench/sweep_bench.py), with identical results.

The light sweep (reminders, escalation, outbox) is what the server's timer runs every interval; the full sweep
runs when the last one is older than ``FULL_EVERY``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tenfour.alerts import service as alerts
from tenfour.audit.service import record
from tenfour.checkins import boosters, clock, courses, detection, reminders, repository, service
from tenfour.checkins.models import SweepRun
from tenfour.clinics import repository as clinics_repository
from tenfour.config import Settings
from tenfour.context import Ctx
from tenfour.core import relapse
from tenfour.core.relapse import RelapseState
from tenfour.db import session_scope
from tenfour.mail import OUTBOX_FLAG, deliver_pending

log = logging.getLogger("tenfour.sweep")
BATCH_SIZE = 1000
FULL_EVERY = timedelta(minutes=15)
RUNNING_LEASE = timedelta(minutes=30)  # a sweep that started longer ago than this is presumed dead
HORIZON_MARGIN_DAYS = 30
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class Summary:
    full: bool = True
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reminders_waiting: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {"full": self.full, **dict(self.counts), "states": dict(self.states),
                "reminders_waiting": dict(self.reminders_waiting)}
        return {**data, "skipped": self.skipped} if self.skipped else data

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"Sweep skipped: {self.skipped}"]
        c = self.counts
        lines = [f"{'Full' if self.full else 'Light'} sweep"]
        if self.full:
            lines += [
                f"  schedules rebuilt:        {c['courses_synced']} of {c['patients_seen']} patients",
                f"  corrections followed:     {c['corrections_followed']}",
                f"  check-ins marked missed:  {c['missed_marked']}",
                f"  patients evaluated:       {c['evaluated']} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(self.states.items())) or 'none'})",
                f"  state changes:            {c['state_changes']} (alerts raised {c['alerts_raised']}, "
                f"pointed to safety alerts {c['alerts_linked']})",
                f"  booster proposals:        {c['proposals']}",
                f"  outcomes recounted:       {c['outcomes_recounted']} courses (changed since their last count)",
            ]
        waiting = ", ".join(f"{k} {v}" for k, v in sorted(self.reminders_waiting.items())) or "none"
        lines += [f"  reminders sent:           {c['reminders_sent']} (waiting: {waiting})",
                  f"  urgent alerts escalated:  {c['escalated']}",
                  f"  emails delivered:         {c['emails_sent']} (failed {c['emails_failed']})"]
        return lines


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@contextmanager
def _batch(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One commit point per batch. Email is delivered once at the end of the sweep, with the sweep's settings."""
    with session_scope(factory) as db:
        yield db
        db.info.pop(OUTBOX_FLAG, None)


def as_of_for(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


# --- Evaluation: vectorised, and the per-patient baseline ----------------------------------------------------


def evaluate_vectorised(db: Session, course_ids: Sequence[int], now: datetime, rules: detection.Rules,
                        batch_size: int = BATCH_SIZE) -> dict[int, relapse.Assessment]:
    """Every course's assessment, batch by batch (one clinic's courses; its rules)."""
    results: dict[int, relapse.Assessment] = {}
    for batch in _chunks(sorted(course_ids), batch_size):
        results.update(detection.evaluate_batch(db, batch, now, rules))
    return results


def evaluate_orm_loop(db: Session, course_ids: Sequence[int], now: datetime,
                      rules: detection.Rules) -> dict[int, relapse.Assessment]:
    """The baseline: one patient at a time through the ORM, the whole history each (as after a submission)."""
    results: dict[int, relapse.Assessment] = {}
    for course_id in course_ids:
        course = repository.courses_by_ids(db, [course_id])[0]
        result = detection.evaluate_course(db, course, as_of_for(course.timezone, now), rules)
        if result is not None:
            results[course_id] = result
    return results


# --- The sweep -------------------------------------------------------------------------------------------------


def run(factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None, full: bool = True,
        trigger: str = "cli", batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> Summary:
    """Run the sweep. ``full`` False: only reminders, escalation and email (the timer's frequent part)."""
    now = now or clock.now()
    summary = Summary(full=full)
    ctx = Ctx.system(f"sweep:{trigger}")
    with _batch(factory) as db:
        running = repository.running_sweep(db, now - RUNNING_LEASE)
        if running is not None and trigger != "test":
            summary.skipped = f"another sweep has been running since {running.started_at:%H:%M:%S} UTC"
            return summary
        run_row = SweepRun(started_at=now, trigger=trigger)
        db.add(run_row)
        db.flush()
        run_id = run_row.id
    error: str | None = None
    try:
        if full:
            _follow_corrections(factory, ctx, summary)
            _sync(factory, ctx, now, summary, batch_size, progress)
            _mark_missed(factory, now, summary, batch_size)
            _evaluate(factory, ctx, now, summary, batch_size, progress)
            _count_outcomes(factory, now, summary)
        _remind(factory, ctx, now, settings, summary, batch_size)
        with _batch(factory) as db:
            summary.counts["escalated"] += len(alerts.escalate_overdue(db, ctx, now, settings.base_url))
        sent, failed = deliver_pending(factory, settings, limit=1000)
        summary.counts["emails_sent"] += sent
        summary.counts["emails_failed"] += failed
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.exception("sweep failed")
        raise
    finally:
        with _batch(factory) as db:
            row = db.get(SweepRun, run_id)
            if row is not None:
                row.finished_at, row.summary, row.error = clock.now(), summary.as_dict(), error
            record(db, ctx.actor, "sweep.run", record_type="sweep_run", record_id=run_id,
                   detail={k: v for k, v in summary.as_dict().items() if not isinstance(v, dict)})
    return summary


def _follow_corrections(factory: sessionmaker[Session], ctx: Ctx, summary: Summary) -> None:
    with _batch(factory) as db:
        summary.counts["corrections_followed"] += len(service.follow_corrections(db, ctx))


def _rules(db: Session, cache: dict[int, detection.Rules], clinic_id: int) -> detection.Rules:
    if clinic_id not in cache:
        cache[clinic_id] = detection.rules_for(db, clinic_id)
    return cache[clinic_id]


def _sync(factory: sessionmaker[Session], ctx: Ctx, now: datetime, summary: Summary, batch_size: int,
          progress: Progress | None) -> None:
    """Rebuild the schedules of patients whose infusions, plans or baseline changed (or whose horizon runs out)."""
    with _batch(factory) as db:
        candidates = repository.sweep_candidate_patient_ids(db)
    summary.counts["patients_seen"] += len(candidates)
    rules: dict[int, detection.Rules] = {}
    for done, batch in enumerate(_chunks(candidates, batch_size)):
        with _batch(factory) as db:
            fresh = repository.source_fingerprints(db, batch)
            stored = repository.stored_fingerprints(db, batch)
            stale = [pid for pid in batch if pid not in stored or stored[pid][0] != fresh[pid]
                     or stored[pid][1] is None
                     or stored[pid][1] < now.date() + timedelta(days=courses.HORIZON_DAYS - HORIZON_MARGIN_DAYS)]
            for patient in repository.patients_by_ids(db, stale):
                clinic_rules = _rules(db, rules, patient.clinic_id)
                tz = courses.patient_timezone(db, patient)
                course = courses.sync_patient(db, patient, clinic_rules.values, as_of_for(tz, now),
                                              fingerprint=fresh[patient.id])
                summary.counts["courses_synced"] += 1
                if course is not None and course.started and repository.has_lost_response(db, patient.id):
                    before = repository.open_proposal(db, patient.id)
                    after = boosters.refresh(db, ctx, course, as_of_for(course.timezone, now), clinic_rules)
                    summary.counts["proposals"] += int(after is not None and after is not before)
        if progress:
            progress("schedules", min((done + 1) * batch_size, len(candidates)), len(candidates))


def _clinic_ids(factory: sessionmaker[Session]) -> list[int]:
    with _batch(factory) as db:
        return [c.id for c in clinics_repository.list_clinics(db)]


def _mark_missed(factory: sessionmaker[Session], now: datetime, summary: Summary, batch_size: int) -> None:
    for clinic_id in _clinic_ids(factory):
        with _batch(factory) as db:
            rules = detection.rules_for(db, clinic_id)
            by_zone: dict[str, list[int]] = defaultdict(list)
            for course, _ in repository.active_courses(db, clinic_id):
                by_zone[course.timezone].append(course.id)
        for zone, ids in by_zone.items():
            for batch in _chunks(ids, batch_size):
                with _batch(factory) as db:
                    summary.counts["missed_marked"] += repository.mark_missed(db, batch, as_of_for(zone, now),
                                                                              rules.overdue_days, now)


def _evaluate(factory: sessionmaker[Session], ctx: Ctx, now: datetime, summary: Summary, batch_size: int,
              progress: Progress | None) -> None:
    for clinic_id in _clinic_ids(factory):
        with _batch(factory) as db:
            rules = detection.rules_for(db, clinic_id)
            course_ids = repository.evaluable_course_ids(db, clinic_id)
        for done, batch in enumerate(_chunks(course_ids, batch_size)):
            with _batch(factory) as db:
                results = evaluate_vectorised(db, batch, now, rules, batch_size)
                summary.counts["evaluated"] += len(results)
                rows = {row.id: row for row in repository.course_rows(db, batch)}
                stored = repository.evaluation_fingerprints(db, [r.patient_id for r in rows.values()])
                for course_id, result in results.items():
                    summary.states[result.state.value] += 1
                    if stored.get(rows[course_id].patient_id) == detection.fingerprint(result):
                        continue
                    course = repository.courses_by_ids(db, [course_id])[0]
                    as_of = as_of_for(course.timezone, now)
                    applied = detection.apply(db, ctx, course, result, as_of, source="sweep")
                    if applied is None:
                        continue
                    summary.counts["state_changes"] += int(applied.changed)
                    summary.counts["alerts_raised"] += int(applied.alert is not None)
                    summary.counts["alerts_linked"] += int(applied.changed and applied.linked_alert is not None
                                                           and applied.alert is None)
                    if applied.changed and result.state == RelapseState.ACT:
                        summary.counts["proposals"] += int(boosters.refresh(db, ctx, course, as_of, rules)
                                                           is not None)
            if progress:
                progress(f"evaluate clinic {clinic_id}", min((done + 1) * batch_size, len(course_ids)),
                         len(course_ids))


def _count_outcomes(factory: sessionmaker[Session], now: datetime, summary: Summary) -> None:
    """Recount the outcomes dashboard's stored facts of what changed (issue 8), so a view rarely has to."""
    from tenfour.outcomes import service as outcomes  # imported here: it loads the plotting library

    for clinic_id in _clinic_ids(factory):
        with _batch(factory) as db:
            clinic = clinics_repository.by_id(db, clinic_id)
            assert clinic is not None
            summary.counts["outcomes_recounted"] += outcomes.refresh(db, clinic, now)


def _remind(factory: sessionmaker[Session], ctx: Ctx, now: datetime, settings: Settings, summary: Summary,
            batch_size: int) -> None:
    for clinic_id in _clinic_ids(factory):
        with _batch(factory) as db:
            clinic = clinics_repository.by_id(db, clinic_id)
            policy = service.reminder_policy(db, clinic_id)
            ids = [c.id for c, _ in repository.active_courses(db, clinic_id) if c.started]
        for batch in _chunks(ids, batch_size):
            with _batch(factory) as db:
                clinic = clinics_repository.by_id(db, clinic_id)
                assert clinic is not None
                counts = reminders.send_due(db, ctx, batch, now, policy, clinic, settings.base_url)
                summary.counts["reminders_sent"] += counts.sent
                for reason, n in counts.waiting.items():
                    summary.reminders_waiting[reason] += n


def last_full_run(factory: sessionmaker[Session]) -> datetime | None:
    with _batch(factory) as db:
        row = repository.last_full_sweep(db)
        return row.started_at if row else None
