"""Jobs for tests that run real worker processes: importable by the worker, and they report through Redis."""

from __future__ import annotations

import time

from rq import get_current_job


def note(tag: str) -> str:
    """Record that this job ran."""
    get_current_job().connection.rpush("test:ran", tag)
    return tag


def long_on_first_attempt(tag: str) -> str:
    """The first attempt says it started and then runs for a minute (long enough to be killed mid-run)."""
    connection = get_current_job().connection
    if connection.incr(f"test:attempts:{tag}") == 1:
        connection.rpush("test:started", tag)
        time.sleep(60)
    connection.rpush("test:ran", tag)
    return tag
