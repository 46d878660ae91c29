"""Count the SQL statements sent to the database while a block runs (to catch N+1 queries in tests).

    with count_queries(connection) as counted:
        client.get("/patients")
    assert counted.total == 7, counted.report()

Listens to SQLAlchemy's ``before_cursor_execute`` on the test's connection (or engine): every statement the app's
sessions send through it is counted once, whether it comes from a query, a lazy load or a flush. SAVEPOINT and
RELEASE statements that wrap each request's commit in the tests are counted too but reported separately
(``savepoints``), since they are how the test isolates a request rather than work the page asks for.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event

_SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)
_NOISE = re.compile(r"\s+")


@dataclass
class CountedQueries:
    statements: list[str] = field(default_factory=list)
    savepoints: int = 0

    @property
    def total(self) -> int:
        """Statements that did work: every statement except the test's SAVEPOINT bookkeeping."""
        return len(self.statements)

    def repeated(self, at_least: int = 2) -> list[tuple[str, int]]:
        """Statements sent `at_least` times (the usual sign of an N+1), most frequent first."""
        return [(sql, n) for sql, n in Counter(self.statements).most_common() if n >= at_least]

    def report(self, limit: int = 200, compared_with: CountedQueries | None = None) -> str:
        """The repeated statements, then every statement in order (or, ``compared_with`` another count, a diff
        against its statements), shortened, for an assertion message."""
        lines = [f"{self.total} statements (+{self.savepoints} savepoint commands)"]
        lines += [f"  {n}x {sql[:limit]}" for sql, n in self.repeated()]
        if compared_with is None:
            lines += [f"  - {sql[:limit]}" for sql in self.statements]
        else:
            diff = difflib.unified_diff([s[:limit] for s in compared_with.statements],
                                        [s[:limit] for s in self.statements], "before", "after", lineterm="", n=1)
            lines += [f"  {line}" for line in diff]
        return "\n".join(lines)


@contextmanager
def count_queries(bind: Connection | Engine) -> Iterator[CountedQueries]:
    """Count the statements executed on ``bind`` (a Connection listens to that connection only)."""
    counted = CountedQueries()

    def before_cursor_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                              executemany: bool) -> None:
        if _SAVEPOINT.match(statement):
            counted.savepoints += 1
            return
        counted.statements.append(_NOISE.sub(" ", statement).strip())

    event.listen(bind, "before_cursor_execute", before_cursor_execute)
    try:
        yield counted
    finally:
        event.remove(bind, "before_cursor_execute", before_cursor_execute)
