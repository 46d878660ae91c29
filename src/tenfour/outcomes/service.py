"""Cohort outcomes use cases: which clinics and patients (scope and filters, validated naming the field), the counts
(set-based in the database, ``repository``), the report (``report``), the plots (``charts``), and the audit trail.
Never commits.

Scope: a staff member with ``outcomes.read`` sees the clinics they work in — by default their current clinic, an
administrator all of theirs; ``clinic`` names one by its slug, or ``all``. Another clinic's patients are never
counted: every query is per clinic, for clinics in the principal's scope only.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from tenfour import analytics as analytics_db
from tenfour.accounts.models import Role
from tenfour.audit.service import Actor, record
from tenfour.checkins import clock
from tenfour.clinics import repository as clinics_repository
from tenfour.clinics.models import Clinic
from tenfour.clinics.service import effective_policy
from tenfour.context import Ctx
from tenfour.core import cohort
from tenfour.core import policy as clinic_policy
from tenfour.errors import Forbidden, NotFound, Problem, ValidationFailed
from tenfour.outcomes import charts, facts, report, repository
from tenfour.outcomes.selection import ClinicScope, Selection
from tenfour.outcomes.tallies import ClinicRules, Tallies
from tenfour.patients.models import ResponderRole
from tenfour.plans.models import Protocol
from tenfour.policy import Principal, active_clinic_id

ALL_CLINICS = "all"
ROLES = tuple(r.value for r in ResponderRole)
PROTOCOLS = tuple(p.value for p in Protocol)
# The clinic policy settings behind the outcome definitions, shown beside the numbers with their basis and source.
DEFINITION_KEYS = ("outcome.response_reduction_pct", "outcome.remission_below_cutoff", "pcl5.provisional_cutoff",
                   "pcl5.reliable_change", "relapse.act_consecutive_checkins")
Counting = Callable[[Session, ClinicScope, Selection], Tallies]


@dataclass(frozen=True)
class Computed:
    """A cohort counted: the clinics with their policy, the filters, the tallies and the report."""

    scopes: list[ClinicScope]
    selection: Selection
    tallies: Tallies
    report: dict[str, Any]
    counted_at: datetime | None = None
    recounted: int = 0  # courses whose stored facts were recounted for this view (changed since, or new)
    with_trajectory: bool = True  # the weekly scores counted (only the trajectory plot draws them)
    # Read from the analytics database (a replica): how far behind it was, and how many courses whose stored facts
    # it had not caught up with were counted from their records there. None: read from the primary.
    replica: analytics_db.ReplicaStatus | None = None
    recounted_on_replica: int = 0


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _day(field: str, raw: str | None, problems: list[Problem]) -> date | None:
    value = _text(raw)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(Problem(field, "date", f"must be a date written as YYYY-MM-DD, got {value[:20]!r}"))
        return None


def parse_selection(*, role: str | None = None, agency: str | None = None, protocol: str | None = None,
                    period_from: str | None = None, period_to: str | None = None) -> Selection:
    """The filters from a form, a query string or the command line; every problem named by its field."""
    problems: list[Problem] = []
    role, agency, protocol = _text(role), _text(agency), _text(protocol)
    if role is not None and role not in ROLES:
        problems.append(Problem("role", "choice", f"must be one of {', '.join(ROLES)}"))
    if agency is not None and len(agency) > 120:
        problems.append(Problem("agency", "max_length", "must be at most 120 characters"))
    if protocol is not None and protocol not in PROTOCOLS:
        problems.append(Problem("protocol", "choice", f"must be one of {', '.join(PROTOCOLS)}"))
    start, end = _day("from", period_from, problems), _day("to", period_to, problems)
    if start and end and start > end:
        problems.append(Problem("to", "not_before_from", f"the period ends ({end}) before it starts ({start})"))
    if problems:
        raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), problems)
    return Selection(role, agency, protocol, start, end)


def clinics_in_scope(db: Session, principal: Principal, clinic: str | None) -> list[Clinic]:
    """The clinics whose patients are counted: one named by slug, ``all`` of the principal's, or the default."""
    visible = clinics_repository.list_clinics(db, principal.clinic_ids)
    if not visible:
        raise Forbidden("Your account does not belong to a clinic yet. Ask an administrator.")
    wanted = _text(clinic)
    if wanted == ALL_CLINICS or (wanted is None and principal.role == Role.ADMIN):
        return visible
    if wanted is None:
        current = active_clinic_id(principal)
        return [c for c in visible if c.id == current] or visible[:1]
    found = [c for c in visible if c.slug == wanted]
    if not found:  # another clinic's name is not confirmed either way
        raise NotFound(f"No clinic '{wanted[:60]}' among the clinics you work in.")
    return found


