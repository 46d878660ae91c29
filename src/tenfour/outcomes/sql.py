"""What the outcomes queries need that SQL dialects spell differently: whole days between two dates, the local day of
an instant in a time zone named by a column, and the elements of a JSON array — for PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, func, literal, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tenfour.checkins.repository import sort_in_memory

SQLITE_LOCAL_DAY = "tenfour_local_day"


class days_between(FunctionElement[int]):  # noqa: N801 - reads as the SQL function it renders
    """Whole days from the second date to the first."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} - {earlier})"


class local_day(FunctionElement[date]):  # noqa: N801
    """The calendar day of an ISO-8601 instant (text) in a time zone named by a column."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day)
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"{SQLITE_LOCAL_DAY}({instant}, {zone})"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(timezone({zone}, CAST({instant} AS TIMESTAMPTZ)) AS DATE)"


def _sqlite_local_day(instant: str | None, zone: str | None) -> str | None:
    if instant is None or zone is None:
        return None
    return datetime.fromisoformat(instant).astimezone(ZoneInfo(zone)).date().isoformat()


def prepare(db: Session) -> str:
    """The dialect's name. PostgreSQL: this transaction's sorts (the window functions) stay in memory instead of
    spilling to disk, and no JIT compilation (``SET LOCAL`` ends with the transaction): the planner's estimate for
    the JSON array walk (100 rows a course) makes these statements look expensive enough to compile, and compiling
    took 2.5 s of a 4.3 s statement at 20,000 patients (``EXPLAIN ANALYZE``) for no faster execution.
    SQLite: registers the local-day function."""
    dialect = db.get_bind().dialect.name
    sort_in_memory(db)
    if dialect == "postgresql":
        db.execute(text("SET LOCAL jit = off"))
    if dialect == "sqlite":
        raw = db.connection().connection.driver_connection
        raw.create_function(SQLITE_LOCAL_DAY, 2, _sqlite_local_day, deterministic=True)  # type: ignore[union-attr]
    return dialect


def infusion_elements(dialect: str, infusions: ColumnElement[Any]) -> tuple[Any, ColumnElement[Any],
                                                                             ColumnElement[bool], ColumnElement[bool]]:
    """The elements of a course's ``infusions`` JSON array: (from-item, at, given, booster)."""
    if dialect == "postgresql":
        elements = func.jsonb_array_elements(infusions).table_valued("value").alias("infusion")
        value = elements.c.value
        return (elements, value.op("->>")(literal("at")), value.op("->>")(literal("given")) == "true",
                value.op("->>")(literal("booster")) == "true")
    elements = func.json_each(infusions).table_valued("value").alias("infusion")
    value = elements.c.value
    return (elements, func.json_extract(value, "$.at"), func.json_extract(value, "$.given") == 1,
            func.json_extract(value, "$.booster") == 1)
