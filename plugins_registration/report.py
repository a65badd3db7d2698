"""Collects and prints the changes a command makes (or, on a dry run, would make)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ChangeReport:
    dry_run: bool = False
    out: Callable[[str], None] = print
    changes: list[str] = field(default_factory=list)

    def change(self, text: str) -> None:
        """Record one change; printed at once so a run that fails half-way still shows what it did."""
        self.changes.append(text)
        self.out(f"  {'would ' if self.dry_run else ''}{text}")

    def note(self, text: str) -> None:
        self.out(f"  {text}")

    def summary(self, subject: str) -> str:
        if not self.changes:
            return f"{subject}: already up to date, nothing changed."
        if self.dry_run:
            return f"{subject}: dry run, {len(self.changes)} change(s) planned, nothing was changed."
        return f"{subject}: {len(self.changes)} change(s) made."
