"""`tenfour audit ...`: check the audit log's hash chain (audit.chain)."""

from __future__ import annotations

import typer
from rich.console import Console

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's hash chain. Exit status 0 and the count when every link holds; 1 and the first
    broken link (the entry's id, its position and what differs) when one does not."""
    from tenfour.audit import chain
    from tenfour.db import session_scope

    with session_scope() as db:
        report = chain.verify(db)
    if report.broken is None:
        console.print(f"[green]Audit chain OK[/green]: {report.entries} entries, every link holds. "
                      f"Head: position {report.head_seq}, hash {report.head_hash}", highlight=False, soft_wrap=True)
        return
    broken = report.broken
    where = f"entry {broken.entry_id}" if broken.entry_id is not None else "the end of the chain"
    position = f" (position {broken.seq})" if broken.seq is not None else ""
    err.print(f"[red]Audit chain BROKEN[/red] at {where}{position}: {broken.problem}. "
              f"{report.entries} entries before it verified.", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)
