"""What finance users see in Dynamics 365: forms, views, the "Xero Connector" app and its security roles.

One definition, read by `plugins_registration provision` (which installs it through the Web API) and
`plugins_registration package` (which writes it as a solution file). It only names columns of
`app.dynamics_schema`; putting one more column on a form or a view is one more name in a tuple below.

Ids are fixed (derived from the names below), so a form, view, role or app is found again on every run and a
package imported into an organisation matches what provisioning would have made there. Renaming a view or a
role here therefore installs a new one next to the old (which an admin then removes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum

from app import dynamics_schema as schema
from app.dynamics_schema import (
    ExportStatus,
    SyncStatus,
    TotalsStatus,
    column,
)

# Changing this would give every form, view, role and app a new id: an installed copy would be duplicated.
_ID_NAMESPACE = uuid.UUID("6f1d2c4e-58a3-4c21-9b0e-0c0ec7ed0a11")


def fixed_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}"))


# ---------------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A column shown on a form; its label and help text come from the schema."""

    column: str
    # Lookups only: the view the lookup offers rows from (e.g. active tax rates only).
    lookup_view: str | None = None


@dataclass(frozen=True)
class Subgrid:
    """Related rows shown on a form, through a one-to-many relationship, in the layout and order of a view."""

    name: str
    label: str
    table: str  # the related (referencing) table
    lookup: str  # its lookup column pointing at the form's row
    view: str  # name of one of VIEWS on `table`
    rows: int = 10


@dataclass(frozen=True)
class Section:
    name: str
    label: str
    items: tuple[Field | Subgrid, ...]


@dataclass(frozen=True)
class Tab:
    name: str
    label: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class FormDefinition:
    """Tabs the connector adds to a table's main form (a new main form only where the table has none)."""

    table: str
    name: str  # the name of a form created by the connector
    tabs: tuple[Tab, ...]

    @property
    def form_id(self) -> str:
        return fixed_id("form", self.table)


def section(name: str, label: str, *items: Field | Subgrid | str) -> Section:
    """A section; plain strings are columns."""
    return Section(column(name), label, tuple(Field(i) if isinstance(i, str) else i for i in items))


def tab(name: str, label: str, *sections: Section) -> Tab:
    return Tab(column(name), label, sections)


def relationship_of(subgrid: Subgrid) -> str:
    return schema.lookup(subgrid.table, subgrid.lookup).relationship_name(subgrid.table)


# ---------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A FetchXML condition: `operator` as FetchXML spells it (eq, ne, in, null, not-null, today, this-week...)."""

    column: str
    operator: str
    values: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class ViewDefinition:
    table: str
    name: str
    columns: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    order: str | None = None
    descending: bool = False
    description: str = ""
    # Public views appear in the view picker; associated views (querytype 2) back subgrids.
    query_type: int = 0

    @property
    def view_id(self) -> str:
        return fixed_id("view", f"{self.table}:{self.name}")


PUBLIC_VIEW, ASSOCIATED_VIEW = 0, 2


def eq(column_name: str, value: IntEnum | int | str) -> Condition:
    return Condition(column_name, "eq", (int(value) if isinstance(value, IntEnum) else value,))


def one_of(column_name: str, *values: IntEnum) -> Condition:
    return Condition(column_name, "in", tuple(int(v) for v in values))


ACTIVE = Condition("statecode", "eq", (0,))


# ---------------------------------------------------------------------------------------------------
# The app and its site map
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubArea:
    name: str
    label: str
    table: str


@dataclass(frozen=True)
class Group:
    name: str
    label: str
    sub_areas: tuple[SubArea, ...]


@dataclass(frozen=True)
class AppDefinition:
    unique_name: str
    name: str
    description: str
    groups: tuple[Group, ...]

    @property
    def app_id(self) -> str:
        return fixed_id("app", self.unique_name)

    @property
    def site_map_id(self) -> str:
        return fixed_id("sitemap", self.unique_name)

    def tables(self) -> list[str]:
        return list(dict.fromkeys(sub.table for group in self.groups for sub in group.sub_areas))


# ---------------------------------------------------------------------------------------------------
# Security roles
# ---------------------------------------------------------------------------------------------------


class Depth(IntEnum):
    """How far a privilege reaches, as Dataverse names it (user, business unit, parent-child units, organisation)."""

    Basic = 0
    Local = 1
    Deep = 2
    Global = 3


