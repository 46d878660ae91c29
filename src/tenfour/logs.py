"""Logging set-up: JSON lines for production (one object per line, for a log shipper), plain text for people.

No PHI by construction: a JSON line carries the message and a fixed list of fields (``FIELDS``); an exception
carries its type and stack frames (file, line, function) but not its message, which could quote a value someone
typed. Request lines (web/metrics.py) name the route template (``/patients/{patient_id}``), never the path with
its ids or the query string. SQL parameters are hidden from error messages by the engine (db.make_engine).
"""

from __future__ import annotations

import json
import logging
import logging.config
import traceback
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "method", "route", "status", "duration_ms", "job", "outcome", "result", "concurrency",
          "workers", "clinic_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            line["error"] = kind.__name__
            line["stack"] = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}:{frame.name}"
                             for frame in traceback.extract_tb(tb)][-8:]
        return json.dumps(line, default=str)


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for our loggers and uvicorn's (its access log is off: our request line replaces it)."""
    formatter = {"()": JsonFormatter} if log_format == "json" else {
        "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "tenfour": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "procrastinate": {"handlers": ["default"], "level": "WARNING", "propagate": False},
        },
    }


def configure(log_format: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
