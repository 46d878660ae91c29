"""Operations endpoints and instruments: liveness (/healthz), readiness (/readyz), Prometheus metrics (/metrics),
and the one log line per request.

Request latency is a histogram per route template, method and status class, kept by each server process (with
several workers, ``tenfour serve`` points prometheus_client's multiprocess mode at a shared folder). The clinic's
figures (alerts open, job queue depth, the last sweep's duration) are read from the database at scrape time, so
every worker reports the same numbers. No label ever carries a clinic's, patient's or user's name or id.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenfour import __version__, migrate
from tenfour.analytics import replica_status
from tenfour.context import Ctx
from tenfour.web.deps import DbSession, public

log = logging.getLogger("tenfour.request")
router = APIRouter(include_in_schema=False)

REQUEST_SECONDS = Histogram(
    "tenfour_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
    ["method", "route", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestMetricsMiddleware:
    """Times every HTTP request, labels it with the matched route's template, and logs one line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = uuid.uuid4().hex[:16]

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            REQUEST_SECONDS.labels(scope["method"], route, f"{status // 100}xx").observe(seconds)
            fields = {"request_id": request_id, "method": scope["method"], "route": route, "status": status,
                      "duration_ms": round(seconds * 1000, 1)}
            log.info("%s %s %s %.1f ms", scope["method"], route, status, seconds * 1000, extra=fields)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    path = str(scope.get("path", ""))
    return "/static/..." if path.startswith("/static/") else "unmatched"


# --- Health ---------------------------------------------------------------------------------------------------


@router.get("/healthz")
def healthz(db: DbSession, _: Annotated[Ctx, Depends(public)]) -> dict[str, str]:
    """Liveness: the process answers and reaches its database."""
    db.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
def readyz(request: Request, db: DbSession, _: Annotated[Ctx, Depends(public)]) -> Response:
    """Readiness for a load balancer: the database answers, its schema is this release's, the job queue exists.
    503 with the failing checks otherwise (e.g. during an upgrade, before `tenfour db upgrade` has run)."""
    checks: dict[str, Any] = {}
    try:
        db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - reported, not raised
        checks["database"] = f"unavailable ({type(error).__name__})"
        db.rollback()
    if checks["database"] == "ok":
        checks["migrations"] = _migrations_check(request, db)
    if checks.get("migrations") == "ok":  # the queue's tables come with the migrations
        checks["job_queue"], workers = _queue_check(request, db)
        if workers is not None:
            checks["job_workers"] = workers
    analytics = _analytics_check(request)
    if analytics is not None:
        checks["analytics_database"] = analytics
    # Informational: no workers means escalations wait for the sweep; an unreachable replica means analytics read
    # the primary. Neither is a reason to take this server out of the load balancer.
    ready = all(value == "ok" for key, value in checks.items() if key not in ("job_workers", "analytics_database"))
    return JSONResponse({"status": "ready" if ready else "not ready", "version": __version__, "checks": checks},
                        status_code=200 if ready else 503)


def _migrations_check(request: Request, db: Session) -> str:
    if getattr(request.app.state, "schema_current", False):
        return "ok"
    current = set(db.scalars(text("SELECT version_num FROM alembic_version")))
    if current == set(migrate.current_heads()):
        request.app.state.schema_current = True  # a schema never goes back without a restart
        return "ok"
    return "behind: run `tenfour db upgrade`"


def _queue_check(request: Request, db: Session) -> tuple[str, int | None]:
    settings = request.app.state.settings
    if settings.effective_job_backend != "procrastinate" or db.get_bind().dialect.name != "postgresql":
        runner = getattr(request.app.state, "job_runner", None)
        return ("ok" if runner is not None else "in-process runner not started"), None
    workers = db.scalar(text("SELECT count(*) FROM procrastinate_workers "
                             "WHERE last_heartbeat > now() - interval '60 seconds'"))
    return "ok", int(workers or 0)


def _analytics_factory(app_state: Any) -> sessionmaker[Session] | None:
    """The analytics replica's sessions, when one is configured (else None: analytics read the primary)."""
    return app_state.analytics_factory if app_state.settings.analytics_database_url else None


