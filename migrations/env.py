"""Alembic environment: one script set for SQLite (batch mode) and PostgreSQL."""

from alembic import context

from tenfour.db import Base, import_all_models, make_engine
from tenfour.migrate import include_name

import_all_models()
target_metadata = Base.metadata
config = context.config


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    from tenfour.config import get_settings

    return get_settings().effective_database_url()


def render_item(type_: str, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render the app's column types as plain SQLAlchemy types, so migrations never import app code."""
    from tenfour.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url, target_metadata=target_metadata, literal_binds=True,
        render_as_batch=url.startswith("sqlite"), compare_type=True, include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _sqlite_foreign_keys(connection, on: bool) -> None:  # type: ignore[no-untyped-def]
    # PRAGMA foreign_keys is ignored inside a transaction, so it goes straight to the driver (autocommit mode).
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite batch migrations copy a table and drop the old one. With foreign keys enforced that DROP cascades to
    # (or is refused by) the rows that point at it: data lost, or a downgrade with data that fails. Alembic's
    # advice: keep them off while migrating, on again afterwards.
    sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        context.configure(
            connection=connection, target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
            render_item=render_item, include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
