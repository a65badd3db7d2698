"""Names of the connector's own tables, columns and choices in Dynamics 365: one definition for all code.

`plugins_registration provision` creates exactly what is described here; the webhooks, handlers and
mappers refer to these names and never spell a column out themselves.

Conventions, chosen to match Dataverse itself:
- a logical name is the lower-cased schema name; every name we add starts with `xc_`;
- a lookup is read as `_<logical name>_value` and written with `<SchemaName>@odata.bind` (case-sensitive);
- a new table's entity set name is its logical name plus "s", sent explicitly on creation so that real
  Dataverse (which would otherwise pluralise in English) and the sandbox agree;
- choice values start at 100000000, as Dataverse expects for a publisher's own options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

PUBLISHER_PREFIX = "xc"
CHOICE_VALUE_BASE = 100000000


def column(name: str) -> str:
    """The logical name of one of our columns or tables: prefix + underscore + name."""
    return f"{PUBLISHER_PREFIX}_{name}"


# ---------------------------------------------------------------------------------------------------
# Choices
# ---------------------------------------------------------------------------------------------------


class ExportStatus(IntEnum):
    """Choice values of the invoice's export status column."""

    NO = 100000000
    YES = 100000001
    FAILED = 100000002
    READY_TO_UPDATE = 100000003


# Values a person sets to ask for a (re)sync; the connector itself only ever writes YES or FAILED.
RESYNC_REQUEST_VALUES = frozenset({ExportStatus.NO, ExportStatus.READY_TO_UPDATE})


class InvoiceType(IntEnum):
    SALES_INVOICE = 100000000
    PURCHASE_INVOICE = 100000001
    SALES_CREDIT_NOTE = 100000002
    PURCHASE_CREDIT_NOTE = 100000003


class ConnectionStatus(IntEnum):
    CONNECTED = 100000000
    RECONNECT_XERO = 100000001
    DISCONNECTED = 100000002


class DefaultInvoiceStatus(IntEnum):
    """The Xero status a new invoice is created in."""

    DRAFT = 100000000
    SUBMITTED = 100000001
    AUTHORISED = 100000002


class BundleHandling(IntEnum):
    """How a Dynamics bundle line reaches Xero: the bundle line alone, or its component lines."""

    HEADER_ONLY = 100000000
    COMPONENTS = 100000001


class LineAmountTypes(IntEnum):
    EXCLUSIVE = 100000000
    INCLUSIVE = 100000001
    NO_TAX = 100000002


class TotalsStatus(IntEnum):
    """How the invoice's totals compare with the Xero document's after the last write."""

    MATCH = 100000000
    ROUNDING_LINE = 100000001  # equal thanks to a rounding line the connector added in Xero
    DIFFER = 100000002


class RoundingMode(IntEnum):
    """What the connector does when Xero's total differs from Dynamics' by a rounding amount."""

    REPORT = 100000000
    ROUNDING_LINE = 100000001


class SyncAction(IntEnum):
    """What a sync history row is about."""

    CREATE = 100000000
    UPDATE = 100000001
    DELETE = 100000002
    VOID = 100000003
    CREDIT_NOTE = 100000004
    PAYMENT = 100000005
    STATUS = 100000006
    CONNECTION = 100000007
    REFERENCE_DATA = 100000008


class SyncStatus(IntEnum):
    SUCCESS = 100000000
    FAILED = 100000001
    SKIPPED = 100000002
    INFORMATION = 100000003
    TOTALS_DIFFER = 100000004  # written to Xero, but Xero's totals are not Dynamics' (never a Success)


def choice_label(member: IntEnum) -> str:
    """A readable label from a member's name: READY_TO_UPDATE -> "Ready to update", keeping "Xero" capital."""
    words = member.name.replace("_", " ").capitalize()
    return words.replace("xero", "Xero")


