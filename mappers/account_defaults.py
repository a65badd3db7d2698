"""Facts of a Xero organisation kept on its connection row: the lock date, and default account codes proposed
from its own chart of accounts for a connection that has none. Pure: the caller reads Xero and Dynamics.

Proposals are made on a connection's first import only, and fill only empty columns (an admin's choice, even
an emptied one, is never overwritten):
- sales: an active revenue-class account of type SALES, else REVENUE, else any revenue account (lowest code);
- purchases: an active expense-class account of type DIRECTCOSTS, else EXPENSE, else OVERHEADS.
System accounts and bank accounts are never proposed (Xero refuses them on invoice lines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app import dynamics_schema as schema
from mappers import rows
from mappers.rows import Row

_SALES_TYPES = ("SALES", "REVENUE", "OTHERINCOME")
_PURCHASE_TYPES = ("DIRECTCOSTS", "EXPENSE", "OVERHEADS")


def _text(value: Any) -> str:
    return str(getattr(value, "value", value) or "").upper()


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: str
    account_class: str
    active: bool
    system: bool

    @classmethod
    def from_xero(cls, account: Any) -> ChartAccount:
        return cls(
            code=str(account.code or ""),
            name=str(account.name or account.code or ""),
            type=_text(account.type),
            account_class=_text(account._class),
            active=_text(account.status) == "ACTIVE",
            system=bool(getattr(account, "system_account", None)),
        )


def _pick(accounts: Iterable[ChartAccount], account_class: str, types: tuple[str, ...]) -> ChartAccount | None:
    usable = [
        a
        for a in accounts
        if a.code and a.active and not a.system and a.type != "BANK" and a.account_class == account_class
    ]
    usable.sort(key=lambda a: (types.index(a.type) if a.type in types else len(types), a.code))
    return usable[0] if usable else None


@dataclass(frozen=True)
class Proposal:
    patch: dict[str, Any]
    proposed: list[str]  # for the history row: "sales 200 (Sales)"


def lock_date(organisation: Any) -> date | None:
    """The later of the organisation's period and end-of-year lock dates (nothing on or before it is accepted)."""
    found = []
    for value in (
        getattr(organisation, "period_lock_date", None),
        getattr(organisation, "end_of_year_lock_date", None),
    ):
        if isinstance(value, datetime):
            found.append(value.date())
        elif isinstance(value, date):
            found.append(value)
    return max(found) if found else None


def connection_facts(
    connection_row: Row, organisation: Any, accounts: Iterable[Any], *, propose: bool = True
) -> Proposal:
    """What to write on the connection row so it shows the organisation's lock date and, when `propose` (the
    connection's first import), has default codes."""
    patch: dict[str, Any] = {}
    proposed: list[str] = []
    locked = lock_date(organisation)
    wanted_lock = locked.isoformat() if locked else None
    stored_lock = (rows.text(connection_row, schema.CONNECTION_PERIOD_LOCK_DATE) or "")[:10] or None
    if stored_lock != wanted_lock:
        patch[schema.CONNECTION_PERIOD_LOCK_DATE] = wanted_lock
    chart = [ChartAccount.from_xero(account) for account in accounts]
    wanted: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
        schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: ("sales", "REVENUE", _SALES_TYPES),
        schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE: ("purchases", "EXPENSE", _PURCHASE_TYPES),
    }
    for column, (label, account_class, types) in wanted.items():
        if not propose or rows.text(connection_row, column):
            continue
        choice = _pick(chart, account_class, types)
        if choice is not None:
            patch[column] = choice.code
            proposed.append(f"{label} {choice.code} ({choice.name})")
    return Proposal(patch, proposed)


CONNECTION_FACT_COLUMNS: tuple[str, ...] = (
    schema.CONNECTION_PERIOD_LOCK_DATE,
    schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE,
    schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE,
)
