"""Background jobs: escalation of urgent alerts at their deadline, email delivery, the periodic sweeps.

On PostgreSQL they go through procrastinate (a real queue in the same database, run by `tenfour worker`); on SQLite
they run in a thread inside the server. Services call ``defer(db, ...)`` and never know which.
"""

from tenfour.jobs.queue import defer, pending_in_process

__all__ = ["defer", "pending_in_process"]
