"""Small builders shared by the tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from app.config import Settings

SECRET = "test-secret-one"
SECOND_SECRET = "test-secret-two"
CONNECTOR_USER = "5c0e0a5e-0000-4000-8000-00000000c0de"


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "dataverse_webhook_secrets": (SECRET, SECOND_SECRET),
        "connector_user_id": CONNECTOR_USER,
        "retry_base_seconds": 1,
        "retry_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)


def settings_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """The same settings as environment variables, for processes and code that read the environment."""
    env = {
        "REDIS_URL": redis_url,
        "DATAVERSE_WEBHOOK_SECRETS": f"{SECRET},{SECOND_SECRET}",
        "CONNECTOR_USER_ID": CONNECTOR_USER,
        "RETRY_BASE_SECONDS": "1",
        "RETRY_MAX_ATTEMPTS": "3",
    }
    env.update(overrides)
    return env


def children_of(pid: int) -> list[int]:
    """Direct children of a process (an RQ worker's work-horse runs in a session of its own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL a worker and its children (work-horse, scheduler), as a machine failure would."""
    for pid in [*children_of(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(10)