# ---------------------------------------------------------------------------------------------------
# Column and table definitions
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column; `schema_name` is what Dataverse calls SchemaName (the logical name is its lower case)."""

    schema_name: str
    label: str
    description: str = ""
    kind: ClassVar[str] = ""

    @property
    def logical_name(self) -> str:
        return self.schema_name.lower()


@dataclass(frozen=True)
class StringColumn(Column):
    max_length: int = 100
    is_url: bool = False
    kind: ClassVar[str] = "String"


@dataclass(frozen=True)
class MemoColumn(Column):
    max_length: int = 10000
    kind: ClassVar[str] = "Memo"


@dataclass(frozen=True)
class IntegerColumn(Column):
    min_value: int = -2147483648
    max_value: int = 2147483647
    kind: ClassVar[str] = "Integer"


@dataclass(frozen=True)
class DecimalColumn(Column):
    precision: int = 4
    min_value: float = -100000000000.0
    max_value: float = 100000000000.0
    kind: ClassVar[str] = "Decimal"


@dataclass(frozen=True)
class MoneyColumn(Column):
    precision: int = 2
    kind: ClassVar[str] = "Money"


@dataclass(frozen=True)
class BooleanColumn(Column):
    default: bool = False
    kind: ClassVar[str] = "Boolean"


@dataclass(frozen=True)
class DateTimeColumn(Column):
    date_only: bool = False
    kind: ClassVar[str] = "DateTime"


@dataclass(frozen=True)
class ChoiceColumn(Column):
    """A local choice (option set) whose options are the members of an IntEnum."""

    choices: type[IntEnum] = IntEnum
    default: int | None = None
    kind: ClassVar[str] = "Picklist"

    @property
    def options(self) -> Mapping[int, str]:
        return {int(member): choice_label(member) for member in self.choices}


@dataclass(frozen=True)
class LookupColumn(Column):
    """A many-to-one reference; created through a one-to-many relationship from `target`."""

    target: str = ""  # logical name of the referenced table
    kind: ClassVar[str] = "Lookup"

    @property
    def navigation_property(self) -> str:
        """The single-valued navigation property used for binds: the lookup's SchemaName."""
        return self.schema_name

    @property
    def value_key(self) -> str:
        """The property a Web API read returns the referenced id under."""
        return f"_{self.logical_name}_value"

    def relationship_name(self, referencing_table: str) -> str:
        bare = self.logical_name.removeprefix(f"{PUBLISHER_PREFIX}_")
        target = self.target.removeprefix(f"{PUBLISHER_PREFIX}_")
        return f"{PUBLISHER_PREFIX}_{target}_{referencing_table}_{bare}"


@dataclass(frozen=True)
class Table:
    """A table the connector either creates (`custom`) or extends with its own columns."""

    logical_name: str
    columns: tuple[Column, ...]
    custom: bool = False
    schema_name: str = ""  # custom tables only
    label: str = ""
    plural_label: str = ""
    description: str = ""
    primary_name: StringColumn | None = None  # custom tables only
    entity_set: str = ""
    primary_id: str = ""
    _by_name: dict[str, Column] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "entity_set", self.entity_set or f"{self.logical_name}s")
        object.__setattr__(self, "primary_id", self.primary_id or f"{self.logical_name}id")
        self._by_name.update({col.logical_name: col for col in self.all_columns()})

    def all_columns(self) -> Iterator[Column]:
        if self.primary_name is not None:
            yield self.primary_name
        yield from self.columns

    def plain_columns(self) -> list[Column]:
        """Columns created through the Attributes endpoint (everything but the primary name and lookups)."""
        return [col for col in self.columns if not isinstance(col, LookupColumn)]

    def lookups(self) -> list[LookupColumn]:
        return [col for col in self.columns if isinstance(col, LookupColumn)]

    def __getitem__(self, logical_name: str) -> Column:
        return self._by_name[logical_name]


def _name(label: str = "Name") -> StringColumn:
    return StringColumn("xc_Name", label, max_length=200)


def _connection_lookup(description: str = "The Xero organisation this row belongs to.") -> LookupColumn:
    return LookupColumn("xc_ConnectionId", "Xero connection", description, target="xc_connection")


def _custom_table(
    schema_name: str, label: str, plural_label: str, description: str, columns: tuple[Column, ...]
) -> Table:
    return Table(
        logical_name=schema_name.lower(),
        schema_name=schema_name,
        custom=True,
        label=label,
        plural_label=plural_label,
        description=description,
        primary_name=_name(),
        columns=columns,
    )


def _reference_columns(*extra: Column) -> tuple[Column, ...]:
    """The columns every Xero reference-data table shares, plus its own."""
    return (
        _connection_lookup(),
        StringColumn("xc_XeroId", "Xero id", "The Xero identifier (GUID).", max_length=36),
        *extra,
        StringColumn("xc_Status", "Xero status", max_length=50),
        BooleanColumn("xc_IsActive", "Active", "Offered for new invoices and lines.", default=True),
    )


# ---------------------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------------------

