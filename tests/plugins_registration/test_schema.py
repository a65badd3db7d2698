"""Sanity of the schema definition: one prefix, unique names, valid choices, lookups that resolve."""

from __future__ import annotations

from collections import Counter

import pytest

from app import dynamics_schema as schema
from app.dynamics_schema import ALL_TABLES, CUSTOM_TABLES, ChoiceColumn, LookupColumn

OUR_COLUMNS = [(table, col) for table in ALL_TABLES for col in table.all_columns()]


def test_every_table_and_column_we_add_carries_the_publisher_prefix() -> None:
    for table in CUSTOM_TABLES:
        assert table.logical_name.startswith("xc_"), table.logical_name
        assert table.schema_name.startswith("xc_")
    for table, col in OUR_COLUMNS:
        assert col.schema_name.startswith("xc_"), f"{table.logical_name}.{col.schema_name}"
        assert col.logical_name == col.schema_name.lower()


def test_column_names_are_unique_within_each_table_and_never_shadow_the_primary_key() -> None:
    for table in ALL_TABLES:
        names = Counter(col.logical_name for col in table.all_columns())
        assert [name for name, count in names.items() if count > 1] == [], table.logical_name
        assert table.primary_id not in names, table.logical_name


def test_table_names_and_entity_sets_are_unique() -> None:
    assert len({table.logical_name for table in ALL_TABLES}) == len(ALL_TABLES)
    assert len({table.entity_set for table in ALL_TABLES}) == len(ALL_TABLES)
    assert schema.entity_set_name("xc_connection") == "xc_connections"
    assert schema.entity_set_name("invoice") == "invoices"


@pytest.mark.parametrize(("table", "col"), [pair for pair in OUR_COLUMNS if isinstance(pair[1], ChoiceColumn)])
def test_choice_values_are_in_the_publisher_range_and_distinct(table: schema.Table, col: ChoiceColumn) -> None:
    values = list(col.options)
    assert values, col.logical_name
    assert all(value >= schema.CHOICE_VALUE_BASE for value in values)
    assert len(set(values)) == len(values)
    assert all(text.strip() for text in col.options.values())
    assert col.default is None or col.default in col.options


def test_lookups_point_at_tables_the_schema_knows() -> None:
    for table, col in OUR_COLUMNS:
        if isinstance(col, LookupColumn):
            target = schema.table(col.target)
            assert target.primary_id.endswith("id"), (table.logical_name, col.logical_name)


def test_names_the_intake_relies_on_are_unchanged() -> None:
    assert schema.INVOICE_CONNECTION == "xc_connectionid"
    assert schema.INVOICE_EXPORT_STATUS == "xc_exportstatus"
    assert schema.INVOICE_XERO_INVOICE_ID == "xc_xeroinvoiceid"
    assert schema.ExportStatus.READY_TO_UPDATE == 100000003
    assert {schema.ExportStatus.NO, schema.ExportStatus.READY_TO_UPDATE} == schema.RESYNC_REQUEST_VALUES
    invoice_columns = {col.logical_name for col in schema.INVOICE_TABLE.columns}
    assert {schema.INVOICE_CONNECTION, schema.INVOICE_EXPORT_STATUS, schema.INVOICE_XERO_INVOICE_ID} <= invoice_columns


def test_bind_uses_the_case_sensitive_navigation_property_and_the_target_entity_set() -> None:
    connection = schema.lookup("invoice", schema.INVOICE_CONNECTION)
    assert schema.bind(connection, "1234") == {"xc_ConnectionId@odata.bind": "/xc_connections(1234)"}
    assert connection.value_key == "_xc_connectionid_value"
    assert schema.SYNC_HISTORY_INVOICE_NAV == "xc_InvoiceId"


def test_the_delete_pre_image_carries_what_a_cancellation_needs() -> None:
    needed = {
        "xc_xeroinvoiceid",
        "xc_connectionid",
        "invoicenumber",
        "name",
        "xc_invoicetype",
        "statecode",
        "statuscode",
        "totalamount",
    }
    assert needed <= set(schema.INVOICE_DELETE_IMAGE_COLUMNS)


def test_columns_the_connector_writes_back_do_not_trigger_update_steps() -> None:
    written_back = {
        schema.INVOICE_XERO_NUMBER,
        schema.INVOICE_XERO_STATUS,
        schema.INVOICE_XERO_LINK,
        schema.INVOICE_AMOUNT_DUE,
        schema.INVOICE_AMOUNT_PAID,
        schema.INVOICE_EXPORT_DATE,
        schema.INVOICE_XERO_INVOICE_ID,
    }
    assert written_back.isdisjoint(schema.INVOICE_FILTERING_COLUMNS)
    assert "xc_connectionstatus" not in schema.CONNECTION_FILTERING_COLUMNS
    for name in schema.INVOICE_FILTERING_COLUMNS:
        if name.startswith("xc_"):
            assert name in {col.logical_name for col in schema.INVOICE_TABLE.columns}


def test_choice_labels_read_well() -> None:
    assert schema.choice_label(schema.ConnectionStatus.RECONNECT_XERO) == "Reconnect Xero"
    assert schema.choice_label(schema.LineAmountTypes.NO_TAX) == "No tax"


def test_every_named_column_constant_exists_in_its_table() -> None:
    groups = {
        "INVOICE_LINE_": [schema.INVOICE_LINE_TABLE],
        "INVOICE_": [schema.INVOICE_TABLE],
        "CUSTOMER_": [schema.ACCOUNT_TABLE, schema.CONTACT_TABLE],
        "PRODUCT_": [schema.PRODUCT_TABLE],
        "CONNECTION_": [schema.CONNECTION_TABLE],
        "SYNC_HISTORY_": [schema.SYNC_HISTORY_TABLE],
        "REFERENCE_": [
            t
            for t in schema.CUSTOM_TABLES
            if t.logical_name not in {"xc_connection", "xc_synchistory", "xc_xerocontactlink", "xc_xeroitemlink"}
        ],
        "CURRENCY_": [schema.CURRENCY_TABLE],
        "LINK_": [schema.CONTACT_LINK_TABLE, schema.ITEM_LINK_TABLE],
        "CONTACT_LINK_": [schema.CONTACT_LINK_TABLE],
        "ITEM_LINK_": [schema.ITEM_LINK_TABLE],
        "TAX_RATE_": [schema.TAX_RATE_TABLE],
        "ACCOUNT_CODE_": [schema.ACCOUNT_CODE_TABLE],
        "TRACKING_OPTION_": [schema.TRACKING_OPTION_TABLE],
    }
    checked = 0
    for name, value in vars(schema).items():
        if not isinstance(value, str) or name.endswith(("_NAV", "_ENTITY", "_ENTITY_SET", "_ALIAS")):
            continue
        prefixes = [prefix for prefix in groups if name.startswith(prefix)]
        if not prefixes:
            continue

        def in_every_table(prefix: str, value: str = value) -> bool:
            return all(
                value in {col.logical_name for col in table.all_columns()} | {table.primary_id}
                for table in groups[prefix]
            )

        # INVOICE_LINE_AMOUNT_TYPES is an invoice column: any group the name fits may own it.
        assert any(in_every_table(prefix) for prefix in prefixes), f"{name}={value} is not in its table(s)"
        checked += 1
    assert checked > 40