@dataclass(frozen=True)
class Grant:
    """`verbs` (Create, Read, Write, Delete, Append, AppendTo, Assign, Share) on one table at one depth."""

    table: str
    verbs: tuple[str, ...]
    depth: Depth = Depth.Global


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    description: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def role_id(self) -> str:
        return fixed_id("role", self.name)

    def privileges(self) -> dict[str, Depth]:
        """Privilege name (prv<Verb><SchemaName>) -> depth; the widest depth wins when a name repeats."""
        wanted: dict[str, Depth] = {}
        for grant in self.grants:
            for verb in grant.verbs:
                name = f"prv{verb}{privilege_entity_name(grant.table)}"
                wanted[name] = max(grant.depth, wanted.get(name, Depth.Basic))
        return wanted


def privilege_entity_name(logical_name: str) -> str:
    """Privilege names use the table's schema name: prvReadInvoice, prvReadxc_Connection."""
    found = schema.table(logical_name)
    return found.schema_name if found.custom else _STANDARD_SCHEMA_NAMES[logical_name]


_STANDARD_SCHEMA_NAMES = {
    "invoice": "Invoice",
    "invoicedetail": "InvoiceDetail",
    "account": "Account",
    "contact": "Contact",
    "product": "Product",
}


# ---------------------------------------------------------------------------------------------------
# The definition
# ---------------------------------------------------------------------------------------------------

SYNC_HISTORY_OF_RECORD = "Sync history, newest first"
REFERENCE_TABLES = (
    schema.TAX_RATE_TABLE,
    schema.ACCOUNT_CODE_TABLE,
    schema.BRANDING_THEME_TABLE,
    schema.TRACKING_CATEGORY_TABLE,
    schema.TRACKING_OPTION_TABLE,
    schema.CURRENCY_TABLE,
)
# What each reference table shows besides its name, status and active flag.
_REFERENCE_EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    schema.TAX_RATE_TABLE.logical_name: (schema.TAX_RATE_TAX_TYPE, schema.TAX_RATE_EFFECTIVE_RATE),
    schema.ACCOUNT_CODE_TABLE.logical_name: (schema.ACCOUNT_CODE_CODE, schema.ACCOUNT_CODE_TYPE),
    schema.TRACKING_OPTION_TABLE.logical_name: (schema.TRACKING_OPTION_CATEGORY,),
    schema.CURRENCY_TABLE.logical_name: (schema.CURRENCY_CODE,),
}


def active_reference_view(logical_name: str) -> str:
    return f"Active {schema.table(logical_name).plural_label}"


def _reference_views() -> list[ViewDefinition]:
    views = []
    for ref in REFERENCE_TABLES:
        extra = _REFERENCE_EXTRA_COLUMNS.get(ref.logical_name, ())
        shown = (schema.REFERENCE_NAME, *extra, schema.REFERENCE_STATUS, schema.REFERENCE_IS_ACTIVE)
        views.append(
            ViewDefinition(
                ref.logical_name,
                ref.plural_label,
                (*shown, schema.REFERENCE_CONNECTION),
                order=schema.REFERENCE_NAME,
                description=f"Every {ref.label.lower()} copied from the linked Xero organisations.",
            )
        )
        views.append(
            ViewDefinition(
                ref.logical_name,
                active_reference_view(ref.logical_name),
                shown,
                conditions=(eq(schema.REFERENCE_IS_ACTIVE, 1),),
                order=schema.REFERENCE_NAME,
                description="Offered for new invoices and lines.",
            )
        )
    return views


ACTIVE_BRANDING_THEMES = active_reference_view(schema.BRANDING_THEME_TABLE.logical_name)
INVOICE_VIEW_COLUMNS = (
    "name",
    "invoicenumber",
    "customerid",
    "totalamount",
    schema.INVOICE_CONNECTION,
    schema.INVOICE_EXPORT_STATUS,
    schema.INVOICE_XERO_NUMBER,
    schema.INVOICE_XERO_STATUS,
    schema.INVOICE_EXPORT_DATE,
)
CONTACT_LINKS_OF_CUSTOMER = "Xero contacts by organisation"
SYNC_HISTORY_VIEW_COLUMNS = (
    schema.SYNC_HISTORY_OCCURRED_ON,
    schema.SYNC_HISTORY_ACTION,
    schema.SYNC_HISTORY_STATUS,
    schema.SYNC_HISTORY_DETAILS,
)