def _analytics_check(request: Request) -> dict[str, Any] | None:
    """The analytics replica (TENFOUR_ANALYTICS_DATABASE_URL): reachable, a standby or not, how far behind."""
    factory = _analytics_factory(request.app.state)
    if factory is None:
        return None
    try:
        with factory() as session:
            status = replica_status(session)
    except Exception as error:  # noqa: BLE001 - reported, not raised
        return {"status": f"unavailable ({type(error).__name__})"}
    return {"status": "ok", "in_recovery": status.in_recovery,
            "lag_seconds": None if status.lag_seconds is None else round(status.lag_seconds, 1)}


# --- Metrics --------------------------------------------------------------------------------------------------


class ClinicCollector(Collector):
    """Figures read from the database at each scrape (the same from every worker)."""

    def __init__(self, factory: sessionmaker[Session], app_state: Any) -> None:
        self.factory, self.app_state = factory, app_state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from tenfour.alerts.models import Alert
        from tenfour.checkins.models import SweepRun

        with self.factory() as db:
            alerts = GaugeMetricFamily("tenfour_alerts_open", "Alerts not resolved, by severity and 10-4",
                                       labels=["severity", "acknowledged"])
            rows = db.execute(select(Alert.severity, Alert.acknowledged_at.is_not(None), func.count())
                              .where(Alert.resolved_at.is_(None))
                              .group_by(Alert.severity, Alert.acknowledged_at.is_not(None))).all()
            for severity, acknowledged, count in rows:
                alerts.add_metric([str(severity), "yes" if acknowledged else "no"], count)
            yield alerts

            queue = GaugeMetricFamily("tenfour_job_queue_depth", "Background jobs by status", labels=["status"])
            for status, count in self._queue(db):
                queue.add_metric([status], count)
            yield queue

            sweep = GaugeMetricFamily("tenfour_sweep_last_duration_seconds", "Duration of the last finished sweep",
                                      labels=["kind"])
            finished = GaugeMetricFamily("tenfour_sweep_last_finished_timestamp_seconds",
                                         "When the last sweep of each kind finished (Unix time)", labels=["kind"])
            runs = db.scalars(select(SweepRun).where(SweepRun.finished_at.is_not(None))
                              .order_by(SweepRun.id.desc()).limit(50)).all()
            seen: set[str] = set()
            for run in runs:
                kind = "full" if (run.summary or {}).get("full", True) else "light"
                if kind in seen or run.finished_at is None:
                    continue
                seen.add(kind)
                sweep.add_metric([kind], (run.finished_at - run.started_at).total_seconds())
                finished.add_metric([kind], run.finished_at.timestamp())
            yield sweep
            yield finished
        yield from self._analytics()

    def _analytics(self) -> Iterator[GaugeMetricFamily]:
        factory = _analytics_factory(self.app_state)
        if factory is None:
            return
        up = GaugeMetricFamily("tenfour_analytics_database_up", "1 when the analytics replica answers")
        lag = GaugeMetricFamily("tenfour_analytics_replica_lag_seconds",
                                "How far the analytics replica is behind the primary (0: caught up)")
        try:
            with factory() as session:
                status = replica_status(session)
        except Exception:  # noqa: BLE001 - an unreachable replica is a value of the gauge
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        if status.lag_seconds is not None:
            lag.add_metric([], status.lag_seconds)
            yield lag

    def _queue(self, db: Session) -> list[tuple[str, int]]:
        settings = self.app_state.settings
        if settings.effective_job_backend == "procrastinate" and db.get_bind().dialect.name == "postgresql":
            try:
                rows = db.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")).all()
            except DBAPIError:  # not migrated yet: /readyz says so; the metrics leave the queue out
                db.rollback()
                return []
            counts = {str(status): int(count) for status, count in rows}
            return [(status, counts.get(status, 0)) for status in ("todo", "doing", "failed")]
        runner = getattr(self.app_state, "job_runner", None)
        return [("todo", runner.waiting() if runner is not None else 0)]


@router.get("/metrics")
def metrics(request: Request, _: Annotated[Ctx, Depends(public)]) -> Response:
    """Prometheus text format. With TENFOUR_METRICS_TOKEN set, only a scraper that sends it gets an answer."""
    token = request.app.state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return JSONResponse({"detail": "Send the metrics token as a bearer token."}, status_code=401)
    clinic = CollectorRegistry()
    clinic.register(ClinicCollector(request.app.state.session_factory, request.app.state))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
        body = generate_latest(processes)
    else:
        body = generate_latest(REGISTRY)
    return Response(body + generate_latest(clinic), media_type=CONTENT_TYPE)
