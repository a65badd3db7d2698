"""Per-organisation links: ids, the single-column link, balances per organisation and their sum."""

from __future__ import annotations

from decimal import Decimal

from mappers.dynamics import Customer, CustomerKind
from mappers.xero_links import (
    ContactLinkRow,
    contact_link_id,
    customer_totals,
    legacy_link_unclaimed,
    link_balance_body,
    link_of,
)

A, B = "0a0a0a0a-0000-4000-8000-00000000000a", "0b0b0b0b-0000-4000-8000-00000000000b"
CUSTOMER = Customer(CustomerKind.ACCOUNT, "5c0e0a5e-0000-4000-8000-000000000401", "Contoso Ltd", None, None, "legacy")


def link(connection: str, contact: str, outstanding: str | None = None) -> ContactLinkRow:
    return ContactLinkRow(
        id=f"link-{connection[:2]}",
        connection_id=connection,
        customer_kind=CustomerKind.ACCOUNT,
        customer_id=CUSTOMER.id,
        xero_contact_id=contact,
        outstanding=Decimal(outstanding) if outstanding else None,
        overdue=Decimal("0") if outstanding else None,
    )


def test_one_link_row_per_customer_and_connection():
    assert contact_link_id(A, CUSTOMER) == contact_link_id(A.upper(), CUSTOMER)
    assert contact_link_id(A, CUSTOMER) != contact_link_id(B, CUSTOMER)
    assert link_of([link(A, "ca"), link(B, "cb")], B.upper()).xero_contact_id == "cb"
    assert link_of([link(A, "ca")], B) is None


def test_the_single_column_link_is_unclaimed_until_a_link_row_carries_it():
    assert legacy_link_unclaimed(CUSTOMER, [])
    assert legacy_link_unclaimed(CUSTOMER, [link(B, "other")])
    assert not legacy_link_unclaimed(CUSTOMER, [link(A, "LEGACY")])
    assert not legacy_link_unclaimed(Customer(CustomerKind.ACCOUNT, CUSTOMER.id, "x", None, None, None), [])


def test_balances_go_on_the_link_only_when_they_changed():
    assert link_balance_body(link(A, "ca", "10.00"), Decimal("10"), Decimal("0")) is None
    body = link_balance_body(link(A, "ca", "10.00"), Decimal("12.40"), Decimal("1.5"))
    assert body is not None and list(body.values()) == [12.4, 1.5]


def test_the_customer_shows_the_sum_over_its_organisations():
    links = [link(A, "ca", "100.00"), link(B, "cb", "50.00")]
    total = customer_totals(
        links,
        legacy_contact_id=None,
        xero_contact_id="cb",
        connection_id=B,
        outstanding=Decimal("80.00"),
        overdue=Decimal("5.00"),
    )
    assert total == (Decimal("180.00"), Decimal("5.00"))


def test_an_unclaimed_single_column_link_counts_as_its_own_organisation():
    total = customer_totals(
        [link(B, "cb", "50.00")],
        legacy_contact_id="legacy",
        xero_contact_id="legacy",
        connection_id=A,
        outstanding=Decimal("20.00"),
        overdue=Decimal("0"),
    )
    assert total == (Decimal("70.00"), Decimal("0"))
