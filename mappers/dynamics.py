"""Typed, immutable views of the Dynamics rows a sync needs, read from Web API JSON.

Every class has a `from_row` constructor taking the row exactly as the Web API returns it (with
`Prefer: odata.include-annotations="*"`) and the `$select`/`$expand` given by the matching `*_query()`
function below, so the handler and these readers can never disagree about which columns are fetched:

    connection = ConnectionSettings.from_row(get("xc_connections(<id>)", connection_query()))
    rows = get("invoicedetails", invoice_lines_query(invoice_id))["value"]
    invoice = Invoice.from_row(get("invoices(<id>)", invoice_query()), rows, time_zone=connection.zone)
    customer = Customer.from_row(get(f"{invoice.customer.entity_set}(<id>)", customer_query(kind)))

All amounts are `Decimal`. Missing optional columns read as None (or the schema's default), so a row read
with fewer columns never raises; what is *required* for a sync is judged by `mappers.eligibility`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo

from app import dynamics_schema as schema
from app.dynamics_schema import (
    BundleHandling,
    ConnectionStatus,
    DefaultInvoiceStatus,
    ExportStatus,
    InvoiceType,
    LineAmountTypes,
    RoundingMode,
)
from mappers import rows
from mappers.rounding import dynamics_round
from mappers.rows import Row

ZERO = Decimal("0")
DEFAULT_ROUNDING_TOLERANCE = Decimal("0.05")

# Navigation properties used in `$expand` (our lookups navigate by their SchemaName).
_INVOICE_BRANDING_NAV = schema.lookup("invoice", schema.INVOICE_BRANDING_THEME).navigation_property
_LINE_ACCOUNT_CODE_NAV = schema.lookup("invoicedetail", schema.INVOICE_LINE_ACCOUNT_CODE).navigation_property
_LINE_TAX_RATE_NAV = schema.lookup("invoicedetail", schema.INVOICE_LINE_TAX_RATE).navigation_property
_LINE_TRACKING_NAVS = (
    schema.lookup("invoicedetail", schema.INVOICE_LINE_TRACKING_OPTION_1).navigation_property,
    schema.lookup("invoicedetail", schema.INVOICE_LINE_TRACKING_OPTION_2).navigation_property,
)
_TRACKING_CATEGORY_KEY = rows.lookup_key(schema.TRACKING_OPTION_CATEGORY)
# Dataverse's own line-to-bundle reference (a lookup on real orgs; some older orgs only expose the guid).
_PARENT_BUNDLE_LOOKUP = "parentbundleidref"
_PARENT_BUNDLE_GUID = "parentbundleid"


class CustomerKind(StrEnum):
    """The two tables an invoice's polymorphic customer can point at."""

    ACCOUNT = "account"
    CONTACT = "contact"

    @property
    def entity_set(self) -> str:
        return schema.entity_set_name(self.value)

    @property
    def primary_id(self) -> str:
        return f"{self.value}id"


class InvoiceState(IntEnum):
    """The invoice's statecode (Dynamics' own values)."""

    ACTIVE = 0
    CLOSED = 1  # deprecated by Dynamics, still readable on old rows
    PAID = 2
    CANCELED = 3


class ProductType(IntEnum):
    """The invoice line's producttypecode (Dynamics' own values)."""

    PRODUCT = 1
    BUNDLE = 2
    REQUIRED_BUNDLE_PRODUCT = 3
    OPTIONAL_BUNDLE_PRODUCT = 4
    PROJECT_SERVICE = 5


class XeroDocumentType(StrEnum):
    """Xero's document types; invoices and bills are Invoices, the credit types are CreditNotes."""

    ACCREC = "ACCREC"
    ACCPAY = "ACCPAY"
    ACCRECCREDIT = "ACCRECCREDIT"
    ACCPAYCREDIT = "ACCPAYCREDIT"

    @property
    def is_sales(self) -> bool:
        return self in (XeroDocumentType.ACCREC, XeroDocumentType.ACCRECCREDIT)

    @property
    def is_credit_note(self) -> bool:
        return self in (XeroDocumentType.ACCRECCREDIT, XeroDocumentType.ACCPAYCREDIT)

    @property
    def credit_type(self) -> XeroDocumentType:
        """The credit note type that reverses this document type."""
        return XeroDocumentType.ACCRECCREDIT if self.is_sales else XeroDocumentType.ACCPAYCREDIT


