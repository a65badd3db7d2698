"""One Xero organisation's books, held in memory in Xero's own field names (amounts as Decimal)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class Tenant:
    tenant_id: str
    organisation: Record
    accounts: list[Record]
    tax_rates: list[Record]
    branding_themes: list[Record]
    tracking_categories: list[Record]
    currencies: list[Record] = field(default_factory=list)
    contacts: dict[str, Record] = field(default_factory=dict)
    items: dict[str, Record] = field(default_factory=dict)
    invoices: dict[str, Record] = field(default_factory=dict)
    credit_notes: dict[str, Record] = field(default_factory=dict)
    payments: dict[str, Record] = field(default_factory=dict)
    allocations: dict[str, Record] = field(default_factory=dict)
    next_invoice_number: int = 1
    next_credit_note_number: int = 1
    created: dt.datetime = field(default_factory=lambda: dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    @property
    def name(self) -> str:
        return str(self.organisation["Name"])

    @property
    def base_currency(self) -> str:
        return str(self.organisation["BaseCurrency"])

    def currency_enabled(self, code: str) -> bool:
        return code == self.base_currency or any(c["Code"] == code for c in self.currencies)

    @property
    def lock_date(self) -> dt.date | None:
        """The later of the period and end-of-year lock dates: nothing dated on or before it may be written."""
        dates = [self.organisation.get(key) for key in ("PeriodLockDate", "EndOfYearLockDate")]
        found = [d for d in dates if isinstance(d, dt.date)]
        return max(found) if found else None

    def account_by_code(self, code: str) -> Record | None:
        return next((a for a in self.accounts if a["Code"] == code), None)

    def account_by_id(self, account_id: str) -> Record | None:
        return next((a for a in self.accounts if a["AccountID"] == account_id), None)

    def tax_rate(self, tax_type: str) -> Record | None:
        return next((t for t in self.tax_rates if t["TaxType"] == tax_type), None)

    def branding_theme(self, theme_id: str) -> Record | None:
        return next((b for b in self.branding_themes if b["BrandingThemeID"] == theme_id), None)

    def tracking_category(self, name: str) -> Record | None:
        wanted = name.strip().lower()
        return next((c for c in self.tracking_categories if c["Name"].lower() == wanted), None)

    def contact_by_name(self, name: str) -> Record | None:
        wanted = name.strip().lower()
        return next(
            (
                c
                for c in self.contacts.values()
                if c["Name"].strip().lower() == wanted and c["ContactStatus"] == "ACTIVE"
            ),
            None,
        )

    def item_by_code(self, code: str) -> Record | None:
        return next((i for i in self.items.values() if i["Code"] == code), None)
