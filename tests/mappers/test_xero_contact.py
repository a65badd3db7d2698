"""Finding or creating the Xero contact for a Dynamics customer (mappers/xero_contact.py)."""

from __future__ import annotations

from dataclasses import replace

from xero_python.accounting import Contact

from app.errors import Permanent
from mappers.dynamics import Customer
from mappers.xero_contact import contact_missing, matching_contact, new_contact
from tests.mappers.helpers import row

CONTOSO = Customer.from_row(row("account"))


def test_contact_matches_by_name_and_email():
    found = matching_contact(
        CONTOSO,
        [
            Contact(name="Contoso", email_address="accounts@contoso.example"),
            Contact(name="contoso  LTD", email_address="ACCOUNTS@contoso.example"),
        ],
    )
    assert found is not None and found.name == "contoso  LTD"


def test_contact_matches_by_name_and_account_number():
    assert matching_contact(CONTOSO, [Contact(name="Contoso Ltd", account_number="CON-001")]) is not None


def test_same_name_with_other_email_and_number_is_not_a_match():
    assert (
        matching_contact(CONTOSO, [Contact(name="Contoso Ltd", email_address="x@y.example", account_number="OTHER")])
        is None
    )


def test_archived_contacts_never_match():
    archived = Contact(name="Contoso Ltd", email_address="accounts@contoso.example", contact_status="ARCHIVED")
    assert matching_contact(CONTOSO, [archived]) is None


def test_name_alone_matches_a_customer_without_email_or_number():
    bare = replace(CONTOSO, email=None, account_number=None)
    assert matching_contact(bare, [Contact(name="Contoso Ltd", email_address="x@y.example")]) is not None


def test_new_contact_is_made_from_the_customer():
    contact = new_contact(Customer.from_row(row("contact")))
    assert (contact.name, contact.first_name, contact.last_name, contact.email_address) == (
        "Sarah Connor",
        "Sarah",
        "Connor",
        "sarah.connor@contoso.example",
    )
    assert new_contact(CONTOSO).account_number == "CON-001"


def test_missing_contact_with_creation_off_fails_and_says_why():
    error = contact_missing(CONTOSO)
    assert isinstance(error, Permanent)
    assert "Contoso Ltd" in error.user_message and "Create new contacts in Xero" in error.user_message
