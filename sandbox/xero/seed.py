"""Deterministic seed data: the same ids, names and numbers on every start (see README.md for the table).

Tenants (ids are uuid5 values, identical on every machine)
  Sandbox Trading Ltd   50bd1a8c-c1ab-5c70-b60f-cff4c56f618a   ShortCode !SbxA1   GBP
  Northwind Goods Ltd   71c908b3-f496-503e-ae30-4c55fdf1e94f   ShortCode !SbxB2   GBP
Both carry a UK chart of accounts (090/091 bank, 200 Sales, 260 Other Revenue, 270 Interest Income,
300 Purchases, 310 Cost of Goods Sold, 400 Advertising, 429 General Expenses, 610/800/820 system accounts,
205 archived), UK VAT rates (OUTPUT2, INPUT2, RROUTPUT, RRINPUT, ZERORATEDOUTPUT, ZERORATEDINPUT,
EXEMPTOUTPUT, EXEMPTINPUT, NONE), two branding themes, tracking categories Region (North, South) and
Department (Sales, Ops), three contacts and three items. Currencies: A has GBP, EUR and USD enabled, B only
GBP and EUR. No lock dates (set them with PUT /_sandbox/organisation/<tenant>).
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from decimal import Decimal

from sandbox.xero.tenant import Record, Tenant

_NAMESPACE = uuid.UUID("7d3c5a52-3f0e-4f7c-9a43-1f6b2c9e8d10")
SEED_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def seeded_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


TENANT_A_ID = seeded_id("tenant-a")
TENANT_B_ID = seeded_id("tenant-b")

_TENANTS = [
    (TENANT_A_ID, "Sandbox Trading Ltd", "!SbxA1"),
    (TENANT_B_ID, "Northwind Goods Ltd", "!SbxB2"),
]

# (code, name, type, class, tax type, status, extra)
_ACCOUNTS: list[tuple[str, str, str, str, str, str, dict[str, object]]] = [
    (
        "090",
        "Business Bank Account",
        "BANK",
        "ASSET",
        "NONE",
        "ACTIVE",
        {"BankAccountNumber": "12345678", "BankAccountType": "BANK", "CurrencyCode": "GBP"},
    ),
    (
        "091",
        "Business Savings Account",
        "BANK",
        "ASSET",
        "NONE",
        "ACTIVE",
        {"BankAccountNumber": "87654321", "BankAccountType": "BANK", "CurrencyCode": "GBP"},
    ),
    ("200", "Sales", "SALES", "REVENUE", "OUTPUT2", "ACTIVE", {}),
    ("205", "Old Sales (archived)", "SALES", "REVENUE", "OUTPUT2", "ARCHIVED", {}),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT2", "ACTIVE", {}),
    ("270", "Interest Income", "OTHERINCOME", "REVENUE", "NONE", "ACTIVE", {}),
    ("300", "Purchases", "DIRECTCOSTS", "EXPENSE", "INPUT2", "ACTIVE", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "INPUT2", "ACTIVE", {}),
    ("400", "Advertising", "OVERHEADS", "EXPENSE", "INPUT2", "ACTIVE", {}),
    ("429", "General Expenses", "OVERHEADS", "EXPENSE", "INPUT2", "ACTIVE", {}),
    ("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", "ACTIVE", {"SystemAccount": "DEBTORS"}),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", "ACTIVE", {"SystemAccount": "CREDITORS"}),
    ("820", "VAT", "CURRLIAB", "LIABILITY", "NONE", "ACTIVE", {"SystemAccount": "GST"}),
    # Xero's default chart has 860 Rounding; its developer community advises coding rounding lines to it.
    ("860", "Rounding", "CURRLIAB", "LIABILITY", "NONE", "ACTIVE", {"SystemAccount": "ROUNDING"}),
]

# (tax type, name, rate, report tax type, for revenue, for expenses)
_TAX_RATES = [
    ("OUTPUT2", "20% (VAT on Income)", "20", "OUTPUT", True, False),
    ("INPUT2", "20% (VAT on Expenses)", "20", "INPUT", False, True),
    ("RROUTPUT", "5% (VAT on Income)", "5", "OUTPUT", True, False),
    ("RRINPUT", "5% (VAT on Expenses)", "5", "INPUT", False, True),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "ZERORATEDOUTPUT", True, False),
    ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "ZERORATEDINPUT", False, True),
    ("EXEMPTOUTPUT", "Exempt Income", "0", "EXEMPTOUTPUT", True, False),
    ("EXEMPTINPUT", "Exempt Expenses", "0", "EXEMPTINPUT", False, True),
    ("NONE", "No VAT", "0", "NONE", True, True),
]

# Enabled currencies (the base currency GBP included, as GET /Currencies lists it).
_CURRENCY_NAMES = {"GBP": "British Pound", "EUR": "Euro", "USD": "United States Dollar"}
_CURRENCIES = {TENANT_A_ID: ["GBP", "EUR", "USD"], TENANT_B_ID: ["GBP", "EUR"]}

_TRACKING = {"Region": ["North", "South"], "Department": ["Sales", "Ops"]}

_CONTACTS = {
    TENANT_A_ID: [
        ("Acme Corporation", "accounts@acme.example", "ACME001", True, False),
        ("Globex Ltd", "ap@globex.example", "GLOBEX01", True, False),
        ("Initech Supplies", "billing@initech.example", "INITECH1", False, True),
    ],
    TENANT_B_ID: [
        ("Wayne Enterprises", "finance@wayne.example", "WAYNE001", True, False),
        ("Stark Industries", "ap@stark.example", "STARK001", True, False),
        ("Umbrella Parts", "sales@umbrella.example", "UMBR0001", False, True),
    ],
}

# (code, name, sales price, sales account, purchase price, purchase account)
_ITEMS = [
    ("WIDGET", "Widget", "25.00", "200", "10.00", "300"),
    ("CONSULT", "Consulting (hour)", "90.00", "200", None, None),
    ("SUPPORT", "Support plan (month)", "49.99", "260", None, None),
]


def _organisation(tenant_id: str, name: str, short_code: str) -> Record:
    return {
        "OrganisationID": tenant_id,
        "APIKey": short_code.strip("!").upper(),
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "UK",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "GBP",
        "CountryCode": "GB",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY1",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": SEED_TIME,
        "OrganisationEntityType": "COMPANY",
        "Timezone": "GMTSTANDARDTIME",
        "ShortCode": short_code,
        "Class": "STANDARD",
        "Edition": "BUSINESS",
        "LineOfBusiness": "Wholesale",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


def _accounts(tenant_id: str) -> list[Record]:
    rows = []
    for code, name, kind, klass, tax, status, extra in _ACCOUNTS:
        rows.append(
            {
                "AccountID": seeded_id(tenant_id, "account", code),
                "Code": code,
                "Name": name,
                "Type": kind,
                "Class": klass,
                "TaxType": tax,
                "Status": status,
                "Description": "",
                "EnablePaymentsToAccount": kind == "BANK",
                "ShowInExpenseClaims": False,
                "ReportingCode": "",
                "ReportingCodeName": "",
                "HasAttachments": False,
                "AddToWatchlist": False,
                "UpdatedDateUTC": SEED_TIME,
                **extra,
            }
        )
    return rows


def _tax_rates() -> list[Record]:
    rows = []
    for tax_type, name, rate, report, revenue, expenses in _TAX_RATES:
        rows.append(
            {
                "Name": name,
                "TaxType": tax_type,
                "ReportTaxType": report,
                "Status": "ACTIVE",
                "CanApplyToAssets": True,
                "CanApplyToEquity": True,
                "CanApplyToExpenses": expenses,
                "CanApplyToLiabilities": True,
                "CanApplyToRevenue": revenue,
                "DisplayTaxRate": Decimal(rate),
                "EffectiveRate": Decimal(rate),
                "TaxComponents": [
                    {"Name": "VAT", "Rate": Decimal(rate), "IsCompound": False, "IsNonRecoverable": False}
                ],
            }
        )
    return rows


def _branding_themes(tenant_id: str) -> list[Record]:
    return [
        {
            "BrandingThemeID": seeded_id(tenant_id, "theme", name),
            "Name": name,
            "Type": "INVOICE",
            "SortOrder": order,
            "CreatedDateUTC": SEED_TIME,
        }
        for order, name in enumerate(["Standard", "Special Projects"])
    ]


def _tracking(tenant_id: str) -> list[Record]:
    categories = []
    for name, options in _TRACKING.items():
        category_id = seeded_id(tenant_id, "tracking", name)
        categories.append(
            {
                "TrackingCategoryID": category_id,
                "Name": name,
                "Status": "ACTIVE",
                "Options": [
                    {
                        "TrackingOptionID": seeded_id(tenant_id, "tracking", name, option),
                        "Name": option,
                        "Status": "ACTIVE",
                        "TrackingCategoryID": category_id,
                    }
                    for option in options
                ],
            }
        )
    return categories


def new_contact_record(contact_id: str, name: str, when: dt.datetime) -> Record:
    return {
        "ContactID": contact_id,
        "ContactStatus": "ACTIVE",
        "Name": name,
        "FirstName": "",
        "LastName": "",
        "EmailAddress": "",
        "AccountNumber": "",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "UpdatedDateUTC": when,
    }


def _contacts(tenant_id: str) -> dict[str, Record]:
    contacts = {}
    for name, email, number, customer, supplier in _CONTACTS[tenant_id]:
        contact = new_contact_record(seeded_id(tenant_id, "contact", name), name, SEED_TIME)
        contact.update(EmailAddress=email, AccountNumber=number, IsCustomer=customer, IsSupplier=supplier)
        contacts[contact["ContactID"]] = contact
    return contacts


def _items(tenant_id: str) -> dict[str, Record]:
    items = {}
    for code, name, price, account, buy_price, buy_account in _ITEMS:
        item: Record = {
            "ItemID": seeded_id(tenant_id, "item", code),
            "Code": code,
            "Name": name,
            "Description": name,
            "IsSold": True,
            "IsPurchased": buy_price is not None,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": account, "TaxType": "OUTPUT2"},
            "UpdatedDateUTC": SEED_TIME,
        }
        if buy_price is not None:
            item["PurchaseDescription"] = name
            item["PurchaseDetails"] = {"UnitPrice": Decimal(buy_price), "AccountCode": buy_account, "TaxType": "INPUT2"}
        items[item["ItemID"]] = item
    return items


def seed_tenants() -> dict[str, Tenant]:
    tenants = {}
    for tenant_id, name, short_code in _TENANTS:
        tenants[tenant_id] = Tenant(
            tenant_id=tenant_id,
            organisation=_organisation(tenant_id, name, short_code),
            accounts=_accounts(tenant_id),
            tax_rates=_tax_rates(),
            branding_themes=_branding_themes(tenant_id),
            tracking_categories=_tracking(tenant_id),
            currencies=[{"Code": code, "Description": _CURRENCY_NAMES[code]} for code in _CURRENCIES[tenant_id]],
            contacts=_contacts(tenant_id),
            items=_items(tenant_id),
        )
    return copy.deepcopy(tenants)
