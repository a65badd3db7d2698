"""Structured JSON logs with a correlation id that follows an event from the webhook into its job."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


def get_correlation_id() -> str | None:
    return _correlation_id.get()


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation_id.get()
        return True


class _UtcJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # ISO 8601 in UTC, like the access log: lines of several machines sort and compare as they are.
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, then the record's extra fields."""
    return _UtcJsonFormatter(
        "{asctime}{levelname}{name}{message}{correlation_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        defaults={"correlation_id": None},
    )


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(_CorrelationFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_connector_json", False):
            root.removeHandler(existing)
    handler._connector_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
