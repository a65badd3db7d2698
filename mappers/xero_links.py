"""Per-organisation links between Dynamics rows and Xero records: one row per (customer, connection) in
`xc_xerocontactlink` and one per (product, connection) in `xc_xeroitemlink`. Pure: queries, readers and bodies.

A link row's id is derived from the connection and the Dynamics row, so two workers that resolve the same
customer for the same organisation write the same row (an upsert), never two.

The single column `xc_xerocontactid` on the account or contact predates the link table. It stays the link of
the organisation that created it; which one that is, is learnt lazily: the first sync of that customer in an
organisation asks that organisation for the contact (Xero contact ids are GUIDs, unique across
organisations, so a contact Xero finds there belongs there) and, if it is there, records a link row carrying
the same id. From then on the link table alone is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import odata_literal
from mappers import rows
from mappers.dynamics import Customer, CustomerKind
from mappers.rows import Row

LINK_NAMESPACE = uuid.UUID("0b6f3c1e-2d7a-4f1b-9e55-7a0c8d4e2f61")

_CONTACT_LINK = schema.CONTACT_LINK_TABLE
_ITEM_LINK = schema.ITEM_LINK_TABLE
_CUSTOMER_LOOKUP = {
    CustomerKind.ACCOUNT: schema.lookup(_CONTACT_LINK.logical_name, schema.CONTACT_LINK_ACCOUNT),
    CustomerKind.CONTACT: schema.lookup(_CONTACT_LINK.logical_name, schema.CONTACT_LINK_CONTACT),
}
_CONTACT_LINK_CONNECTION = schema.lookup(_CONTACT_LINK.logical_name, schema.LINK_CONNECTION)
_ITEM_LINK_CONNECTION = schema.lookup(_ITEM_LINK.logical_name, schema.LINK_CONNECTION)
_ITEM_LINK_PRODUCT = schema.lookup(_ITEM_LINK.logical_name, schema.ITEM_LINK_PRODUCT)


def link_row_id(connection_id: str, table: str, row_id: str) -> str:
    return str(uuid.uuid5(LINK_NAMESPACE, f"{connection_id.lower()}|{table}|{row_id.lower()}"))


def _guid(value: str) -> str:
    return str(uuid.UUID(value))


# -- contacts ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContactLinkRow:
    id: str
    connection_id: str | None
    customer_kind: CustomerKind | None
    customer_id: str | None
    xero_contact_id: str | None
    outstanding: Decimal | None
    overdue: Decimal | None

    @classmethod
    def from_row(cls, row: Row) -> ContactLinkRow:
        account = rows.lookup_id(row, _CUSTOMER_LOOKUP[CustomerKind.ACCOUNT])
        contact = rows.lookup_id(row, _CUSTOMER_LOOKUP[CustomerKind.CONTACT])
        kind = CustomerKind.ACCOUNT if account else CustomerKind.CONTACT if contact else None
        connection = rows.lookup_id(row, _CONTACT_LINK_CONNECTION)
        return cls(
            id=str(row[_CONTACT_LINK.primary_id]).lower(),
            connection_id=connection.lower() if connection else None,
            customer_kind=kind,
            customer_id=(account or contact or "").lower() or None,
            xero_contact_id=rows.text(row, schema.CONTACT_LINK_XERO_CONTACT_ID),
            outstanding=rows.decimal(row, schema.CONTACT_LINK_OUTSTANDING),
            overdue=rows.decimal(row, schema.CONTACT_LINK_OVERDUE),
        )


CONTACT_LINK_COLUMNS: tuple[str, ...] = (
    _CONTACT_LINK.primary_id,
    _CONTACT_LINK_CONNECTION.value_key,
    _CUSTOMER_LOOKUP[CustomerKind.ACCOUNT].value_key,
    _CUSTOMER_LOOKUP[CustomerKind.CONTACT].value_key,
    schema.CONTACT_LINK_XERO_CONTACT_ID,
    schema.CONTACT_LINK_OUTSTANDING,
    schema.CONTACT_LINK_OVERDUE,
)


def customer_links_filter(customer: Customer) -> str:
    """Every organisation's link of one customer."""
    return f"{_CUSTOMER_LOOKUP[customer.kind].value_key} eq {_guid(customer.id)}"


def contact_links_filter(xero_contact_id: str, connection_id: str | None = None) -> str:
    """The links carrying a Xero contact id (of one organisation when `connection_id` is given)."""
    found = f"{schema.CONTACT_LINK_XERO_CONTACT_ID} eq {odata_literal(xero_contact_id)}"
    if connection_id:
        found += f" and {_CONTACT_LINK_CONNECTION.value_key} eq {_guid(connection_id)}"
    return found


def contact_link_id(connection_id: str, customer: Customer) -> str:
    return link_row_id(connection_id, customer.kind.value, customer.id)


