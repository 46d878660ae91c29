"""The `tenfour` command. Each command is one session_scope() (the commit point) around service calls."""

from __future__ import annotations

import getpass
import os
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
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (production: about 2 per core)")] = 1,
    log_format: Annotated[str | None, typer.Option(help="json or text (default: json in production)")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development; one process)")] = False,
) -> None:
    """Serve the web app and API (migrate first with `tenfour db upgrade`). On PostgreSQL run `tenfour worker`
    beside it for the background jobs; on SQLite the server runs them itself."""
    import tempfile

    import uvicorn

    from tenfour import logs
    from tenfour.config import get_settings

    settings = get_settings()
    settings.effective_secret_key()  # refuse to start in production without a proper key
    if workers > 1 and reload:
        _fail(TenFourError("Choose --workers or --reload, not both."))
    chosen_format = log_format or settings.effective_log_format
    if chosen_format not in ("json", "text"):
        _fail(TenFourError("--log-format must be json or text."))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each process writes its request metrics here; /metrics adds them up (prometheus_client multiprocess).
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tenfour-metrics-")
    uvicorn.run("tenfour.web.app:create_app", factory=True, host=host, port=port, reload=reload,
                workers=workers if workers > 1 else None, proxy_headers=True,
                forwarded_allow_ips=settings.trusted_proxies, access_log=False,
                log_config=logs.logging_config(chosen_format, settings.log_level), timeout_graceful_shutdown=20)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Jobs run at the same time by this worker")] = 2,
    once: Annotated[bool, typer.Option(help="Run the jobs waiting now, then stop (no periodic sweeps)")] = False,
    log_format: Annotated[str | None, typer.Option(help="json or text (default: json in production)")] = None,
) -> None:
    """Run background jobs from the PostgreSQL queue (procrastinate): urgent-alert escalation at its deadline,
    email delivery, and the sweeps (light every minute, full every 15 minutes). Stops cleanly on SIGTERM/SIGINT.
    Several workers may run at once."""
    from tenfour import logs
    from tenfour.config import get_settings
    from tenfour.db import get_session_factory
    from tenfour.jobs.worker import run_worker

    settings = get_settings()
    if settings.effective_job_backend != "procrastinate":
        _fail(TenFourError("The job worker needs PostgreSQL (TENFOUR_DATABASE_URL=postgresql://...) and "
                           "TENFOUR_JOB_BACKEND auto or procrastinate. On SQLite `tenfour serve` runs the jobs "
                           "itself; cron can run `tenfour sweep`."))
    logs.configure(log_format or settings.effective_log_format, settings.log_level)
    run_worker(settings, get_session_factory(), concurrency=concurrency, wait=not once)


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
        try:
            demo_data.reset_database(get_engine())
        except RuntimeError as error:  # real clinics: refuse, and say so without a traceback
            err.print(f"[red]Error:[/red] {error}")
            raise typer.Exit(code=2) from None
    migrate.upgrade(url)
    with session_scope() as db:
        created = demo_data.seed(db)
    console.print("[green]Seeded a new demo.[/green]" if created else "Demo data already present (use --reset).")
    console.print(f"\n[bold]Demo logins[/bold] (synthetic data only). Password for every account: "
                  f"[bold]{demo_data.DEMO_PASSWORD}[/bold]")
    for login in demo_data.LOGINS:
        two_step = f"  two-step sign-in key: {login.totp_secret}" if login.totp_secret else ""
        console.print(f"  {login.role:<12} {login.email:<42} clinic: {login.clinics}{two_step}", highlight=False,
                      soft_wrap=True)
    if serve_after:
        # The served demo writes its mail to files in the data folder unless a mail backend was chosen: no mail
        # server is needed to open the invitation, reminder and escalation emails it sends.
        if "TENFOUR_MAIL_BACKEND" not in os.environ:
            os.environ["TENFOUR_MAIL_BACKEND"] = "file"
        if "TENFOUR_BASE_URL" not in os.environ:  # links in the demo's emails point at this server
            os.environ["TENFOUR_BASE_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()
        if get_settings().mail_backend == "file":
            console.print(f"Emails the demo sends (invitations, check-in reminders, escalations) are written to "
                          f"{settings.data_dir / 'mail'} as .eml files.", highlight=False, soft_wrap=True)
        console.print(f"Open http://{host}:{port}/ and sign in with one of the accounts above.")
        serve(host=host, port=port, reload=False)


@app.command()
def sweep(
    light: Annotated[bool, typer.Option("--light", help="Only reminders, escalation of urgent alerts and email "
                                                          "(cheap: run it every minute)")] = False,
    batch_size: Annotated[int, typer.Option(help="Patients per transaction", min=10, max=100_000)] = 1000,
    quiet: Annotated[bool, typer.Option(help="No progress bar (for cron)")] = False,
) -> None:
    """Evaluate every active patient, mark missed check-ins, send due reminders, escalate overdue urgent alerts.

    Cron-friendly: one transaction per batch, safe to run while the server runs its own timer, exit status 0 when
    it ran (or found another sweep running), 1 when it failed.
    """
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from tenfour.checkins import sweep as checkins_sweep
    from tenfour.config import get_settings
    from tenfour.db import get_session_factory

    settings = get_settings()
    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as bar:
        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        try:
            summary = checkins_sweep.run(get_session_factory(), settings, full=not light, trigger="cli",
                                         batch_size=batch_size, progress=progress)
        except Exception as error:  # noqa: BLE001 - reported, and cron sees the exit status
            err.print(f"[red]Sweep failed:[/red] {type(error).__name__}: {error}")
            raise typer.Exit(code=1) from None
    for line in summary.lines():
        console.print(line, highlight=False)


# --- Scheduling (issue 7) -----------------------------------------------------------------------------------------
schedule_app = typer.Typer(help="Shift-aware scheduling.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")


@schedule_app.command("benchmark")
def schedule_benchmark(
    seed: Annotated[int, typer.Option(help="Seed of the benchmark instance")] = 0,
    time_limit: Annotated[float, typer.Option(help="CP-SAT wall-clock limit (s), model building included")] = 50.0,
    deterministic_time: Annotated[float | None, typer.Option(help="CP-SAT deterministic-time budget (reproducible)")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """CP-SAT against the first-come-first-served baseline on the seeded instance (8 chairs, 3 nurses, 4 weeks, 60
    induction series, 120 boosters, mixed rosters). Every schedule is verified by the independent checker; exit
    status 1 if either has a rule violation."""
    import json

    from tenfour.core.scheduling.metrics import benchmark_summary, run_benchmark

    summary = benchmark_summary(run_benchmark(seed, time_limit, deterministic_time))
    if as_json:
        console.print_json(json.dumps(summary))
    else:
        table = Table(title=f"Scheduling benchmark, seed {seed}")
        table.add_column("figure")
        table.add_column("CP-SAT", justify="right")
        table.add_column("baseline", justify="right")
        for key in summary["cpsat"]:
            table.add_row(key, str(summary["cpsat"][key]), str(summary["baseline"].get(key, "")))
        console.print(table)
        verdict = "met" if summary["target_met"] else "not met"
        console.print(f"Series started within the target: {summary['series_within_target_gain_pct']}% more than "
                      f"the baseline (aim {summary['target_gain_pct']:g}%: {verdict}; the most possible is "
                      f"{summary['series_startable_within_target']}).")
    if summary["violations_total"]:
        raise typer.Exit(code=1)


# --- Outcomes (issue 8) ------------------------------------------------------------------------------------------
report_app = typer.Typer(help="Reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("outcomes")
def report_outcomes(
    clinic: Annotated[str, typer.Option(help="Clinic slug, or 'all' for every clinic")],
    role: Annotated[str | None, typer.Option(help="Responder role: firefighter, police, ems, dispatcher, "
                                                  "corrections or other")] = None,
    agency: Annotated[str | None, typer.Option(help="Agency, as written on the patients' records")] = None,
    protocol: Annotated[str | None, typer.Option(help="Treatment plan protocol: induction, booster or single")] = None,
    period_from: Annotated[str | None, typer.Option("--from", help="First course-start day, YYYY-MM-DD")] = None,
    period_to: Annotated[str | None, typer.Option("--to", help="Last course-start day, YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (the API's shape)")] = False,
) -> None:
    """Cohort outcomes: the same numbers as the /outcomes page. In JSON each estimate is
    {"value", "ci95": [low, high], "n"} (shares 0-1), e.g. response_rate, remission_rate,
    median_days_to_loss_of_response. Definitions: docs/outcomes.md."""
    import json

    from tenfour.clinics import repository as clinics_repository
    from tenfour.db import session_scope
    from tenfour.errors import ValidationFailed
    from tenfour.outcomes import report, service

    try:
        selection = service.parse_selection(role=role, agency=agency, protocol=protocol, period_from=period_from,
                                            period_to=period_to)
        with session_scope() as db:
            if clinic == service.ALL_CLINICS:
                clinics = clinics_repository.list_clinics(db)
            else:
                found = clinics_repository.by_slug(db, clinic)
                if found is None:
                    raise ValidationFailed.single("clinic", "exists", f"no clinic with slug '{clinic}'")
                clinics = [found]
            if not clinics:
                raise ValidationFailed.single("clinic", "exists", "there is no clinic yet")
            computed = service.compute(db, clinics, selection)
            service.audit_view(db, _cli_actor(), clinics, selection, "cli")
    except TenFourError as error:
        _fail(error)
    result = computed.report
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    names = ", ".join(f"{c['name']} ({c['slug']}, as of {c['as_of']})" for c in result["scope"]["clinics"])
    console.print(f"[bold]Outcomes[/bold]: {names}", highlight=False)
    chosen = {k: v for k, v in result["scope"]["filters"].items() if v}
    if chosen:
        console.print("Filters: " + ", ".join(f"{k} = {v}" for k, v in chosen.items()), highlight=False)
    for note in result["notes"]:
        console.print(f"[yellow]{note}[/yellow]", highlight=False)
    f = result["funnel"]
    console.print(f"Referred {f['referred']} · eligible {f['eligible']} of {f['eligibility_decided']} decided · "
                  f"started {f['started']} · completed the induction {f['completed_induction']}", highlight=False)
    table = Table("outcome", "this cohort", "95% interval", "n", title="This cohort")
    for row in report.rows(result):
        table.add_row(row["label"], row["shown"]["value"] + (" (too few to judge)" if row["too_few"] else ""),
                      row["shown"]["interval"], row["shown"]["n"])
    console.print(table)
    claims = Table("claim", "claimed", "this cohort", "verdict", title="Claims and trials vs this clinic "
                   "(verdict rule: product choice)")
    for claim in result["claims"]:
        shown = report.show(claim["estimate"], report.KINDS.get(claim["measure"], "share"))
        claims.add_row(claim["claim"], claim["target_label"], f"{shown['value']} [{shown['interval']}], n {shown['n']}",
                       claim["verdict_label"])
    console.print(claims)
    safety = result["safety"]
    console.print(f"Safety per 100 infusions ({safety['infusions']} given): stopped early "
                  f"{report.show(safety['stopped_early_per_100'], 'rate')['value']}, vitals at the notify line "
                  f"{report.show(safety['notify_vitals_per_100'], 'rate')['value']}"
                  + "".join(f", {e['label'].lower()} {report.show(e, 'rate')['value']}"
                            for e in safety["adverse_events_per_100"].values()), highlight=False)
    missing = result["missing"]
    console.print("Missing data: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in missing.items()
                                               if not isinstance(v, dict))
                  + "".join(f", 24-hour check-in {k.replace('_', ' ')} {v}" for k, v in missing["checkin_24h"].items()),
                  highlight=False)


# --- Synthetic cohort (issue 8) ------------------------------------------------------------------------------------


@app.command()
def simulate(
    patients: Annotated[int, typer.Option(help="Synthetic referrals to make", min=1, max=10_000)],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, clinic and day make the same cohort")],
    preset: Annotated[str, typer.Option(help="Parameter preset: feder2021 or feder2021-midazolam")] = "feder2021",
    clinic: Annotated[str | None, typer.Option(help="Slug of a synthetic (demo) clinic; default: a new one")] = None,
    response_probability: Annotated[float | None, typer.Option(help="Share of responders (0-1)")] = None,
    median_durability_days: Annotated[float | None, typer.Option(
        "--median-durability-days", help="Median days from the course end to loss of response")] = None,
    durability: Annotated[str | None, typer.Option(help="Durability distribution: exponential or weibull")] = None,
    weibull_shape: Annotated[float | None, typer.Option(help="Weibull shape (with --durability weibull)")] = None,
    dropout_per_week: Annotated[float | None, typer.Option(help="Chance a week of stopping check-ins (0-1)")] = None,
    induction_dropout_rate: Annotated[float | None, typer.Option(help="Share stopping the induction (0-1)")] = None,
    adverse_event_rate: Annotated[float | None, typer.Option(help="Adverse events per infusion (0-1)")] = None,
    batch_size: Annotated[int, typer.Option(help="Patients per transaction", min=1, max=1000)] = 25,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
) -> None:
    """Make a synthetic cohort through the real services (referral, intake, eligibility, plan, infusions,
    check-ins) on a simulated clock, into a synthetic clinic. Presets and sources: docs/simulate.md."""
    import json

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from tenfour.config import get_settings
    from tenfour.db import get_session_factory
    from tenfour.simulate import params as sim_params
    from tenfour.simulate import runner

    try:
        chosen = sim_params.preset(preset, response_probability=response_probability,
                                   median_days_to_loss_of_response=median_durability_days,
                                   durability_distribution=durability, durability_weibull_shape=weibull_shape,
                                   followup_dropout_per_week=dropout_per_week,
                                   induction_dropout_rate=induction_dropout_rate, adverse_event_rate=adverse_event_rate)
    except TenFourError as error:
        _fail(error)
    if not as_json:
        rows = sim_params.described(preset, chosen)
        console.print(f"[bold]Parameters[/bold] (preset {preset}; docs/simulate.md):", highlight=False)
        for row in rows:
            if row["basis"] == sim_params.SOURCED:
                console.print(f"  {row['name']} = {row['value']}  (sourced: {row['source']})", highlight=False)
        console.print("  assumed: " + ", ".join(f"{r['name']}={r['value']}" for r in rows
                                                 if r["basis"] != sim_params.SOURCED), highlight=False)
    with Progress(TextColumn("Simulating patients"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task("simulate", total=patients)
        try:
            summary = runner.run(get_session_factory(), chosen, patients=patients, seed=seed, clinic_slug=clinic,
                                 preset_name=preset, base_url=get_settings().base_url, batch_size=batch_size,
                                 progress=lambda done, total: bar.update(task, completed=done, total=total),
                                 actor=_cli_actor())
        except TenFourError as error:
            _fail(error)
    if as_json:
        console.print_json(json.dumps(summary.as_dict(), default=str))
    else:
        for line in summary.lines():
            console.print(line, highlight=False)


# --- Integrity: the audit chain, backup and restore (issue 9) -----------------------------------------------------
from tenfour.audit.cli import audit_app  # noqa: E402 - the command groups live with their domains
from tenfour.backup.cli import backup_app, restore  # noqa: E402

app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.command("restore")(restore)
from tenfour.retention.cli import retention_app  # noqa: E402 - privacy: the clinic's retention policy (issue 9)

app.add_typer(retention_app, name="retention")


if __name__ == "__main__":
    app()
