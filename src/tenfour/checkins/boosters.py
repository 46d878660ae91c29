"""Maintenance boosters: after a loss of response, the patient's own durability proposes the next booster window
(``core.maintenance.propose``); a prescriber accepts it (a booster request for scheduling) or declines it with a
reason. Never commits.

Episodes: the course end and every booster given after it are treatments; the loss of response after each
(``core.relapse.loss_of_response_date`` with ``after`` = that treatment) is counted for it when it came before the
next treatment, else that episode is censored.

Priority of a request (product choice): ``high`` when the window is open, overdue, or opens within
``HIGH_PRIORITY_DAYS`` days (it must be booked now to fit), otherwise ``normal``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenfour.audit.service import record
from tenfour.checkins import clock, detection, repository
from tenfour.checkins.models import (
    BoosterProposal,
    BoosterRequest,
    BoosterRequestStatus,
    CheckinCourse,
    ProposalStatus,
)
from tenfour.context import Ctx
from tenfour.core import maintenance as core_maintenance
from tenfour.core import relapse
from tenfour.errors import Conflict, NotFound, ValidationFailed
from tenfour.policy import ensure_clinic

HIGH_PRIORITY_DAYS = 7


def treatment_ends(course: CheckinCourse, as_of: date) -> list[date]:
    """The course end (once passed) and the days of boosters given after it, in order."""
    zone = ZoneInfo(course.timezone)
    ends: set[date] = set()
    if course.course_end is not None and course.course_end <= as_of:
        ends.add(course.course_end)
        for infusion in course.infusions or []:
            if infusion.get("booster") and infusion.get("given"):
                day = datetime.fromisoformat(infusion["at"]).astimezone(zone).date()
                if course.course_end < day <= as_of:
                    ends.add(day)
    return sorted(ends)


def episodes_for(history: relapse.PatientHistory, ends: list[date],
                 policy: relapse.RelapsePolicy) -> list[core_maintenance.Episode]:
    episodes = []
    for i, end in enumerate(ends):
        loss = relapse.loss_of_response_date(history, policy, after=end)
        following = ends[i + 1] if i + 1 < len(ends) else None
        if loss is not None and following is not None and loss > following:
            loss = None  # relapsed after the next treatment: that episode's, not this one's
        episodes.append(core_maintenance.Episode(end, loss))
    return episodes


def refresh(db: Session, ctx: Ctx, course: CheckinCourse, as_of: date,
            rules: detection.Rules) -> BoosterProposal | None:
    """Propose (or keep) the patient's next booster window. Nothing before a first loss of response."""
    history = detection.history_for(db, course, as_of)
    ends = treatment_ends(course, as_of)
    if history is None or not ends:
        return None
    proposal = core_maintenance.propose(episodes_for(history, ends, rules.relapse), ends[-1], rules.maintenance,
                                        as_of)
    if proposal is None:
        return repository.open_proposal(db, course.patient_id)
    # One decision per treatment: once accepted or declined, nothing is proposed again until the next treatment.
    existing = next((p for p in repository.proposals_for(db, course.patient_id)
                     if p.latest_treatment_end == ends[-1] and p.status != ProposalStatus.SUPERSEDED.value), None)
    if existing is not None and (existing.status != ProposalStatus.PROPOSED.value or (
            existing.window_start, existing.window_end) == (proposal.window_start, proposal.window_end)):
        return existing if existing.status != ProposalStatus.DECLINED.value else None
    now = clock.now()
    for old in repository.proposals_for(db, course.patient_id):
        if old.status == ProposalStatus.PROPOSED.value:
            old.status, old.decided_at = ProposalStatus.SUPERSEDED.value, now
    row = BoosterProposal(clinic_id=course.clinic_id, patient_id=course.patient_id,
                          window_start=proposal.window_start, window_end=proposal.window_end,
                          latest_treatment_end=ends[-1], median_durability_days=proposal.median_durability_days,
                          n_episodes=proposal.n_episodes, n_censored=proposal.n_censored,
                          explanation=proposal.explanation[:2000], created_at=now)
    db.add(row)
    db.flush()
    record(db, ctx.actor, "booster.propose", clinic_id=course.clinic_id, patient_id=course.patient_id,
           record_type="booster_proposal", record_id=row.id,
           detail={"window": [str(row.window_start), str(row.window_end)], "median_days": row.median_durability_days})
    return row


def priority(window_start: date, window_end: date, today: date) -> str:
    return "high" if window_start <= today + timedelta(days=HIGH_PRIORITY_DAYS) else "normal"


def _proposal(db: Session, ctx: Ctx, proposal_id: int) -> BoosterProposal:
    assert ctx.principal is not None
    row = repository.proposal(db, proposal_id)
    if row is None:
        raise NotFound("No such booster proposal.")
    try:
        ensure_clinic(ctx.principal, row.clinic_id)
    except NotFound:
        raise NotFound("No such booster proposal.") from None
    return row


def accept(db: Session, ctx: Ctx, proposal_id: int, note: str | None, today: date) -> BoosterRequest:
    """A prescriber accepts: a booster request goes to scheduling with the window and its priority."""
    row = _proposal(db, ctx, proposal_id)
    if row.status != ProposalStatus.PROPOSED.value:
        raise Conflict(f"This proposal is {row.status}; only an open proposal can be accepted.")
    note = (note or "").strip() or None
    if note and len(note) > 1000:
        raise ValidationFailed.single("note", "max_length", "must be at most 1000 characters")
    now = clock.now()
    row.status, row.decided_at, row.decided_by_id, row.decision_note = (ProposalStatus.ACCEPTED.value, now,
                                                                        ctx.actor.user_id, note)
    request = BoosterRequest(clinic_id=row.clinic_id, patient_id=row.patient_id, proposal_id=row.id,
                             window_start=row.window_start, window_end=row.window_end,
                             priority=priority(row.window_start, row.window_end, today), note=note,
                             requested_at=now, requested_by_id=ctx.actor.user_id,
                             status=BoosterRequestStatus.REQUESTED.value)
    db.add(request)
    db.flush()
    record(db, ctx.actor, "booster.accept", clinic_id=row.clinic_id, patient_id=row.patient_id,
           record_type="booster_request", record_id=request.id,
           detail={"proposal": row.id, "window": [str(row.window_start), str(row.window_end)],
                   "priority": request.priority})
    return request


def decline(db: Session, ctx: Ctx, proposal_id: int, reason: str | None) -> BoosterProposal:
    row = _proposal(db, ctx, proposal_id)
    if row.status != ProposalStatus.PROPOSED.value:
        raise Conflict(f"This proposal is {row.status}; only an open proposal can be declined.")
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationFailed.single("reason", "required", "say why no booster is planned")
    if len(reason) > 1000:
        raise ValidationFailed.single("reason", "max_length", "must be at most 1000 characters")
    row.status, row.decided_at, row.decided_by_id, row.decision_note = (ProposalStatus.DECLINED.value, clock.now(),
                                                                        ctx.actor.user_id, reason)
    db.flush()
    record(db, ctx.actor, "booster.decline", clinic_id=row.clinic_id, patient_id=row.patient_id,
           record_type="booster_proposal", record_id=row.id, detail={"reason": reason[:200]})
    return row
