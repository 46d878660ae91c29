"""JSON API of cohort outcomes: the same numbers as the /outcomes page and `tenfour report outcomes --json`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from tenfour.context import Ctx
from tenfour.outcomes import service
from tenfour.outcomes.schemas import OutcomesOut
from tenfour.policy import Permission
from tenfour.web.deps import AnalyticsDb, DbSession, authorize

router = APIRouter(prefix="/api/v1", tags=["outcomes"])
Read = Annotated[Ctx, Depends(authorize(Permission.OUTCOMES_READ))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"}, 403: {"description": "Role not allowed"},
    404: {"description": "No such clinic among yours"},
    422: {"description": "Bad filter: each problem names the field and the rule"}}

Clinic = Annotated[str | None, Query(description="A clinic's slug, or `all` (default: your clinic; an "
                                                 "administrator's default is all of theirs)")]
Role = Annotated[str | None, Query(description="Responder role: " + ", ".join(service.ROLES))]
Agency = Annotated[str | None, Query(description="Agency, as written on the patients' records")]
Protocol = Annotated[str | None, Query(description="Treatment plan protocol: " + ", ".join(service.PROTOCOLS))]
From = Annotated[str | None, Query(alias="from", description="First day of the period (YYYY-MM-DD, inclusive)")]
To = Annotated[str | None, Query(alias="to", description="Last day of the period (YYYY-MM-DD, inclusive)")]


@router.get("/outcomes", response_model=OutcomesOut, response_model_exclude_unset=True, responses=ERRORS)
def outcomes(db: DbSession, ctx: Read, analytics: AnalyticsDb, clinic: Clinic = None, role: Role = None,
             agency: Agency = None, protocol: Protocol = None, period_from: From = None,
             period_to: To = None) -> dict[str, Any]:
    """Cohort outcomes of your clinic(s): funnel, response and remission (Wilson 95% intervals), improvement at the
    24-hour check-in, Kaplan-Meier time to loss of response, boosters, safety per 100 infusions, CADSS-6, missing
    data, and the clinics' claims and the trials beside this cohort's numbers with a verdict (product choice).
    Read from the analytics replica when one is configured: `scope.read_from` then says how far behind it was.
    Shares are fractions 0-1; every estimate is `{"value", "ci95": [low, high], "n"}`. Definitions: docs/outcomes.md."""
    selection = service.parse_selection(role=role, agency=agency, protocol=protocol, period_from=period_from,
                                        period_to=period_to)
    return service.view(db, ctx, clinic=clinic, selection=selection, channel="api", analytics=analytics).report