def scopes_for(db: Session, clinics: list[Clinic], now: datetime) -> list[ClinicScope]:
    scopes = []
    for c in clinics:
        values = effective_policy(db, c.id)
        scopes.append(ClinicScope(c.id, c.slug, c.name, c.timezone, repository.today_in(c.timezone, now),
                                  ClinicRules.from_policy(values), values))
    return scopes


def _definitions(scopes: list[ClinicScope]) -> list[dict[str, Any]]:
    rows = []
    for key in DEFINITION_KEYS:
        setting = clinic_policy.BY_KEY[key]
        rows.append({"key": key, "label": setting.label, "unit": setting.unit, "basis": setting.basis.value,
                     "source": setting.source, "values": {s.slug: s.policy[key] for s in scopes}})
    return rows


def _on_replica(db: Session, analytics: Session | None) -> bool:
    return analytics is not None and analytics is not db


def compute(db: Session, clinics: list[Clinic], selection: Selection, now: datetime | None = None,
            counting: Counting = repository.tally_clinic, trajectory: bool = True,
            analytics: Session | None = None) -> Computed:
    """Count every clinic's cohort (``counting``: the set-based queries, or ``reference.tally_clinic``), add the
    tallies up, and build the report. The set-based way first recounts the courses whose stored facts no longer
    hold (``outcomes.facts``), so the numbers are never older than the records. ``trajectory`` False: skip the
    weekly scores, which only the trajectory plot draws (the page and the API; ``with_trajectory`` adds them).

    ``analytics``: a read-only session on the analytics replica (``web.deps.AnalyticsDb``; None or ``db`` itself:
    everything on ``db``). The clinics, their rules and the recount of stale facts stay on ``db`` (the primary: a
    replica cannot write); the counting reads the replica, where what it has not caught up with yet — facts the
    primary recounted but the replica has not replayed, or writes it has not replayed at all — is counted from its
    records (``repository.count_clinic_read_only``). The result says how far behind the replica was."""
    now = now or clock.now()
    scopes = scopes_for(db, clinics, now)
    tallies = Tallies()
    recounted = on_replica = 0
    replica = None
    if _on_replica(db, analytics) and counting is repository.tally_clinic:
        assert analytics is not None
        replica = analytics_db.replica_status(analytics)
        for scope in scopes:
            recounted += facts.refresh(db, scope, now)  # stored on the primary, for the next views
            part, pending = repository.count_clinic_read_only(analytics, scope, selection, now, trajectory)
            on_replica += pending
            tallies = tallies + part
    else:
        for scope in scopes:
            if counting is repository.tally_clinic:
                part, fresh = repository.count_clinic(db, scope, selection, now, trajectory)
                recounted += fresh
            else:
                part = counting(db, scope, selection)
            tallies = tallies + part
    scope_info: dict[str, Any] = {
        "clinics": [{"slug": s.slug, "name": s.name, "as_of": s.as_of.isoformat()} for s in scopes],
        "filters": selection.as_dict(),
        "definitions": _definitions(scopes),
        "min_n_to_judge": cohort.MIN_N,
    }
    if replica is not None:
        scope_info["read_from"] = {**replica.as_dict(), "courses_counted_from_records": on_replica}
    return Computed(scopes, selection, tallies, report.build(tallies, scope_info), now, recounted,
                    trajectory or counting is not repository.tally_clinic, replica, on_replica)


def with_trajectory(db: Session, computed: Computed, analytics: Session | None = None) -> Computed:
    """The page's computation with the weekly scores added (counted now, from the same stored facts; on the
    replica, ``analytics``, as ``compute`` does)."""
    if computed.with_trajectory:
        return computed
    weekly: Counter[tuple[int, int]] = Counter()
    for scope in computed.scopes:
        now = computed.counted_at or clock.now()
        facts.refresh(db, scope, now)  # what changed since the page was counted
        if _on_replica(db, analytics):
            assert analytics is not None
            weekly += repository.count_trajectory(analytics, scope, computed.selection,
                                                  facts.courses_now(analytics, scope, now)[0])
        else:
            weekly += repository.count_trajectory(db, scope, computed.selection)
    return replace(computed, tallies=replace(computed.tallies, trajectory=weekly), with_trajectory=True)


def refresh(db: Session, clinic: Clinic, now: datetime | None = None) -> int:
    """Recount the clinic's courses and infusions whose stored outcome facts no longer hold (the sweep calls this,
    so that views rarely have anything to recount). Returns how many courses were recounted; never commits."""
    scope = scopes_for(db, [clinic], now or clock.now())[0]
    return facts.refresh(db, scope, now or clock.now())


