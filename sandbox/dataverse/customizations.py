"""Forms, views, site maps and apps: checks on write, what a new table comes with, and publishing.

- A new custom table comes with a main form "Information" (its name and owner) and the public view
  "Active <plural>", and with its eight privileges, as Dataverse creates them.
- Forms are shown to users as last published: `PublishXml` copies a table's forms into the published set
  (and marks apps and site maps published). The record page (`record_page.py`) renders published forms only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.dataverse import customization_xml as xml
from sandbox.dataverse.customization_tables import ACCESS_RIGHTS
from sandbox.dataverse.errors import INVALID_ARGUMENT, bad_request
from sandbox.dataverse.schema import Table, new_id
from sandbox.dataverse.store import Row
from sandbox.dataverse.values import Ref, utcnow

if TYPE_CHECKING:
    from sandbox.dataverse.records import Records

MAIN_FORM = 2
DEFAULT_APP_ICON = "953b9fac-1e5e-e611-80d6-00155ded156f"  # the icon web resource every organisation has


# ---- checks on write ----------------------------------------------------------------------------------------


def check(records: Records, table: Table, row: Row) -> None:
    name = table.logical_name
    if name == "systemform":
        xml.check_formxml(records.store, row.get("objecttypecode"), row.get("formxml"))
    elif name == "savedquery":
        xml.check_view(records.schema, row.get("returnedtypecode"), row.get("fetchxml"), row.get("layoutxml"))
    elif name == "sitemap":
        xml.check_sitemap(records.schema, row.get("sitemapxml"))
    elif name == "appmodule":
        if row.get("appmoduleidunique") is None:
            row["appmoduleidunique"] = new_id()
        _unique(records, table, row, "uniquename")


def _unique(records: Records, table: Table, row: Row, column: str) -> None:
    value = str(row.get(column) or "").lower()
    for other in records.store.table_rows(table.logical_name).values():
        if other[table.primary_id] != row[table.primary_id] and str(other.get(column) or "").lower() == value:
            raise bad_request(f"A {table.display_name} named '{row.get(column)}' already exists.", INVALID_ARGUMENT)


# ---- what a table comes with --------------------------------------------------------------------------------


def privilege_name(verb: str, table: Table) -> str:
    return f"prv{verb}{table.schema_name}"


def add_privileges(records: Records, table: Table) -> None:
    """Create/Read/Write/Delete/Append/AppendTo, and Assign/Share for user-owned tables."""
    user_owned = table.ownership == "UserOwned"
    for verb, right in ACCESS_RIGHTS.items():
        if verb in ("Assign", "Share") and not user_owned:
            continue
        records.insert_system(
            "privilege",
            {
                "privilegeid": new_id(),
                "name": privilege_name(verb, table),
                "accessright": right,
                "canbebasic": user_owned,
                "canbelocal": user_owned,
                "canbedeep": user_owned,
                "canbeglobal": True,
            },
        )


def add_default_form_and_view(records: Records, table: Table) -> None:
    """What Dataverse makes for a new table: a main form "Information" and the view "Active <plural>"."""
    fields = [table.primary_name, *(["ownerid"] if "ownerid" in table.columns else [])]
    add_main_form(records, table, "Information", [("General", fields)])
    columns = "".join(f'<attribute name="{name}"/>' for name in (table.primary_id, table.primary_name, "createdon"))
    records.insert_system(
        "savedquery",
        {
            "savedqueryid": new_id(),
            "name": f"Active {table.display_collection_name}",
            "returnedtypecode": table.logical_name,
            "querytype": 0,
            "isdefault": True,
            "iscustomizable": True,
            "fetchxml": f'<fetch version="1.0" mapping="logical"><entity name="{table.logical_name}">{columns}'
            f'<order attribute="{table.primary_name}" descending="false"/>'
            '<filter type="and"><condition attribute="statecode" operator="eq" value="0"/></filter>'
            "</entity></fetch>",
            "layoutxml": f'<grid name="resultset" object="{table.object_type_code}" jump="{table.primary_name}" '
            f'select="1" icon="1" preview="1"><row name="result" id="{table.primary_id}">'
            f'<cell name="{table.primary_name}" width="300"/><cell name="createdon" width="125"/></row></grid>',
        },
    )


def add_main_form(records: Records, table: Table, name: str, tabs: list[tuple[str, list[str]]]) -> Row:
    body = "".join(
        f'<tab name="tab_{index}" id="{{{new_id()}}}" showlabel="true" expanded="true">'
        f'<labels><label description="{label}" languagecode="1033"/></labels>'
        f'<columns><column width="100%"><sections><section name="section_{index}" id="{{{new_id()}}}" '
        f'showlabel="false" columns="1"><labels><label description="{label}" languagecode="1033"/></labels><rows>'
        + "".join(
            f'<row><cell id="{{{new_id()}}}"><labels><label description="{_field_label(table, field)}" '
            f'languagecode="1033"/></labels><control id="{field}" classid="{{4273EDBD-AC1D-40d3-9FB2-095C621B552D}}" '
            f'datafieldname="{field}"/></cell></row>'
            for field in fields
        )
        + "</rows></section></sections></column></columns></tab>"
        for index, (label, fields) in enumerate(tabs)
    )
    formxml = f"<form><tabs>{body}</tabs></form>"
    form = records.insert_system(
        "systemform",
        {
            "formid": new_id(),
            "name": name,
            "objecttypecode": table.logical_name,
            "type": MAIN_FORM,
            "formxml": formxml,
            "isdefault": True,
            "formactivationstate": 1,
            "iscustomizable": True,
        },
    )
    records.store.published_forms[form["formid"]] = formxml
    return form


def on_new_table(records: Records, table: Table) -> None:
    add_privileges(records, table)
    add_default_form_and_view(records, table)


# ---- publishing ---------------------------------------------------------------------------------------------


def publish(records: Records, parameter_xml: object) -> None:
    """PublishXml: `<importexportxml>` naming entities, appmodules and sitemaps; each must exist."""
    root = xml.parse(parameter_xml, "ParameterXml")
    if root.tag != "importexportxml":
        raise bad_request("The ParameterXml must have <importexportxml> as its root element.", INVALID_ARGUMENT)
    store = records.store
    for entity in root.iterfind("entities/entity"):
        name = (entity.text or "").strip()
        if name not in store.schema.tables:
            raise bad_request(f"PublishXml names the entity '{name}', which does not exist.", INVALID_ARGUMENT)
        publish_table(records, name)
    for kind, table_name in (("appmodules/appmodule", "appmodule"), ("sitemaps/sitemap", "sitemap")):
        for element in root.iterfind(kind):
            record_id = (element.text or "").strip().strip("{}").lower()
            if store.get(table_name, record_id) is None:
                raise bad_request(f"PublishXml names the {table_name} {record_id}, which does not exist.")
            if table_name == "appmodule":
                records.update_system(table_name, record_id, {"publishedon": utcnow()})


def publish_table(records: Records, table_name: str) -> None:
    for form in records.store.table_rows("systemform").values():
        if form.get("objecttypecode") == table_name:
            records.store.published_forms[form["formid"]] = form["formxml"]
            form["publishedon"] = utcnow()


def publish_all(records: Records) -> None:
    for name in list(records.store.schema.tables):
        publish_table(records, name)
    for app in list(records.store.table_rows("appmodule")):
        records.update_system("appmodule", app, {"publishedon": utcnow()})


def main_form(records: Records, table_name: str) -> tuple[Row, str] | None:
    """The default main form of a table and its published formxml (None when none was ever published)."""
    forms = [
        f
        for f in records.store.table_rows("systemform").values()
        if f.get("objecttypecode") == table_name
        and f.get("type") == MAIN_FORM
        and f["formid"] in records.store.published_forms
    ]
    forms.sort(key=lambda f: (not f.get("isdefault"), f.get("createdon")))
    return (forms[0], records.store.published_forms[forms[0]["formid"]]) if forms else None


def app_ref(app: Row) -> Ref:
    return Ref("appmodule", str(app["appmoduleidunique"]))


# ---- seed ---------------------------------------------------------------------------------------------------

# The main forms of the standard tables, reduced to the fields a finance user looks at first.
# The labels the standard forms give their fields (the sandbox's system columns carry no display names).
FIELD_LABELS = {
    "name": "Name",
    "ownerid": "Owner",
    "invoicenumber": "Invoice ID",
    "customerid": "Customer",
    "pricelevelid": "Price List",
    "transactioncurrencyid": "Currency",
    "duedate": "Due Date",
    "totallineitemamount": "Detail Amount",
    "discountamount": "Invoice Discount Amount",
    "freightamount": "Freight Amount",
    "totaltax": "Total Tax",
    "totalamount": "Total Amount",
    "productid": "Existing Product",
    "productdescription": "Write-In Product",
    "quantity": "Quantity",
    "priceperunit": "Price Per Unit",
    "tax": "Tax",
    "extendedamount": "Extended Amount",
    "accountnumber": "Account Number",
    "telephone1": "Phone",
    "emailaddress1": "Email",
    "websiteurl": "Website",
    "fullname": "Full Name",
    "parentcustomerid": "Company Name",
    "jobtitle": "Job Title",
    "productnumber": "Product ID",
    "price": "List Price",
    "defaultuomid": "Default Unit",
}


def _field_label(table: Table, field: str) -> str:
    return FIELD_LABELS.get(field) or table.columns[field].display_name


STANDARD_MAIN_FORMS: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    "invoice": (
        "Invoice",
        [
            ("Summary", ["name", "invoicenumber", "customerid", "pricelevelid", "transactioncurrencyid", "duedate"]),
            ("Totals", ["totallineitemamount", "discountamount", "freightamount", "totaltax", "totalamount"]),
        ],
    ),
    "invoicedetail": (
        "Information",
        [("General", ["productid", "productdescription", "quantity", "priceperunit", "tax", "extendedamount"])],
    ),
    "account": ("Account", [("Summary", ["name", "accountnumber", "telephone1", "emailaddress1", "websiteurl"])]),
    "contact": ("Contact", [("Summary", ["fullname", "parentcustomerid", "jobtitle", "emailaddress1", "telephone1"])]),
    "product": ("Product", [("General", ["name", "productnumber", "price", "defaultuomid"])]),
}


def seed_customizations(records: Records, business_unit_id: str, organisation_name: str) -> None:
    records.insert_system("businessunit", {"businessunitid": business_unit_id, "name": organisation_name})
    for table_name, (form_name, tabs) in STANDARD_MAIN_FORMS.items():
        table = records.schema.tables[table_name]
        add_privileges(records, table)
        add_main_form(records, table, form_name, tabs)
