"""`provision` installs forms, views, the app and the roles of app/dynamics_ui.py, and keeps an admin's edits."""

from __future__ import annotations

import dataclasses
from xml.etree.ElementTree import tostring

import pytest
from defusedxml import ElementTree

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from plugins_registration.ui_xml import merge_form
from tests.plugins_registration.conftest import Org


def main_form(org: Org, table: str) -> dict:
    forms = org.rows(
        "systemforms", **{"$filter": f"objecttypecode eq '{table}' and type eq 2", "$select": "formid,name,formxml"}
    )
    assert len(forms) == 1, forms
    return forms[0]


def fields_on(formxml: str) -> list[str]:
    return [c.get("datafieldname") for c in ElementTree.fromstring(formxml).iter("control") if c.get("datafieldname")]


def test_the_invoice_form_gets_a_xero_tab_next_to_what_was_there(provisioned: Org) -> None:
    form = main_form(provisioned, "invoice")
    shown = fields_on(form["formxml"])
    assert shown[:3] == ["name", "invoicenumber", "customerid"], "the form's own fields stay first"
    for name in (schema.INVOICE_XERO_NUMBER, schema.INVOICE_XERO_STATUS, schema.INVOICE_XERO_LINK):
        assert name in shown
    [grid] = [
        c for c in ElementTree.fromstring(form["formxml"]).iter("control") if c.get("id") == "xc_synchistory_grid"
    ]
    assert grid.findtext("parameters/RelationshipName") == "xc_invoice_xc_synchistory_invoiceid"
    view_id = grid.findtext("parameters/ViewId").strip("{}")
    [view] = provisioned.rows("savedqueries", **{"$filter": f"savedqueryid eq {view_id}"})
    assert '<order attribute="xc_occurredon" descending="true"' in view["fetchxml"]


def test_views_filter_on_the_export_status_and_the_roles_hold_their_privileges(provisioned: Org) -> None:
    [failed] = provisioned.rows("savedqueries", **{"$filter": "name eq 'Failed exports'"})
    assert failed["returnedtypecode"] == "invoice"
    assert f'attribute="xc_exportstatus" operator="eq" value="{int(schema.ExportStatus.FAILED)}"' in failed["fetchxml"]

    user = provisioned.get(f"RetrieveRolePrivilegesRole(RoleId={ui.USER_ROLE.role_id})").json()["RolePrivileges"]
    held = {p["PrivilegeName"]: p["Depth"] for p in user}
    assert held["prvReadxc_Connection"] == "Global"
    assert held["prvWriteInvoice"] == "Local"
    assert "prvWritexc_Connection" not in held, "only the admin role manages connections"
    admin = provisioned.get(f"RetrieveRolePrivilegesRole(RoleId={ui.ADMIN_ROLE.role_id})").json()["RolePrivileges"]
    assert {"prvCreatexc_Connection", "prvWritexc_Connection", "prvDeletexc_Connection"} <= {
        p["PrivilegeName"] for p in admin
    }

    [app] = provisioned.rows("appmodules", **{"$filter": f"appmoduleid eq {ui.APP.app_id}"})
    assert app["name"] == "Xero Connector" and app["publishedon"]
    components = provisioned.rows(
        "appmodulecomponents", **{"$filter": f"_appmoduleidunique_value eq {app['appmoduleidunique']}"}
    )
    assert {c["componenttype"] for c in components} == {1, 26, 60, 62}


def test_a_dry_run_plans_the_customisations_and_creates_none(org: Org) -> None:
    outcome = org.run("provision", "--dry-run")
    assert outcome.code == 0, outcome.err
    assert "would create view 'Failed exports' of invoice" in outcome.out
    assert "would add to the invoice form 'Invoice': tab 'Xero'" in outcome.out
    assert "would create security role 'Xero Connector Admin'" in outcome.out
    assert "would create app 'Xero Connector'" in outcome.out
    assert org.rows("savedqueries", **{"$filter": "name eq 'Failed exports'"}) == []
    assert schema.INVOICE_XERO_NUMBER not in fields_on(main_form(org, "invoice")["formxml"])


def _without(definition: ui.FormDefinition, column: str) -> ui.FormDefinition:
    tabs = tuple(
        dataclasses.replace(
            tab,
            sections=tuple(
                dataclasses.replace(sec, items=tuple(i for i in sec.items if getattr(i, "column", None) != column))
                for sec in tab.sections
            ),
        )
        for tab in definition.tabs
    )
    return dataclasses.replace(definition, tabs=tabs)