def audit_view(db: Session, actor: Actor, clinics: list[Clinic], selection: Selection, channel: str) -> None:
    """Outcomes are aggregates, but they are read from patients' records: every view is on the audit trail."""
    record(db, actor, "outcomes.view", clinic_id=clinics[0].id if len(clinics) == 1 else None,
           record_type="outcomes", detail={"channel": channel, "clinics": [c.id for c in clinics],
                                           "filters": selection.as_dict()})


def view(db: Session, ctx: Ctx, *, clinic: str | None, selection: Selection, channel: str,
         now: datetime | None = None, analytics: Session | None = None) -> Computed:
    """The outcomes a signed-in staff member asked for (page or API), audited (on ``db``, the primary, even when
    the numbers are read from the ``analytics`` replica)."""
    assert ctx.principal is not None
    clinics = clinics_in_scope(db, ctx.principal, clinic)
    # the report has no weekly scores
    computed = compute(db, clinics, selection, now, trajectory=False, analytics=analytics)
    audit_view(db, ctx.actor, clinics, selection, channel)
    return computed


# --- The page's plots draw the numbers the page showed ----------------------------------------------------------
# The page counts the cohort once and keeps the result for a few minutes under a random token in its plot addresses,
# so its three plots (and their downloads) draw exactly what the page says without counting everything three times
# more. A plot asked for without a (live) token, or for another scope or filters, is counted afresh.
VIEW_TTL_S = 300
MAX_VIEWS = 64
_views: OrderedDict[str, tuple[float, tuple[tuple[int, ...], Selection], Computed]] = OrderedDict()
_views_lock = threading.Lock()


def _view_key(clinics: list[Clinic], selection: Selection) -> tuple[tuple[int, ...], Selection]:
    return tuple(sorted(c.id for c in clinics)), selection


def remember(computed: Computed, clinics: list[Clinic]) -> str:
    """Keep a page's computation for its plots; returns the token to put in their addresses."""
    token = secrets.token_urlsafe(12)
    with _views_lock:
        _views[token] = (time.monotonic() + VIEW_TTL_S, _view_key(clinics, computed.selection), computed)
        while len(_views) > MAX_VIEWS:
            _views.popitem(last=False)
    return token


def recall(token: str | None, clinics: list[Clinic], selection: Selection) -> Computed | None:
    """The page's computation for these clinics and filters, if its token is live."""
    if not token:
        return None
    with _views_lock:
        found = _views.get(token)
    if found is None or found[0] < time.monotonic() or found[1] != _view_key(clinics, selection):
        return None
    return found[2]


def plot(db: Session, ctx: Ctx, name: str, fmt: str, *, clinic: str | None, selection: Selection,
         download: bool = False, view: str | None = None, now: datetime | None = None,
         analytics: Session | None = None) -> bytes:
    """One plot of the cohort as SVG or PNG bytes (``charts.PLOTS`` x ``charts.FORMATS``). A download is audited;
    the image shown on the page is not audited again (the page view is), as with the check-in charts."""
    if name not in charts.PLOTS or fmt not in charts.FORMATS:
        raise NotFound("There is no such plot.")
    assert ctx.principal is not None
    clinics = clinics_in_scope(db, ctx.principal, clinic)  # authorization first, always
    computed = recall(view, clinics, selection) or compute(db, clinics, selection, now, trajectory=False,
                                                           analytics=analytics)
    if name == "trajectories":
        computed = with_trajectory(db, computed, analytics)
    if download:
        audit_view(db, ctx.actor, clinics, selection, f"download:{name}.{fmt}")
    return charts.render(figure(computed, name), fmt)


def figure(computed: Computed, name: str) -> Any:
    t = computed.tallies
    if name == "km":
        return charts.kaplan_meier(cohort.kaplan_meier(t.survival))
    if name == "waterfall":
        return charts.waterfall(t.waterfall, [s.rules.outcomes.response_reduction_pct for s in computed.scopes])
    return charts.trajectories(t.trajectory, [s.rules.outcomes.provisional_cutoff for s in computed.scopes])


def filter_choices(db: Session, clinics: list[Clinic]) -> dict[str, Any]:
    """What the filter form offers: roles, the agencies named in these clinics, protocols."""
    return {"roles": [(r.value, r.label) for r in ResponderRole],
            "agencies": repository.agencies(db, [c.id for c in clinics]),
            "protocols": [(p.value, p.value.capitalize()) for p in Protocol]}
