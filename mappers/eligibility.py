"""Is a Dynamics invoice ready to go to Xero? The rules users rely on, checked in the order they would fix them.

    outcome = check_eligibility(invoice, connection, today)
    match outcome:
        case Eligible(): ...                          # build and send it
        case NotYet(run_on=day): ...                  # schedule at start_of_day(day, connection.zone)
        case Ineligible(reason=text): ...             # history row with `text`; nothing sent

An invoice is eligible when a connection is set, a customer and a price list are set, there is at least one
line, the state is Active, and the delivery date is today or earlier in the connection's time zone. A
future delivery date is not a failure: the invoice waits for that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from mappers.dynamics import ConnectionSettings, Invoice, InvoiceState


@dataclass(frozen=True)
class Eligible:
    pass


@dataclass(frozen=True)
class NotYet:
    """Delivered in the future: sync on `run_on` (a date in the connection's time zone)."""

    run_on: date


@dataclass(frozen=True)
class Ineligible:
    """Not synced; `reason` is shown to finance users in the sync history."""

    reason: str


Eligibility = Eligible | NotYet | Ineligible

_STATE_WORDS = {
    InvoiceState.PAID: "it is marked as paid in Dynamics",
    InvoiceState.CANCELED: "it is cancelled",
    InvoiceState.CLOSED: "it is closed",
}


def check_eligibility(invoice: Invoice, connection: ConnectionSettings | None, today: date | datetime) -> Eligibility:
    """Judge one invoice. `today` is a date in the connection's time zone, or an aware datetime (any zone),
    which is converted to that zone first so an invoice delivered "today" in Sydney is not held back by UTC."""
    if invoice.connection_id is None or connection is None:
        return Ineligible("The invoice has no Xero connection. Choose one on the invoice when it is ready to send.")
    if invoice.customer is None:
        return Ineligible("The invoice has no customer. Add a customer (an account or a contact) and try again.")
    if invoice.price_list_id is None:
        return Ineligible("The invoice has no price list. Choose a price list and try again.")
    if not invoice.lines:
        return Ineligible("The invoice has no products. Add at least one product line and try again.")
    if invoice.state is not InvoiceState.ACTIVE:
        words = _STATE_WORDS.get(invoice.state, "it is not active")
        return Ineligible(f"The invoice was not sent to Xero because {words}. Only active invoices are sent.")
    if invoice.date_delivered is None:
        return Ineligible(
            "The invoice has no delivery date. Set the date delivered; it becomes the invoice date in Xero."
        )
    local_today = local_date(today, connection)
    if invoice.date_delivered > local_today:
        return NotYet(run_on=invoice.date_delivered)
    return Eligible()


def local_date(today: date | datetime, connection: ConnectionSettings) -> date:
    if isinstance(today, datetime):
        if today.tzinfo is None:
            raise ValueError("pass an aware datetime (or a date already in the connection's time zone)")
        return today.astimezone(connection.zone).date()
    return today


def start_of_day(day: date, connection: ConnectionSettings) -> datetime:
    """The aware instant a `NotYet` invoice becomes eligible: local midnight of `day` in the connection's zone."""
    return datetime.combine(day, time.min, tzinfo=connection.zone)