CONNECTION_TABLE = _custom_table(
    "xc_Connection",
    "Xero connection",
    "Xero connections",
    "One Xero organisation linked to this Dynamics environment, with its sync settings.",
    (
        StringColumn("xc_XeroTenantId", "Xero tenant id", max_length=36),
        StringColumn("xc_XeroTenantName", "Xero organisation name", max_length=255),
        StringColumn("xc_XeroShortCode", "Xero short code", "Used to build links to Xero.", max_length=20),
        BooleanColumn(
            "xc_IsDefault",
            "Default connection",
            "An invoice marked Ready to update without a connection is sent here (its history says so).",
        ),
        ChoiceColumn(
            "xc_ConnectionStatus",
            "Connection status",
            choices=ConnectionStatus,
            default=ConnectionStatus.DISCONNECTED,
        ),
        MemoColumn("xc_StatusMessage", "Status message", "Why the connection needs attention.", max_length=4000),
        MemoColumn(
            "xc_XeroTokenBackup",
            "Xero authorisation (encrypted)",
            "The connector's encrypted copy of the Xero token set, used when its Redis has lost it.",
            max_length=20000,
        ),
        BooleanColumn(
            "xc_UseXeroInvoiceNumber",
            "Use Xero invoice numbering",
            "Yes: Xero numbers the invoice. No: the Dynamics invoice number is used.",
        ),
        BooleanColumn("xc_CreateContacts", "Create new contacts in Xero", default=True),
        BooleanColumn("xc_CreateItems", "Create new items in Xero"),
        ChoiceColumn(
            "xc_DefaultInvoiceStatus",
            "Default Xero invoice status",
            choices=DefaultInvoiceStatus,
            default=DefaultInvoiceStatus.DRAFT,
        ),
        StringColumn("xc_DefaultSalesAccountCode", "Default sales account code", max_length=10),
        StringColumn("xc_DefaultPurchaseAccountCode", "Default purchase account code", max_length=10),
        StringColumn(
            "xc_DefaultSalesTaxType",
            "Default sales tax type",
            "Xero TaxType for sales lines that name none, e.g. OUTPUT2; empty: the account's own tax type.",
            max_length=50,
        ),
        StringColumn(
            "xc_DefaultPurchaseTaxType",
            "Default purchase tax type",
            "Xero TaxType for purchase lines that name none, e.g. INPUT2; empty: the account's own tax type.",
            max_length=50,
        ),
        DateTimeColumn(
            "xc_PeriodLockDate",
            "Xero lock date",
            "Copied from Xero with the reference data: documents dated on or before it are refused.",
            date_only=True,
        ),
        BooleanColumn(
            "xc_CreateCreditNote",
            "Create credit note automatically",
            "On cancellation, credit an approved Xero invoice instead of leaving it to finance.",
        ),
        StringColumn("xc_TimeZone", "Time zone", "IANA name, e.g. Europe/London.", max_length=64),
        ChoiceColumn(
            "xc_BundleHandling", "Bundle handling", choices=BundleHandling, default=BundleHandling.HEADER_ONLY
        ),
        ChoiceColumn(
            "xc_DefaultLineAmountTypes",
            "Default line amount types",
            choices=LineAmountTypes,
            default=LineAmountTypes.EXCLUSIVE,
        ),
        StringColumn(
            "xc_FreightAccountCode",
            "Freight account code",
            "Xero account for the freight line; empty: the default sales or purchase account.",
            max_length=10,
        ),
        StringColumn(
            "xc_FreightTaxType",
            "Freight tax type",
            "Xero tax type of the freight line; empty: NONE, as Dynamics puts no tax on freight.",
            max_length=50,
        ),
        ChoiceColumn(
            "xc_RoundingMode",
            "Rounding differences",
            "Report a difference between the totals, or add a rounding line in Xero when within the tolerance.",
            choices=RoundingMode,
            default=RoundingMode.REPORT,
        ),
        StringColumn("xc_RoundingAccountCode", "Rounding account code", "E.g. 860 (Rounding).", max_length=10),
        DecimalColumn(
            "xc_RoundingTolerance",
            "Rounding tolerance",
            "Largest difference a rounding line may absorb (default 0.05).",
            precision=2,
            min_value=0.0,
            max_value=1000.0,
        ),
        IntegerColumn(
            "xc_XeroDailyCallLimit",
            "Xero calls per day",
            "This organisation's daily budget of Xero calls (smaller Xero app tiers allow fewer than 5,000). "
            "Empty: the connector's default.",
            min_value=1,
            max_value=5000,
        ),
    ),
)

