"""The Xero contact for a Dynamics customer: which existing one matches, or what to create.

    contact_id = customer.xero_contact_id                      # stored link: use it, never re-match
    or (match := matching_contact(customer, candidates)) ...   # candidates: GET /Contacts?searchTerm=<name>
    or create new_contact(customer) if connection.create_contacts
    else raise contact_missing(customer)

A Xero contact matches when its name is the customer's (case and spacing aside; Xero keeps names unique)
and, when the customer has an email address or account number, at least one of them agrees too. Archived
contacts never match. After the link is stored, later edits on either side are not synced (as in the seeds).
"""

from __future__ import annotations

from collections.abc import Iterable

from xero_python.accounting import Contact

from app.errors import Permanent
from mappers.dynamics import Customer, CustomerKind

MAX_NAME = 255


def _same(left: str | None, right: str | None) -> bool:
    return bool(left and right) and " ".join(left.split()).casefold() == " ".join(right.split()).casefold()


def matching_contact(customer: Customer, candidates: Iterable[Contact]) -> Contact | None:
    for candidate in candidates:
        if str(candidate.contact_status or "").upper() == "ARCHIVED" or not _same(candidate.name, customer.name):
            continue
        if not (customer.email or customer.account_number):
            return candidate
        if _same(candidate.email_address, customer.email) or _same(candidate.account_number, customer.account_number):
            return candidate
    return None


def new_contact(customer: Customer) -> Contact:
    """A Xero contact made from the account or contact, once; it is not kept in step afterwards."""
    return Contact(
        name=customer.name[:MAX_NAME],
        email_address=customer.email,
        account_number=customer.account_number,
        first_name=customer.first_name if customer.kind is CustomerKind.CONTACT else None,
        last_name=customer.last_name if customer.kind is CustomerKind.CONTACT else None,
    )


def contact_missing(customer: Customer) -> Permanent:
    """The failure when no Xero contact matches and the connection may not create one."""
    return Permanent(
        f"no Xero contact for {customer.kind} {customer.id} and contact creation is off",
        user_message=(
            f"The customer '{customer.name}' does not exist in Xero and \"Create new contacts in Xero\" is off "
            "for this connection. Create the contact in Xero (same name, with the same email address or account "
            "number), or turn the setting on, then set the export status back to No."
        ),
    )
