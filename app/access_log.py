"""gunicorn's logger for the connector: access lines are JSON with an ISO 8601 UTC time, and gunicorn's own
messages (start, worker boots, timeouts) are JSON lines like the connector's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger

from app.logs import json_formatter


class JsonLogger(Logger):
    def now(self) -> str:
        """What `%(t)s` is in the access log format."""
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(json_formatter())
