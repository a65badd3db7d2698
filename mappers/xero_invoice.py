"""What a Dynamics invoice should look like in Xero: the xero-python model to send, or why nothing is sent.

    plan = build_document(
        invoice, connection,
        contact_id=...,                       # the Xero ContactID (stored, matched or just created)
        org_url="https://contoso.crm.dynamics.com",
        known_item_codes={"WIDGET-001"},      # item codes that exist in Xero
        account_tax_types={"200": "OUTPUT2"}, # Xero account code -> its default TaxType
        existing=xero_document_or_None,       # GET by the stored Xero id (full document, with lines)
    )
    match plan:
        case SendDocument(document=doc): key = idempotency_key(doc)
            # Invoice  -> accounting_api.create_invoices / update_invoice(..., unitdp=4, idempotency_key=key)
            # CreditNote -> create_credit_notes / update_credit_note(..., unitdp=4, idempotency_key=key)
        case NoChange(reason=text): ...       # history row with `text`; Xero untouched

Rules (the seed guides'): sales invoice -> ACCREC, purchase invoice -> ACCPAY, sales credit note ->
ACCRECCREDIT, purchase credit note -> ACCPAYCREDIT (the last two are CreditNote models).
- Number: with Xero numbering off the Dynamics invoice number is the Xero number; with it on, Xero numbers
  sales documents, and bills (which Xero never numbers) carry the invoice name as their reference number.
- Reference (sales documents only; Xero keeps a bill's reference in its number): the invoice name.
- Date: the delivery date; DueDate (invoices only); LineAmountTypes: the invoice's, else the connection
  default; BrandingThemeID; Status: the connection's default; Url back to the Dynamics record; CurrencyCode.
- Lines, see `_line_item`: text, quantity, unit amount, discount (`mappers.line_pricing`), account code (line
  override, else the connection default for the document type), tax type (line override, else the account's
  default), tracking (at most two), ItemCode for existing products whose item exists or may be created.
  A write-in with quantity 0 and price 0 is a description-only note line. Bundles: the bundle line alone, or
  its components, per the connection setting (a line Dynamics counts money on is always sent). Each line
  comes to Dynamics' own net amount (`mappers.line_pricing`); on a tax-inclusive invoice to net + tax.
- The invoice discount and freight become lines after the invoice's own (`mappers.invoice_money`); their
  positions are in `SendDocument.discount_shares` / `freight_position` for the tax written back.
- Update while unpaid: the whole document follows Dynamics, existing LineItemIDs sent back
  (`mappers.line_matching`), status only ever moves forward. Once money is allocated: only Reference,
  DueDate, number, BrandingThemeID, Url and line Description/AccountCode/Tracking; other differences are
  listed in `SendDocument.notes`. Voided or deleted in Xero: `NoChange`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from xero_python.accounting import Contact, CreditNote, CurrencyCode, Item, LineItem, LineItemTracking
from xero_python.accounting import Invoice as XeroInvoice
from xero_python.accounting import LineAmountTypes as XeroLineAmountTypes
from xero_python.api_client.serializer import serialize

from app.dynamics_schema import BundleHandling, DefaultInvoiceStatus, LineAmountTypes, RoundingMode, SyncAction
from app.errors import Permanent
from mappers import xero_documents as docs
from mappers.dynamics import ConnectionSettings, Invoice, InvoiceLine, XeroDocumentType
from mappers.invoice_money import DiscountShare, SentLine, discount_lines, freight_line
from mappers.line_matching import pair_lines
from mappers.line_pricing import UNIT_DECIMAL_PLACES, price_line
from mappers.xero_documents import XeroDocument

__all__ = [
    "UNIT_DECIMAL_PLACES",
    "NoChange",
    "Plan",
    "SendDocument",
    "build_document",
    "dynamics_record_url",
    "idempotency_key",
    "items_to_create",
]

MAX_TRACKING = 2
MAX_ITEM_CODE = 30
MAX_ITEM_NAME = 50

_LINE_AMOUNT_TYPES = {
    LineAmountTypes.EXCLUSIVE: XeroLineAmountTypes.EXCLUSIVE,
    LineAmountTypes.INCLUSIVE: XeroLineAmountTypes.INCLUSIVE,
    LineAmountTypes.NO_TAX: XeroLineAmountTypes.NOTAX,
}
_STATUS = {
    DefaultInvoiceStatus.DRAFT: docs.DRAFT,
    DefaultInvoiceStatus.SUBMITTED: docs.SUBMITTED,
    DefaultInvoiceStatus.AUTHORISED: docs.AUTHORISED,
}
_DOCUMENT_WORDS = {
    XeroDocumentType.ACCREC: "sales invoice",
    XeroDocumentType.ACCPAY: "bill",
    XeroDocumentType.ACCRECCREDIT: "sales credit note",
    XeroDocumentType.ACCPAYCREDIT: "supplier credit note",
}


@dataclass(frozen=True)
class SendDocument:
    """Create or update `document` in Xero.

    `line_ids[i]` is the Dynamics invoicedetail id behind the i-th line sent (None for a Xero line kept as
    it was); Xero answers with lines in the order sent, so the answer's lines pair with it by position.
    `notes` list, in a finance user's words, what Dynamics asked for that Xero no longer allows.
    """

    action: SyncAction
    document: XeroDocument
    line_ids: tuple[str | None, ...]
    restricted: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Positions (in the lines sent) of the invoice-discount lines and the Dynamics lines each one covers,
    # and of the freight line: the tax Xero puts on them goes back to Dynamics through `mappers.totals`.
    discount_shares: tuple[tuple[int, DiscountShare], ...] = ()
    freight_position: int | None = None

    @property
    def is_credit_note(self) -> bool:
        return isinstance(self.document, CreditNote)


@dataclass(frozen=True)
class NoChange:
    """Nothing is sent; `reason` says why (for the sync history)."""

    reason: str
    xero_status: str


Plan = SendDocument | NoChange


# ---------------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------------


def build_document(
    invoice: Invoice,
    connection: ConnectionSettings,
    *,
    contact_id: str,
    org_url: str,
    known_item_codes: Collection[str] = frozenset(),
    account_tax_types: Mapping[str, str] | None = None,
    existing: XeroDocument | None = None,
) -> Plan:
    document_type = invoice.xero_type
    if existing is not None:
        if docs.is_gone(existing):
            return _no_change_for_gone(existing)
        existing_type = docs.document_type(existing)
        if existing_type is not None and existing_type is not document_type:
            raise Permanent(
                f"type changed from {existing_type} to {document_type}",
                user_message=(
                    f"This invoice is a {_DOCUMENT_WORDS[existing_type]} in Xero and Xero cannot change a "
                    f"document's type. Set the invoice type back to match, or cancel this invoice and create "
                    f"a new one as a {_DOCUMENT_WORDS[document_type]}."
                ),
            )

    inclusive = is_inclusive(invoice, connection)
    sent = [
        SentLine(
            line.id,
            _line_item(line, document_type, connection, known_item_codes, account_tax_types or {}, inclusive),
            line_target(line, inclusive),
        )
        for line in _lines_to_send(invoice, connection)
    ]
    pairs: list[tuple[str | None, LineItem]] = [(line.line_id, line.item) for line in sent]
    shares: list[tuple[int, DiscountShare]] = []
    for item, share in discount_lines(invoice, sent):
        shares.append((len(pairs), share))
        pairs.append((None, item))
    freight = freight_line(invoice, connection, document_type)
    freight_position = None
    if freight is not None:
        freight_position = len(pairs)
        pairs.append((None, freight))
    money = {"discount_shares": tuple(shares), "freight_position": freight_position}
    header = _Header.of(invoice, connection, document_type, org_url)
    if existing is not None and docs.is_settled(existing):
        return replace(_restricted_update(header, existing, pairs), **money)

    status = _status(connection, existing)
    _check_approvable(invoice, document_type, status, [item for _, item in pairs])
    if existing is None:
        document = header.document(contact_id, status, [item for _, item in pairs])
        return SendDocument(SyncAction.CREATE, document, tuple(line_id for line_id, _ in pairs), **money)
    return replace(_full_update(header, existing, contact_id, status, pairs), **money)


def dynamics_record_url(org_url: str, invoice_id: str) -> str:
    """The link Xero shows back to the Dynamics invoice (the classic record URL every org answers)."""
    return f"{org_url.rstrip('/')}/main.aspx?etn=invoice&id={invoice_id}&pagetype=entityrecord"


def idempotency_key(document: XeroDocument | Sequence[XeroDocument], scope: str = "") -> str:
    """A key derived from exactly what is written: the SHA-256 of the serialised body (sorted keys).

    Takes one document, or the list sent in one batched call (the key then covers the whole batch).
    Stable across processes and machines, 67 characters (Xero allows 128). Xero replays the first answer
    for a repeated key for a few minutes, so a body that goes A -> B -> A within that time would replay A's
    first answer without writing: pass something that changes with each Dynamics edit (the row version) as
    `scope` when that matters.
    """
    documents = [document] if isinstance(document, XeroInvoice | CreditNote) else list(document)
    body = {
        "models": [type(one).__name__ for one in documents],
        "body": [serialize(one) for one in documents],
        "scope": scope,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "xc-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def items_to_create(invoice: Invoice, connection: ConnectionSettings, known_item_codes: Collection[str]) -> list[Item]:
    """Xero items to create before sending, when the connection allows it: one per unknown product code."""
    if not connection.create_items:
        return []
    wanted: dict[str, Item] = {}
    for line in _lines_to_send(invoice, connection):
        code = line.item_code
        if line.is_note or not code or code in known_item_codes or code in wanted or len(code) > MAX_ITEM_CODE:
            continue
        name = (line.product_name or code)[:MAX_ITEM_NAME]
        wanted[code] = Item(code=code, name=name, description=line.description or name)
    return list(wanted.values())


# ---------------------------------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------------------------------


def _lines_to_send(invoice: Invoice, connection: ConnectionSettings) -> list[InvoiceLine]:
    """Bundles per the setting: the bundle line alone (its components dropped) or its components instead.

    A line Dynamics counts money on is never dropped, whatever the setting, so Xero's total stays Dynamics'
    total: a priced component stays beside its bundle line, a priced bundle line beside its components."""
    if connection.bundle_handling is BundleHandling.HEADER_ONLY:
        return [line for line in invoice.lines if not line.is_bundle_component or _carries_money(line)]
    components = [line for line in invoice.lines if line.is_bundle_component]
    parents = {line.parent_bundle_id for line in components if line.parent_bundle_id}

    def replaced(bundle: InvoiceLine) -> bool:
        # Without parent ids (older reads) any component present means the bundles were expanded.
        return bundle.id in parents if parents else bool(components)

    return [line for line in invoice.lines if not (line.is_bundle and replaced(line) and not _carries_money(line))]


def _carries_money(line: InvoiceLine) -> bool:
    return bool(line.net_amount)


def _line_item(
    line: InvoiceLine,
    document_type: XeroDocumentType,
    connection: ConnectionSettings,
    known_item_codes: Collection[str],
    account_tax_types: Mapping[str, str],
    inclusive: bool = False,
) -> LineItem:
    text = line.text_for_xero or None
    if line.is_note:
        return LineItem(description=text)
    account_code = line.account_code or connection.default_account_code(document_type)
    tax_type = line.tax_type or (account_tax_types.get(account_code) if account_code else None)
    target = line_target(line, inclusive)
    priced = price_line(
        line.quantity,
        line.price_per_unit,
        line.quantity * line.price_per_unit - target,  # every discount (manual, volume) as one amount
        discount_rate_allowed=document_type is XeroDocumentType.ACCREC,
        target=target,
        keep_quantity=connection.rounding_mode is RoundingMode.ROUNDING_LINE,
    )
    code = line.item_code
    item_code = code if code and (code in known_item_codes or connection.create_items) else None
    tracking = [LineItemTracking(name=c.category, option=c.option) for c in line.tracking[:MAX_TRACKING]]
    return LineItem(
        description=text,
        quantity=priced.quantity,
        unit_amount=priced.unit_amount,
        discount_rate=priced.discount_rate,
        item_code=item_code,
        account_code=account_code,
        tax_type=tax_type,
        tracking=tracking or None,
    )


def is_inclusive(invoice: Invoice, connection: ConnectionSettings) -> bool:
    return (invoice.line_amount_types or connection.default_line_amount_types) is LineAmountTypes.INCLUSIVE


def line_target(line: InvoiceLine, inclusive: bool) -> Decimal:
    """The amount Xero's line must come to: Dynamics' net amount, or on a tax-inclusive document the net
    amount plus the line's tax (after the first sync Dynamics holds the line without its tax, see
    `mappers.inclusive`; before it, the tax is 0 and the price holds it)."""
    return line.net_amount + line.tax if inclusive else line.net_amount


def _is_priced(item: LineItem) -> bool:
    return item.quantity is not None or item.unit_amount is not None


# ---------------------------------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    document_type: XeroDocumentType
    number: str | None
    reference: str | None
    date: date | None
    due_date: date | None
    line_amount_types: XeroLineAmountTypes
    branding_theme_id: str | None
    url: str
    currency: CurrencyCode | None

    @classmethod
    def of(
        cls, invoice: Invoice, connection: ConnectionSettings, document_type: XeroDocumentType, org_url: str
    ) -> _Header:
        sales = document_type.is_sales
        number = _number(invoice, connection, sales)
        amount_types = invoice.line_amount_types or connection.default_line_amount_types
        return cls(
            document_type=document_type,
            number=number,
            reference=invoice.name if sales else None,
            date=invoice.date_delivered,
            due_date=invoice.due_date if not document_type.is_credit_note else None,
            line_amount_types=_LINE_AMOUNT_TYPES[amount_types],
            branding_theme_id=invoice.branding_theme_xero_id,
            url=dynamics_record_url(org_url, invoice.id),
            currency=_currency(invoice.currency_code),
        )

    def document(
        self, contact_id: str | None, status: str | None, lines: Sequence[LineItem], document_id: str | None = None
    ) -> XeroDocument:
        common = {
            "type": self.document_type.value,
            "contact": Contact(contact_id=contact_id) if contact_id else None,
            "line_items": list(lines),
            "date": self.date,
            "line_amount_types": self.line_amount_types,
            "reference": self.reference,
            "branding_theme_id": self.branding_theme_id,
            "currency_code": self.currency,
            "status": status,
        }
        if self.document_type.is_credit_note:
            return CreditNote(**common, credit_note_number=self.number, credit_note_id=document_id)
        return XeroInvoice(
            **common, invoice_number=self.number, due_date=self.due_date, url=self.url, invoice_id=document_id
        )

    def restricted_document(self, document_id: str, lines: Sequence[LineItem]) -> XeroDocument:
        """Only what Xero still accepts on a document with money allocated."""
        if self.document_type.is_credit_note:
            return CreditNote(
                credit_note_id=document_id,
                reference=self.reference,
                credit_note_number=self.number,
                branding_theme_id=self.branding_theme_id,
                line_items=list(lines),
            )
        return XeroInvoice(
            invoice_id=document_id,
            reference=self.reference,
            due_date=self.due_date,
            invoice_number=self.number,
            branding_theme_id=self.branding_theme_id,
            url=self.url,
            line_items=list(lines),
        )


def _number(invoice: Invoice, connection: ConnectionSettings, sales: bool) -> str | None:
    if not connection.use_xero_numbering:
        return invoice.number
    return None if sales else invoice.name  # Xero numbers sales documents only


def _currency(code: str | None) -> CurrencyCode | None:
    if code is None:
        return None
    try:
        return CurrencyCode(code.upper())
    except ValueError:
        raise Permanent(
            f"unknown currency code {code!r}",
            user_message=f"Xero does not know the currency '{code}'. Use a price list in a currency Xero supports.",
        ) from None


def _status(connection: ConnectionSettings, existing: XeroDocument | None) -> str:
    """The default status for a new document; on an update, never a step back from where Xero already is."""
    wanted = _STATUS[connection.default_invoice_status]
    if existing is None:
        return wanted
    current = docs.status_of(existing)
    if docs.STATUS_RANK.get(current, -1) > docs.STATUS_RANK[wanted]:
        return current
    return wanted


def _check_approvable(
    invoice: Invoice, document_type: XeroDocumentType, status: str, lines: Sequence[LineItem]
) -> None:
    """Say early, in plain words, what Xero would refuse for a submitted or approved document."""
    if status == docs.DRAFT:
        return
    if not document_type.is_credit_note and invoice.due_date is None:
        raise Permanent(
            "due date missing for a non-draft invoice",
            user_message="The invoice has no due date. Xero needs one to submit or approve an invoice: set the "
            "due date and try again.",
        )
    missing = [
        str(item.description or "(no description)") for item in lines if _is_priced(item) and not item.account_code
    ]
    if missing:
        raise Permanent(
            "account code missing",
            user_message=(
                "These lines have no account code and the Xero connection has no default account code for this "
                f"type of invoice: {', '.join(missing)}. Choose an account code on the lines or set the default "
                "on the connection."
            ),
        )


# ---------------------------------------------------------------------------------------------------
# Updates
# ---------------------------------------------------------------------------------------------------


def _no_change_for_gone(existing: XeroDocument) -> NoChange:
    status = docs.status_of(existing)
    state = "voided" if status == docs.VOIDED else "deleted"
    return NoChange(
        reason=(
            f"Nothing was changed in Xero: the invoice was {state} there, and a {state} invoice cannot be edited. "
            "Create a new invoice in Dynamics if it should be sent again."
        ),
        xero_status=status,
    )


def _full_update(
    header: _Header,
    existing: XeroDocument,
    contact_id: str,
    status: str,
    pairs: Sequence[tuple[str | None, LineItem]],
) -> SendDocument:
    wanted = [item for _, item in pairs]
    old = list(existing.line_items or ())
    pairing = pair_lines(wanted, old)
    for item, index in zip(wanted, pairing.existing_for, strict=True):
        if index is not None:
            item.line_item_id = old[index].line_item_id
    document = header.document(contact_id, status, wanted, docs.document_id(existing))
    return SendDocument(SyncAction.UPDATE, document, tuple(line_id for line_id, _ in pairs))


def _restricted_update(
    header: _Header, existing: XeroDocument, pairs: Sequence[tuple[str | None, LineItem]]
) -> SendDocument:
    wanted = [item for _, item in pairs]
    old = list(existing.line_items or ())
    pairing = pair_lines(wanted, old)
    owner: dict[int, int] = {index: pos for pos, index in enumerate(pairing.existing_for) if index is not None}
    lines: list[LineItem] = []
    line_ids: list[str | None] = []
    money_changed = False
    for index, current in enumerate(old):
        position = owner.get(index)
        wanted_item = wanted[position] if position is not None else None
        lines.append(_keep_amounts(current, wanted_item))
        line_ids.append(pairs[position][0] if position is not None else None)
        if wanted_item is not None and _amounts_differ(current, wanted_item):
            money_changed = True

    notes = []
    added = [
        wanted[pos].description or "(no description)" for pos, idx in enumerate(pairing.existing_for) if idx is None
    ]
    if added:
        notes.append(f"New lines were not added: {', '.join(added)}.")
    if pairing.unpaired_existing:
        notes.append("Lines removed in Dynamics were kept in Xero.")
    if money_changed:
        notes.append("Changes to quantities, prices, discounts or tax were not sent.")
    if notes:
        notes.insert(
            0,
            "The invoice has payments or credits in Xero, so only the reference, due date, number, "
            "branding theme and line descriptions, account codes and tracking were updated.",
        )
    document = header.restricted_document(str(docs.document_id(existing)), lines)
    return SendDocument(SyncAction.UPDATE, document, tuple(line_ids), restricted=True, notes=tuple(notes))


def _keep_amounts(current: LineItem, wanted: LineItem | None) -> LineItem:
    """A Xero line as it is, with the fields Xero still allows taken from Dynamics when a line was paired."""
    source = wanted or current
    return LineItem(
        line_item_id=current.line_item_id,
        description=source.description,
        account_code=source.account_code if _is_priced(current) else None,
        tracking=_tracking_copy(source.tracking),
        quantity=current.quantity,
        unit_amount=current.unit_amount,
        item_code=current.item_code,
        tax_type=current.tax_type,
        discount_rate=current.discount_rate,
    )


def _tracking_copy(tracking: Sequence[LineItemTracking] | None) -> list[LineItemTracking] | None:
    if not tracking:
        return None
    return [LineItemTracking(name=t.name, option=t.option) for t in tracking]


def _amounts_differ(current: LineItem, wanted: LineItem) -> bool:
    def same(a: object, b: object) -> bool:
        return docs.money(a) == docs.money(b)

    return not (
        same(current.quantity, wanted.quantity)
        and same(current.unit_amount, wanted.unit_amount)
        and same(current.discount_rate, wanted.discount_rate)
        and (wanted.tax_type is None or current.tax_type == wanted.tax_type)
    )
