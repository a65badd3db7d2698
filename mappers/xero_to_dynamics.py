"""What a change in Xero means for Dynamics: pure decisions, no I/O, no clock.

    view = LinkedInvoice.from_row(row)                  # the Dynamics invoice that carries the Xero id
    plan = invoice_writeback(view, xero_invoice)        # what to write, or nothing when nothing changed
    # send plan.patches in one change set with plan.history (if any), then plan.state_patch on its own

Payments arrive as invoice updates, so every decision compares what Xero shows now with what Dynamics last
received: writes happen only for a difference, which keeps repeated events and reconciliation passes quiet.
A Dynamics invoice that is Paid or Canceled is read-only: its Xero status and amounts are still written (the
handler reopens and closes it again around the write), with a history row; its state is kept. The exception: a
Paid invoice whose payment was removed in Xero, so that money is due again, is reopened for good (set Active),
because a Paid invoice that is owed misleads everyone who reads receivables in Dynamics; the history row says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from xero_python.accounting import Contact, CreditNote

from app import dynamics_schema as schema
from app.clients.dataverse_paths import odata_literal
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus
from mappers import rows
from mappers import xero_documents as docs
from mappers.dynamics import CustomerKind, InvoiceState
from mappers.rows import Row
from mappers.writeback import RowPatch, invoice_status_patch
from mappers.xero_documents import XeroDocument

CENT = Decimal("0.01")
# Dynamics' own values for a fully paid invoice (the reference: set them alone, after the amounts).
PAID_STATECODE = 2
PAID_COMPLETE_STATUSCODE = 100001
READ_ONLY_STATES = frozenset({InvoiceState.PAID, InvoiceState.CANCELED})
REOPENED_STATUSCODE = 1  # Active's default status reason, "New"
OWED_STATUSES = frozenset({"AUTHORISED", "SUBMITTED"})  # Xero statuses of a document with money due
_INVOICE_SET = schema.entity_set_name("invoice")


# ---------------------------------------------------------------------------------------------------
# The Dynamics side: the invoice that carries a Xero id
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedInvoice:
    """The columns of a Dynamics invoice a write-back compares against (read with `linked_invoice_query`)."""

    id: str
    number: str | None
    connection_id: str | None
    xero_invoice_id: str | None
    xero_status: str | None
    amount_due: Decimal | None
    amount_paid: Decimal | None
    amount_credited: Decimal | None
    state: InvoiceState
    status_reason: int | None

    @classmethod
    def from_row(cls, row: Row) -> LinkedInvoice:
        return cls(
            id=str(row["invoiceid"]),
            number=rows.text(row, "invoicenumber"),
            connection_id=rows.lookup_id(row, schema.INVOICE_CONNECTION),
            xero_invoice_id=rows.text(row, schema.INVOICE_XERO_INVOICE_ID),
            xero_status=rows.text(row, schema.INVOICE_XERO_STATUS),
            amount_due=rows.decimal(row, schema.INVOICE_AMOUNT_DUE),
            amount_paid=rows.decimal(row, schema.INVOICE_AMOUNT_PAID),
            amount_credited=rows.decimal(row, schema.INVOICE_AMOUNT_CREDITED),
            state=rows.choice(row, "statecode", InvoiceState, InvoiceState.ACTIVE) or InvoiceState.ACTIVE,
            status_reason=rows.integer(row, "statuscode"),
        )

    @property
    def read_only(self) -> bool:
        return self.state in READ_ONLY_STATES


LINKED_INVOICE_COLUMNS: tuple[str, ...] = (
    "invoiceid",
    "invoicenumber",
    "statecode",
    "statuscode",
    rows.lookup_key(schema.INVOICE_CONNECTION),
    schema.INVOICE_XERO_INVOICE_ID,
    schema.INVOICE_XERO_STATUS,
    schema.INVOICE_AMOUNT_DUE,
    schema.INVOICE_AMOUNT_PAID,
    schema.INVOICE_AMOUNT_CREDITED,
)


def linked_invoice_filter(xero_ids: Iterable[str]) -> str:
    """`$filter` for the Dynamics invoices carrying any of these Xero ids."""
    wanted = list(dict.fromkeys(i for i in xero_ids if i))
    if not wanted:
        raise ValueError("at least one Xero id is needed")
    return " or ".join(f"{schema.INVOICE_XERO_INVOICE_ID} eq {odata_literal(i)}" for i in wanted)


# ---------------------------------------------------------------------------------------------------
# Invoice (and credit note) changes
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryNote:
    action: SyncAction
    status: SyncStatus
    details: str


@dataclass(frozen=True)
class InvoiceWriteBack:
    """What to write for one Dynamics invoice. Empty (`changed` False) when Dynamics already shows Xero's state."""

    patches: tuple[RowPatch, ...] = ()
    state_patch: RowPatch | None = None  # sent alone, after `patches`
    reopen_patch: RowPatch | None = None  # sent alone, before `patches`: a read-only Paid invoice made Active
    history: HistoryNote | None = None
    closed: bool = False  # the Dynamics invoice is Paid or Canceled: Dynamics takes the patches only reopened

    @property
    def changed(self) -> bool:
        return bool(self.patches or self.state_patch or self.reopen_patch or self.history)


