"""The outcomes dashboard (/outcomes) and its plots as SVG or PNG (shown on the page, or downloaded)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from tenfour.clinics import repository as clinics_repository
from tenfour.context import Ctx
from tenfour.errors import NotFound, ValidationFailed
from tenfour.outcomes import charts, report, service
from tenfour.policy import Permission
from tenfour.web.deps import AnalyticsDb, DbSession, authorize, verify_csrf
from tenfour.web.forms import FormErrors
from tenfour.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
Read = Annotated[Ctx, Depends(authorize(Permission.OUTCOMES_READ))]
FILTERS = ("clinic", "role", "agency", "protocol", "from", "to")
VERDICT_CLASSES = {"consistent": "verdict-consistent", "not_consistent": "verdict-not-consistent",
                   "not_enough_data": "verdict-not-enough", "not_testable": "verdict-not-testable"}


def _raw(request: Request) -> dict[str, str]:
    """The filters as typed (kept in the form, and passed on to the plot addresses)."""
    return {name: request.query_params.get(name, "").strip()[:200] for name in FILTERS
            if request.query_params.get(name, "").strip()}


def _selection(raw: dict[str, str]) -> service.Selection:
    return service.parse_selection(role=raw.get("role"), agency=raw.get("agency"), protocol=raw.get("protocol"),
                                   period_from=raw.get("from"), period_to=raw.get("to"))


# Behind by more than this, the page warns that recent changes are missing from its numbers.
REPLICA_LAG_WARN_S = 60


def _counted(computed: service.Computed, clinics: list[Any]) -> dict[str, Any] | None:
    """When the numbers were counted (in the first clinic's time zone), how many courses were recounted for it, and
    (read from the analytics replica) how far behind the replica was."""
    if computed.counted_at is None:
        return None
    zone = ZoneInfo(clinics[0].timezone)
    local = computed.counted_at.astimezone(zone)
    counted: dict[str, Any] = {"at": f"{local:%Y-%m-%d %H:%M} ({clinics[0].timezone})",
                               "recounted": computed.recounted}
    replica = computed.replica
    if replica is not None:
        lag = replica.lag_seconds
        counted["replica"] = {
            "standby": replica.in_recovery, "lag": None if lag is None else _duration(lag),
            "caught_up": lag is not None and lag < 1,
            "behind": lag is not None and lag > REPLICA_LAG_WARN_S,
            "replayed_at": f"{replica.replayed_at.astimezone(zone):%Y-%m-%d %H:%M:%S} ({clinics[0].timezone})"
            if replica.replayed_at else None,
            "from_records": computed.recounted_on_replica}
    return counted


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


@router.get("/outcomes")
def dashboard(request: Request, db: DbSession, ctx: Read, analytics: AnalyticsDb) -> Response:
    assert ctx.principal is not None
    raw = _raw(request)
    clinics = service.clinics_in_scope(db, ctx.principal, raw.get("clinic"))
    visible = clinics_repository.list_clinics(db, ctx.principal.clinic_ids)
    context: dict[str, Any] = {
        "values": raw, "errors": FormErrors(), "report": None, "choices": service.filter_choices(analytics, visible),
        "clinic_options": [(service.ALL_CLINICS, "All my clinics"), *((c.slug, c.name) for c in visible)]
        if len(visible) > 1 else [],
        "scope_names": ", ".join(c.name for c in clinics), "query": urlencode(raw),
        "verdict_classes": VERDICT_CLASSES, "plots": charts.PLOTS,
    }
    try:
        selection = _selection(raw)
    except ValidationFailed as error:
        context["errors"] = FormErrors.from_problems(error.problems)
        return render(request, db, "outcomes/dashboard.html", context, status_code=422, nav_key="outcomes")
    # the trajectory plot counts its own; the numbers are read from the analytics replica when there is one
    computed = service.compute(db, clinics, selection, trajectory=False, analytics=analytics)
    service.audit_view(db, ctx.actor, clinics, selection, "page")
    context["query"] = urlencode({**raw, "view": service.remember(computed, clinics)})
    context.update(report=computed.report, rows=report.rows(computed.report), show=report.show,
                   kinds=report.KINDS, counted=_counted(computed, clinics),
                   analytics_unavailable=getattr(request.state, "analytics_unavailable", False))
    return render(request, db, "outcomes/dashboard.html", context, nav_key="outcomes")


@router.get("/outcomes/plots/{filename}")
def plot(request: Request, db: DbSession, ctx: Read, analytics: AnalyticsDb, filename: str,
         download: Annotated[bool, Query(description="Send as a file to save")] = False,
         view: Annotated[str | None, Query(max_length=40, description="The page's token")] = None) -> Response:
    """``km``, ``waterfall`` or ``trajectories``, as ``.svg`` or ``.png``, for the same filters as the page."""
    name, _, fmt = filename.partition(".")
    if name not in charts.PLOTS or fmt not in charts.FORMATS:
        raise NotFound("There is no such plot: try km, waterfall or trajectories, as .svg or .png.")
    raw = _raw(request)
    body = service.plot(db, ctx, name, fmt, clinic=raw.get("clinic"), selection=_selection(raw), download=download,
                        view=view, analytics=analytics)
    headers = {}
    if download:
        scope = raw.get("clinic") or "outcomes"
        headers["Content-Disposition"] = f'attachment; filename="tenfour-{scope}-{name}.{fmt}"'
    return Response(body, media_type=charts.FORMATS[fmt], headers=headers)
