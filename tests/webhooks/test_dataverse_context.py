import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.events import EntityRef
from app.webhooks.dataverse_context import MalformedContext, parse_context
from tests.fixtures.loader import dataverse_body, dataverse_json, dataverse_names

INVOICE_ID = "7d1f2a5c-8b3e-ef11-8409-000d3a4b7a1c"
ORG_ID = "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c"


@pytest.mark.parametrize("name", dataverse_names())
def test_every_recorded_payload_parses(name):
    event = parse_context(dataverse_body(name))
    assert event.organization_id == ORG_ID
    assert event.message in {"Create", "Update", "Delete"}
    assert event.record_id


def test_raw_bytes_keep_wcf_escaped_slashes():
    assert b"http:\\/\\/schemas.microsoft.com" in dataverse_body("invoice_create_with_post_image")


def test_create_carries_target_and_post_images_by_alias():
    event = parse_context(dataverse_body("invoice_create_with_post_image"))
    assert (event.entity, event.record_id, event.message) == ("invoice", INVOICE_ID, "Create")
    assert event.changed_attributes["totalamount"] == Decimal("1200.0")
    assert event.changed_attributes["statecode"] == 0
    customer = EntityRef("account", "a8a19cdd-88df-e311-b8e5-6c3be5a8b200", "Fourth Coffee")
    assert event.changed_attributes["customerid"] == customer
    assert set(event.post_images) == {"PostImage", "AsynchronousStepPrimaryName"}
    assert event.post_images["AsynchronousStepPrimaryName"]["name"] == "Consulting November"
    assert event.correlation_id == "c0ffee00-1234-4abc-9def-0123456789ab"
    assert event.operation_created_on == datetime(2024, 11, 22, 8, 0, tzinfo=UTC)
    assert event.trimmed is False


def test_update_has_only_changed_columns_and_both_images():
    event = parse_context(dataverse_body("invoice_update_with_pre_and_post_images"))
    assert "totalamount" not in event.changed_attributes
    assert event.changed_attributes["name"] == "Consulting November (revised)"
    assert event.pre_images["PreImage"]["name"] == "Consulting November"
    assert event.post_images["PostImage"]["name"] == "Consulting November (revised)"
    assert event.attribute("totalamount") == Decimal("1200.0")


def test_delete_target_is_a_reference_and_data_comes_from_the_pre_image():
    event = parse_context(dataverse_body("invoice_delete_with_pre_image"))
    assert event.message == "Delete"
    assert event.changed_attributes == {}
    assert event.pre_image()["xc_xeroinvoiceid"] == "243216c5-369e-4056-ac67-05388f86dc81"


def test_every_value_type():
    attrs = parse_context(dataverse_body("invoice_update_every_value_type")).changed_attributes
    assert attrs["description"] == 'Line one\nline "two" / slash'
    assert attrs["quantity_whole"] == 42
    assert attrs["exchangerate"] == Decimal("1.0001")
    assert attrs["ispricelocked"] is True
    assert attrs["statuscode"] == 1
    assert attrs["new_regions"] == [100000000, 100000002]
    assert attrs["totalamount"] == Decimal("2154.32")
    assert attrs["customerid"].logical_name == "contact"
    assert attrs["datedelivered"] == datetime(2020, 12, 15, 7, 0, tzinfo=UTC)
    assert attrs["duedate"] == attrs["datedelivered"], "an offset suffix is ignored"
    assert attrs["new_wrappedguid"] == "44bfc2a7-903e-eb11-a813-000d3ad9c2e1"
    assert attrs["new_wrappeddate"] == attrs["datedelivered"]
    assert attrs["opportunityid"] is None
    assert attrs["new_unknowntyped"] is True


def test_wrapped_primary_entity_id_and_unknown_top_level_fields():
    event = parse_context(dataverse_body("invoice_update_every_value_type"))
    assert event.record_id == INVOICE_ID


def test_trimmed_context_falls_back_to_primary_entity_and_message():
    event = parse_context(
        dataverse_body("invoice_update_trimmed_oversize"), {"x-ms-dynamics-msg-size-exceeded": "true"}
    )
    assert (event.entity, event.record_id, event.message) == ("invoice", INVOICE_ID, "Update")
    assert event.trimmed is True
    assert event.changed_attributes == {} and event.pre_images == {} and event.post_images == {}


