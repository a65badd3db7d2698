"""An undo log for one API call, so a batch that fails as a whole leaves no trace, plus the events it raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Event:
    tenant_id: str
    category: str  # INVOICE | CONTACT | CREDITNOTE
    event_type: str  # CREATE | UPDATE
    resource_id: str


@dataclass
class Transaction:
    _undo: list[Callable[[], None]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def put(self, mapping: dict[str, Any], key: str, value: Any) -> None:
        old = mapping.get(key, _MISSING)

        def undo() -> None:
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

        self._undo.append(undo)
        mapping[key] = value

    def set_attr(self, obj: object, name: str, value: Any) -> None:
        old = getattr(obj, name)
        self._undo.append(lambda: setattr(obj, name, old))
        setattr(obj, name, value)

    def savepoint(self) -> tuple[int, int]:
        return len(self._undo), len(self.events)

    def rollback(self, to: tuple[int, int] = (0, 0)) -> None:
        undo_len, event_len = to
        while len(self._undo) > undo_len:
            self._undo.pop()()
        del self.events[event_len:]

    def raise_event(self, tenant_id: str, category: str, event_type: str, resource_id: str) -> None:
        # A resource created and then touched in the same call is still one CREATE.
        for existing in self.events:
            if existing.resource_id == resource_id and existing.category == category:
                return
        self.events.append(Event(tenant_id, category, event_type, resource_id))
