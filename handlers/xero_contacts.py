"""The Xero contact for an invoice's customer: the stored link, else a match in Xero, else a new contact.

Looking up before creating also makes a retried create safe: Xero keeps contact names unique, so a contact
created by an attempt whose answer was lost is found by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.clients.xero import XeroGateway
from mappers.dynamics import ConnectionSettings, Customer
from mappers.writeback import RowPatch, customer_contact_patch
from mappers.xero_contact import contact_missing, new_contact


@dataclass(frozen=True)
class ContactLink:
    contact_id: str
    patch: RowPatch | None  # the link to store on the account or contact, when it is new


def resolve_contact(xero: XeroGateway, customer: Customer, connection: ConnectionSettings) -> ContactLink:
    if customer.xero_contact_id:
        return ContactLink(customer.xero_contact_id, None)
    found = xero.find_contact(customer.name, email=customer.email, account_number=customer.account_number)
    if found is None:
        if not connection.create_contacts:
            raise contact_missing(customer)
        found = xero.create_contact(new_contact(customer))
    contact_id = str(found.contact_id)
    return ContactLink(contact_id, customer_contact_patch(customer.ref, contact_id))
