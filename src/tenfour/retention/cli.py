"""`tenfour retention report|apply --clinic SLUG`: closed records kept longer than the clinic's retention policy."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table

retention_app = typer.Typer(help="The clinic's retention policy: list or delete records kept long enough.",
                            no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ClinicOption = typer.Option(..., "--clinic", help="The clinic's slug")


def _ctx():  # type: ignore[no-untyped-def]
    from tenfour.context import Ctx

    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        who = "unknown"
    return Ctx.system(f"cli:{who}")


def _table(items) -> Table:  # type: ignore[no-untyped-def]
    table = Table("Record", "Status", "Last activity (UTC)", "Kept until")
    for item in items:
        table.add_row(item.record_number, item.status, item.last_activity_at.strftime("%Y-%m-%d"),
                      item.kept_until.isoformat())
    return table


@retention_app.command("report")
def retention_report(clinic: str = ClinicOption) -> None:
    """List the clinic's closed records whose last activity is older than its retention period. Changes nothing."""
    from tenfour.db import session_scope
    from tenfour.errors import NotFound
    from tenfour.retention import service

    with session_scope() as db:
        ctx = _ctx()
        try:
            found_clinic = service.clinic_for(db, ctx, clinic)
        except NotFound as error:
            err.print(f"[red]{error.message}[/red]", highlight=False)
            raise typer.Exit(code=2) from None
        items = service.report(db, ctx, found_clinic)
        years = service.retention_years(db, found_clinic.id)
        console.print(f"{found_clinic.name}: retention {years} years (policy privacy.retention_years); "
                      f"{len(items)} record{'s' if len(items) != 1 else ''} past retention.", highlight=False)
        if items:
            console.print(_table(items))


@retention_app.command("apply")
def retention_apply(clinic: str = ClinicOption,
                    yes: bool = typer.Option(False, "--yes", help="Really delete (without it, only lists)")) -> None:
    """Delete the clinic's records that are past retention: each patient's PHI goes, the audit trail stays, and each
    deletion is one audit entry. Without --yes nothing is deleted (exit status 1)."""
    from tenfour.db import session_scope
    from tenfour.errors import NotFound
    from tenfour.retention import service

    with session_scope() as db:
        ctx = _ctx()
        try:
            found_clinic = service.clinic_for(db, ctx, clinic)
        except NotFound as error:
            err.print(f"[red]{error.message}[/red]", highlight=False)
            raise typer.Exit(code=2) from None
        items = service.past_retention(db, found_clinic)
        if not items:
            console.print(f"{found_clinic.name}: no record is past retention; nothing to delete.", highlight=False)
            return
        if not yes:
            console.print(_table(items))
            err.print(f"{len(items)} record{'s' if len(items) != 1 else ''} would be deleted. Nothing was deleted: "
                      "run again with --yes to delete them.", highlight=False)
            raise typer.Exit(code=1)
        name = found_clinic.name
        deleted = len(service.apply(db, ctx, found_clinic))
    console.print(f"Deleted {deleted} record{'s' if deleted != 1 else ''} past retention from {name}; each is in "
                  "the audit log as patient.delete.", highlight=False)