def _admin_edit(formxml: str) -> str:
    """Move the Xero number to the first section, relabel the Xero tab, add a field of the admin's own."""
    root = ElementTree.fromstring(formxml)
    parent_of = {child: parent for parent in root.iter() for child in parent}
    number = next(c for c in root.iter("control") if c.get("datafieldname") == schema.INVOICE_XERO_NUMBER)
    row = parent_of[parent_of[number]]
    parent_of[row].remove(row)
    first_rows = root.find("tabs/tab/columns/column/sections/section/rows")
    first_rows.append(row)
    own = (
        '<row><cell id="{4b5f0c8a-0000-4000-8000-000000000001}">'
        '<control id="description" datafieldname="description"/></cell></row>'
    )
    first_rows.append(ElementTree.fromstring(own))
    xero_tab = next(t for t in root.iter("tab") if t.get("name") == "xc_xero")
    xero_tab.find("labels/label").set("description", "Accounting")
    return tostring(root, encoding="unicode")


def test_an_admins_edits_to_the_form_are_kept_and_a_new_column_is_merged_in(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_form = ui.form("invoice")
    older = _without(invoice_form, schema.INVOICE_AMOUNT_CREDITED)
    monkeypatch.setattr(ui, "FORMS", tuple(older if f is invoice_form else f for f in ui.FORMS))
    assert org.run("provision").code == 0
    form = main_form(org, "invoice")
    admin_xml = _admin_edit(form["formxml"])
    patched = org.session.patch(
        org.api + f"systemforms({form['formid']})", json={"formxml": admin_xml}, headers={"If-Match": "*"}
    )
    assert patched.status_code == 204, patched.text
    assert "already up to date" in org.run("provision").out
    assert main_form(org, "invoice")["formxml"] == admin_xml

    monkeypatch.setattr(ui, "FORMS", tuple(invoice_form if f is older else f for f in ui.FORMS))
    outcome = org.run("provision")
    assert "add to the invoice form 'Invoice': xc_amountcredited" in outcome.out
    merged = main_form(org, "invoice")["formxml"]
    shown = fields_on(merged)
    assert shown.count(schema.INVOICE_XERO_NUMBER) == 1 and shown.count(schema.INVOICE_AMOUNT_CREDITED) == 1
    first_section = fields_on(tostring(ElementTree.fromstring(merged).find("tabs/tab"), encoding="unicode"))
    assert first_section[-2:] == [schema.INVOICE_XERO_NUMBER, "description"], "the admin's layout is kept"
    assert 'description="Accounting"' in merged
    assert "already up to date" in org.run("provision").out


def test_merging_adds_only_what_is_missing() -> None:
    definition = ui.form("account")
    existing = (
        '<form><tabs><tab name="summary"><columns><column><sections><section name="s"><rows>'
        '<row><cell><control id="x" datafieldname="xc_outstanding"/></cell></row>'
        "</rows></section></sections></column></columns></tab></tabs></form>"
    )
    merged, added = merge_form(existing, definition)
    assert added[:4] == ["tab 'Xero'", "section 'Xero'", schema.CUSTOMER_XERO_CONTACT_ID, schema.CUSTOMER_OVERDUE]
    assert fields_on(merged).count("xc_outstanding") == 1
    assert merge_form(merged, definition) == (None, [])


def test_a_role_gains_only_the_privileges_it_lacks(provisioned: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    wider = dataclasses.replace(
        ui.USER_ROLE, grants=(*ui.USER_ROLE.grants, ui.Grant("product", ("Read",)), ui.Grant("invoice", ("Read",)))
    )
    monkeypatch.setattr(ui, "ROLES", (wider, ui.ADMIN_ROLE))
    outcome = provisioned.run("provision")
    # prvReadInvoice was held at business-unit depth: it widens to the organisation; prvReadProduct is new.
    assert "give 'Xero Connector User' 2 privilege(s): prvReadInvoice, prvReadProduct" in outcome.out
    held = provisioned.get(f"RetrieveRolePrivilegesRole(RoleId={wider.role_id})").json()["RolePrivileges"]
    depths = {p["PrivilegeName"]: p["Depth"] for p in held}
    assert depths["prvReadInvoice"] == "Global" and depths["prvWriteInvoice"] == "Local"
    assert "already up to date" in provisioned.run("provision").out