SYNC_HISTORY_TABLE = _custom_table(
    "xc_SyncHistory",
    "Sync history",
    "Sync history",
    "What the connector did with an invoice and, on failure, why.",
    (
        LookupColumn("xc_InvoiceId", "Invoice", target="invoice"),
        _connection_lookup(),
        DateTimeColumn("xc_OccurredOn", "Occurred on"),
        ChoiceColumn("xc_Action", "Action", choices=SyncAction),
        ChoiceColumn("xc_Status", "Status", choices=SyncStatus),
        MemoColumn("xc_Details", "Details", max_length=100000),
        StringColumn("xc_XeroInvoiceId", "Xero invoice id", max_length=36),
    ),
)

# Which classes of account a tax rate may be used with (Xero's CanApplyTo* flags, in Account.Class order).
ACCOUNT_CLASSES: tuple[str, ...] = ("ASSET", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE")

TAX_RATE_TABLE = _custom_table(
    "xc_TaxRate",
    "Xero tax rate",
    "Xero tax rates",
    "Tax rates copied from Xero.",
    _reference_columns(
        StringColumn("xc_TaxType", "Tax type", "The Xero TaxType code, e.g. OUTPUT2.", max_length=50),
        DecimalColumn("xc_EffectiveRate", "Effective rate (%)"),
        StringColumn(
            "xc_AccountClasses",
            "Usable with account classes",
            "The account classes Xero allows this rate on (its CanApplyTo flags), e.g. REVENUE,ASSET.",
            max_length=100,
        ),
    ),
)

ACCOUNT_CODE_TABLE = _custom_table(
    "xc_AccountCode",
    "Xero account code",
    "Xero account codes",
    "The Xero chart of accounts.",
    _reference_columns(
        StringColumn("xc_Code", "Code", max_length=10),
        StringColumn("xc_AccountType", "Account type", "The Xero account type, e.g. REVENUE.", max_length=50),
        StringColumn("xc_AccountClass", "Account class", "The Xero account class, e.g. REVENUE.", max_length=50),
        StringColumn("xc_TaxType", "Default tax type", "The account's own Xero TaxType.", max_length=50),
    ),
)

CURRENCY_TABLE = _custom_table(
    "xc_Currency",
    "Xero currency",
    "Xero currencies",
    "The currencies enabled in a Xero organisation (its base currency included).",
    _reference_columns(StringColumn("xc_Code", "Code", "ISO 4217 code, e.g. GBP.", max_length=3)),
)

BRANDING_THEME_TABLE = _custom_table(
    "xc_BrandingTheme",
    "Xero branding theme",
    "Xero branding themes",
    "Invoice layouts defined in Xero.",
    _reference_columns(),
)

TRACKING_CATEGORY_TABLE = _custom_table(
    "xc_TrackingCategory",
    "Xero tracking category",
    "Xero tracking categories",
    "Xero tracking categories (at most two active per organisation).",
    _reference_columns(),
)

TRACKING_OPTION_TABLE = _custom_table(
    "xc_TrackingOption",
    "Xero tracking option",
    "Xero tracking options",
    "Options of Xero tracking categories.",
    _reference_columns(LookupColumn("xc_TrackingCategoryId", "Tracking category", target="xc_trackingcategory")),
)

CONTACT_LINK_TABLE = _custom_table(
    "xc_XeroContactLink",
    "Xero contact link",
    "Xero contact links",
    "The Xero contact of a Dynamics customer in one Xero organisation (one row per customer and connection).",
    (
        _connection_lookup(),
        LookupColumn("xc_AccountId", "Account", "The customer, when it is an account.", target="account"),
        LookupColumn("xc_ContactId", "Contact", "The customer, when it is a contact.", target="contact"),
        StringColumn("xc_XeroContactId", "Xero contact id", max_length=36),
        MoneyColumn("xc_Outstanding", "Outstanding in Xero", "In this organisation."),
        MoneyColumn("xc_Overdue", "Overdue in Xero", "In this organisation."),
    ),
)

ITEM_LINK_TABLE = _custom_table(
    "xc_XeroItemLink",
    "Xero item link",
    "Xero item links",
    "The Xero item of a Dynamics product in one Xero organisation (one row per product and connection).",
    (
        _connection_lookup(),
        LookupColumn("xc_ProductId", "Product", target="product"),
        StringColumn("xc_XeroItemId", "Xero item id", max_length=36),
        StringColumn("xc_XeroItemCode", "Xero item code", max_length=30),
    ),
)

INVOICE_TABLE = Table(
    logical_name="invoice",
    columns=(
        _connection_lookup("The Xero organisation this invoice goes to; setting it asks for a sync."),
        ChoiceColumn("xc_InvoiceType", "Xero invoice type", choices=InvoiceType, default=InvoiceType.SALES_INVOICE),
        ChoiceColumn("xc_ExportStatus", "Export to Xero", choices=ExportStatus, default=ExportStatus.NO),
        StringColumn("xc_XeroInvoiceId", "Xero invoice id", max_length=36),
        StringColumn("xc_XeroNumber", "Xero number", max_length=255),
        StringColumn("xc_XeroStatus", "Xero status", max_length=20),
        StringColumn("xc_XeroLink", "Xero link", is_url=True, max_length=500),
        DateTimeColumn("xc_ExportDate", "Export date"),
        MoneyColumn("xc_AmountDue", "Amount due"),
        MoneyColumn("xc_AmountPaid", "Amount paid"),
        MoneyColumn("xc_AmountCredited", "Amount credited"),
        ChoiceColumn("xc_LineAmountTypes", "Line amount types", choices=LineAmountTypes),
        LookupColumn("xc_BrandingThemeId", "Branding theme", target="xc_brandingtheme"),
        MoneyColumn("xc_XeroSubTotal", "Xero subtotal", "Xero's SubTotal after the last write."),
        MoneyColumn("xc_XeroTotalTax", "Xero total tax", "Xero's TotalTax after the last write."),
        MoneyColumn("xc_XeroTotal", "Xero total", "Xero's Total after the last write."),
        ChoiceColumn("xc_TotalsStatus", "Totals in Xero", choices=TotalsStatus),
        MemoColumn(
            "xc_TotalsDifference",
            "Totals difference",
            "How Xero's totals differ from this invoice's, and why; empty when they match.",
            max_length=4000,
        ),
    ),
)

INVOICE_LINE_TABLE = Table(
    logical_name="invoicedetail",
    columns=(
        LookupColumn("xc_AccountCodeId", "Xero account code", target="xc_accountcode"),
        LookupColumn("xc_TaxRateId", "Xero tax rate", target="xc_taxrate"),
        LookupColumn("xc_TrackingOption1Id", "Tracking option 1", target="xc_trackingoption"),
        LookupColumn("xc_TrackingOption2Id", "Tracking option 2", target="xc_trackingoption"),
    ),
)


def _customer_columns() -> tuple[Column, ...]:
    return (
        StringColumn("xc_XeroContactId", "Xero contact id", max_length=36),
        MoneyColumn("xc_Outstanding", "Outstanding in Xero"),
        MoneyColumn("xc_Overdue", "Overdue in Xero"),
    )


ACCOUNT_TABLE = Table(logical_name="account", columns=_customer_columns())
CONTACT_TABLE = Table(logical_name="contact", columns=_customer_columns())
PRODUCT_TABLE = Table(
    logical_name="product",
    columns=(
        StringColumn("xc_XeroItemCode", "Xero item code", max_length=30),
        StringColumn("xc_XeroItemId", "Xero item id", max_length=36),
    ),
)

# Creation order matters: a lookup's target must exist first, so custom tables come before extensions.
CUSTOM_TABLES: tuple[Table, ...] = (
    CONNECTION_TABLE,
    SYNC_HISTORY_TABLE,
    TAX_RATE_TABLE,
    ACCOUNT_CODE_TABLE,
    BRANDING_THEME_TABLE,
    TRACKING_CATEGORY_TABLE,
    TRACKING_OPTION_TABLE,
    CURRENCY_TABLE,
    CONTACT_LINK_TABLE,
    ITEM_LINK_TABLE,
)
EXTENDED_TABLES: tuple[Table, ...] = (
    INVOICE_TABLE,
    INVOICE_LINE_TABLE,
    ACCOUNT_TABLE,
    CONTACT_TABLE,
    PRODUCT_TABLE,
)
ALL_TABLES: tuple[Table, ...] = CUSTOM_TABLES + EXTENDED_TABLES

# Tables whose changes the reconciliation reads with Dataverse change tracking (delta links), so an edit,
# cancellation or delete whose webhook was lost is still found: provisioning turns ChangeTrackingEnabled on.
CHANGE_TRACKED_TABLES: tuple[str, ...] = ("invoice", "invoicedetail")

# Entity sets of the standard tables we touch (fixed names in every org).
STANDARD_ENTITY_SETS: Mapping[str, str] = {
    "invoice": "invoices",
    "invoicedetail": "invoicedetails",
    "account": "accounts",
    "contact": "contacts",
    "product": "products",
}


def table(logical_name: str) -> Table:
    for candidate in ALL_TABLES:
        if candidate.logical_name == logical_name:
            return candidate
    raise KeyError(logical_name)


def entity_set_name(logical_name: str) -> str:
    """The Web API collection of a table: `xc_connection` -> `xc_connections`, `invoice` -> `invoices`."""
    if logical_name in STANDARD_ENTITY_SETS:
        return STANDARD_ENTITY_SETS[logical_name]
    return table(logical_name).entity_set


def bind(lookup: LookupColumn, row_id: str) -> dict[str, str]:
    """The body fragment that sets a lookup: {"xc_ConnectionId@odata.bind": "/xc_connections(<id>)"}."""
    return {f"{lookup.navigation_property}@odata.bind": f"/{entity_set_name(lookup.target)}({row_id})"}


def lookup(table_logical_name: str, lookup_logical_name: str) -> LookupColumn:
    found = table(table_logical_name)[lookup_logical_name]
    if not isinstance(found, LookupColumn):
        raise TypeError(f"{table_logical_name}.{lookup_logical_name} is not a lookup")
    return found


# ---------------------------------------------------------------------------------------------------
# Names the connector uses directly
# ---------------------------------------------------------------------------------------------------

CONNECTION_ENTITY = CONNECTION_TABLE.logical_name
CONNECTION_ENTITY_SET = CONNECTION_TABLE.entity_set
SYNC_HISTORY_ENTITY = SYNC_HISTORY_TABLE.logical_name
SYNC_HISTORY_ENTITY_SET = SYNC_HISTORY_TABLE.entity_set
TAX_RATE_ENTITY_SET = TAX_RATE_TABLE.entity_set
ACCOUNT_CODE_ENTITY_SET = ACCOUNT_CODE_TABLE.entity_set
BRANDING_THEME_ENTITY_SET = BRANDING_THEME_TABLE.entity_set
TRACKING_CATEGORY_ENTITY_SET = TRACKING_CATEGORY_TABLE.entity_set
TRACKING_OPTION_ENTITY_SET = TRACKING_OPTION_TABLE.entity_set
CURRENCY_ENTITY_SET = CURRENCY_TABLE.entity_set
CONTACT_LINK_ENTITY_SET = CONTACT_LINK_TABLE.entity_set
ITEM_LINK_ENTITY_SET = ITEM_LINK_TABLE.entity_set

# Columns on the invoice that the intake needs to know about.
INVOICE_CONNECTION = column("connectionid")  # lookup to the connection table; setting it asks for a sync
INVOICE_EXPORT_STATUS = column("exportstatus")
INVOICE_XERO_INVOICE_ID = column("xeroinvoiceid")
INVOICE_INVOICE_TYPE = column("invoicetype")
INVOICE_XERO_NUMBER = column("xeronumber")
INVOICE_XERO_STATUS = column("xerostatus")
INVOICE_XERO_LINK = column("xerolink")
INVOICE_EXPORT_DATE = column("exportdate")
INVOICE_AMOUNT_DUE = column("amountdue")
INVOICE_AMOUNT_PAID = column("amountpaid")
INVOICE_AMOUNT_CREDITED = column("amountcredited")
INVOICE_LINE_AMOUNT_TYPES = column("lineamounttypes")
INVOICE_BRANDING_THEME = column("brandingthemeid")
INVOICE_XERO_SUBTOTAL = column("xerosubtotal")
INVOICE_XERO_TOTAL_TAX = column("xerototaltax")
INVOICE_XERO_TOTAL = column("xerototal")
INVOICE_TOTALS_STATUS = column("totalsstatus")
INVOICE_TOTALS_DIFFERENCE = column("totalsdifference")

# Columns on the invoice line, account/contact and product.
INVOICE_LINE_ACCOUNT_CODE = column("accountcodeid")  # lookup to xc_accountcode
INVOICE_LINE_TAX_RATE = column("taxrateid")  # lookup to xc_taxrate
INVOICE_LINE_TRACKING_OPTION_1 = column("trackingoption1id")  # lookups to xc_trackingoption
INVOICE_LINE_TRACKING_OPTION_2 = column("trackingoption2id")
CUSTOMER_XERO_CONTACT_ID = column("xerocontactid")  # the same three columns on account and contact
CUSTOMER_OUTSTANDING = column("outstanding")
CUSTOMER_OVERDUE = column("overdue")
PRODUCT_XERO_ITEM_CODE = column("xeroitemcode")
PRODUCT_XERO_ITEM_ID = column("xeroitemid")

# Columns of the connection table (the settings of one Xero organisation).
CONNECTION_ID = CONNECTION_TABLE.primary_id
CONNECTION_NAME = column("name")
CONNECTION_XERO_TENANT_ID = column("xerotenantid")
CONNECTION_XERO_TENANT_NAME = column("xerotenantname")
CONNECTION_XERO_SHORT_CODE = column("xeroshortcode")
CONNECTION_IS_DEFAULT = column("isdefault")
CONNECTION_STATUS = column("connectionstatus")
CONNECTION_STATUS_MESSAGE = column("statusmessage")
CONNECTION_XERO_TOKEN_BACKUP = column("xerotokenbackup")
CONNECTION_USE_XERO_INVOICE_NUMBER = column("usexeroinvoicenumber")
CONNECTION_CREATE_CONTACTS = column("createcontacts")
CONNECTION_CREATE_ITEMS = column("createitems")
CONNECTION_DEFAULT_INVOICE_STATUS = column("defaultinvoicestatus")
CONNECTION_DEFAULT_SALES_ACCOUNT_CODE = column("defaultsalesaccountcode")
CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE = column("defaultpurchaseaccountcode")
CONNECTION_DEFAULT_SALES_TAX_TYPE = column("defaultsalestaxtype")
CONNECTION_DEFAULT_PURCHASE_TAX_TYPE = column("defaultpurchasetaxtype")
CONNECTION_PERIOD_LOCK_DATE = column("periodlockdate")
CONNECTION_CREATE_CREDIT_NOTE = column("createcreditnote")
CONNECTION_TIME_ZONE = column("timezone")
CONNECTION_BUNDLE_HANDLING = column("bundlehandling")
CONNECTION_DEFAULT_LINE_AMOUNT_TYPES = column("defaultlineamounttypes")
CONNECTION_FREIGHT_ACCOUNT_CODE = column("freightaccountcode")
CONNECTION_FREIGHT_TAX_TYPE = column("freighttaxtype")
CONNECTION_ROUNDING_MODE = column("roundingmode")
CONNECTION_ROUNDING_ACCOUNT_CODE = column("roundingaccountcode")
CONNECTION_ROUNDING_TOLERANCE = column("roundingtolerance")
CONNECTION_XERO_DAILY_CALL_LIMIT = column("xerodailycalllimit")

# Columns of the sync history table.
SYNC_HISTORY_NAME = column("name")
SYNC_HISTORY_INVOICE = column("invoiceid")
SYNC_HISTORY_CONNECTION = column("connectionid")
SYNC_HISTORY_OCCURRED_ON = column("occurredon")
SYNC_HISTORY_ACTION = column("action")
SYNC_HISTORY_STATUS = column("status")
SYNC_HISTORY_DETAILS = column("details")
SYNC_HISTORY_XERO_INVOICE_ID = column("xeroinvoiceid")

# Columns every reference table (tax rates, account codes, branding themes, tracking) shares, and their own.
REFERENCE_NAME = column("name")
REFERENCE_CONNECTION = column("connectionid")
REFERENCE_XERO_ID = column("xeroid")
REFERENCE_STATUS = column("status")
REFERENCE_IS_ACTIVE = column("isactive")
TAX_RATE_TAX_TYPE = column("taxtype")
TAX_RATE_EFFECTIVE_RATE = column("effectiverate")
ACCOUNT_CODE_CODE = column("code")
ACCOUNT_CODE_TYPE = column("accounttype")
ACCOUNT_CODE_CLASS = column("accountclass")
ACCOUNT_CODE_TAX_TYPE = column("taxtype")
TAX_RATE_ACCOUNT_CLASSES = column("accountclasses")
CURRENCY_CODE = column("code")

# Columns of the per-organisation link tables (one row per customer or product and connection).
LINK_NAME = column("name")
LINK_CONNECTION = column("connectionid")
CONTACT_LINK_ACCOUNT = column("accountid")
CONTACT_LINK_CONTACT = column("contactid")
CONTACT_LINK_XERO_CONTACT_ID = column("xerocontactid")
CONTACT_LINK_OUTSTANDING = column("outstanding")
CONTACT_LINK_OVERDUE = column("overdue")
ITEM_LINK_PRODUCT = column("productid")
ITEM_LINK_XERO_ITEM_ID = column("xeroitemid")
ITEM_LINK_XERO_ITEM_CODE = column("xeroitemcode")
TRACKING_OPTION_CATEGORY = column("trackingcategoryid")

# Navigation properties for binds (case-sensitive: the lookup's SchemaName).
INVOICE_CONNECTION_NAV = lookup("invoice", INVOICE_CONNECTION).navigation_property
SYNC_HISTORY_INVOICE_NAV = lookup(SYNC_HISTORY_ENTITY, column("invoiceid")).navigation_property
SYNC_HISTORY_CONNECTION_NAV = lookup(SYNC_HISTORY_ENTITY, column("connectionid")).navigation_property
REFERENCE_CONNECTION_NAV = lookup(TAX_RATE_TABLE.logical_name, column("connectionid")).navigation_property
TRACKING_OPTION_CATEGORY_NAV = lookup(
    TRACKING_OPTION_TABLE.logical_name, column("trackingcategoryid")
).navigation_property

# ---------------------------------------------------------------------------------------------------
# Webhook step images: the aliases the intake looks under, and the columns each image carries
# ---------------------------------------------------------------------------------------------------

PRE_IMAGE_ALIAS = "PreImage"
POST_IMAGE_ALIAS = "PostImage"

# A Delete's row is gone by the time a worker runs: its pre-image must carry all a cancellation needs.
INVOICE_DELETE_IMAGE_COLUMNS: tuple[str, ...] = (
    INVOICE_XERO_INVOICE_ID,
    INVOICE_CONNECTION,
    INVOICE_INVOICE_TYPE,
    INVOICE_EXPORT_STATUS,
    INVOICE_XERO_NUMBER,
    INVOICE_XERO_STATUS,
    INVOICE_AMOUNT_DUE,
    INVOICE_AMOUNT_PAID,
    INVOICE_AMOUNT_CREDITED,
    "invoicenumber",
    "name",
    "customerid",
    "transactioncurrencyid",
    "statecode",
    "statuscode",
    "totalamount",
)
# Update images let the intake see transitions (cancelled, connection set, export requested) without a read.
INVOICE_UPDATE_IMAGE_COLUMNS: tuple[str, ...] = (
    INVOICE_XERO_INVOICE_ID,
    INVOICE_CONNECTION,
    INVOICE_INVOICE_TYPE,
    INVOICE_EXPORT_STATUS,
    "invoicenumber",
    "name",
    "statecode",
    "statuscode",
    "totalamount",
)
# A line event only needs to say which invoice to re-read.
INVOICE_LINE_IMAGE_COLUMNS: tuple[str, ...] = ("invoiceid",)

# Update steps fire only when one of these changes. The columns the connector writes back itself
# (Xero number/status/link, amounts, export date) are left out so its own writes do not loop.
INVOICE_FILTERING_COLUMNS: tuple[str, ...] = (
    INVOICE_CONNECTION,
    INVOICE_EXPORT_STATUS,
    INVOICE_INVOICE_TYPE,
    INVOICE_LINE_AMOUNT_TYPES,
    INVOICE_BRANDING_THEME,
    "name",
    "customerid",
    "description",
    "duedate",
    "datedelivered",
    "discountamount",
    "discountpercentage",
    "freightamount",
    "paymenttermscode",
    "pricelevelid",
    "totalamount",
    "totaltax",
    "statecode",
    "statuscode",
)
INVOICE_LINE_FILTERING_COLUMNS: tuple[str, ...] = (
    "productid",
    "productdescription",
    "description",
    "quantity",
    "priceperunit",
    "manualdiscountamount",
    "tax",
    "uomid",
    "ispriceoverridden",
    "sequencenumber",
    "lineitemnumber",
    column("accountcodeid"),
    column("taxrateid"),
    column("trackingoption1id"),
    column("trackingoption2id"),
)
# The connection's status columns, token copy and lock date are written by the connector itself: they do not
# trigger it.
CONNECTION_FILTERING_COLUMNS: tuple[str, ...] = tuple(
    col.logical_name
    for col in CONNECTION_TABLE.all_columns()
    if col.logical_name
    not in {column("connectionstatus"), column("statusmessage"), column("xerotokenbackup"), column("periodlockdate")}
)
