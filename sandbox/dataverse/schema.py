"""Table and column definitions: the sandbox's own metadata, the source of truth for validation and shape.

System tables are declared here; custom ones are added at run time through the metadata endpoints.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    ID = "Uniqueidentifier"
    STRING = "String"
    MEMO = "Memo"
    INTEGER = "Integer"
    BIGINT = "BigInt"
    DECIMAL = "Decimal"
    MONEY = "Money"
    BOOLEAN = "Boolean"
    DATETIME = "DateTime"
    DATEONLY = "DateOnly"
    PICKLIST = "Picklist"
    STATE = "State"
    STATUS = "Status"
    LOOKUP = "Lookup"
    CUSTOMER = "Customer"
    OWNER = "Owner"


LOOKUP_KINDS = frozenset({Kind.LOOKUP, Kind.CUSTOMER, Kind.OWNER})
OPTION_KINDS = frozenset({Kind.PICKLIST, Kind.STATE, Kind.STATUS})
NUMBER_KINDS = frozenset({Kind.INTEGER, Kind.BIGINT, Kind.DECIMAL, Kind.MONEY})


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Column:
    logical_name: str
    kind: Kind
    schema_name: str = ""
    display_name: str = ""
    targets: tuple[str, ...] = ()
    description: str = ""  # the help text a form shows beside the column
    options: dict[int, str] = field(default_factory=dict)
    valid_for_create: bool = True
    valid_for_update: bool = True
    valid_for_read: bool = True
    required: bool = False
    max_length: int | None = None
    precision: int | None = None
    custom: bool = False
    is_primary_name: bool = False
    metadata_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        self.schema_name = self.schema_name or self.logical_name
        self.display_name = self.display_name or self.logical_name

    @property
    def is_lookup(self) -> bool:
        return self.kind in LOOKUP_KINDS

    @property
    def web_name(self) -> str:
        """How the column is named in Web API JSON: lookups read as `_<name>_value`."""
        return f"_{self.logical_name}_value" if self.is_lookup else self.logical_name

    @property
    def writable(self) -> bool:
        return self.valid_for_create or self.valid_for_update


@dataclass
class Navigation:
    """A single-valued navigation property: `<name>@odata.bind` writes `column` pointing at `target`."""

    name: str
    column: str
    target: str


@dataclass
class CollectionNavigation:
    """A collection-valued navigation property: rows of `table` whose `column` points at this row."""

    name: str
    table: str
    column: str


@dataclass
class Relationship:
    schema_name: str
    referenced_entity: str
    referenced_attribute: str
    referencing_entity: str
    referencing_attribute: str
    referenced_navigation: str
    referencing_navigation: str
    cascade_delete: str = "RemoveLink"  # Cascade | RemoveLink | Restrict
    custom: bool = False
    metadata_id: str = field(default_factory=new_id)


@dataclass
class Table:
    logical_name: str
    entity_set: str
    primary_id: str
    primary_name: str
    schema_name: str = ""
    display_name: str = ""
    display_collection_name: str = ""
    ownership: str = "UserOwned"  # UserOwned | OrganizationOwned
    object_type_code: int = 0
    custom: bool = False
    # Only system administrators write these (the registration tables).
    customization_only: bool = False
    # Rows only the platform writes (solution components): the Web API refuses Create, Update and Delete.
    platform_only: bool = False
    columns: dict[str, Column] = field(default_factory=dict)
    navigations: dict[str, Navigation] = field(default_factory=dict)
    collections: dict[str, CollectionNavigation] = field(default_factory=dict)
    # statecode -> allowed statuscodes, the first being the default.
    state_status: dict[int, tuple[int, ...]] = field(default_factory=dict)
    metadata_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        self.schema_name = self.schema_name or self.logical_name
        self.display_name = self.display_name or self.logical_name
        self.display_collection_name = self.display_collection_name or self.entity_set

    def add(self, *columns: Column) -> Table:
        for col in columns:
            self.columns[col.logical_name] = col
        return self

    def by_web_name(self, name: str) -> Column | None:
        if name.startswith("_") and name.endswith("_value"):
            col = self.columns.get(name[1:-6])
            return col if col is not None and col.is_lookup else None
        col = self.columns.get(name)
        return col if col is not None and not col.is_lookup else None

    def default_status(self, state: int) -> int:
        return self.state_status[state][0]


def standard_columns(table: Table) -> None:
    """Columns every table carries: audit columns, version, owner and state when the table has them."""
    table.add(
        Column(table.primary_id, Kind.ID, valid_for_update=False),
        Column("createdon", Kind.DATETIME, "CreatedOn", valid_for_create=False, valid_for_update=False),
        Column("modifiedon", Kind.DATETIME, "ModifiedOn", valid_for_create=False, valid_for_update=False),
        Column(
            "createdby",
            Kind.LOOKUP,
            "CreatedBy",
            targets=("systemuser",),
            valid_for_create=False,
            valid_for_update=False,
        ),
        Column(
            "modifiedby",
            Kind.LOOKUP,
            "ModifiedBy",
            targets=("systemuser",),
            valid_for_create=False,
            valid_for_update=False,
        ),
        Column("versionnumber", Kind.BIGINT, "VersionNumber", valid_for_create=False, valid_for_update=False),
    )
    if table.ownership == "UserOwned":
        table.add(Column("ownerid", Kind.OWNER, "OwnerId", targets=("systemuser",)))
        table.navigations["ownerid"] = Navigation("ownerid", "ownerid", "systemuser")
    table.navigations["createdby"] = Navigation("createdby", "createdby", "systemuser")
    table.navigations["modifiedby"] = Navigation("modifiedby", "modifiedby", "systemuser")
    if table.state_status:
        labels = STATE_LABELS.get(table.logical_name, {0: "Active", 1: "Inactive"})
        status_labels = STATUS_LABELS.get(table.logical_name, {1: "Active", 2: "Inactive"})
        table.add(
            Column("statecode", Kind.STATE, "StateCode", options=dict(labels)),
            Column("statuscode", Kind.STATUS, "StatusCode", options=dict(status_labels)),
        )


STATE_LABELS: dict[str, dict[int, str]] = {
    "invoice": {0: "Active", 2: "Paid", 3: "Canceled"},
    "product": {0: "Active", 1: "Retired", 2: "Draft", 3: "Under Revision"},
    "sdkmessageprocessingstep": {0: "Enabled", 1: "Disabled"},
    "asyncoperation": {0: "Ready", 1: "Suspended", 2: "Locked", 3: "Completed"},
}
STATUS_LABELS: dict[str, dict[int, str]] = {
    "invoice": {
        1: "New",
        2: "Partially Shipped",
        4: "Billed",
        5: "Booked (applies to services)",
        6: "Installed (applies to services)",
        100001: "Complete",
        100002: "Partial",
        100003: "Canceled",
    },
    "product": {1: "Active", 2: "Retired", 0: "Draft", 3: "Under Revision"},
    "pricelevel": {100001: "Active", 100002: "Inactive"},
    "sdkmessageprocessingstep": {1: "Enabled", 2: "Disabled"},
    "asyncoperation": {
        0: "Waiting For Resources",
        10: "Waiting",
        20: "In Progress",
        21: "Pausing",
        22: "Canceling",
        30: "Succeeded",
        31: "Failed",
        32: "Canceled",
    },
}
ACTIVE_INACTIVE = {0: (1,), 1: (2,)}


@dataclass
class Schema:
    tables: dict[str, Table] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)

    def add_table(self, table: Table) -> Table:
        standard_columns(table)
        self.tables[table.logical_name] = table
        return table

    def by_entity_set(self, name: str) -> Table | None:
        for table in self.tables.values():
            if table.entity_set == name:
                return table
        return None

    def relate(self, rel: Relationship) -> None:
        """Register a one-to-many relationship and its two navigation properties."""
        self.relationships[rel.schema_name] = rel
        referencing = self.tables[rel.referencing_entity]
        referencing.navigations[rel.referencing_navigation] = Navigation(
            rel.referencing_navigation, rel.referencing_attribute, rel.referenced_entity
        )
        if rel.referenced_entity in self.tables:
            self.tables[rel.referenced_entity].collections[rel.referenced_navigation] = CollectionNavigation(
                rel.referenced_navigation, rel.referencing_entity, rel.referencing_attribute
            )

    def lookup(
        self,
        table: str,
        column: Column,
        target: str,
        nav: str,
        rel_name: str,
        collection: str | None = None,
        cascade: str = "RemoveLink",
    ) -> None:
        self.tables[table].add(column) if column.logical_name not in self.tables[table].columns else None
        self.relate(
            Relationship(
                schema_name=rel_name,
                referenced_entity=target,
                referenced_attribute=self.tables[target].primary_id if target in self.tables else f"{target}id",
                referencing_entity=table,
                referencing_attribute=column.logical_name,
                referenced_navigation=collection or rel_name,
                referencing_navigation=nav,
                cascade_delete=cascade,
            )
        )

    def relationships_to(self, logical_name: str) -> list[Relationship]:
        return [r for r in self.relationships.values() if r.referenced_entity == logical_name]


def S(name: str, length: int = 100, **kw: object) -> Column:
    return Column(name, Kind.STRING, max_length=length, **kw)  # type: ignore[arg-type]


def M(name: str, **kw: object) -> Column:
    return Column(name, Kind.MONEY, precision=2, **kw)  # type: ignore[arg-type]


def calc_money(name: str) -> Column:
    return Column(name, Kind.MONEY, precision=2, valid_for_create=False, valid_for_update=False)


def build_system_schema() -> Schema:
    """The system tables the connector touches, with the columns it (or a person) uses."""
    schema = Schema()
    t = schema.add_table
    t(
        Table(
            "systemuser",
            "systemusers",
            "systemuserid",
            "fullname",
            "SystemUser",
            "User",
            "Users",
            ownership="BusinessOwned",
            object_type_code=8,
            customization_only=True,
        )
    ).add(
        Column("fullname", Kind.STRING, max_length=200, valid_for_create=False, valid_for_update=False),
        S("firstname", 64),
        S("lastname", 64),
        S("domainname", 1024),
        S("internalemailaddress", 100),
        Column("applicationid", Kind.ID),
        Column("azureactivedirectoryobjectid", Kind.ID),
        Column("isdisabled", Kind.BOOLEAN, valid_for_create=False),
        Column(
            "accessmode",
            Kind.PICKLIST,
            options={
                0: "Read-Write",
                1: "Administrative",
                2: "Read",
                3: "Support User",
                4: "Non-interactive",
                5: "Delegated Admin",
            },
        ),
    )
    t(
        Table(
            "transactioncurrency",
            "transactioncurrencies",
            "transactioncurrencyid",
            "currencyname",
            "TransactionCurrency",
            "Currency",
            "Currencies",
            ownership="OrganizationOwned",
            object_type_code=9105,
            state_status=dict(ACTIVE_INACTIVE),
        )
    ).add(
        S("currencyname", 100, required=True),
        S("isocurrencycode", 5, required=True, valid_for_update=False),
        S("currencysymbol", 10),
        Column("exchangerate", Kind.DECIMAL, precision=10),
        Column("currencyprecision", Kind.INTEGER),
    )
    t(
        Table(
            "uom", "uoms", "uomid", "name", "UoM", "Unit", "Units", ownership="OrganizationOwned", object_type_code=1055
        )
    ).add(
        S("name", 100, required=True),
        Column("quantity", Kind.DECIMAL, precision=5),
        Column("isschedulebaseuom", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
    )
    t(
        Table(
            "pricelevel",
            "pricelevels",
            "pricelevelid",
            "name",
            "PriceLevel",
            "Price List",
            "Price Lists",
            ownership="OrganizationOwned",
            object_type_code=1022,
            state_status={0: (100001,), 1: (100002,)},
        )
    ).add(
        S("name", 100, required=True),
        Column("description", Kind.MEMO, max_length=2000),
        Column("begindate", Kind.DATETIME),
        Column("enddate", Kind.DATETIME),
    )
    schema.lookup(
        "pricelevel",
        Column(
            "transactioncurrencyid",
            Kind.LOOKUP,
            "TransactionCurrencyId",
            targets=("transactioncurrency",),
            required=True,
        ),
        "transactioncurrency",
        "transactioncurrencyid",
        "transactioncurrency_pricelevel",
    )
    t(
        Table(
            "account",
            "accounts",
            "accountid",
            "name",
            "Account",
            "Account",
            "Accounts",
            object_type_code=1,
            state_status=dict(ACTIVE_INACTIVE),
        )
    ).add(
        S("name", 160),
        S("accountnumber", 20),
        S("emailaddress1", 100),
        S("telephone1", 50),
        S("websiteurl", 200),
        Column("description", Kind.MEMO, max_length=2000),
        *(
            S(f"address1_{part}", 250)
            for part in ("line1", "line2", "line3", "city", "stateorprovince", "postalcode", "country")
        ),
    )
    t(
        Table(
            "contact",
            "contacts",
            "contactid",
            "fullname",
            "Contact",
            "Contact",
            "Contacts",
            object_type_code=2,
            state_status=dict(ACTIVE_INACTIVE),
        )
    ).add(
        Column("fullname", Kind.STRING, max_length=160, valid_for_create=False, valid_for_update=False),
        S("firstname", 50),
        S("lastname", 50),
        S("emailaddress1", 100),
        S("telephone1", 50),
        S("jobtitle", 100),
        *(S(f"address1_{part}", 250) for part in ("line1", "line2", "city", "postalcode", "country")),
    )
    parent = Column("parentcustomerid", Kind.CUSTOMER, "ParentCustomerId", targets=("account", "contact"))
    schema.lookup("contact", parent, "account", "parentcustomerid_account", "contact_customer_accounts")
    schema.lookup("contact", parent, "contact", "parentcustomerid_contact", "contact_customer_contacts")
    schema.lookup(
        "account",
        Column("primarycontactid", Kind.LOOKUP, "PrimaryContactId", targets=("contact",)),
        "contact",
        "primarycontactid",
        "account_primary_contact",
    )
    for table in ("account", "contact"):
        schema.lookup(
            table,
            Column("transactioncurrencyid", Kind.LOOKUP, "TransactionCurrencyId", targets=("transactioncurrency",)),
            "transactioncurrency",
            "transactioncurrencyid",
            f"transactioncurrency_{table}",
        )
    t(
        Table(
            "product",
            "products",
            "productid",
            "name",
            "Product",
            "Product",
            "Products",
            ownership="OrganizationOwned",
            object_type_code=1024,
            state_status={0: (1,), 1: (2,), 2: (0,), 3: (3,)},
        )
    ).add(
        S("name", 100, required=True),
        S("productnumber", 100, required=True),
        Column("description", Kind.MEMO),
        M("price"),
        M("currentcost"),
        M("standardcost"),
        Column("quantitydecimal", Kind.INTEGER),
        Column(
            "productstructure",
            Kind.PICKLIST,
            options={1: "Product", 2: "Product Family", 3: "Product Bundle"},
            valid_for_update=False,
        ),
        Column(
            "producttypecode",
            Kind.PICKLIST,
            options={1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"},
        ),
    )
    schema.lookup(
        "product",
        Column("defaultuomid", Kind.LOOKUP, "DefaultUoMId", targets=("uom",)),
        "uom",
        "defaultuomid",
        "unit_of_measurement_products",
    )
    schema.lookup(
        "product",
        Column("pricelevelid", Kind.LOOKUP, "PriceLevelId", targets=("pricelevel",)),
        "pricelevel",
        "pricelevelid",
        "price_level_products",
    )
    schema.lookup(
        "product",
        Column("transactioncurrencyid", Kind.LOOKUP, "TransactionCurrencyId", targets=("transactioncurrency",)),
        "transactioncurrency",
        "transactioncurrencyid",
        "transactioncurrency_product",
    )
    _invoice_tables(schema)
    _registration_tables(schema)
    _solution_tables(schema)
    from sandbox.dataverse.customization_tables import add_customization_tables

    add_customization_tables(schema)
    return schema


def _invoice_tables(schema: Schema) -> None:
    schema.add_table(
        Table(
            "invoice",
            "invoices",
            "invoiceid",
            "name",
            "Invoice",
            "Invoice",
            "Invoices",
            object_type_code=1090,
            state_status={0: (1, 2, 4, 5, 6), 2: (100001, 100002), 3: (100003,)},
        )
    ).add(
        S("name", 300, required=True),
        S("invoicenumber", 100, valid_for_update=False),
        Column("description", Kind.MEMO, max_length=2000),
        Column("datedelivered", Kind.DATEONLY),
        Column("duedate", Kind.DATEONLY),
        M("discountamount"),
        Column("discountpercentage", Kind.DECIMAL, precision=2),
        M("freightamount"),
        Column("paymenttermscode", Kind.PICKLIST, options={1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}),
        Column("ispricelocked", Kind.BOOLEAN),
        Column("exchangerate", Kind.DECIMAL, precision=10, valid_for_create=False, valid_for_update=False),
        *(
            S(f"billto_{part}", 250)
            for part in ("name", "line1", "line2", "line3", "city", "stateorprovince", "postalcode", "country")
        ),
        calc_money("totallineitemamount"),
        calc_money("totallineitemdiscountamount"),
        calc_money("totaldiscountamount"),
        calc_money("totalamountlessfreight"),
        calc_money("totaltax"),
        calc_money("totalamount"),
    )
    customer = Column("customerid", Kind.CUSTOMER, "CustomerId", targets=("account", "contact"), required=True)
    schema.lookup("invoice", customer, "account", "customerid_account", "invoice_customer_accounts")
    schema.lookup("invoice", customer, "contact", "customerid_contact", "invoice_customer_contacts")
    schema.lookup(
        "invoice",
        Column("pricelevelid", Kind.LOOKUP, "PriceLevelId", targets=("pricelevel",)),
        "pricelevel",
        "pricelevelid",
        "price_level_invoices",
    )
    schema.lookup(
        "invoice",
        Column(
            "transactioncurrencyid",
            Kind.LOOKUP,
            "TransactionCurrencyId",
            targets=("transactioncurrency",),
            valid_for_update=False,
        ),
        "transactioncurrency",
        "transactioncurrencyid",
        "transactioncurrency_invoice",
    )

    schema.add_table(
        Table(
            "invoicedetail",
            "invoicedetails",
            "invoicedetailid",
            "invoicedetailname",
            "InvoiceDetail",
            "Invoice Product",
            "Invoice Products",
            object_type_code=1091,
        )
    ).add(
        Column("invoicedetailname", Kind.STRING, max_length=500, valid_for_create=False, valid_for_update=False),
        S("productdescription", 500),
        Column("isproductoverridden", Kind.BOOLEAN, valid_for_update=False),
        Column("ispriceoverridden", Kind.BOOLEAN),
        Column("quantity", Kind.DECIMAL, precision=5),
        M("priceperunit"),
        M("manualdiscountamount"),
        M("tax"),
        Column("volumediscountamount", Kind.MONEY, precision=2, valid_for_create=False, valid_for_update=False),
        calc_money("baseamount"),
        calc_money("extendedamount"),
        Column("lineitemnumber", Kind.INTEGER),
        Column("sequencenumber", Kind.INTEGER),
        Column("description", Kind.MEMO, max_length=2000),
        Column(
            "producttypecode",
            Kind.PICKLIST,
            options={
                1: "Product",
                2: "Bundle",
                3: "Required Bundle Product",
                4: "Optional Bundle Product",
                5: "Project-based Service",
            },
        ),
    )
    schema.lookup(
        "invoicedetail",
        Column("invoiceid", Kind.LOOKUP, "InvoiceId", targets=("invoice",), required=True, valid_for_update=False),
        "invoice",
        "invoiceid",
        "invoice_details",
        collection="invoice_details",
        cascade="Cascade",
    )
    schema.lookup(
        "invoicedetail",
        Column("productid", Kind.LOOKUP, "ProductId", targets=("product",)),
        "product",
        "productid",
        "product_invoice_details",
    )
    schema.lookup(
        "invoicedetail",
        Column("uomid", Kind.LOOKUP, "UoMId", targets=("uom",)),
        "uom",
        "uomid",
        "unit_of_measurement_invoice_details",
    )
    schema.lookup(
        "invoicedetail",
        Column(
            "transactioncurrencyid",
            Kind.LOOKUP,
            "TransactionCurrencyId",
            targets=("transactioncurrency",),
            valid_for_create=False,
            valid_for_update=False,
        ),
        "transactioncurrency",
        "transactioncurrencyid",
        "transactioncurrency_invoicedetail",
    )


def _registration_tables(schema: Schema) -> None:
    reg = {"ownership": "OrganizationOwned", "customization_only": True}
    schema.add_table(
        Table(
            "serviceendpoint",
            "serviceendpoints",
            "serviceendpointid",
            "name",
            "ServiceEndpoint",
            "Service Endpoint",
            "Service Endpoints",
            object_type_code=4618,
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256, required=True),
        S("url", 2000),
        S("description", 2000),
        S("namespaceaddress", 255),
        S("path", 160),
        S("solutionnamespace", 160),
        Column(
            "contract",
            Kind.PICKLIST,
            required=True,
            options={
                1: "OneWay",
                2: "Queue",
                3: "Rest",
                4: "TwoWay",
                5: "Topic",
                6: "Queue (Persistent)",
                7: "Event Hub",
                8: "Webhook",
                9: "Event Grid",
                10: "Managed Data Lake",
            },
        ),
        Column(
            "authtype",
            Kind.PICKLIST,
            options={
                1: "ACS",
                2: "SAS Key",
                3: "SAS Token",
                4: "Webhook Key",
                5: "Http Header",
                6: "Http Query String",
                7: "Connection String",
                8: "Access Key",
                9: "Managed Identity",
            },
        ),
        Column("authvalue", Kind.STRING, max_length=4000, valid_for_read=False),
        Column("messageformat", Kind.PICKLIST, options={1: ".NETBinary", 2: "Json", 3: "XML"}),
        Column("userclaim", Kind.PICKLIST, options={1: "None", 2: "UserId", 3: "UserInfo"}),
    )
    schema.add_table(
        Table(
            "sdkmessage",
            "sdkmessages",
            "sdkmessageid",
            "name",
            "SdkMessage",
            "Sdk Message",
            "Sdk Messages",
            object_type_code=4606,
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256, required=True),
        S("categoryname", 25),
        Column("isprivate", Kind.BOOLEAN),
    )
    schema.add_table(
        Table(
            "sdkmessagefilter",
            "sdkmessagefilters",
            "sdkmessagefilterid",
            "name",
            "SdkMessageFilter",
            "Sdk Message Filter",
            "Sdk Message Filters",
            object_type_code=4607,
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256),
        S("primaryobjecttypecode", 100),
        S("secondaryobjecttypecode", 100),
        Column("iscustomprocessingstepallowed", Kind.BOOLEAN),
        Column("isvisible", Kind.BOOLEAN),
    )
    schema.lookup(
        "sdkmessagefilter",
        Column("sdkmessageid", Kind.LOOKUP, "SdkMessageId", targets=("sdkmessage",)),
        "sdkmessage",
        "sdkmessageid",
        "sdkmessageid_sdkmessagefilter",
        cascade="Cascade",
    )
    schema.add_table(
        Table(
            "sdkmessageprocessingstep",
            "sdkmessageprocessingsteps",
            "sdkmessageprocessingstepid",
            "name",
            "SdkMessageProcessingStep",
            "Sdk Message Processing Step",
            "Sdk Message Processing Steps",
            object_type_code=4608,
            state_status={0: (1,), 1: (2,)},
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256, required=True),
        S("description", 256),
        S("filteringattributes", 100000),
        S("configuration", 1048576),
        Column(
            "stage",
            Kind.PICKLIST,
            required=True,
            options={
                5: "Initial Pre-operation (For internal use only)",
                10: "Pre-validation",
                15: "Internal",
                20: "Pre-operation",
                25: "Internal",
                30: "Main Operation (For internal use only)",
                40: "Post-operation",
                45: "Internal",
                50: "Post-operation (Deprecated)",
                55: "Final Post-operation (For internal use only)",
            },
        ),
        Column("mode", Kind.PICKLIST, required=True, options={0: "Synchronous", 1: "Asynchronous"}),
        Column("rank", Kind.INTEGER, required=True),
        Column(
            "supporteddeployment",
            Kind.PICKLIST,
            options={0: "Server Only", 1: "Microsoft Dynamics 365 Client for Outlook Only", 2: "Both"},
        ),
        Column("asyncautodelete", Kind.BOOLEAN),
        Column("invocationsource", Kind.PICKLIST, options={-1: "Internal", 0: "Parent", 1: "Child"}),
    )
    handler = Column("eventhandler", Kind.LOOKUP, "EventHandler", targets=("serviceendpoint",), required=True)
    schema.lookup(
        "sdkmessageprocessingstep",
        handler,
        "serviceendpoint",
        "eventhandler_serviceendpoint",
        "serviceendpoint_sdkmessageprocessingstep",
        cascade="Cascade",
    )
    schema.lookup(
        "sdkmessageprocessingstep",
        Column("sdkmessageid", Kind.LOOKUP, "SdkMessageId", targets=("sdkmessage",), required=True),
        "sdkmessage",
        "sdkmessageid",
        "sdkmessageid_sdkmessageprocessingstep",
        cascade="Cascade",
    )
    schema.lookup(
        "sdkmessageprocessingstep",
        Column("sdkmessagefilterid", Kind.LOOKUP, "SdkMessageFilterId", targets=("sdkmessagefilter",)),
        "sdkmessagefilter",
        "sdkmessagefilterid",
        "sdkmessagefilterid_sdkmessageprocessingstep",
        cascade="Cascade",
    )
    schema.lookup(
        "sdkmessageprocessingstep",
        Column("impersonatinguserid", Kind.LOOKUP, "ImpersonatingUserId", targets=("systemuser",)),
        "systemuser",
        "impersonatinguserid",
        "impersonatinguserid_sdkmessageprocessingstep",
    )
    schema.add_table(
        Table(
            "sdkmessageprocessingstepimage",
            "sdkmessageprocessingstepimages",
            "sdkmessageprocessingstepimageid",
            "name",
            "SdkMessageProcessingStepImage",
            "Sdk Message Processing Step Image",
            "Sdk Message Processing Step Images",
            object_type_code=4615,
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256),
        S("entityalias", 256, required=True),
        S("messagepropertyname", 256, required=True),
        S("attributes", 100000),
        S("description", 256),
        Column("imagetype", Kind.PICKLIST, required=True, options={0: "PreImage", 1: "PostImage", 2: "Both"}),
    )
    schema.lookup(
        "sdkmessageprocessingstepimage",
        Column(
            "sdkmessageprocessingstepid",
            Kind.LOOKUP,
            "SdkMessageProcessingStepId",
            targets=("sdkmessageprocessingstep",),
            required=True,
        ),
        "sdkmessageprocessingstep",
        "sdkmessageprocessingstepid",
        "sdkmessageprocessingstepid_sdkmessageprocessingstepimage",
        cascade="Cascade",
    )
    schema.add_table(
        Table(
            "asyncoperation",
            "asyncoperations",
            "asyncoperationid",
            "name",
            "AsyncOperation",
            "System Job",
            "System Jobs",
            object_type_code=4700,
            state_status={0: (0, 10), 1: (10,), 2: (20, 21, 22), 3: (30, 31, 32)},
            **reg,
        )
    ).add(  # type: ignore[arg-type]
        S("name", 256),
        Column("message", Kind.MEMO),
        Column("friendlymessage", Kind.MEMO),
        Column("operationtype", Kind.PICKLIST, options={1: "System Event", 10: "Workflow"}),
        Column("errorcode", Kind.INTEGER),
        Column("retrycount", Kind.INTEGER),
        Column("depth", Kind.INTEGER),
        S("correlationid", 100),
        S("primaryentitytype", 100),
        S("messagename", 100),
        Column("startedon", Kind.DATETIME),
        Column("completedon", Kind.DATETIME),
        Column("regardingobjectid", Kind.LOOKUP, "RegardingObjectId", targets=()),
    )
    schema.lookup(
        "asyncoperation",
        Column("owningextensionid", Kind.LOOKUP, "OwningExtensionId", targets=("sdkmessageprocessingstep",)),
        "sdkmessageprocessingstep",
        "owningextensionid",
        "sdkmessageprocessingstep_asyncoperations",
    )


COMPONENT_TYPES = {
    1: "Entity",
    2: "Attribute",
    3: "Relationship",
    9: "Option Set",
    10: "Entity Relationship",
    20: "Role",
    26: "Saved Query",
    29: "Workflow",
    60: "System Form",
    61: "Web Resource",
    90: "Plugin Type",
    91: "Plugin Assembly",
    92: "SDK Message Processing Step",
    95: "Service Endpoint",
}


def _solution_tables(schema: Schema) -> None:
    """Publishers, solutions and the record of which metadata component belongs to which solution."""
    org = {"ownership": "OrganizationOwned", "customization_only": True}
    schema.add_table(
        Table(
            "publisher",
            "publishers",
            "publisherid",
            "friendlyname",
            "Publisher",
            "Publisher",
            "Publishers",
            object_type_code=7101,
            **org,
        )
    ).add(  # type: ignore[arg-type]
        S("uniquename", 256, required=True, valid_for_update=False),
        S("friendlyname", 256, required=True),
        Column("description", Kind.MEMO, max_length=2000),
        S("customizationprefix", 8, required=True),
        Column("customizationoptionvalueprefix", Kind.INTEGER, required=True),
        S("emailaddress", 100),
        S("supportingwebsiteurl", 200),
        Column("isreadonly", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
    )
    schema.add_table(
        Table(
            "solution",
            "solutions",
            "solutionid",
            "friendlyname",
            "Solution",
            "Solution",
            "Solutions",
            object_type_code=7100,
            **org,
        )
    ).add(  # type: ignore[arg-type]
        S("uniquename", 65, required=True, valid_for_update=False),
        S("friendlyname", 256, required=True),
        S("version", 256, required=True),
        Column("description", Kind.MEMO, max_length=2000),
        Column("ismanaged", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
        Column("isvisible", Kind.BOOLEAN, valid_for_create=False, valid_for_update=False),
        Column("installedon", Kind.DATETIME, valid_for_create=False, valid_for_update=False),
    )
    schema.lookup(
        "solution",
        Column("publisherid", Kind.LOOKUP, "PublisherId", targets=("publisher",), required=True),
        "publisher",
        "publisherid",
        "publisher_solution",
        cascade="Restrict",
    )
    schema.add_table(
        Table(
            "solutioncomponent",
            "solutioncomponents",
            "solutioncomponentid",
            "",
            "SolutionComponent",
            "Solution Component",
            "Solution Components",
            object_type_code=7103,
            platform_only=True,
            **org,
        )
    ).add(  # type: ignore[arg-type]
        Column("objectid", Kind.ID, "ObjectId"),
        Column("componenttype", Kind.PICKLIST, "ComponentType", options=dict(COMPONENT_TYPES)),
        Column(
            "rootcomponentbehavior",
            Kind.PICKLIST,
            "RootComponentBehavior",
            options={0: "Include Subcomponents", 1: "Do not include subcomponents", 2: "Include As Shell Only"},
        ),
        Column("rootsolutioncomponentid", Kind.ID, "RootSolutionComponentId"),
        Column("ismetadata", Kind.BOOLEAN, "IsMetadata"),
    )
    schema.lookup(
        "solutioncomponent",
        Column("solutionid", Kind.LOOKUP, "SolutionId", targets=("solution",)),
        "solution",
        "solutionid",
        "solution_solutioncomponent",
        cascade="Cascade",
    )