VIEWS: tuple[ViewDefinition, ...] = (
    ViewDefinition(
        schema.CONNECTION_ENTITY,
        "Active Xero connections",
        (
            schema.CONNECTION_NAME,
            schema.CONNECTION_XERO_TENANT_NAME,
            schema.CONNECTION_STATUS,
            schema.CONNECTION_IS_DEFAULT,
            schema.CONNECTION_STATUS_MESSAGE,
        ),
        conditions=(ACTIVE,),
        order=schema.CONNECTION_NAME,
        description="Xero organisations linked to this environment.",
    ),
    ViewDefinition(
        "invoice",
        "Failed exports",
        INVOICE_VIEW_COLUMNS,
        conditions=(eq(schema.INVOICE_EXPORT_STATUS, ExportStatus.FAILED),),
        order="modifiedon",
        descending=True,
        description="Invoices Xero did not accept: the Sync History of each says why.",
    ),
    ViewDefinition(
        "invoice",
        "Waiting for Xero",
        INVOICE_VIEW_COLUMNS,
        conditions=(
            Condition(schema.INVOICE_CONNECTION, "not-null"),
            one_of(schema.INVOICE_EXPORT_STATUS, *sorted(schema.RESYNC_REQUEST_VALUES)),
        ),
        order="modifiedon",
        descending=True,
        description="Invoices with a Xero connection whose sync has not finished yet.",
    ),
    ViewDefinition(
        "invoice",
        "Totals differ from Xero",
        (*INVOICE_VIEW_COLUMNS, schema.INVOICE_XERO_TOTAL, schema.INVOICE_TOTALS_DIFFERENCE),
        conditions=(eq(schema.INVOICE_TOTALS_STATUS, TotalsStatus.DIFFER),),
        order="modifiedon",
        descending=True,
        description="Invoices whose subtotal, tax or total in Xero is not Dynamics': both figures and why.",
    ),
    ViewDefinition(
        "invoice",
        "Synced today",
        INVOICE_VIEW_COLUMNS,
        conditions=(Condition(schema.INVOICE_EXPORT_DATE, "today"),),
        order=schema.INVOICE_EXPORT_DATE,
        descending=True,
        description="Invoices sent to Xero today.",
    ),
    ViewDefinition(
        schema.SYNC_HISTORY_ENTITY,
        "Failures this week",
        (schema.SYNC_HISTORY_NAME, *SYNC_HISTORY_VIEW_COLUMNS, schema.SYNC_HISTORY_INVOICE),
        conditions=(
            eq(schema.SYNC_HISTORY_STATUS, SyncStatus.FAILED),
            Condition(schema.SYNC_HISTORY_OCCURRED_ON, "this-week"),
        ),
        order=schema.SYNC_HISTORY_OCCURRED_ON,
        descending=True,
        description="What failed since the start of the week, and why.",
    ),
    ViewDefinition(
        schema.SYNC_HISTORY_ENTITY,
        "Recent sync history",
        (schema.SYNC_HISTORY_NAME, *SYNC_HISTORY_VIEW_COLUMNS, schema.SYNC_HISTORY_INVOICE),
        order=schema.SYNC_HISTORY_OCCURRED_ON,
        descending=True,
        description="Everything the connector did, newest first.",
    ),
    ViewDefinition(
        schema.SYNC_HISTORY_ENTITY,
        SYNC_HISTORY_OF_RECORD,
        SYNC_HISTORY_VIEW_COLUMNS,
        order=schema.SYNC_HISTORY_OCCURRED_ON,
        descending=True,
        query_type=ASSOCIATED_VIEW,
        description="The Sync History rows of one invoice or connection.",
    ),
    ViewDefinition(
        schema.CONTACT_LINK_TABLE.logical_name,
        CONTACT_LINKS_OF_CUSTOMER,
        (
            schema.LINK_CONNECTION,
            schema.CONTACT_LINK_XERO_CONTACT_ID,
            schema.CONTACT_LINK_OUTSTANDING,
            schema.CONTACT_LINK_OVERDUE,
        ),
        order=schema.LINK_NAME,
        query_type=ASSOCIATED_VIEW,
        description="The customer's Xero contact in each organisation, with its balances there.",
    ),
    *_reference_views(),
)


def view(table_name: str, name: str) -> ViewDefinition:
    for candidate in VIEWS:
        if candidate.table == table_name and candidate.name == name:
            return candidate
    raise KeyError(f"{table_name}: no view named {name!r}")


def _reference_subgrid(ref: schema.Table) -> Subgrid:
    return Subgrid(
        f"{ref.logical_name}_grid", ref.plural_label, ref.logical_name, schema.REFERENCE_CONNECTION, ref.plural_label
    )