def contact_link_body(connection_id: str, customer: Customer, xero_contact_id: str) -> dict[str, Any]:
    """The upsert body of a customer's link in one organisation."""
    return {
        schema.LINK_NAME: (customer.name or customer.id)[:200],
        schema.CONTACT_LINK_XERO_CONTACT_ID: xero_contact_id,
        **schema.bind(_CONTACT_LINK_CONNECTION, connection_id),
        **schema.bind(_CUSTOMER_LOOKUP[customer.kind], customer.id),
    }


def link_of(links: Iterable[ContactLinkRow], connection_id: str) -> ContactLinkRow | None:
    wanted = connection_id.lower()
    return next((link for link in links if link.connection_id == wanted and link.xero_contact_id), None)


def legacy_link_unclaimed(customer: Customer, links: Iterable[ContactLinkRow]) -> bool:
    """The customer's single-column contact id is set and no organisation's link row has claimed it yet."""
    legacy = (customer.xero_contact_id or "").lower()
    return bool(legacy) and all((link.xero_contact_id or "").lower() != legacy for link in links)


# -- items ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemLinkRow:
    product_id: str
    xero_item_id: str | None
    xero_item_code: str | None

    @classmethod
    def from_row(cls, row: Row) -> ItemLinkRow:
        return cls(
            product_id=(rows.lookup_id(row, _ITEM_LINK_PRODUCT) or "").lower(),
            xero_item_id=rows.text(row, schema.ITEM_LINK_XERO_ITEM_ID),
            xero_item_code=rows.text(row, schema.ITEM_LINK_XERO_ITEM_CODE),
        )


ITEM_LINK_COLUMNS: tuple[str, ...] = (
    _ITEM_LINK.primary_id,
    _ITEM_LINK_PRODUCT.value_key,
    schema.ITEM_LINK_XERO_ITEM_ID,
    schema.ITEM_LINK_XERO_ITEM_CODE,
)


def item_links_filter(connection_id: str, product_ids: Iterable[str]) -> str:
    products = " or ".join(f"{_ITEM_LINK_PRODUCT.value_key} eq {_guid(p)}" for p in sorted(set(product_ids)))
    return f"{_ITEM_LINK_CONNECTION.value_key} eq {_guid(connection_id)} and ({products})"


def item_link_id(connection_id: str, product_id: str) -> str:
    return link_row_id(connection_id, "product", product_id)


def item_link_body(
    connection_id: str, product_id: str, name: str | None, xero_item_id: str | None, code: str
) -> dict[str, Any]:
    return {
        schema.LINK_NAME: (name or code)[:200],
        schema.ITEM_LINK_XERO_ITEM_ID: xero_item_id,
        schema.ITEM_LINK_XERO_ITEM_CODE: code,
        **schema.bind(_ITEM_LINK_CONNECTION, connection_id),
        **schema.bind(_ITEM_LINK_PRODUCT, product_id),
    }


# -- balances ------------------------------------------------------------------------------------------------
CENT = Decimal("0.01")
ZERO = Decimal("0")


def link_balance_body(link: ContactLinkRow, outstanding: Decimal, overdue: Decimal) -> dict[str, Any] | None:
    """The organisation's balances on its link row, or None when the row already shows them."""
    if same_money(link.outstanding, outstanding) and same_money(link.overdue, overdue):
        return None
    return {
        schema.CONTACT_LINK_OUTSTANDING: float(outstanding.quantize(CENT)),
        schema.CONTACT_LINK_OVERDUE: float(overdue.quantize(CENT)),
    }


def customer_totals(
    customer_links: Sequence[ContactLinkRow],
    *,
    legacy_contact_id: str | None,
    xero_contact_id: str,
    connection_id: str,
    outstanding: Decimal,
    overdue: Decimal,
) -> tuple[Decimal, Decimal]:
    """What the customer's own Outstanding/Overdue show: the sum over every organisation it is linked in, this
    organisation's link taking the balances just read. A single-column link no link row has claimed yet counts
    as one more organisation (the one it was created in)."""
    total_outstanding, total_overdue = ZERO, ZERO
    claimed = False
    for link in customer_links:
        mine = link.connection_id == connection_id.lower() and (link.xero_contact_id or "").lower() == (
            xero_contact_id.lower()
        )
        claimed = claimed or (link.xero_contact_id or "").lower() == (legacy_contact_id or "").lower()
        total_outstanding += outstanding if mine else link.outstanding or ZERO
        total_overdue += overdue if mine else link.overdue or ZERO
    mine_listed = any(
        link.connection_id == connection_id.lower() and (link.xero_contact_id or "").lower() == xero_contact_id.lower()
        for link in customer_links
    )
    if not mine_listed and legacy_contact_id and not claimed and legacy_contact_id.lower() == xero_contact_id.lower():
        total_outstanding += outstanding
        total_overdue += overdue
    return total_outstanding, total_overdue


def same_money(stored: Decimal | None, now: Decimal) -> bool:
    return stored is not None and stored.quantize(CENT) == now.quantize(CENT)
