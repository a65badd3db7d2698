"""`provision` against a fresh sandbox Dataverse."""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from typing import Any

import pytest

from app import dynamics_schema as schema
from plugins_registration import provision as provision_module
from tests.plugins_registration.conftest import Org


def test_provision_creates_everything_then_a_rerun_changes_nothing(org: Org) -> None:
    first = org.run("provision")
    assert first.code == 0, first.err
    assert "create table xc_connection (Xero connection)" in first.out
    assert "add lookup invoice.xc_connectionid -> xc_connection" in first.out
    assert "add column product.xc_xeroitemcode" in first.out
    assert "publish customizations" in first.out

    for definition in schema.ALL_TABLES:
        response = org.get(f"EntityDefinitions(LogicalName='{definition.logical_name}')/Attributes")
        assert response.status_code == 200, definition.logical_name
        present = {row["LogicalName"] for row in response.json()["value"]}
        wanted = {col.logical_name for col in definition.all_columns()}
        assert wanted <= present, (definition.logical_name, wanted - present)
    entity = org.get("EntityDefinitions(LogicalName='xc_synchistory')").json()
    assert entity["EntitySetName"] == schema.SYNC_HISTORY_ENTITY_SET

    second = org.run("provision")
    assert second.code == 0, second.err
    assert "Schema: already up to date, nothing changed." in second.out
    assert [line for line in second.out.splitlines() if line.startswith(("  create", "  add"))] == []


def test_provisioned_columns_work_with_the_schema_names(provisioned: Org) -> None:
    """A connection row and an invoice bound to it through the case-sensitive navigation property."""
    created = provisioned.session.post(
        provisioned.api + schema.CONNECTION_ENTITY_SET,
        json={
            "xc_name": "Demo Company (UK)",
            "xc_connectionstatus": int(schema.ConnectionStatus.CONNECTED),
            "xc_timezone": "Europe/London",
        },
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code in (200, 201), created.text
    connection_id = created.json()["xc_connectionid"]
    account = provisioned.rows("accounts", **{"$select": "accountid", "$top": "1"})[0]["accountid"]
    invoice = provisioned.session.post(
        provisioned.api + "invoices",
        json={
            "name": "Provisioning check",
            "customerid_account@odata.bind": f"/accounts({account})",
            schema.INVOICE_EXPORT_STATUS: int(schema.ExportStatus.READY_TO_UPDATE),
            **schema.bind(schema.lookup("invoice", schema.INVOICE_CONNECTION), connection_id),
        },
        headers={"Prefer": "return=representation"},
    )
    assert invoice.status_code in (200, 201), invoice.text
    assert invoice.json()[schema.lookup("invoice", schema.INVOICE_CONNECTION).value_key] == connection_id


def test_dry_run_changes_nothing(org: Org) -> None:
    outcome = org.run("provision", "--dry-run")
    assert outcome.code == 0, outcome.err
    assert "would create table xc_connection" in outcome.out
    assert "dry run" in outcome.out and "nothing was changed" in outcome.out
    assert org.get("EntityDefinitions(LogicalName='xc_connection')").status_code == 404
    invoice_columns = {
        row["LogicalName"] for row in org.get("EntityDefinitions(LogicalName='invoice')/Attributes").json()["value"]
    }
    assert "xc_exportstatus" not in invoice_columns


class WiderBundleHandling(IntEnum):
    HEADER_ONLY = 100000000
    COMPONENTS = 100000001
    BOTH = 100000002


def test_a_column_and_a_choice_option_added_to_the_schema_are_added_on_rerun(
    provisioned: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = schema.CONNECTION_TABLE
    widened = tuple(
        dataclasses.replace(col, choices=WiderBundleHandling) if col.logical_name == "xc_bundlehandling" else col
        for col in connection.columns
    )
    grown = dataclasses.replace(
        connection, columns=(*widened, schema.StringColumn("xc_XeroRegion", "Xero region", max_length=20))
    )
    tables = tuple(grown if t is connection else t for t in schema.ALL_TABLES)
    monkeypatch.setattr(provision_module, "ALL_TABLES", tables)

    outcome = provisioned.run("provision")
    assert outcome.code == 0, outcome.err
    assert "add column xc_connection.xc_xeroregion (String: Xero region)" in outcome.out
    assert "add choice 100000002 'Both' to xc_connection.xc_bundlehandling" in outcome.out
    assert "Schema: 3 change(s) made." in outcome.out  # column, option, publish
    region = "EntityDefinitions(LogicalName='xc_connection')/Attributes(LogicalName='xc_xeroregion')"
    assert provisioned.get(region).status_code == 200

    assert "already up to date" in provisioned.run("provision").out


def test_extra_things_an_admin_added_are_left_alone(provisioned: Org) -> None:
    extra = {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "xc_AdminNote",
        "DisplayName": {"LocalizedLabels": [{"Label": "Admin note", "LanguageCode": 1033}]},
        "MaxLength": 100,
    }
    added = provisioned.session.post(
        provisioned.api + "EntityDefinitions(LogicalName='xc_connection')/Attributes", json=extra
    )
    assert added.status_code in (200, 201, 204), added.text
    outcome = provisioned.run("provision")
    assert "already up to date" in outcome.out
    assert (
        provisioned.get(
            "EntityDefinitions(LogicalName='xc_connection')/Attributes(LogicalName='xc_adminnote')"
        ).status_code
        == 200
    )


def test_metadata_changes_are_made_in_the_connector_solution(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every metadata write names the connector's solution, which provisioning creates first (with its publisher)."""
    sent: list[tuple[str, dict[str, str] | None]] = []
    original = provision_module.WebApi.post

    def recording_post(self: Any, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        sent.append((path, headers))
        return original(self, path, body, headers)

    monkeypatch.setattr(provision_module.WebApi, "post", recording_post)
    assert org.run("provision").code == 0
    # The publisher and the solution are written before the solution exists, so they cannot name it.
    # Actions (publishing, privileges of a role, components of an app) change existing components: no header.
    actions = {"PublishXml", "AddAppComponents"}
    metadata_writes = [
        headers
        for path, headers in sent
        if path not in {*actions, "publishers", "solutions"} and not path.endswith("AddPrivilegesRole")
    ]
    assert len(metadata_writes) > 50
    assert all(headers == {"MSCRM.SolutionUniqueName": "XeroConnector"} for headers in metadata_writes)