FORMS: tuple[FormDefinition, ...] = (
    FormDefinition(
        "invoice",
        "Invoice",
        (
            tab(
                "xero",
                "Xero",
                section(
                    "xero_sync",
                    "Sync to Xero",
                    schema.INVOICE_CONNECTION,
                    schema.INVOICE_INVOICE_TYPE,
                    schema.INVOICE_EXPORT_STATUS,
                    schema.INVOICE_EXPORT_DATE,
                    schema.INVOICE_LINE_AMOUNT_TYPES,
                    Field(schema.INVOICE_BRANDING_THEME, ACTIVE_BRANDING_THEMES),
                ),
                section(
                    "xero_details",
                    "Xero details",
                    schema.INVOICE_XERO_NUMBER,
                    schema.INVOICE_XERO_STATUS,
                    schema.INVOICE_XERO_LINK,
                    schema.INVOICE_AMOUNT_DUE,
                    schema.INVOICE_AMOUNT_PAID,
                    schema.INVOICE_AMOUNT_CREDITED,
                ),
                section(
                    "xero_totals",
                    "Totals in Xero",
                    schema.INVOICE_TOTALS_STATUS,
                    schema.INVOICE_XERO_SUBTOTAL,
                    schema.INVOICE_XERO_TOTAL_TAX,
                    schema.INVOICE_XERO_TOTAL,
                    schema.INVOICE_TOTALS_DIFFERENCE,
                ),
                section(
                    "xero_history",
                    "Sync History",
                    Subgrid(
                        "xc_synchistory_grid",
                        "Sync History",
                        schema.SYNC_HISTORY_ENTITY,
                        schema.SYNC_HISTORY_INVOICE,
                        SYNC_HISTORY_OF_RECORD,
                    ),
                ),
            ),
        ),
    ),
    FormDefinition(
        "invoicedetail",
        "Invoice Product",
        (
            tab(
                "xero",
                "Xero",
                section(
                    "xero_coding",
                    "Xero coding",
                    *(
                        Field(name, active_reference_view(target))
                        for name, target in (
                            (schema.INVOICE_LINE_ACCOUNT_CODE, schema.ACCOUNT_CODE_TABLE.logical_name),
                            (schema.INVOICE_LINE_TAX_RATE, schema.TAX_RATE_TABLE.logical_name),
                            (schema.INVOICE_LINE_TRACKING_OPTION_1, schema.TRACKING_OPTION_TABLE.logical_name),
                            (schema.INVOICE_LINE_TRACKING_OPTION_2, schema.TRACKING_OPTION_TABLE.logical_name),
                        )
                    ),
                ),
            ),
        ),
    ),
    *(
        FormDefinition(
            customer,
            customer.capitalize(),
            (
                tab(
                    "xero",
                    "Xero",
                    section(
                        "xero_balances",
                        "Xero",
                        schema.CUSTOMER_XERO_CONTACT_ID,
                        schema.CUSTOMER_OUTSTANDING,
                        schema.CUSTOMER_OVERDUE,
                        Subgrid(
                            f"xc_{customer}_contact_links_grid",
                            "In each Xero organisation",
                            schema.CONTACT_LINK_TABLE.logical_name,
                            schema.CONTACT_LINK_ACCOUNT if customer == "account" else schema.CONTACT_LINK_CONTACT,
                            CONTACT_LINKS_OF_CUSTOMER,
                        ),
                    ),
                ),
            ),
        )
        for customer in ("account", "contact")
    ),
    FormDefinition(
        schema.CONNECTION_ENTITY,
        "Xero connection",
        (
            tab(
                "connection_general",
                "Xero organisation",
                section(
                    "connection_organisation",
                    "Organisation",
                    schema.CONNECTION_NAME,
                    schema.CONNECTION_XERO_TENANT_NAME,
                    schema.CONNECTION_XERO_TENANT_ID,
                    schema.CONNECTION_XERO_SHORT_CODE,
                    schema.CONNECTION_IS_DEFAULT,
                    schema.CONNECTION_TIME_ZONE,
                    schema.CONNECTION_PERIOD_LOCK_DATE,
                ),
                section(
                    "connection_state",
                    "Connection status",
                    schema.CONNECTION_STATUS,
                    schema.CONNECTION_STATUS_MESSAGE,
                    Subgrid(
                        "xc_connection_history_grid",
                        "Sync History",
                        schema.SYNC_HISTORY_ENTITY,
                        schema.SYNC_HISTORY_CONNECTION,
                        SYNC_HISTORY_OF_RECORD,
                    ),
                ),
            ),
            tab(
                "connection_settings",
                "Sync settings",
                section(
                    "connection_invoices",
                    "Invoices",
                    schema.CONNECTION_USE_XERO_INVOICE_NUMBER,
                    schema.CONNECTION_DEFAULT_INVOICE_STATUS,
                    schema.CONNECTION_DEFAULT_LINE_AMOUNT_TYPES,
                    schema.CONNECTION_BUNDLE_HANDLING,
                    schema.CONNECTION_CREATE_CREDIT_NOTE,
                ),
                section(
                    "connection_accounts",
                    "Default accounts",
                    schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE,
                    schema.CONNECTION_DEFAULT_SALES_TAX_TYPE,
                    schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE,
                    schema.CONNECTION_DEFAULT_PURCHASE_TAX_TYPE,
                ),
                section(
                    "connection_money",
                    "Freight and rounding",
                    schema.CONNECTION_FREIGHT_ACCOUNT_CODE,
                    schema.CONNECTION_FREIGHT_TAX_TYPE,
                    schema.CONNECTION_ROUNDING_MODE,
                    schema.CONNECTION_ROUNDING_ACCOUNT_CODE,
                    schema.CONNECTION_ROUNDING_TOLERANCE,
                ),
                section(
                    "connection_contacts",
                    "Contacts and items",
                    schema.CONNECTION_CREATE_CONTACTS,
                    schema.CONNECTION_CREATE_ITEMS,
                ),
                section(
                    "connection_limits",
                    "Xero limits",
                    schema.CONNECTION_XERO_DAILY_CALL_LIMIT,
                ),
            ),
            tab(
                "connection_reference",
                "Xero reference data",
                section("connection_reference_data", "Copied from Xero", *map(_reference_subgrid, REFERENCE_TABLES)),
            ),
        ),
    ),
)


