"""The Xero contact for an invoice's customer in one organisation: its link row, else the single-column link
when it belongs to this organisation, else a match in Xero, else a new contact.

Links are kept per (customer, connection) in `xc_xerocontactlink` (`mappers.xero_links`), so one customer can
be invoiced in any number of organisations. A new link is written the moment it is known, before the
invoice is sent: a contact created in Xero is never forgotten because the invoice itself then failed.

Looking up before creating also makes a retried create safe: Xero keeps contact names unique, so a contact
created by an attempt whose answer was lost is found by the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.clients.xero import XeroGateway
from app.clients.xero_errors import NotFound
from mappers import xero_links as links
from mappers.dynamics import ConnectionSettings, Customer
from mappers.writeback import customer_contact_patch
from mappers.xero_contact import contact_missing, new_contact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContactLink:
    contact_id: str
    how: str  # "linked", "legacy", "matched" or "created": for the log and the result


def customer_links(dataverse: DataverseClient, customer: Customer) -> list[links.ContactLinkRow]:
    found = dataverse.query(
        schema.CONTACT_LINK_ENTITY_SET,
        filter=links.customer_links_filter(customer),
        select=list(links.CONTACT_LINK_COLUMNS),
    )
    return [links.ContactLinkRow.from_row(row) for row in found]


def resolve_contact(
    xero: XeroGateway, dataverse: DataverseClient, customer: Customer, connection: ConnectionSettings
) -> ContactLink:
    known = customer_links(dataverse, customer)
    mine = links.link_of(known, connection.id)
    if mine is not None and mine.xero_contact_id:
        return ContactLink(mine.xero_contact_id, "linked")
    if links.legacy_link_unclaimed(customer, known) and _in_this_organisation(xero, str(customer.xero_contact_id)):
        _record(dataverse, connection, customer, str(customer.xero_contact_id))
        return ContactLink(str(customer.xero_contact_id), "legacy")
    found = xero.find_contact(customer.name, email=customer.email, account_number=customer.account_number)
    how = "matched"
    if found is None:
        if not connection.create_contacts:
            raise contact_missing(customer)
        found = xero.create_contact(new_contact(customer))
        how = "created"
    contact_id = str(found.contact_id)
    _record(dataverse, connection, customer, contact_id)
    if not customer.xero_contact_id:
        # The single column keeps showing the first organisation's contact, as it always has.
        patch = customer_contact_patch(customer.ref, contact_id)
        dataverse.update(patch.entity_set, patch.row_id, patch.body)
    return ContactLink(contact_id, how)


def _in_this_organisation(xero: XeroGateway, contact_id: str) -> bool:
    try:
        xero.get_contact(contact_id)
    except NotFound:
        return False
    return True


def _record(dataverse: DataverseClient, connection: ConnectionSettings, customer: Customer, contact_id: str) -> None:
    dataverse.upsert(
        schema.CONTACT_LINK_ENTITY_SET,
        links.contact_link_id(connection.id, customer),
        links.contact_link_body(connection.id, customer, contact_id),
    )
    log.info(
        "xero contact linked",
        extra={"connection_id": connection.id, "customer_id": customer.id, "contact_id": contact_id},
    )
