"""Which check-ins a synthetic patient answers, on which day, and what they score (pure: no database).

The days come from the product's own schedule (``core.checkin_schedule.build_schedule``, the function the check-ins
domain stores its schedule with), so the patient answers exactly the check-in the service has open. A loss of
response is confirmed on the drawn day (cohort.py): the check-in whose window holds that day is answered on it, the
one before it no longer responding either.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenfour.core import checkin_schedule as schedule
from tenfour.core import relapse
from tenfour.simulate.cohort import Fate, noisy
from tenfour.simulate.params import SimulationParams

INDUCTION = 6
RAMP = (0.55, 0.9, 1.0, 1.0, 1.0, 1.0)  # share of the full effect after the 1st ... 6th infusion (assumption)
EVENING = 19  # check-ins are answered in the evening, patient's time


@dataclass(frozen=True)
class Visit:
    """A check-in the patient will answer: when, for which due check-in, and how they are."""

    at: datetime
    due: schedule.DueCheckIn
    responding: bool | None  # None: during the course (the ramp decides)
    given_before: int  # infusions given before it
    confirms_loss: bool = False


def _windows(dues: list[schedule.DueCheckIn]) -> list[tuple[date, date]]:
    """Each check-in is open from its day until the day before the next one is due (a week for the last)."""
    return [(d.due_on, (dues[i + 1].due_on - timedelta(days=1)) if i + 1 < len(dues) else
             d.due_on + timedelta(days=6)) for i, d in enumerate(dues)]


def _confirmation(fate: Fate, course_end: date, post: list[int],
                  windows: list[tuple[date, date]]) -> tuple[int | None, int | None, date]:
    """(the check-in that confirms the loss, the one before it, the day it is answered), or (None, None, _)."""
    if not fate.responder or len(post) < 3 or fate.durability_days is None:
        return None, None, course_end
    target = course_end + timedelta(days=math.ceil(fate.durability_days))
    pos = next((p for p, i in enumerate(post) if windows[i][0] <= target <= windows[i][1]), None)
    if pos is None and target >= windows[post[0]][0]:
        return None, None, course_end  # beyond the follow-up: censored
    pos = max(pos or 0, 2)  # a responding check-in after the course, then two that are not
    confirm = post[pos]
    return confirm, post[pos - 1], max(target, windows[confirm][0])


def plan_visits(fate: Fate, params: SimulationParams, rng: random.Random, policy: dict[str, Any],
                starts: list[datetime], course_end: date, n_given: int, until: datetime,
                zone: ZoneInfo) -> list[Visit]:
    """The check-ins of a course with ``starts`` (every booked infusion), of which the first ``n_given`` are given."""
    rules = schedule.CheckInSchedulePolicy.from_policy(policy)
    dues = schedule.build_schedule(starts, course_end, until.astimezone(zone).date(), zone, rules)
    last_infusion_day = starts[n_given - 1].astimezone(zone).date()
    stopped = n_given < INDUCTION
    dropout = None
    if fate.followup_dropout_weeks is not None:
        dropout = course_end + timedelta(days=fate.followup_dropout_weeks * 7)
    windows = _windows(dues)
    post = [i for i, d in enumerate(dues) if d.due_on > course_end]
    confirm, pre, confirm_day = (None, None, course_end) if stopped else _confirmation(fate, course_end, post,
                                                                                        windows)
    visits = []
    for i, due in enumerate(dues):
        before = sum(1 for s in starts[:n_given] if s.astimezone(zone).date() < due.due_on)
        if stopped and due.due_on > last_infusion_day + timedelta(days=1):
            break  # stopped the course after the check-in of their last infusion: lost to follow-up
        in_course = due.due_on <= course_end
        start, end = windows[i]
        if i == confirm:
            day = confirm_day
        else:
            late = 0 if in_course or rng.random() >= params.late_checkin_rate else rng.randint(1, 2)
            day = min(start + timedelta(days=late), end)
            if i == pre:
                day = min(day, confirm_day - timedelta(days=1))
        if dropout is not None and not in_course and day > dropout:
            break
        protected = i in (confirm, pre) or (post and i == post[0])
        if not protected and rng.random() < params.missed_checkin_rate:
            continue
        responding = None if in_course else (fate.responder and (pre is None or i < pre))
        at = datetime.combine(day, time(EVENING, rng.randint(0, 59)), tzinfo=zone)
        at += timedelta(minutes=0 if in_course else rng.randint(0, 60))
        visits.append(Visit(at, due, responding, before, confirms_loss=i == confirm))
    return visits


def pcl5_total(fate: Fate, visit: Visit, response_reduction_pct: int, rng: random.Random) -> int:
    """The PCL-5 total of a check-in: the drawn effect with noise, kept on the side of the response rule the fate
    says (a responder from the second infusion on meets it; a non-responder or a lost response never does)."""
    baseline = fate.baseline_pcl5
    limit = relapse.response_limit_pcl5(baseline, response_reduction_pct)
    if visit.responding is None:
        effect = fate.reduction * RAMP[max(0, min(visit.given_before, INDUCTION) - 1)]
        meets = fate.responder and visit.given_before >= 2
        fails = not fate.responder
    else:
        effect = fate.reduction if visit.responding else fate.relapsed_reduction
        meets, fails = visit.responding, not visit.responding
    total = max(0, min(80, noisy(baseline * (1 - effect), rng)))
    if meets:
        total = min(total, limit)
    if fails:
        total = max(total, limit + 1)
    return total
