"""The comparison and body-building logic, without a server."""

from __future__ import annotations

import pytest

from app import dynamics_schema as schema
from plugins_registration import metadata
from plugins_registration.customize import Published
from plugins_registration.errors import UsageError
from plugins_registration.provision import missing_columns, missing_options
from plugins_registration.register import endpoint_changes, image_changes, step_changes, step_fields
from plugins_registration.steps import AuthType, EndpointSpec, desired_steps, header_name_in, validate_webhook_url

URL = "https://connector.example.com/webhooks/dataverse"


def test_missing_columns_lists_only_what_is_absent() -> None:
    present = {col.logical_name for col in schema.INVOICE_TABLE.columns} - {"xc_xerolink", "xc_connectionid"}
    assert [col.logical_name for col in missing_columns(schema.INVOICE_TABLE, present)] == [
        "xc_connectionid",
        "xc_xerolink",
    ]


def test_missing_options_ignores_extra_options_an_admin_added() -> None:
    col = schema.INVOICE_TABLE["xc_exportstatus"]
    assert isinstance(col, schema.ChoiceColumn)
    assert missing_options(col, {100000000, 100000001, 100000002, 555}) == {100000003: "Ready to update"}


def test_attribute_bodies_match_the_column_kind() -> None:
    choice = metadata.attribute_metadata(schema.INVOICE_TABLE["xc_invoicetype"])
    assert choice["@odata.type"] == "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    assert [option["Value"] for option in choice["OptionSet"]["Options"]] == [int(v) for v in schema.InvoiceType]
    link = metadata.attribute_metadata(schema.INVOICE_TABLE["xc_xerolink"])
    assert link["FormatName"] == {"Value": "Url"}
    money = metadata.attribute_metadata(schema.INVOICE_TABLE["xc_amountdue"])
    assert money["@odata.type"].endswith("MoneyAttributeMetadata")
    with pytest.raises(TypeError):
        metadata.attribute_metadata(schema.INVOICE_TABLE["xc_connectionid"])


def test_entity_body_carries_the_primary_name_and_entity_set() -> None:
    body = metadata.entity_metadata(schema.SYNC_HISTORY_TABLE)
    assert body["SchemaName"] == "xc_SyncHistory"
    assert body["EntitySetName"] == "xc_synchistorys"
    assert body["PrimaryNameAttribute"] == "xc_name"
    assert [attr["IsPrimaryName"] for attr in body["Attributes"]] == [True]
    with pytest.raises(ValueError, match="not one of our tables"):
        metadata.entity_metadata(schema.INVOICE_TABLE)


def test_relationship_body_names_the_lookup_schema_name() -> None:
    lookup = schema.lookup("invoice", "xc_connectionid")
    body = metadata.relationship_metadata(schema.INVOICE_TABLE, lookup, "xc_connectionid")
    assert body["ReferencedEntity"] == "xc_connection"
    assert body["ReferencingEntity"] == "invoice"
    assert body["Lookup"]["SchemaName"] == "xc_ConnectionId"
    assert body["CascadeConfiguration"]["Delete"] == "RemoveLink"


def test_publish_xml_lists_the_tables() -> None:
    assert Published(tables=dict.fromkeys(["invoice", "xc_connection"])).xml() == (
        "<importexportxml><entities><entity>invoice</entity><entity>xc_connection</entity></entities></importexportxml>"
    )


def test_desired_steps_cover_the_brief() -> None:
    steps = {(step.table, step.message): step for step in desired_steps()}
    assert set(steps) == {
        ("invoice", "Create"),
        ("invoice", "Update"),
        ("invoice", "Delete"),
        ("invoicedetail", "Create"),
        ("invoicedetail", "Update"),
        ("invoicedetail", "Delete"),
        ("xc_connection", "Create"),
        ("xc_connection", "Update"),
    }
    for (_, message), step in steps.items():
        assert bool(step.filtering_attributes) == (message == "Update")
        for image in step.images:
            assert image.message_property == ("Id" if message == "Create" else "Target")
    delete_image = steps[("invoice", "Delete")].images[0]
    assert delete_image.alias == schema.PRE_IMAGE_ALIAS and "xc_xeroinvoiceid" in delete_image.attributes
    assert {image.alias for image in steps[("invoice", "Update")].images} == {"PreImage", "PostImage"}
    assert steps[("invoicedetail", "Delete")].images[0].attributes == ("invoiceid",)


def test_header_authvalue_is_escaped_settings_xml() -> None:
    spec = EndpointSpec(URL, AuthType.HTTP_HEADER, "x-connector-key")
    assert spec.authvalue('a"b<c') == '<settings><setting name="x-connector-key" value="a&quot;b&lt;c" /></settings>'
    assert EndpointSpec(URL, AuthType.WEBHOOK_KEY).authvalue("s3cret") == "s3cret"
    assert header_name_in(spec.description) == "x-connector-key"


def test_endpoint_changes_see_url_and_auth_but_not_wording() -> None:
    spec = EndpointSpec(URL, AuthType.WEBHOOK_KEY)
    registered = {"url": URL, "authtype": 4, "description": spec.description}
    assert endpoint_changes(registered, spec) == {}
    assert endpoint_changes({**registered, "description": "reworded (auth: webhookkey)"}, spec) == {}
    assert endpoint_changes({**registered, "url": "https://old.example.com/hook"}, spec) == {"url": URL}
    header = EndpointSpec(URL, AuthType.HTTP_HEADER, "x-other")
    assert set(endpoint_changes(registered, header)) == {"authtype", "description"}


def test_step_changes_compare_filtering_columns_as_a_set() -> None:
    step = next(s for s in desired_steps() if s.table == "invoice" and s.message == "Update")
    current = {
        **step_fields(step),
        "filteringattributes": ",".join(reversed(step.filtering_attributes)).upper(),
        "statecode": 0,
        "_sdkmessageid_value": "m",
        "_sdkmessagefilterid_value": "f",
    }
    assert step_changes(current, step, "m", "f") == {}
    narrowed = {**current, "filteringattributes": "name"}
    assert step_changes(narrowed, step, "m", "f") == {"filteringattributes": step.filtering}
    disabled = {**current, "statecode": 1, "statuscode": 2}
    assert step_changes(disabled, step, "m", "f") == {"statecode": 0, "statuscode": 1}
    assert step_changes(current, step, "m", "other") == {"sdkmessagefilterid@odata.bind": "/sdkmessagefilters(other)"}


def test_image_changes() -> None:
    image = next(s for s in desired_steps() if s.message == "Delete" and s.table == "invoice").images[0]
    current = {"imagetype": 0, "messagepropertyname": "Target", "attributes": ",".join(image.attributes)}
    assert image_changes(current, image) == {}
    assert image_changes({**current, "attributes": "name"}, image) == {"attributes": ",".join(image.attributes)}


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/hook",
        "https://host:8443/hook",
        "https://user:pw@host/hook",
        "https://host/hook?code=abc",
    ],
)
def test_webhook_urls_dataverse_would_refuse_are_rejected(url: str) -> None:
    with pytest.raises(UsageError):
        validate_webhook_url(url)


def test_loopback_webhook_urls_may_use_any_port() -> None:
    assert (
        validate_webhook_url("http://127.0.0.1:8000/webhooks/dataverse") == "http://127.0.0.1:8000/webhooks/dataverse"
    )
    assert validate_webhook_url("https://connector.example.com/webhooks/dataverse") == URL
