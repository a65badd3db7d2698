"""Pairing the lines we want in Xero with the lines a Xero document already has.

Xero keeps a line's identity in `LineItemID`; a line sent without it is a new line, and an existing line left
out is removed. Xero lines carry nothing of Dynamics' own line id, so lines are paired in three passes:
1. same description and same item code (an unchanged or re-priced line, even if lines were reordered);
2. same description (the item changed);
3. whatever is left, by position: the n-th unpaired wanted line takes the n-th unpaired Xero line (a line
   whose description was edited keeps its place).
A wrong guess in pass 3 is harmless while the document is unpaid (the Xero line is simply rewritten); on a
paid document only the description, account code and tracking of paired lines change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xero_python.accounting import LineItem


@dataclass(frozen=True)
class LinePairing:
    """`existing_for[i]` is the index of the Xero line paired with wanted line i (None: a new line);
    `unpaired_existing` are Xero lines no wanted line took, in Xero's order."""

    existing_for: tuple[int | None, ...]
    unpaired_existing: tuple[int, ...]


def _text(line: LineItem) -> str:
    return " ".join((line.description or "").split())


def pair_lines(wanted: Sequence[LineItem], existing: Sequence[LineItem]) -> LinePairing:
    taken: set[int] = set()
    result: list[int | None] = [None] * len(wanted)

    def first_free(predicate: Callable[[LineItem], bool]) -> int | None:
        for index, candidate in enumerate(existing):
            if index not in taken and predicate(candidate):
                return index
        return None

    for strict in (True, False):
        for position, line in enumerate(wanted):
            if result[position] is not None:
                continue
            found = first_free(
                lambda candidate, line=line, strict=strict: (
                    _text(candidate) == _text(line)
                    and (not strict or (candidate.item_code or None) == (line.item_code or None))
                )
            )
            if found is not None:
                result[position] = found
                taken.add(found)

    leftovers = [index for index in range(len(existing)) if index not in taken]
    for position in range(len(wanted)):
        if result[position] is None and leftovers:
            result[position] = leftovers.pop(0)
    return LinePairing(tuple(result), tuple(leftovers))
