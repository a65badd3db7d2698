"""`package` writes a solution file; `provision --import` imports it and gives what `provision` gives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from defusedxml import ElementTree

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from plugins_registration.errors import RegistrationError
from plugins_registration.package import solution_zip
from plugins_registration.solution_import import import_solution
from plugins_registration.webapi import WebApi
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import serve_in_thread
from tests.plugins.sandbox_dataverse import ODATA_HEADERS
from tests.plugins_registration.conftest import Org
from tests.stack_helpers import quiet_report


def what_users_get(org: Org) -> dict[str, Any]:
    """Everything provisioning promises, read back from an organisation."""
    views = {
        v["savedqueryid"]: (v["name"], v["returnedtypecode"], v["fetchxml"])
        for v in org.rows("savedqueries", **{"$select": "savedqueryid,name,returnedtypecode,fetchxml"})
        if v["savedqueryid"] in {view.view_id for view in ui.VIEWS}
    }
    roles = {
        role.name: {
            p["PrivilegeName"]: p["Depth"]
            for p in org.get(f"RetrieveRolePrivilegesRole(RoleId={role.role_id})").json()["RolePrivileges"]
        }
        for role in ui.ROLES
    }
    [app] = org.rows("appmodules", **{"$filter": f"appmoduleid eq {ui.APP.app_id}"})
    components = org.rows(
        "appmodulecomponents", **{"$filter": f"_appmoduleidunique_value eq {app['appmoduleidunique']}"}
    )
    fields = {}
    for definition in ui.FORMS:
        forms = org.rows("systemforms", **{"$filter": f"objecttypecode eq '{definition.table}' and type eq 2"})
        shown = set()
        for form in forms:
            shown |= {
                c.get("datafieldname") or c.get("id") for c in ElementTree.fromstring(form["formxml"]).iter("control")
            }
        fields[definition.table] = shown
    columns = {
        t.logical_name: {
            row["LogicalName"]
            for row in org.get(f"EntityDefinitions(LogicalName='{t.logical_name}')/Attributes").json()["value"]
            if row["LogicalName"].startswith("xc_")
        }
        for t in schema.ALL_TABLES
    }
    return {
        "columns": columns,
        "views": views,
        "roles": roles,
        "app": (
            app["name"],
            # Tables have other metadata ids in another organisation; views and the site map keep theirs.
            sorted(
                (c["componenttype"], "table" if c["componenttype"] == 1 else c["objectid"])
                for c in components
                if c["componenttype"] != 60
            ),
        ),
        "fields": fields,
    }


@pytest.fixture
def second_org(capsys: pytest.CaptureFixture[str]) -> Any:
    running = serve_in_thread()
    session = requests.Session()
    session.headers.update({**ODATA_HEADERS, "Authorization": f"Bearer {SANDBOX_CONNECTOR_TOKEN}"})
    try:
        yield Org(running.url, session, capsys), running
    finally:
        session.close()
        running.stop()


def test_the_package_is_a_solution_file(org: Org, tmp_path: Path) -> None:
    target = tmp_path / "xero-connector.zip"
    outcome = org.run("package", "--output", str(target), env={})  # no Dataverse needed to write it
    assert outcome.code == 0, outcome.err
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == ["[Content_Types].xml", "customizations.xml", "solution.xml"]
        manifest = ElementTree.fromstring(archive.read("solution.xml")).find("SolutionManifest")
        customizations = ElementTree.fromstring(archive.read("customizations.xml"))
    assert manifest.findtext("UniqueName") == "XeroConnector" and manifest.findtext("Managed") == "0"
    assert manifest.findtext("Publisher/CustomizationPrefix") == "xc"
    assert len(customizations.findall("Entities/Entity")) == len(schema.ALL_TABLES)
    assert len(list(customizations.iter("savedquery"))) == len(ui.VIEWS)
    assert {r.get("name") for r in customizations.iterfind("Roles/Role")} == {r.name for r in ui.ROLES}
    assert org.run("package", "--output", str(tmp_path / "missing" / "x.zip"), env={}).code == 2


def test_import_gives_what_provision_gives_and_a_rerun_changes_nothing(org: Org, second_org: Any) -> None:
    imported = org.run("provision", "--import")
    assert imported.code == 0, imported.err
    assert "import solution 'XeroConnector'" in imported.out and "publish all customizations" in imported.out
    assert "already up to date" in org.run("provision").out
    assert "already up to date" in org.run("provision", "--import").out

    provisioned, _ = second_org
    assert provisioned.run("provision").code == 0
    by_import, by_provision = what_users_get(org), what_users_get(provisioned)
    for part in ("columns", "views", "roles", "app"):
        assert by_import[part] == by_provision[part], part
    for table, shown in by_provision["fields"].items():
        ours = {
            item.column if isinstance(item, ui.Field) else item.name
            for tab in ui.form(table).tabs
            for section in tab.sections
            for item in section.items
        }
        assert ours <= shown and ours <= by_import["fields"][table], table


def test_a_failed_import_changes_nothing_and_says_why(org: Org) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(solution_zip())) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "customizations.xml":
                content = content.replace(b"prvReadxc_SyncHistory", b"prvReadxc_NoSuchTable")
            target.writestr(name, content)
    with pytest.raises(RegistrationError, match=r"could not import the solution: .*prvReadxc_NoSuchTable"):
        import_solution(WebApi(org.url, lambda: SANDBOX_CONNECTOR_TOKEN), quiet_report(), content=buffer.getvalue())
    assert org.get("EntityDefinitions(LogicalName='xc_connection')").status_code == 404
    assert org.rows("roles", **{"$filter": "name eq 'Xero Connector User'"}) == []

    not_a_zip = org.session.post(
        org.api + "ImportSolutionAsync",
        json={
            "CustomizationFile": "bm90IGEgemlw",
            "OverwriteUnmanagedCustomizations": False,
            "PublishWorkflows": False,
        },
    )
    assert not_a_zip.status_code == 400 and "not a zip" in not_a_zip.text
