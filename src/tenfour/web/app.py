"""The application factory."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from tenfour import __version__
from tenfour.config import Settings, get_settings
from tenfour.db import get_session_factory
from tenfour.web.errors import install_error_handlers
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
    )
    app.state.settings = settings
    app.state.secret_key = settings.effective_secret_key()
    app.state.session_factory = session_factory or get_session_factory()
    app.state.templates = make_templates()

    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)

    from tenfour.accounts import admin_pages as account_admin_pages
    from tenfour.accounts import pages as account_pages
    from tenfour.accounts import routes as account_routes
    from tenfour.audit import pages as audit_pages
    from tenfour.audit import routes as audit_routes
    from tenfour.clinics import pages as clinic_pages
    from tenfour.clinics import routes as clinic_routes
    from tenfour.patients import pages as patient_pages
    from tenfour.patients import routes as patient_routes
    from tenfour.web import pages as shell_pages

    for router in (account_routes.router, patient_routes.router, clinic_routes.router, audit_routes.router):
        app.include_router(router)
    for router in (shell_pages.router, account_pages.router, account_admin_pages.router, patient_pages.router,
                   clinic_pages.router, audit_pages.router):
        app.include_router(router)
    return app