XERO_TYPE_BY_INVOICE_TYPE: Mapping[InvoiceType, XeroDocumentType] = {
    InvoiceType.SALES_INVOICE: XeroDocumentType.ACCREC,
    InvoiceType.PURCHASE_INVOICE: XeroDocumentType.ACCPAY,
    InvoiceType.SALES_CREDIT_NOTE: XeroDocumentType.ACCRECCREDIT,
    InvoiceType.PURCHASE_CREDIT_NOTE: XeroDocumentType.ACCPAYCREDIT,
}


# ---------------------------------------------------------------------------------------------------
# The connection
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSettings:
    """One Xero organisation and the sync settings users chose for it (an `xc_connection` row)."""

    id: str
    name: str | None
    xero_tenant_id: str | None
    xero_tenant_name: str | None
    xero_short_code: str | None
    is_default: bool
    use_xero_numbering: bool
    create_contacts: bool
    create_items: bool
    default_invoice_status: DefaultInvoiceStatus
    default_sales_account_code: str | None
    default_purchase_account_code: str | None
    create_credit_note: bool
    time_zone: str
    bundle_handling: BundleHandling
    default_line_amount_types: LineAmountTypes
    status: ConnectionStatus
    # Tax defaults for lines that name no tax rate, and the organisation's lock date (copied from Xero).
    default_sales_tax_type: str | None = None
    default_purchase_tax_type: str | None = None
    period_lock_date: date | None = None
    freight_account_code: str | None = None
    freight_tax_type: str | None = None
    rounding_mode: RoundingMode = RoundingMode.REPORT
    rounding_account_code: str | None = None
    rounding_tolerance: Decimal = DEFAULT_ROUNDING_TOLERANCE

    @classmethod
    def from_row(cls, row: Row) -> ConnectionSettings:
        zone_name = rows.text(row, schema.CONNECTION_TIME_ZONE)
        return cls(
            id=_required_id(row, schema.CONNECTION_ID),
            name=rows.text(row, schema.CONNECTION_NAME),
            xero_tenant_id=rows.text(row, schema.CONNECTION_XERO_TENANT_ID),
            xero_tenant_name=rows.text(row, schema.CONNECTION_XERO_TENANT_NAME),
            xero_short_code=rows.text(row, schema.CONNECTION_XERO_SHORT_CODE),
            is_default=rows.flag(row, schema.CONNECTION_IS_DEFAULT),
            use_xero_numbering=rows.flag(row, schema.CONNECTION_USE_XERO_INVOICE_NUMBER),
            create_contacts=rows.flag(row, schema.CONNECTION_CREATE_CONTACTS, default=True),
            create_items=rows.flag(row, schema.CONNECTION_CREATE_ITEMS),
            default_invoice_status=rows.choice(
                row, schema.CONNECTION_DEFAULT_INVOICE_STATUS, DefaultInvoiceStatus, DefaultInvoiceStatus.DRAFT
            )
            or DefaultInvoiceStatus.DRAFT,
            default_sales_account_code=rows.text(row, schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE),
            default_purchase_account_code=rows.text(row, schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE),
            create_credit_note=rows.flag(row, schema.CONNECTION_CREATE_CREDIT_NOTE),
            # An unknown zone name falls back to UTC instead of blocking every invoice of the organisation.
            time_zone=str(rows.zone_or_utc(zone_name)),
            bundle_handling=rows.choice(
                row, schema.CONNECTION_BUNDLE_HANDLING, BundleHandling, BundleHandling.HEADER_ONLY
            )
            or BundleHandling.HEADER_ONLY,
            default_line_amount_types=rows.choice(
                row, schema.CONNECTION_DEFAULT_LINE_AMOUNT_TYPES, LineAmountTypes, LineAmountTypes.EXCLUSIVE
            )
            or LineAmountTypes.EXCLUSIVE,
            status=rows.choice(row, schema.CONNECTION_STATUS, ConnectionStatus, ConnectionStatus.DISCONNECTED)
            or ConnectionStatus.DISCONNECTED,
            default_sales_tax_type=rows.text(row, schema.CONNECTION_DEFAULT_SALES_TAX_TYPE),
            default_purchase_tax_type=rows.text(row, schema.CONNECTION_DEFAULT_PURCHASE_TAX_TYPE),
            period_lock_date=_date_only(row, schema.CONNECTION_PERIOD_LOCK_DATE),
            freight_account_code=rows.text(row, schema.CONNECTION_FREIGHT_ACCOUNT_CODE),
            freight_tax_type=rows.text(row, schema.CONNECTION_FREIGHT_TAX_TYPE),
            rounding_mode=rows.choice(row, schema.CONNECTION_ROUNDING_MODE, RoundingMode, RoundingMode.REPORT)
            or RoundingMode.REPORT,
            rounding_account_code=rows.text(row, schema.CONNECTION_ROUNDING_ACCOUNT_CODE),
            rounding_tolerance=_tolerance(rows.decimal(row, schema.CONNECTION_ROUNDING_TOLERANCE)),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def default_account_code(self, document_type: XeroDocumentType) -> str | None:
        """Sales documents use the default sales account, bills and supplier credits the purchase one."""
        return self.default_sales_account_code if document_type.is_sales else self.default_purchase_account_code


def _tolerance(value: Decimal | None) -> Decimal:
    """An empty or negative tolerance means the default: a rounding line never absorbs more than a few cents."""
    return value if value is not None and value >= 0 else DEFAULT_ROUNDING_TOLERANCE


# ---------------------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    """The invoice's customer lookup: which table, which row, and its display name."""

    kind: CustomerKind
    id: str
    name: str | None


@dataclass(frozen=True)
class Customer:
    """An account or contact row, as far as a Xero contact is concerned."""

    kind: CustomerKind
    id: str
    name: str
    email: str | None
    account_number: str | None
    xero_contact_id: str | None
    first_name: str | None = None
    last_name: str | None = None

    @classmethod
    def from_row(cls, row: Row, kind: CustomerKind | None = None) -> Customer:
        """`kind` may be left out: a row read from `accounts` carries `accountid`, one from `contacts` `contactid`."""
        kind = kind or (CustomerKind.ACCOUNT if row.get("accountid") else CustomerKind.CONTACT)
        first, last = rows.text(row, "firstname"), rows.text(row, "lastname")
        if kind is CustomerKind.ACCOUNT:
            name = rows.text(row, "name")
        else:
            name = rows.text(row, "fullname") or " ".join(part for part in (first, last) if part) or None
        return cls(
            kind=kind,
            id=_required_id(row, kind.primary_id),
            name=name or "",
            email=rows.text(row, "emailaddress1"),
            account_number=rows.text(row, "accountnumber"),
            xero_contact_id=rows.text(row, schema.CUSTOMER_XERO_CONTACT_ID),
            first_name=first if kind is CustomerKind.CONTACT else None,
            last_name=last if kind is CustomerKind.CONTACT else None,
        )

    @property
    def ref(self) -> CustomerRef:
        return CustomerRef(self.kind, self.id, self.name)


# ---------------------------------------------------------------------------------------------------
# Invoice lines
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackingChoice:
    """One Xero tracking category and the option chosen on a line, by name (as Xero accepts them)."""

    category: str
    option: str


@dataclass(frozen=True)
class InvoiceLine:
    """An invoicedetail row with its product and the connector's reference lookups resolved."""

    id: str
    line_number: int | None
    sequence_number: int | None
    product_id: str | None
    product_number: str | None
    product_name: str | None
    product_structure: int | None
    xero_item_code: str | None
    is_write_in: bool
    write_in_text: str | None
    description: str | None
    quantity: Decimal
    price_per_unit: Decimal
    manual_discount: Decimal
    tax: Decimal
    product_type: ProductType | None
    parent_bundle_id: str | None
    account_code: str | None
    tax_type: str | None
    tracking: tuple[TrackingChoice, ...]
    volume_discount: Decimal = ZERO  # the price list's volume discount per unit (Dynamics calculates it)
    base_amount: Decimal | None = None  # Dynamics' quantity x (price - volume discount), rounded

    @classmethod
    def from_row(cls, row: Row) -> InvoiceLine:
        product = rows.expanded(row, "productid") or {}
        account = rows.expanded(row, _LINE_ACCOUNT_CODE_NAV) or {}
        tax_rate = rows.expanded(row, _LINE_TAX_RATE_NAV) or {}
        product_id = rows.lookup_id(row, "productid")
        write_in = rows.flag(row, "isproductoverridden", default=product_id is None)
        return cls(
            id=_required_id(row, "invoicedetailid"),
            line_number=rows.integer(row, "lineitemnumber"),
            sequence_number=rows.integer(row, "sequencenumber"),
            product_id=product_id,
            product_number=rows.text(product, "productnumber"),
            product_name=rows.text(product, "name") or rows.lookup_name(row, "productid"),
            product_structure=rows.integer(product, "productstructure"),
            xero_item_code=rows.text(product, schema.PRODUCT_XERO_ITEM_CODE),
            is_write_in=write_in,
            write_in_text=rows.text(row, "productdescription"),
            description=rows.text(row, "description"),
            quantity=rows.decimal(row, "quantity") or ZERO,
            price_per_unit=rows.decimal(row, "priceperunit") or ZERO,
            manual_discount=rows.decimal(row, "manualdiscountamount") or ZERO,
            tax=rows.decimal(row, "tax") or ZERO,
            product_type=rows.choice(row, "producttypecode", ProductType),
            parent_bundle_id=rows.lookup_id(row, _PARENT_BUNDLE_LOOKUP) or rows.text(row, _PARENT_BUNDLE_GUID),
            account_code=rows.text(account, schema.ACCOUNT_CODE_CODE),
            tax_type=rows.text(tax_rate, schema.TAX_RATE_TAX_TYPE),
            tracking=tuple(_tracking_choices(row)),
            volume_discount=rows.decimal(row, "volumediscountamount") or ZERO,
            base_amount=rows.decimal(row, "baseamount"),
        )

    @property
    def item_code(self) -> str | None:
        """The Xero item code of an existing product: the one stored on the product, else its number."""
        if self.is_write_in:
            return None
        return self.xero_item_code or self.product_number

    @property
    def is_bundle(self) -> bool:
        return self.product_type is ProductType.BUNDLE

    @property
    def is_bundle_component(self) -> bool:
        return self.parent_bundle_id is not None or self.product_type in (
            ProductType.REQUIRED_BUNDLE_PRODUCT,
            ProductType.OPTIONAL_BUNDLE_PRODUCT,
        )

    @property
    def is_note(self) -> bool:
        """A write-in with nothing to charge is a comment line: Xero shows it as a description only."""
        return self.is_write_in and self.quantity == 0 and self.price_per_unit == 0

    @property
    def text_for_xero(self) -> str:
        """What the Xero line says: the product (or write-in) name, then the line's own description."""
        title = self.write_in_text if self.is_write_in else (self.product_name or self.product_number)
        parts = [part for part in (title, self.description) if part]
        if len(parts) == 2 and parts[0] == parts[1]:
            parts = parts[:1]
        return "\n".join(parts)

    @property
    def net_amount(self) -> Decimal:
        """The line's amount before tax, as Dynamics computes it: its `baseamount` (quantity x (price less the
        price list's volume discount per unit), rounded to the currency's precision: Microsoft's column
        reference) less the manual discount. Computed the same way when the row was read without it."""
        if self.base_amount is not None:
            base = self.base_amount
        else:
            base = dynamics_round(self.quantity * (self.price_per_unit - self.volume_discount))
        return base - self.manual_discount


def _tracking_choices(row: Row) -> Iterable[TrackingChoice]:
    for navigation in _LINE_TRACKING_NAVS:
        option = rows.expanded(row, navigation)
        if not option:
            continue
        option_name = rows.text(option, schema.REFERENCE_NAME)
        category_name = rows.text(option, _TRACKING_CATEGORY_KEY + rows.FORMATTED)
        if option_name and category_name:
            yield TrackingChoice(category=category_name, option=option_name)


def _line_order(line: InvoiceLine, position: int) -> tuple[int, int, int]:
    """Dynamics shows lines by sequence number, then line number; the read order breaks ties."""
    big = 2**31
    return (
        line.sequence_number if line.sequence_number is not None else big,
        line.line_number if line.line_number is not None else big,
        position,
    )


# ---------------------------------------------------------------------------------------------------
# Invoices
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invoice:
    """An invoice row with its lines, in the order Dynamics shows them."""

    id: str
    number: str | None
    name: str | None
    customer: CustomerRef | None
    currency_code: str | None
    price_list_id: str | None
    date_delivered: date | None
    due_date: date | None
    state: InvoiceState
    status_reason: int | None
    invoice_type: InvoiceType
    export_status: ExportStatus
    xero_invoice_id: str | None
    xero_number: str | None
    xero_status: str | None
    connection_id: str | None
    line_amount_types: LineAmountTypes | None
    branding_theme_xero_id: str | None
    total_amount: Decimal | None
    lines: tuple[InvoiceLine, ...]
    discount_amount: Decimal = ZERO
    discount_percentage: Decimal = ZERO
    freight_amount: Decimal = ZERO
    total_amount_less_freight: Decimal | None = None
    total_discount_amount: Decimal | None = None
    total_tax: Decimal | None = None

    @classmethod
    def from_row(
        cls,
        row: Row,
        line_rows: Sequence[Row] | None = None,
        *,
        time_zone: ZoneInfo | str = "UTC",
    ) -> Invoice:
        """`line_rows` default to an expanded `invoice_details` collection; `time_zone` is the connection's,
        needed to read "user local" dates as the day the user picked."""
        zone = time_zone if isinstance(time_zone, ZoneInfo) else rows.zone_or_utc(time_zone)
        raw_lines = line_rows if line_rows is not None else row.get("invoice_details") or ()
        lines = [InvoiceLine.from_row(line) for line in raw_lines]
        ordered = [line for _, line in sorted(enumerate(lines), key=lambda pair: _line_order(pair[1], pair[0]))]
        currency = rows.expanded(row, "transactioncurrencyid") or {}
        theme = rows.expanded(row, _INVOICE_BRANDING_NAV) or {}
        return cls(
            id=_required_id(row, "invoiceid"),
            number=rows.text(row, "invoicenumber"),
            name=rows.text(row, "name"),
            customer=_customer_ref(row),
            currency_code=rows.text(currency, "isocurrencycode"),
            price_list_id=rows.lookup_id(row, "pricelevelid"),
            date_delivered=rows.calendar_date(row, "datedelivered", zone),
            due_date=rows.calendar_date(row, "duedate", zone),
            state=rows.choice(row, "statecode", InvoiceState, InvoiceState.ACTIVE) or InvoiceState.ACTIVE,
            status_reason=rows.integer(row, "statuscode"),
            invoice_type=rows.choice(row, schema.INVOICE_INVOICE_TYPE, InvoiceType, InvoiceType.SALES_INVOICE)
            or InvoiceType.SALES_INVOICE,
            export_status=rows.choice(row, schema.INVOICE_EXPORT_STATUS, ExportStatus, ExportStatus.NO)
            or ExportStatus.NO,
            xero_invoice_id=rows.text(row, schema.INVOICE_XERO_INVOICE_ID),
            xero_number=rows.text(row, schema.INVOICE_XERO_NUMBER),
            xero_status=rows.text(row, schema.INVOICE_XERO_STATUS),
            connection_id=rows.lookup_id(row, schema.INVOICE_CONNECTION),
            line_amount_types=rows.choice(row, schema.INVOICE_LINE_AMOUNT_TYPES, LineAmountTypes),
            branding_theme_xero_id=rows.text(theme, schema.REFERENCE_XERO_ID),
            total_amount=rows.decimal(row, "totalamount"),
            lines=tuple(ordered),
            discount_amount=rows.decimal(row, "discountamount") or ZERO,
            discount_percentage=rows.decimal(row, "discountpercentage") or ZERO,
            freight_amount=rows.decimal(row, "freightamount") or ZERO,
            total_amount_less_freight=rows.decimal(row, "totalamountlessfreight"),
            total_discount_amount=rows.decimal(row, "totaldiscountamount"),
            total_tax=rows.decimal(row, "totaltax"),
        )

    @property
    def xero_type(self) -> XeroDocumentType:
        return XERO_TYPE_BY_INVOICE_TYPE[self.invoice_type]


def _customer_ref(row: Row) -> CustomerRef | None:
    customer_id = rows.lookup_id(row, "customerid")
    if customer_id is None:
        return None
    table = rows.lookup_table(row, "customerid")
    kind = CustomerKind.CONTACT if table == CustomerKind.CONTACT.value else CustomerKind.ACCOUNT
    return CustomerRef(kind=kind, id=customer_id, name=rows.lookup_name(row, "customerid"))


def _date_only(row: Row, key: str) -> date | None:
    """A date-only column ("2026-03-31", or with a midnight time from older reads)."""
    value = rows.text(row, key)
    return date.fromisoformat(value[:10]) if value else None


def _required_id(row: Row, key: str) -> str:
    value = rows.text(row, key)
    if value is None:
        raise ValueError(f"the row has no {key}: it was read without its primary key")
    return value


# ---------------------------------------------------------------------------------------------------
# The queries whose results the readers above expect
# ---------------------------------------------------------------------------------------------------


def _expand(navigation: str, *select: str) -> str:
    return f"{navigation}($select={','.join(select)})"


def connection_query() -> dict[str, str]:
    # The token copy is the connector's own (app.token_backup), never a setting a sync needs.
    columns = [
        col.logical_name
        for col in schema.CONNECTION_TABLE.all_columns()
        if col.logical_name != schema.CONNECTION_XERO_TOKEN_BACKUP
    ]
    return {"$select": ",".join([schema.CONNECTION_ID, *columns])}


def invoice_query() -> dict[str, str]:
    """`GET invoices(<id>)`: the header; lines come from `invoice_lines_query`."""
    select = [
        "invoiceid",
        "invoicenumber",
        "name",
        "_customerid_value",
        "_pricelevelid_value",
        "_transactioncurrencyid_value",
        "datedelivered",
        "duedate",
        "statecode",
        "statuscode",
        "totalamount",
        "totalamountlessfreight",
        "totaldiscountamount",
        "totaltax",
        "discountamount",
        "discountpercentage",
        "freightamount",
        schema.INVOICE_INVOICE_TYPE,
        schema.INVOICE_EXPORT_STATUS,
        schema.INVOICE_XERO_INVOICE_ID,
        schema.INVOICE_XERO_NUMBER,
        schema.INVOICE_XERO_STATUS,
        schema.INVOICE_LINE_AMOUNT_TYPES,
        rows.lookup_key(schema.INVOICE_CONNECTION),
        rows.lookup_key(schema.INVOICE_BRANDING_THEME),
    ]
    expand = [
        _expand("transactioncurrencyid", "isocurrencycode"),
        _expand(_INVOICE_BRANDING_NAV, schema.REFERENCE_XERO_ID),
    ]
    return {"$select": ",".join(select), "$expand": ",".join(expand)}


def invoice_lines_query(invoice_id: str) -> dict[str, str]:
    """`GET invoicedetails`: one invoice's lines with product and reference data (one level of `$expand`).

    Send it with `Prefer: odata.include-annotations="*"`: tracking category names come from annotations.
    """
    select = [
        "invoicedetailid",
        "lineitemnumber",
        "sequencenumber",
        "_productid_value",
        "isproductoverridden",
        "productdescription",
        "description",
        "quantity",
        "priceperunit",
        "manualdiscountamount",
        "volumediscountamount",
        "baseamount",
        "tax",
        "producttypecode",
    ]
    expand = [
        _expand("productid", "productnumber", "name", "productstructure", schema.PRODUCT_XERO_ITEM_CODE),
        _expand(_LINE_ACCOUNT_CODE_NAV, schema.ACCOUNT_CODE_CODE),
        _expand(_LINE_TAX_RATE_NAV, schema.TAX_RATE_TAX_TYPE),
        *(_expand(nav, schema.REFERENCE_NAME, _TRACKING_CATEGORY_KEY) for nav in _LINE_TRACKING_NAVS),
    ]
    return {
        "$select": ",".join(select),
        "$expand": ",".join(expand),
        "$filter": f"_invoiceid_value eq {invoice_id}",
    }


def customer_query(kind: CustomerKind) -> dict[str, str]:
    common = [kind.primary_id, "emailaddress1", schema.CUSTOMER_XERO_CONTACT_ID]
    own = ["name", "accountnumber"] if kind is CustomerKind.ACCOUNT else ["fullname", "firstname", "lastname"]
    return {"$select": ",".join([*common, *own])}
