"""Structured JSON logs with a correlation id that follows an event from the webhook into its job."""

from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

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


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{correlation_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_CorrelationFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_connector_json", False):
            root.removeHandler(existing)
    handler._connector_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
