"""`tenfour backup [--output PATH]`, `tenfour backup verify PATH`, `tenfour restore PATH [--yes]` (backup.service)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tenfour.backup import service
from tenfour.backup.service import BackupError, Check

backup_app = typer.Typer(help="Back up the database (`tenfour backup [--output PATH]`: a checked copy with a "
                              "manifest), and check a backup (`tenfour backup verify PATH`).")
console = Console()
err = Console(stderr=True)


def _report(check: Check) -> None:
    for note in check.notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)
    if check.ok:
        chain = f"; audit chain recomputed over {check.entries} entries" if check.entries else ""
        console.print(f"[green]Verified[/green] {check.what}: every table's row count and the audit chain head "
                      f"match the manifest{chain}.", highlight=False, soft_wrap=True)
        return
    err.print(f"[red]Verification FAILED[/red] for {check.what}:", highlight=False)
    for difference in check.differences:
        err.print(f"  - {difference}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def _fail(error: BackupError) -> None:
    err.print(f"[red]Error:[/red] {error.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@backup_app.callback(invoke_without_command=True)
def backup(
    context: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Backup file (default: "
                                                "DATA_DIR/backups/tenfour-<UTC time>.db or .dump)")] = None,
) -> None:
    """Back up the database while the app runs (SQLite online backup; PostgreSQL pg_dump, custom format), write a
    manifest beside it (file hash, rows per table, audit chain head) and check the backup against it.
    Exit status 0 when verified, 1 when the check found a difference, 2 when the backup could not be made."""
    if context.invoked_subcommand is not None:
        return
    from tenfour.config import get_settings

    settings = get_settings()
    url = settings.effective_database_url()
    try:
        target = output or service.default_output(settings.data_dir, url)
        manifest, check = service.backup(url, target)
    except BackupError as error:
        _fail(error)
    rows = sum(manifest.snapshot.tables.values())
    console.print(f"Backed up the {manifest.database} database to {target} ({len(manifest.snapshot.tables)} tables, "
                  f"{rows} rows; audit chain position {manifest.snapshot.audit_chain['seq']}, hash "
                  f"{manifest.snapshot.audit_chain['hash']}).", highlight=False, soft_wrap=True)
    console.print(f"Manifest: {service.manifest_path(target)}", highlight=False, soft_wrap=True)
    _report(check)


@backup_app.command("verify")
def backup_verify(path: Annotated[Path, typer.Argument(help="The backup file (its manifest sits beside it)")]) -> None:
    """Check a backup: the file's SHA-256, every table's row count and the audit chain head against its manifest
    (SQLite: also the integrity check and the whole audit chain). Exit status 1 on any difference."""
    try:
        check = service.verify_backup(path)
    except BackupError as error:
        _fail(error)
    _report(check)


def restore(
    path: Annotated[Path, typer.Argument(help="The backup file (its manifest sits beside it)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask: replace the database's content")] = False,
) -> None:
    """Replace the database's content with a backup (stop the app first), then check every table's row count and
    the audit chain against the backup's manifest. The backup is checked before anything is changed."""
    from tenfour.config import get_settings

    url = get_settings().effective_database_url()
    shown = url.split("@", 1)[-1] if "@" in url else url
    if not yes:
        typer.confirm(f"Replace everything in {shown} with the backup {path}?", abort=True)
    try:
        check = service.restore(url, path)
    except BackupError as error:
        _fail(error)
    console.print(f"Restored {path} into {shown}.", highlight=False, soft_wrap=True)
    _report(check)
