"""Run Alembic migrations from the application (CLI, demo, tests) without an alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection


def migrations_dir() -> Path:
    packaged = Path(__file__).parent / "_migrations"  # present in a built wheel
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"  # source checkout / editable install


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("timezone", "UTC")
    if url:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | None = None, revision: str = "head", connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str | None = None, revision: str = "base", connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(url, connection), revision)


def current_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What autogenerate and the models-vs-migrations test compare: our tables, not procrastinate's job queue
    (created from procrastinate's own schema file by the jobs_queue revision)."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))
