"""The application factory."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from tenfour import __version__
from tenfour.config import Settings, get_settings
from tenfour.db import analytics_session_factory, get_session_factory
from tenfour.web.errors import install_error_handlers
from tenfour.web.metrics import RequestMetricsMiddleware
from tenfour.web.openapi import document_errors
from tenfour.web.security import SecurityHeadersMiddleware
from tenfour.web.templating import make_templates

STATIC_DIR = Path(__file__).parent / "static"

API_DESCRIPTION = """
TenFour's JSON API. Sign in with `POST /api/v1/auth/login` and send the returned token as
`Authorization: Bearer <token>`. Errors answer with `{"detail": ..., "problems": [{"field", "rule", "message"}]}`.
A record in a clinic you do not work in answers 404.
"""


def create_app(settings: Settings | None = None, session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="TenFour",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,  # served by our own page: no CDN, no inline script
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = settings.effective_secret_key()
    app.state.session_factory = session_factory or get_session_factory()
    app.state.analytics_factory = analytics_session_factory(settings, app.state.session_factory)
    app.state.templates = make_templates()

    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(RequestMetricsMiddleware)  # outermost: times and logs every answer, errors included
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)

    for module_name in ROUTER_MODULES:
        app.include_router(importlib.import_module(module_name).router)
    document_errors(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background work beside the requests. With the in-process job backend (SQLite): the job runner and the
    check-ins sweep on a timer (TENFOUR_SWEEP_INTERVAL_S). With procrastinate, `tenfour worker` does both."""
    from tenfour.checkins.timer import SweepTimer
    from tenfour.jobs.runner import InProcessRunner

    settings: Settings = app.state.settings
    runner = None
    if settings.effective_job_backend == "inprocess":
        runner = InProcessRunner(app.state.session_factory, settings).start()
    app.state.job_runner = runner
    if settings.effective_job_backend == "procrastinate":
        logging.getLogger("tenfour.jobs").info(
            "background jobs go to the PostgreSQL queue: run `tenfour worker` beside the server")
    timer = SweepTimer.start_for(app.state.session_factory, settings)
    app.state.sweep_timer = timer
    try:
        yield
    finally:
        if timer is not None:
            timer.stop()
        if runner is not None:
            runner.stop()


# Every router of the application: JSON API first, then pages. A domain adds its modules here.
ROUTER_MODULES = (
    "tenfour.accounts.routes",
    "tenfour.patients.routes",
    "tenfour.clinics.routes",
    "tenfour.audit.routes",
    "tenfour.assessments.routes",
    "tenfour.alerts.routes",
    "tenfour.web.pages",
    "tenfour.web.metrics",
    "tenfour.accounts.pages",
    "tenfour.accounts.admin_pages",
    "tenfour.patients.pages",
    "tenfour.clinics.pages",
    "tenfour.audit.pages",
    "tenfour.assessments.pages",
    "tenfour.alerts.pages",
    "tenfour.referrals.routes",
    "tenfour.intake.routes",
    "tenfour.eligibility.routes",
    "tenfour.plans.routes",
    "tenfour.referrals.pages",
    "tenfour.intake.pages",
    "tenfour.eligibility.pages",
    "tenfour.plans.pages",
    "tenfour.infusions.routes",
    "tenfour.infusions.pages",
    "tenfour.infusions.board_pages",
    "tenfour.checkins.routes",
    "tenfour.checkins.pages",
    "tenfour.scheduling.routes",
    "tenfour.scheduling.pages",
    "tenfour.outcomes.routes",
    "tenfour.outcomes.pages",
    "tenfour.reports.pages",
    "tenfour.exports.routes",
    "tenfour.exports.pages",
)
