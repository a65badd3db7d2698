"""Tokens, users and the small, realistic data set every sandbox starts with.

Seeded rows (ids are fixed so tests and demos can name them):
- currencies: GBP (base, exchange rate 1, `GBP_CURRENCY_ID`) and USD (1.27, `USD_CURRENCY_ID`);
- price lists: "UK Price List" in GBP (`PRICE_LIST_ID`) and "US Price List" in USD (`USD_PRICE_LIST_ID`);
- unit: "Primary Unit" (`UNIT_ID`);
- accounts: Contoso Ltd, Fabrikam Inc, Northwind Traders (`ACCOUNT_IDS`), each with an account number;
- contacts: Sarah Connor (at Contoso) and Tom Baker (no company) (`CONTACT_IDS`);
- products with productnumber: WIDGET-001 Widget 12.50, GADGET-002 Gadget 40.00, SERVICE-HOUR Consulting
  hour 95.00 (`PRODUCT_IDS`), all GBP, unit "Primary Unit";
- users: the connector's application user `CONNECTOR_USER_ID` ("# Xero Connector", system administrator,
  token `SANDBOX_CONNECTOR_TOKEN`) and the salesperson `PERSON_USER_ID` (Sam Seller, no customisation
  privileges, token `SANDBOX_PERSON_TOKEN`);
- solutions: the publisher "Default Publisher for sandbox" (`DEFAULT_PUBLISHER_ID`, unique name
  `DefaultPublishersandbox`, prefix `new`, option value prefix 10000) and the "Default Solution"
  (`DEFAULT_SOLUTION_ID`, unique name `Default`, version 1.0), which lists every table, column and relationship;
- registration: sdkmessages Create, Update, Delete, SetState, Assign and a message filter for each of them on
  invoice, invoicedetail, account, contact and product (and on every table provisioning creates);
- customisations: the root business unit (`BUSINESS_UNIT_ID`), a published main form for invoice, invoice line,
  account, contact and product, and the eight privileges of each of those tables (see `customizations.py`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sandbox.dataverse.customizations import seed_customizations
from sandbox.dataverse.solutions import seed_default_solution
from sandbox.dataverse.values import Ref

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

SANDBOX_CONNECTOR_TOKEN = "sandbox-connector-token"
SANDBOX_PERSON_TOKEN = "sandbox-person-token"
CONNECTOR_USER_ID = "5c0e0a5e-0000-4000-8000-00000000c0de"
PERSON_USER_ID = "5c0e0a5e-0000-4000-8000-0000000005a1"
CONNECTOR_APPLICATION_ID = "5c0e0a5e-0000-4000-8000-0000000a9911"
ORGANIZATION_ID = "5c0e0a5e-0000-4000-8000-000000000001"
BUSINESS_UNIT_ID = "5c0e0a5e-0000-4000-8000-000000000002"

GBP_CURRENCY_ID = "5c0e0a5e-0000-4000-8000-000000000101"
USD_CURRENCY_ID = "5c0e0a5e-0000-4000-8000-000000000102"
PRICE_LIST_ID = "5c0e0a5e-0000-4000-8000-000000000201"
USD_PRICE_LIST_ID = "5c0e0a5e-0000-4000-8000-000000000202"
UNIT_ID = "5c0e0a5e-0000-4000-8000-000000000301"
ACCOUNT_IDS = (
    "5c0e0a5e-0000-4000-8000-000000000401",
    "5c0e0a5e-0000-4000-8000-000000000402",
    "5c0e0a5e-0000-4000-8000-000000000403",
)
CONTACT_IDS = ("5c0e0a5e-0000-4000-8000-000000000501", "5c0e0a5e-0000-4000-8000-000000000502")
DEFAULT_PUBLISHER_ID = "5c0e0a5e-0000-4000-8000-000000000701"
DEFAULT_SOLUTION_ID = "5c0e0a5e-0000-4000-8000-000000000702"
PRODUCT_IDS = (
    "5c0e0a5e-0000-4000-8000-000000000601",
    "5c0e0a5e-0000-4000-8000-000000000602",
    "5c0e0a5e-0000-4000-8000-000000000603",
)

DEFAULT_TOKENS = {SANDBOX_CONNECTOR_TOKEN: CONNECTOR_USER_ID, SANDBOX_PERSON_TOKEN: PERSON_USER_ID}
ADMIN_USERS = frozenset({CONNECTOR_USER_ID})
SEEDED_MESSAGES = ("Create", "Update", "Delete", "SetState", "Assign")
FILTERED_TABLES = ("invoice", "invoicedetail", "account", "contact", "product")
_ID_NAMESPACE = uuid.UUID("5c0e0a5e-0000-4000-8000-00000000f11e")


def message_id(name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"sdkmessage:{name}"))


def filter_id(message: str, table: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"sdkmessagefilter:{message}:{table}"))


def add_message_filters(records: Records, table: str) -> None:
    """Give a table the filters Dataverse has for every table that accepts custom steps."""
    for message in SEEDED_MESSAGES:
        if records.store.get("sdkmessagefilter", filter_id(message, table)) is None:
            records.insert_system(
                "sdkmessagefilter",
                {
                    "sdkmessagefilterid": filter_id(message, table),
                    "name": f"{message} {table}",
                    "primaryobjecttypecode": table,
                    "secondaryobjecttypecode": "none",
                    "sdkmessageid": Ref("sdkmessage", message_id(message)),
                    "iscustomprocessingstepallowed": True,
                    "isvisible": True,
                },
            )


def seed(records: Records) -> None:
    put = records.insert_system
    put(
        "systemuser",
        {
            "systemuserid": CONNECTOR_USER_ID,
            "firstname": "#",
            "lastname": "Xero Connector",
            "applicationid": CONNECTOR_APPLICATION_ID,
            "accessmode": 4,
            "internalemailaddress": "xero-connector@sandbox.example",
        },
    )
    put(
        "systemuser",
        {
            "systemuserid": PERSON_USER_ID,
            "firstname": "Sam",
            "lastname": "Seller",
            "domainname": "sam.seller@sandbox.example",
            "accessmode": 0,
            "internalemailaddress": "sam.seller@sandbox.example",
        },
    )
    put(
        "transactioncurrency",
        {
            "transactioncurrencyid": GBP_CURRENCY_ID,
            "currencyname": "Pound Sterling",
            "isocurrencycode": "GBP",
            "currencysymbol": "£",
            "exchangerate": Decimal("1"),
            "currencyprecision": 2,
        },
    )
    put(
        "transactioncurrency",
        {
            "transactioncurrencyid": USD_CURRENCY_ID,
            "currencyname": "US Dollar",
            "isocurrencycode": "USD",
            "currencysymbol": "$",
            "exchangerate": Decimal("1.27"),
            "currencyprecision": 2,
        },
    )
    put("uom", {"uomid": UNIT_ID, "name": "Primary Unit", "quantity": Decimal("1"), "isschedulebaseuom": True})
    put(
        "pricelevel",
        {
            "pricelevelid": PRICE_LIST_ID,
            "name": "UK Price List",
            "transactioncurrencyid": Ref("transactioncurrency", GBP_CURRENCY_ID),
        },
    )
    put(
        "pricelevel",
        {
            "pricelevelid": USD_PRICE_LIST_ID,
            "name": "US Price List",
            "transactioncurrencyid": Ref("transactioncurrency", USD_CURRENCY_ID),
        },
    )
    accounts = (
        ("Contoso Ltd", "CON-001", "accounts@contoso.example", "London", "United Kingdom"),
        ("Fabrikam Inc", "FAB-002", "ap@fabrikam.example", "Seattle", "United States"),
        ("Northwind Traders", "NOR-003", "billing@northwind.example", "Manchester", "United Kingdom"),
    )
    for account_id, (name, number, email, city, country) in zip(ACCOUNT_IDS, accounts, strict=True):
        put(
            "account",
            {
                "accountid": account_id,
                "name": name,
                "accountnumber": number,
                "emailaddress1": email,
                "address1_city": city,
                "address1_country": country,
                "ownerid": Ref("systemuser", PERSON_USER_ID),
            },
        )
    put(
        "contact",
        {
            "contactid": CONTACT_IDS[0],
            "firstname": "Sarah",
            "lastname": "Connor",
            "emailaddress1": "sarah.connor@contoso.example",
            "parentcustomerid": Ref("account", ACCOUNT_IDS[0]),
        },
    )
    put(
        "contact",
        {
            "contactid": CONTACT_IDS[1],
            "firstname": "Tom",
            "lastname": "Baker",
            "emailaddress1": "tom.baker@mail.example",
        },
    )
    products = (
        ("Widget", "WIDGET-001", "12.50"),
        ("Gadget", "GADGET-002", "40.00"),
        ("Consulting hour", "SERVICE-HOUR", "95.00"),
    )
    for product_id, (name, number, price) in zip(PRODUCT_IDS, products, strict=True):
        put(
            "product",
            {
                "productid": product_id,
                "name": name,
                "productnumber": number,
                "price": Decimal(price),
                "productstructure": 1,
                "producttypecode": 1,
                "quantitydecimal": 2,
                "defaultuomid": Ref("uom", UNIT_ID),
                "pricelevelid": Ref("pricelevel", PRICE_LIST_ID),
                "transactioncurrencyid": Ref("transactioncurrency", GBP_CURRENCY_ID),
            },
        )
    for message in SEEDED_MESSAGES:
        put(
            "sdkmessage",
            {
                "sdkmessageid": message_id(message),
                "name": message,
                "categoryname": "Update" if message != "Create" else "Create",
            },
        )
    for table in FILTERED_TABLES:
        add_message_filters(records, table)
    put(
        "publisher",
        {
            "publisherid": DEFAULT_PUBLISHER_ID,
            "uniquename": "DefaultPublishersandbox",
            "friendlyname": "Default Publisher for sandbox",
            "customizationprefix": "new",
            "customizationoptionvalueprefix": 10000,
            "isreadonly": False,
            "description": "Default publisher for this organisation",
        },
    )
    put(
        "solution",
        {
            "solutionid": DEFAULT_SOLUTION_ID,
            "uniquename": "Default",
            "friendlyname": "Default Solution",
            "version": "1.0",
            "ismanaged": False,
            "isvisible": False,
            "publisherid": Ref("publisher", DEFAULT_PUBLISHER_ID),
        },
    )
    seed_default_solution(records, DEFAULT_SOLUTION_ID)
    seed_customizations(records, BUSINESS_UNIT_ID, "sandbox")