def test_body_sent_as_a_json_string_holding_the_json():
    inner = dataverse_body("invoice_create_with_post_image").decode()
    event = parse_context(json.dumps(inner).encode())
    assert event.record_id == INVOICE_ID


def test_utf8_bom_is_accepted():
    event = parse_context(b"\xef\xbb\xbf" + dataverse_body("invoice_create_with_post_image"))
    assert event.message == "Create"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
    ],
)
def test_malformed_bodies_name_the_problem(body, named):
    with pytest.raises(MalformedContext, match=named):
        parse_context(body)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d.pop("MessageName"), "MessageName"),
        (lambda d: d.update(PrimaryEntityId="not-a-guid"), "PrimaryEntityId"),
        (lambda d: d.update(OrganizationId=None), "OrganizationId"),
        (lambda d: d.update(InputParameters="oops"), "InputParameters"),
        (lambda d: d.update(PrimaryEntityName=""), "PrimaryEntityName"),
        (lambda d: d["InputParameters"].append({"nokey": 1}), "key/value"),
        (
            lambda d: d["InputParameters"][0]["value"]["Attributes"].append(
                {"key": "statuscode", "value": {"__type": "OptionSetValue:x"}}
            ),
            "OptionSetValue's Value must be a whole number",
        ),
        (lambda d: d.update(OperationCreatedOn="yesterday"), "OperationCreatedOn"),
    ],
)
def test_structurally_invalid_contexts_name_the_field(mutate, named):
    document = dataverse_json("invoice_create_with_post_image")
    mutate(document)
    with pytest.raises(MalformedContext, match=named):
        parse_context(json.dumps(document).encode())


def _with_target_value(name: str, raw_value: str) -> bytes:
    """The create fixture with one target attribute's value replaced by raw JSON text."""
    document = dataverse_json("invoice_create_with_post_image")
    document["InputParameters"][0]["value"]["Attributes"].append({"key": name, "value": "@@raw@@"})
    return json.dumps(document).replace('"@@raw@@"', raw_value).encode()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        # Each once gave a 500 or hung a worker; each is now a 400 naming the problem.
        (_with_target_value("description", "1e999999999"), "out of range"),
        (_with_target_value("description", "9" * 5000), "more than 40 digits"),
        (_with_target_value("description", "NaN"), "NaN is not a number"),
        (_with_target_value("description", '{"a":' * 600 + "1" + "}" * 600), "nests deeper"),
        (_with_target_value("description", '"/Date(99999999999999999999)/"'), "not a date Dataverse can hold"),
        (_with_target_value("description", '"\\ud800"'), "lone surrogate"),
        (
            _with_target_value("discount", '{"__type": "EntityCollection:x", "Entities": ["a", "b"]}'),
            "EntityCollection must hold a list of entities",
        ),
        (
            _with_target_value("choices", '{"__type": "OptionSetValueCollection:x", "Values": ["a"]}'),
            "a choice in a collection must be a whole number",
        ),
        (_with_target_value("xc_exportstatus", "[1]"), "column xc_exportstatus must be a choice value"),
        (
            _with_target_value("customerid", '{"__type": "EntityReference:x", "Id": "../../contacts"}'),
            "EntityReference's Id must be a GUID",
        ),
        (_with_target_value("customerid", '"acme"'), "column customerid must be a reference to a row"),
    ],
)
def test_hostile_values_are_refused_at_the_parser_naming_the_problem(body, named):
    with pytest.raises(MalformedContext, match=named):
        parse_context(body)


def test_a_line_whose_parent_invoice_id_is_not_a_guid_is_refused():
    document = dataverse_json("invoicedetail_create")
    for pair in document["InputParameters"][0]["value"]["Attributes"]:
        if pair["key"] == "invoiceid":
            pair["value"]["Id"] = "\r\n\r\nx-injected: 1"
    with pytest.raises(MalformedContext, match="GUID"):
        parse_context(json.dumps(document).encode())
