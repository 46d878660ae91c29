"""The `tenfour` command. Each command is one session_scope() (the commit point) around service calls."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tenfour.audit.service import Actor
from tenfour.errors import TenFourError

app = typer.Typer(help="TenFour: care for first responders with PTSD. Run `tenfour COMMAND --help` for details.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clinic_app, name="clinic")
app.add_typer(user_app, name="user")
console = Console()
err = Console(stderr=True)


def _cli_actor() -> Actor:
    try:
        who = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        who = "unknown"
    return Actor.system(f"cli:{who}")


def _fail(error: TenFourError) -> None:
    err.print(f"[red]Error:[/red] {error.message}")
    for problem in error.problems:
        err.print(f"  - {problem.field}: {problem.message} ({problem.rule})")
    raise typer.Exit(code=2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
) -> None:
    """Serve the web app and API (migrate first with `tenfour db upgrade`)."""
    import uvicorn

    from tenfour.config import get_settings

    get_settings().effective_secret_key()  # refuse to start in production without a proper key
    uvicorn.run("tenfour.web.app:create_app", factory=True, host=host, port=port, reload=reload,
                proxy_headers=True, forwarded_allow_ips=get_settings().trusted_proxies)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from tenfour import migrate
    from tenfour.config import get_settings

    url = get_settings().effective_database_url()
    migrate.upgrade(url, revision)
    console.print(f"Database at {_redact(url)} is at revision {revision}.")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base")]) -> None:
    """Undo migrations down to REVISION."""
    from tenfour import migrate
    from tenfour.config import get_settings

    migrate.downgrade(get_settings().effective_database_url(), revision)
    console.print(f"Downgraded to {revision}.")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@clinic_app.command("create")
def clinic_create(
    name: Annotated[str, typer.Argument(help="The clinic's name")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. America/Chicago")],
    slug: Annotated[str | None, typer.Option(help="Short name for addresses; derived from NAME if omitted")] = None,
    chairs: Annotated[int, typer.Option(help="Number of infusion chairs")] = 4,
) -> None:
    """Create a clinic."""
    from tenfour.clinics import service
    from tenfour.db import session_scope

    try:
        with session_scope() as db:
            clinic = service.create_clinic(db, _cli_actor(), name=name, timezone=timezone, slug=slug, chairs=chairs)
            console.print(f"Created clinic [bold]{clinic.name}[/bold] (slug {clinic.slug}, {clinic.timezone}, "
                          f"{chairs} chairs).")
    except TenFourError as error:
        _fail(error)


@clinic_app.command("list")
def clinic_list() -> None:
    """List clinics."""
    from tenfour.clinics import repository
    from tenfour.db import session_scope

    with session_scope() as db:
        table = Table("slug", "name", "time zone", "chairs")
        for clinic in repository.list_clinics(db):
            table.add_row(clinic.slug, clinic.name, clinic.timezone, str(len(clinic.chairs)))
        console.print(table)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="Sign-in email")],
    role: Annotated[str, typer.Option(help="admin, prescriber, nurse, coordinator or manager")],
    clinic: Annotated[list[str], typer.Option(help="Clinic slug; repeat for several clinics")],
    name: Annotated[str | None, typer.Option(help="Full name (defaults to the email's name part)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create a staff account in one or more clinics."""
    from tenfour.accounts import service
    from tenfour.clinics import repository
    from tenfour.db import session_scope
    from tenfour.errors import ValidationFailed

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    try:
        with session_scope() as db:
            clinic_ids = []
            for slug in clinic:
                found = repository.by_slug(db, slug)
                if found is None:
                    raise ValidationFailed.single("clinic", "exists", f"no clinic with slug '{slug}'")
                clinic_ids.append(found.id)
            user = service.create_user(db, _cli_actor(), email=email, full_name=name or email.split("@")[0],
                                       role=role, password=password, clinic_ids=clinic_ids)
            console.print(f"Created {user.role} account {user.email} in {', '.join(clinic)}.")
    except TenFourError as error:
        _fail(error)


@app.command()
def demo(
    reset: Annotated[bool, typer.Option(help="Delete the demo database and start again")] = False,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app after seeding")] = True,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Migrate, seed a realistic synthetic clinic network (once), print the logins, and serve."""
    from tenfour import demo as demo_data
    from tenfour import migrate
    from tenfour.config import get_settings
    from tenfour.db import get_engine, session_scope

    settings = get_settings()
    url = settings.effective_database_url()
    if reset:
        demo_data.reset_database(get_engine())
    migrate.upgrade(url)
    with session_scope() as db:
        created = demo_data.seed(db)
    console.print("[green]Seeded a new demo.[/green]" if created else "Demo data already present (use --reset).")
    console.print(f"\n[bold]Demo logins[/bold] (synthetic data only). Password for every account: "
                  f"[bold]{demo_data.DEMO_PASSWORD}[/bold]")
    for login in demo_data.LOGINS:
        console.print(f"  {login.role:<12} {login.email:<42} clinic: {login.clinics}", highlight=False,
                      soft_wrap=True)
    if serve_after:
        console.print(f"Open http://{host}:{port}/ and sign in with one of the accounts above.")
        serve(host=host, port=port, reload=False)


if __name__ == "__main__":
    app()