def currency_of(document: XeroDocument) -> str:
    code = document.currency_code
    return str(getattr(code, "value", code) or "")


def _amount(value: Decimal, currency: str) -> str:
    text = f"{value.quantize(CENT):,.2f}"
    return f"{text} {currency}".strip()


def _same_money(stored: Decimal | None, now: Decimal) -> bool:
    return stored is not None and stored.quantize(CENT) == now.quantize(CENT)


def _what(document: XeroDocument) -> str:
    kind = "Credit note" if isinstance(document, CreditNote) else "Invoice"
    number = docs.document_number(document)
    return f"{kind} {number}" if number else kind


def invoice_writeback(current: LinkedInvoice, document: XeroDocument) -> InvoiceWriteBack:
    """Bring the Dynamics invoice in line with the Xero document it is linked to.

    - status, amount due, paid and credited are written when any differs from what Dynamics holds;
    - PAID in Xero: the Dynamics invoice is set Paid (statecode 2, statuscode Complete) by a separate patch;
    - more paid than before but not fully: a history row "Part payment of … received";
    - VOIDED or DELETED in Xero, or any other status change: the status and a history row;
    - a credited amount changing alone is written without history (the credit note's event tells that story).
    """
    status = docs.status_of(document)
    paid, due, credited = docs.amount_paid(document), docs.amount_due(document), docs.amount_credited(document)
    status_changed = (current.xero_status or "").upper() != status
    amounts_changed = not (
        _same_money(current.amount_due, due)
        and _same_money(current.amount_paid, paid)
        and _same_money(current.amount_credited, credited)
    )
    fully_paid = status == docs.PAID
    needs_paid_state = fully_paid and current.state is not InvoiceState.PAID
    if not (status_changed or amounts_changed or needs_paid_state):
        return InvoiceWriteBack()
    reopen = current.state is InvoiceState.PAID and status in OWED_STATUSES and due > 0
    if current.read_only and not reopen:
        if not (status_changed or amounts_changed):
            return InvoiceWriteBack()  # only a Paid state, which a closed invoice keeps as it is
        return InvoiceWriteBack(
            patches=(invoice_status_patch(current.id, document),),
            history=_closed_note(current, document),
            closed=True,
        )

    patches = (invoice_status_patch(current.id, document),) if (status_changed or amounts_changed) else ()
    state_patch = (
        RowPatch(_INVOICE_SET, current.id, {"statecode": PAID_STATECODE, "statuscode": PAID_COMPLETE_STATUSCODE})
        if needs_paid_state
        else None
    )
    # No new history when only the Paid state is missing: an earlier attempt wrote the amounts and told the
    # story, then failed before the state (a retry must not tell it twice).
    history = _history(current, document, status_changed=status_changed) if patches else None
    if reopen and history is not None:
        history = replace(history, details=f"{history.details} The Dynamics invoice was Paid and is open again.")
    reopen_patch = (
        RowPatch(_INVOICE_SET, current.id, {"statecode": int(InvoiceState.ACTIVE), "statuscode": REOPENED_STATUSCODE})
        if reopen
        else None
    )
    return InvoiceWriteBack(patches=patches, state_patch=state_patch, reopen_patch=reopen_patch, history=history)


def _closed_note(current: LinkedInvoice, document: XeroDocument) -> HistoryNote:
    """A closed Dynamics invoice whose Xero document changed: the figures are shown, the state is kept."""
    currency = currency_of(document)
    figures = ", ".join(
        f"{label} {_amount(value, currency)}"
        for label, value in (
            ("due", docs.amount_due(document)),
            ("paid", docs.amount_paid(document)),
            ("credited", docs.amount_credited(document)),
        )
    )
    state = "cancelled" if current.state is InvoiceState.CANCELED else "paid"
    return HistoryNote(
        SyncAction.STATUS,
        SyncStatus.INFORMATION,
        f"{_what(document)} is {docs.status_of(document)} in Xero ({figures}). The Dynamics invoice stays {state} "
        "and shows these figures.",
    )


