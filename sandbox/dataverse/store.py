"""Rows in memory, one lock, atomic transactions, and the change events a commit hands to webhooks."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sandbox.dataverse.schema import Schema

Row = dict[str, Any]


@dataclass
class ChangeEvent:
    """One committed Create/Update/Delete, as the event pipeline sees it after the main operation."""

    message: str
    table: str
    record_id: str
    # Create: the whole new row; Update: the columns set by this operation; Delete: empty.
    target: Row
    pre: Row | None
    post: Row | None
    user_id: str
    correlation_id: str
    depth: int = 1
    tag: str | None = None
    changed_by_caller: frozenset[str] = field(default_factory=frozenset)
    # Step modes the caller asked to bypass (0 sync, 1 async), via the MSCRM.Bypass* headers.
    bypassed_modes: frozenset[int] = field(default_factory=frozenset)


class Store:
    def __init__(self, schema: Schema, on_commit: Callable[[list[ChangeEvent]], None] | None = None):
        self.schema = schema
        self.rows: dict[str, dict[str, Row]] = {name: {} for name in schema.tables}
        self.lock = threading.RLock()
        self.on_commit = on_commit
        # Runs inside the transaction (synchronous steps): raising rolls the whole transaction back.
        self.before_commit: Callable[[list[ChangeEvent]], None] | None = None
        self._depth = 0
        self._events: list[ChangeEvent] = []
        self._version = 1000
        # formid -> formxml as last published: what users see (customizations.publish)
        self.published_forms: dict[str, str] = {}

    def next_version(self) -> int:
        self._version += 1
        return self._version

    def table_rows(self, logical_name: str) -> dict[str, Row]:
        return self.rows.setdefault(logical_name, {})

    def get(self, logical_name: str, record_id: str) -> Row | None:
        return self.table_rows(logical_name).get(record_id)

    def emit(self, event: ChangeEvent) -> None:
        self._events.append(event)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside either commit together or not at all; events fire only after the outermost commit."""
        with self.lock:
            outer = self._depth == 0
            snapshot = (
                copy.copy({t: {i: dict(r) for i, r in rows.items()} for t, rows in self.rows.items()})
                if outer
                else None
            )
            self._depth += 1
            try:
                yield
                if outer and self.before_commit is not None and self._events:
                    self.before_commit(list(self._events))
            except BaseException:
                self._depth -= 1
                if outer and snapshot is not None:
                    self.rows = snapshot
                    self._events = []
                raise
            self._depth -= 1
            if outer:
                events, self._events = self._events, []
                if self.on_commit is not None and events:
                    self.on_commit(events)
