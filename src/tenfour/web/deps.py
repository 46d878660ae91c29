"""Request dependencies: the one commit point, who is asking, and the declared policy of every route."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tenfour import policy
from tenfour.accounts import mfa
from tenfour.accounts import service as accounts
from tenfour.accounts.models import AuthSession
from tenfour.config import Settings
from tenfour.context import Ctx
from tenfour.db import REMEMBER_READS
from tenfour.errors import Forbidden, MfaEnrollmentRequired, NotAuthenticated, ReauthRequired
from tenfour.mail import OUTBOX_FLAG, deliver_pending
from tenfour.policy import Permission, Principal
from tenfour.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    client_ip,
    csrf_token_is_valid,
)


def get_db(request: Request) -> Iterator[Session]:
    """THE commit point of a request: commit when the route returns, roll back on any error.

    Declared with scope="function", so the commit happens before the response is sent: a client that
    receives a success knows its data is stored.
    """
    db: Session = request.app.state.session_factory()
    db.info[REMEMBER_READS] = True  # one request, one short transaction: its panels may share reads (db.remember)
    try:
        yield db
        db.commit()
        if db.info.pop(OUTBOX_FLAG, False):
            # Sent after the commit, so no email leaves for data that was not saved. A failure stays queued.
            try:
                deliver_pending(request.app.state.session_factory, request.app.state.settings)
            except Exception:  # noqa: BLE001 - the data is saved; delivery is retried by the sweep
                logging.getLogger("tenfour.mail").exception("outbox delivery failed after commit")
    except BaseException:
        # The error page renders after this session is gone: keep the signed-in user's loaded attributes
        # (a rollback would expire them and the page would fail with a DetachedInstanceError, i.e. a 500).
        principal = getattr(request.state, "principal", None)
        if principal is not None and principal.user in db:
            db.expunge(principal.user)
        db.rollback()
        raise
    finally:
        db.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_analytics_db(request: Request, db: DbSession) -> Iterator[Session]:
    """Reads for analytics (the outcomes dashboard): a session on the analytics replica
    (``TENFOUR_ANALYTICS_DATABASE_URL``), read-only and in one snapshot (REPEATABLE READ, so every figure of a view
    comes from the same moment of the replica); never committed, always rolled back and closed.

    No replica configured: the request's own session (``db``), so a view is exactly what it was (its recount and its
    reads in one transaction, no second connection). Replica unreachable: also ``db``, with
    ``request.state.analytics_unavailable`` set for the page to say so (analytics degrade to the primary; they do
    not fail)."""
    if not request.app.state.settings.analytics_database_url:
        yield db
        return
    session: Session = request.app.state.analytics_factory()
    try:
        if session.get_bind().dialect.name == "postgresql":
            # In SQL, not as connection options: those are reset when the connection goes back to the pool, and a
            # reset to "read write" would make the next BEGIN fail on a standby.
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            session.connection()
    except OperationalError as error:
        session.close()
        logging.getLogger("tenfour.analytics").warning("analytics database unavailable (%s): reading the primary",
                                                       type(error).__name__)
        request.state.analytics_unavailable = True
        yield db
        return
    try:
        yield session
    finally:
        session.rollback()
        session.close()


AnalyticsDb = Annotated[Session, Depends(get_analytics_db, scope="function")]

# Ids are PostgreSQL `integer`s: a larger number cannot name a record, and would fail in the database (a 500).
MAX_ID = 2_147_483_647
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record's id")]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def is_api_request(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def current_principal(request: Request, db: Session) -> Principal | None:
    """Who is asking. The API accepts only Bearer tokens; pages accept only the session cookie.

    Keeping the two apart means no API route can be driven by a cookie (no CSRF on the API), and no page
    can be opened with a token pasted into a URL.
    """
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = None
    if is_api_request(request):
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token:
            session = accounts.resolve_session(db, token.strip(), "api")
            if session is not None:
                principal = Principal(session.user, "api", session.id, session.active_clinic_id)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            session = accounts.resolve_session(db, token, "browser")
            if session is not None:
                principal = Principal(session.user, "browser", session.id, session.active_clinic_id)
    request.state.principal = principal
    return principal


def context_for(request: Request, principal: Principal | None) -> Ctx:
    settings: Settings = request.app.state.settings
    ip = client_ip(request, settings)
    agent = request.headers.get("user-agent")
    if principal is None:
        from tenfour.audit.service import Actor

        return Ctx(None, Actor(None, "anonymous", None, ip, agent))
    return Ctx.for_principal(principal, ip, agent)


def authorize(permission: Permission) -> Callable[..., Ctx]:
    """A route's declared policy: signed in, and the role holds `permission`. Yields the request's Ctx."""

    def dependency(request: Request, db: DbSession) -> Ctx:
        principal = current_principal(request, db)
        if principal is None:
            raise NotAuthenticated()
        policy.require(principal, permission)
        require_mfa_if_policy(db, principal)
        return context_for(request, principal)

    dependency.tenfour_policy = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"authorize_{permission.value.replace('.', '_')}"
    return dependency


def require_mfa_if_policy(db: Session, principal: Principal) -> None:
    """A staff member whose clinic requires two-step sign-in can do nothing but enrol until they have."""
    if principal.is_staff and not principal.user.mfa_enabled and mfa.mfa_required(db, principal.user):
        raise MfaEnrollmentRequired()


async def confirm_recent_sign_in(request: Request, db: Session, ctx: Ctx) -> None:
    """For page forms: the services ask for a recent sign-in (``accounts.service.require_recent_sign_in``) before
    signing a plan, overriding eligibility or a dose, or exporting; a form re-posted from the re-authentication page
    carries ``reauth_password`` (and ``reauth_code``), checked here first, so what the person typed is not lost."""
    try:
        accounts.require_recent_sign_in(db, ctx)
        return
    except ReauthRequired:
        if request.method not in UNSAFE_METHODS:
            raise
    form = await request.form()
    password = form.get("reauth_password")
    session = db.get(AuthSession, ctx.principal.session_id) if ctx.principal and ctx.principal.session_id else None
    if not isinstance(password, str) or session is None:
        raise ReauthRequired()
    code = form.get("reauth_code")
    settings: Settings = request.app.state.settings
    if not accounts.reauthenticate(db, ctx.actor, session, password=password,
                                   code=code if isinstance(code, str) else None,
                                   max_failures=settings.login_max_failures,
                                   window=timedelta(minutes=settings.login_failure_window_min)):
        request.state.reauth_failed = True
        # Keep the counted failure and its audit entry: the refusal below rolls the request back. Nothing else has
        # been written yet (this runs before the route's action), so this commit holds only the sign-in bookkeeping.
        db.commit()
        raise ReauthRequired()


async def reauth_if_posted(request: Request, db: Session, ctx: Ctx) -> None:
    """A page form re-posted from the re-authentication page: check its password first (see reauth.html)."""
    form = await request.form()
    if "reauth_password" in form:
        await confirm_recent_sign_in(request, db, ctx)


def signed_in(request: Request, db: DbSession) -> Ctx:
    """A route any signed-in person may use (their own account pages, sign-out)."""
    principal = current_principal(request, db)
    if principal is None:
        raise NotAuthenticated()
    return context_for(request, principal)


signed_in.tenfour_policy = "signed_in"  # type: ignore[attr-defined]


def public(request: Request, db: DbSession) -> Ctx:
    """A route anyone may use without an account (sign-in, the referral form, the privacy policy)."""
    return context_for(request, current_principal(request, db))


public.tenfour_policy = "public"  # type: ignore[attr-defined]


def staff_only(ctx: Ctx) -> Ctx:
    if ctx.principal is None or not ctx.principal.is_staff:
        raise Forbidden("This page is for clinic staff.")
    return ctx


async def verify_csrf(request: Request) -> None:
    """Every state-changing page request carries the token from its form (or the X-CSRF-Token header)."""
    if request.method not in UNSAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
    cookie = request.cookies.get(CSRF_COOKIE)
    secret = request.app.state.secret_key
    if not token or not cookie or token != cookie or not csrf_token_is_valid(secret, token):
        raise Forbidden("This form has expired or did not come from TenFour. Please reload the page and try again.")


verify_csrf.tenfour_csrf = True  # type: ignore[attr-defined]


def route_policy(dependant: Any) -> Any:
    """The declared policy of a route (for the route-table test), found among its dependencies."""
    stack = [dependant]
    while stack:
        node = stack.pop()
        declared = getattr(node.call, "tenfour_policy", None)
        if declared is not None:
            return declared
        stack.extend(node.dependencies)
    return None
