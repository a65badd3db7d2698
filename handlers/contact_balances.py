"""A Xero contact's balances into Dynamics: on its link row of that organisation, and totalled on the customer.

The customers are found through the link rows of the event's organisation (`xc_xerocontactlink`) and through
the single column `xc_xerocontactid` of the accounts and contacts that predate the links. Each link row keeps
its organisation's outstanding and overdue amounts; the account or contact shows their sum over all the
organisations it is invoiced in. Nothing is written when the rows already show the figures.
"""

from __future__ import annotations

import logging
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import BatchOperation, DataverseClient
from handlers.xero_writeback import XeroEventContext
from mappers import rows
from mappers import xero_links as links
from mappers.dynamics import CustomerKind
from mappers.xero_to_dynamics import (
    Balance,
    LinkedCustomer,
    balance_patch,
    contact_balance,
    linked_customer_columns,
    linked_customer_filter,
)

log = logging.getLogger(__name__)

_CUSTOMER_LOOKUP_KEY = {
    CustomerKind.ACCOUNT: rows.lookup_key(schema.CONTACT_LINK_ACCOUNT),
    CustomerKind.CONTACT: rows.lookup_key(schema.CONTACT_LINK_CONTACT),
}


def _links(dataverse: DataverseClient, filter_: str) -> list[links.ContactLinkRow]:
    found = dataverse.query(schema.CONTACT_LINK_ENTITY_SET, filter=filter_, select=list(links.CONTACT_LINK_COLUMNS))
    return [links.ContactLinkRow.from_row(row) for row in found]


def _customer_row(dataverse: DataverseClient, kind: CustomerKind, customer_id: str) -> dict[str, Any] | None:
    return dataverse.get_optional(kind.entity_set, customer_id, select=list(linked_customer_columns(kind)))


def refresh_balances(event: XeroEventContext, contact_id: str) -> dict[str, int]:
    dataverse, connection_id = event.dataverse, event.connection.id
    organisation_links = _links(dataverse, links.contact_links_filter(contact_id, connection_id))
    customers: dict[tuple[CustomerKind, str], dict[str, Any]] = {}
    for kind in CustomerKind:
        for row in dataverse.query(
            kind.entity_set, filter=linked_customer_filter(contact_id), select=list(linked_customer_columns(kind))
        ):
            customers[(kind, str(row[kind.primary_id]).lower())] = row
    for link in organisation_links:
        if link.customer_kind is None or link.customer_id is None:
            continue
        key = (link.customer_kind, link.customer_id)
        if key not in customers:
            row = _customer_row(dataverse, *key)
            if row is not None:
                customers[key] = row
    if not customers:
        log.info("xero contact not linked to any Dynamics customer", extra={"contact_id": contact_id})
        return {"customers": 0, "balances_written": 0}
    balance = contact_balance(event.xero.get_contact(contact_id))
    operations = []
    for link in organisation_links:
        body = links.link_balance_body(link, balance.outstanding, balance.overdue)
        if body is not None:
            operations.append(BatchOperation.update(schema.CONTACT_LINK_ENTITY_SET, link.id, body))
    for (kind, customer_id), row in customers.items():
        every_link = _links(dataverse, f"{_CUSTOMER_LOOKUP_KEY[kind]} eq {customer_id}")
        outstanding, overdue = links.customer_totals(
            every_link,
            legacy_contact_id=rows.text(row, schema.CUSTOMER_XERO_CONTACT_ID),
            xero_contact_id=contact_id,
            connection_id=connection_id,
            outstanding=balance.outstanding,
            overdue=balance.overdue,
        )
        patch = balance_patch(LinkedCustomer.from_row(row, kind), Balance(outstanding, overdue))
        if patch is not None:
            operations.append(BatchOperation.update(patch.entity_set, patch.row_id, patch.body))
    if operations:
        dataverse.batch(operations)
    return {"customers": len(customers), "balances_written": len(operations)}