def form(table_name: str) -> FormDefinition:
    for candidate in FORMS:
        if candidate.table == table_name:
            return candidate
    raise KeyError(table_name)


APP = AppDefinition(
    unique_name="xc_XeroConnector",
    name="Xero Connector",
    description="Xero connections, invoices by export status and what the connector did.",
    groups=(
        Group(
            "xc_sync",
            "Sync",
            (
                SubArea("xc_invoices", "Invoices by export status", "invoice"),
                SubArea("xc_synchistory", "Sync History", schema.SYNC_HISTORY_ENTITY),
            ),
        ),
        Group(
            "xc_settings",
            "Settings",
            (
                SubArea("xc_connections", "Connections", schema.CONNECTION_ENTITY),
                SubArea("xc_taxrates", "Tax rates", schema.TAX_RATE_TABLE.logical_name),
                SubArea("xc_accountcodes", "Account codes", schema.ACCOUNT_CODE_TABLE.logical_name),
                SubArea("xc_brandingthemes", "Branding themes", schema.BRANDING_THEME_TABLE.logical_name),
                SubArea("xc_trackingcategories", "Tracking", schema.TRACKING_CATEGORY_TABLE.logical_name),
                SubArea("xc_trackingoptions", "Tracking options", schema.TRACKING_OPTION_TABLE.logical_name),
            ),
        ),
    ),
)

_READ = ("Read",)
_READ_LINK = ("Read", "AppendTo")
_MANAGE = ("Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share")
_REFERENCE_NAMES = tuple(ref.logical_name for ref in REFERENCE_TABLES)

USER_ROLE = RoleDefinition(
    "Xero Connector User",
    "Read the connector's tables; set the Xero connection and export status on invoices and Xero coding on lines.",
    (
        Grant(schema.CONNECTION_ENTITY, _READ_LINK),
        Grant(schema.SYNC_HISTORY_ENTITY, _READ),
        *(Grant(name, _READ_LINK) for name in _REFERENCE_NAMES),
        Grant(schema.CONTACT_LINK_TABLE.logical_name, _READ),
        Grant(schema.ITEM_LINK_TABLE.logical_name, _READ),
        # Setting a lookup needs Append on the row and AppendTo on what it points at; Write where the user may.
        Grant("invoice", ("Read", "Write", "Append"), Depth.Local),
        Grant("invoicedetail", ("Read", "Write", "Append"), Depth.Local),
    ),
)
ADMIN_ROLE = RoleDefinition(
    "Xero Connector Admin",
    "Everything a Xero Connector User may do, and manage Xero connections and their settings.",
    (
        *USER_ROLE.grants,
        Grant(schema.CONNECTION_ENTITY, _MANAGE),
        Grant(schema.SYNC_HISTORY_ENTITY, ("Read", "AppendTo")),
    ),
)
ROLES: tuple[RoleDefinition, ...] = (USER_ROLE, ADMIN_ROLE)
