"""Database plumbing: the declarative Base, engines, sessions and the one commit point for CLI and jobs.

Services only ``flush()``. The request dependency (``web.deps.get_db``) or ``session_scope()`` commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from tenfour.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


# The cohort simulator (``tenfour simulate``) runs the real services on a synthetic timeline: inside
# ``simulated_time`` every ``utcnow()`` of this thread reads its clock. Nothing else sets it.
_simulated_now: ContextVar[Callable[[], datetime] | None] = ContextVar("tenfour_simulated_now", default=None)


def utcnow() -> datetime:
    clock = _simulated_now.get()
    return clock() if clock is not None else datetime.now(UTC)


@contextmanager
def simulated_time(clock: Callable[[], datetime]) -> Iterator[None]:
    """Within the block (this thread or task only), ``utcnow()`` returns ``clock()``: the simulator's timeline."""
    token = _simulated_now.set(clock)
    try:
        yield
    finally:
        _simulated_now.reset(token)


# Reads several panels of one page ask for (the signed plan in force, the latest eligibility decision, the clinic):
# kept for the rest of a request's transaction, and forgotten at any flush that writes, at the commit and at a
# rollback. Only a request's session (``web.deps.get_db`` sets REMEMBER_READS) remembers: a long-lived session (the
# sweep, a CLI command, a test) reads again each time and sees what other transactions committed meanwhile.
_REMEMBERED = "tenfour_remembered"
REMEMBER_READS = "tenfour_remember_reads"


def remember(db: Session, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
    """``load()``, or what it returned earlier in this request. While the session holds unflushed changes the read
    is made again (its query autoflushes them first), so a remembered value is never older than the data."""
    if not db.info.get(REMEMBER_READS) or db.new or db.deleted or db.identity_map.check_modified():
        db.info.pop(_REMEMBERED, None)
        return load()
    cache = db.info.setdefault(_REMEMBERED, {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def _forget_remembered(session: Session, *_: Any) -> None:
    session.info.pop(_REMEMBERED, None)


for _event in ("after_flush", "after_commit", "after_soft_rollback"):
    event.listen(Session, _event, _forget_remembered)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, issue BEGIN (so SAVEPOINTs work as documented).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    # SQL parameters are patients' data: never in an error message or a log line.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url:
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # BEGIN IMMEDIATE takes the write lock up front: concurrent requests wait (busy_timeout) instead of
        # failing when a read transaction later needs to write. SQLite serves demos and small clinics.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache
def get_engine() -> Engine:
    from tenfour.config import get_settings

    return make_engine(get_settings().effective_database_url())


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@lru_cache
def get_session_factory() -> sessionmaker[Session]:
    return make_session_factory(get_engine())


@lru_cache
def _replica_factory(url: str) -> sessionmaker[Session]:
    # Read-only at the server: a replica refuses writes anyway, and a misconfigured URL pointing at the primary
    # must not let an analytics page write either.
    if url.startswith("sqlite"):
        return make_session_factory(make_engine(url))
    return make_session_factory(make_engine(url, connect_args={"options": "-c default_transaction_read_only=on"}))


def analytics_session_factory(settings: Settings, primary: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for analytics reads: on the read replica when ``TENFOUR_ANALYTICS_DATABASE_URL`` is set (read-only
    sessions), else ``primary``."""
    if not settings.analytics_database_url:
        return primary
    return _replica_factory(settings.analytics_database_url)


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None, settings: Settings | None = None
                  ) -> Iterator[Session]:
    """The commit point for a CLI command or a job: commit on success, roll back on any error. Email queued in the
    session is sent after the commit, with ``settings`` (default: the process's)."""
    factory = factory or get_session_factory()
    session = factory()
    try:
        yield session
        session.commit()
        from tenfour.mail import OUTBOX_FLAG, deliver_pending

        if session.info.pop(OUTBOX_FLAG, False):
            from tenfour.config import get_settings

            deliver_pending(factory, settings or get_settings())
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_all_models() -> None:
    """Import every domain's models so Base.metadata knows every table (Alembic, tests)."""
    import tenfour.accounts.models  # noqa: F401
    import tenfour.alerts.models  # noqa: F401
    import tenfour.assessments.models  # noqa: F401
    import tenfour.audit.models  # noqa: F401
    import tenfour.checkins.models  # noqa: F401
    import tenfour.clinics.models  # noqa: F401
    import tenfour.eligibility.models  # noqa: F401
    import tenfour.exports.models  # noqa: F401
    import tenfour.idempotency.models  # noqa: F401
    import tenfour.infusions.models  # noqa: F401
    import tenfour.intake.models  # noqa: F401
    import tenfour.links.models  # noqa: F401
    import tenfour.mail  # noqa: F401
    import tenfour.outcomes.models  # noqa: F401
    import tenfour.patients.models  # noqa: F401
    import tenfour.plans.models  # noqa: F401
    import tenfour.referrals.models  # noqa: F401
    import tenfour.scheduling.models  # noqa: F401