def _history(current: LinkedInvoice, document: XeroDocument, *, status_changed: bool) -> HistoryNote | None:
    status = docs.status_of(document)
    currency = currency_of(document)
    paid, due = docs.amount_paid(document), docs.amount_due(document)
    received = paid - (current.amount_paid or Decimal(0))
    what = _what(document)
    if status == docs.PAID and (status_changed or current.state is not InvoiceState.PAID):
        credited = docs.amount_credited(document)
        settled = f"paid {_amount(paid, currency)}" + (f", credited {_amount(credited, currency)}" if credited else "")
        return HistoryNote(
            SyncAction.PAYMENT,
            SyncStatus.SUCCESS,
            f"{what} is fully paid in Xero ({settled}). The Dynamics invoice is now Paid.",
        )
    if status in (docs.VOIDED, docs.DELETED) and status_changed:
        action = SyncAction.VOID if status == docs.VOIDED else SyncAction.DELETE
        return HistoryNote(action, SyncStatus.SUCCESS, f"{what} was {status.lower()} in Xero.")
    if received > 0:
        return HistoryNote(
            SyncAction.PAYMENT,
            SyncStatus.SUCCESS,
            f"Part payment of {_amount(received, currency)} received in Xero for {what}; "
            f"{_amount(due, currency)} still due.",
        )
    if received < 0:
        return HistoryNote(
            SyncAction.PAYMENT,
            SyncStatus.SUCCESS,
            f"A payment of {_amount(-received, currency)} was removed in Xero from {what}; "
            f"{_amount(due, currency)} now due.",
        )
    if status_changed and current.xero_status:
        return HistoryNote(
            SyncAction.STATUS,
            SyncStatus.SUCCESS,
            f"{what} is now {status.capitalize()} in Xero (was {current.xero_status.capitalize()}).",
        )
    return None


# ---------------------------------------------------------------------------------------------------
# Credit notes: history on the invoices they are allocated to
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditAllocation:
    invoice_xero_id: str
    amount: Decimal


def credit_allocations(note: CreditNote) -> list[CreditAllocation]:
    """Amount allocated per invoice (several allocations to one invoice are summed; deleted ones skipped)."""
    totals: dict[str, Decimal] = {}
    for allocation in note.allocations or ():
        invoice = allocation.invoice
        if getattr(allocation, "is_deleted", False) or invoice is None or not invoice.invoice_id:
            continue
        key = str(invoice.invoice_id).lower()
        totals[key] = totals.get(key, Decimal(0)) + docs.money(allocation.amount)
    return [CreditAllocation(xero_id, amount) for xero_id, amount in totals.items()]


def credit_note_fingerprint(note: CreditNote) -> str:
    """Changes when anything a history row tells changes: status, total and each allocation."""
    parts = [docs.status_of(note), str(docs.money(note.total).quantize(CENT))]
    parts += [
        f"{a.invoice_xero_id}={a.amount.quantize(CENT)}"
        for a in sorted(credit_allocations(note), key=lambda a: a.invoice_xero_id)
    ]
    return "|".join(parts)


def credit_note_details(note: CreditNote, allocated: Decimal | None) -> str:
    """E.g. "Credit note CN-0001 (Authorised, total 20.00 GBP) in Xero: 20.00 GBP allocated to this invoice."."""
    currency = currency_of(note)
    head = f"{_what(note)} ({docs.status_of(note).capitalize()}, total {_amount(docs.money(note.total), currency)})"
    if allocated:
        return f"{head} in Xero: {_amount(allocated, currency)} allocated to this invoice."
    return f"{head} changed in Xero."


# ---------------------------------------------------------------------------------------------------
# Contact balances
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    outstanding: Decimal
    overdue: Decimal


def contact_balance(contact: Contact) -> Balance:
    """Receivable for customers; payable for a contact Xero knows only as a supplier."""
    balances = contact.balances
    supplier_only = bool(contact.is_supplier) and not bool(contact.is_customer)
    side = None
    if balances is not None:
        side = balances.accounts_payable if supplier_only else balances.accounts_receivable
    if side is None:
        return Balance(Decimal(0), Decimal(0))
    return Balance(docs.money(side.outstanding), docs.money(side.overdue))


@dataclass(frozen=True)
class LinkedCustomer:
    """An account or contact in Dynamics carrying a Xero contact id, with the balances it last received."""

    kind: CustomerKind
    id: str
    outstanding: Decimal | None
    overdue: Decimal | None

    @classmethod
    def from_row(cls, row: Row, kind: CustomerKind) -> LinkedCustomer:
        return cls(
            kind=kind,
            id=str(row[kind.primary_id]),
            outstanding=rows.decimal(row, schema.CUSTOMER_OUTSTANDING),
            overdue=rows.decimal(row, schema.CUSTOMER_OVERDUE),
        )


def linked_customer_columns(kind: CustomerKind) -> tuple[str, ...]:
    return (kind.primary_id, schema.CUSTOMER_XERO_CONTACT_ID, schema.CUSTOMER_OUTSTANDING, schema.CUSTOMER_OVERDUE)


def linked_customer_filter(contact_id: str) -> str:
    return f"{schema.CUSTOMER_XERO_CONTACT_ID} eq {odata_literal(contact_id)}"


def balance_patch(customer: LinkedCustomer, balance: Balance) -> RowPatch | None:
    """The new balances, or None when the row already shows them."""
    if _same_money(customer.outstanding, balance.outstanding) and _same_money(customer.overdue, balance.overdue):
        return None
    return RowPatch(
        customer.kind.entity_set,
        customer.id,
        {
            schema.CUSTOMER_OUTSTANDING: float(balance.outstanding.quantize(CENT)),
            schema.CUSTOMER_OVERDUE: float(balance.overdue.quantize(CENT)),
        },
    )


# ---------------------------------------------------------------------------------------------------
# Reconciliation: Dynamics invoices ready to sync but not synced
# ---------------------------------------------------------------------------------------------------

# The export statuses of an invoice waiting for a sync: a person's request (No, Ready to update), which is
# also what they set after fixing a Failed one. A row that predates the column reads as null.
WAITING_EXPORT_STATUSES: tuple[ExportStatus, ...] = (ExportStatus.NO, ExportStatus.READY_TO_UPDATE)


def unsynced_invoices_filter(connection_id: str, modified_since: datetime) -> str:
    """`$filter` for the invoices of a connection, waiting for a sync, modified since the given instant."""
    if modified_since.tzinfo is None:
        raise ValueError("pass an aware datetime")
    waiting = " or ".join(f"{schema.INVOICE_EXPORT_STATUS} eq {int(s)}" for s in WAITING_EXPORT_STATUSES)
    connection = rows.lookup_key(schema.INVOICE_CONNECTION)
    connection_id = str(uuid.UUID(connection_id))  # a GUID goes into the filter unquoted: never anything else
    since = modified_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{connection} eq {connection_id} and ({waiting} or {schema.INVOICE_EXPORT_STATUS} eq null) "
        f"and modifiedon ge {since}"
    )


def due_invoices_filter(connection_id: str, today: date) -> str:
    """`$filter` for the active invoices of a connection delivered today or yesterday and still waiting for a
    sync (a day back, so a pass missed around midnight does not miss the day)."""
    waiting = " or ".join(f"{schema.INVOICE_EXPORT_STATUS} eq {int(s)}" for s in WAITING_EXPORT_STATUSES)
    connection = rows.lookup_key(schema.INVOICE_CONNECTION)
    connection_id = str(uuid.UUID(connection_id))
    return (
        f"{connection} eq {connection_id} and statecode eq 0 "
        f"and ({waiting} or {schema.INVOICE_EXPORT_STATUS} eq null) "
        f"and datedelivered le {today.isoformat()} and datedelivered ge {(today - timedelta(days=1)).isoformat()}"
    )


@dataclass(frozen=True)
class ReconcileWindow:
    since: datetime  # look at changes from here (checkpoint minus overlap)
    until: datetime  # the pass's start: the next checkpoint when the pass succeeds
    first_pass: bool = field(default=False)


def reconcile_window(
    checkpoint: datetime | None, now: datetime, *, interval_seconds: int, overlap_seconds: int
) -> ReconcileWindow:
    """From the last checkpoint less the overlap (clocks and late commits), to now. Without a checkpoint the
    first pass looks back one period plus the overlap."""
    if checkpoint is None:
        return ReconcileWindow(now - timedelta(seconds=interval_seconds + overlap_seconds), now, first_pass=True)
    return ReconcileWindow(min(checkpoint, now) - timedelta(seconds=overlap_seconds), now)
