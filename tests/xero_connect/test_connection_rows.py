"""The connection row bodies: defaults only on creation, identity and status on every connection."""

from datetime import UTC, datetime

from app import dynamics_schema as schema
from app.dynamics_schema import ConnectionStatus
from mappers.xero_connection import (
    ConnectedOrganisation,
    connected_patch,
    disconnected_patch,
    iana_time_zone,
    new_connection_row,
    reconnect_patch,
)

ORG = ConnectedOrganisation("50BD1A8C-C1AB-5C70-B60F-CFF4C56F618A", "Sandbox Trading Ltd", "!SbxA1", "GMTSTANDARDTIME")
AT = datetime(2026, 11, 22, 5, 30, tzinfo=UTC)


def test_a_new_row_has_identity_status_and_defaults():
    row = new_connection_row(ORG, is_default=True)
    assert row[schema.CONNECTION_XERO_TENANT_ID] == "50bd1a8c-c1ab-5c70-b60f-cff4c56f618a"
    assert row[schema.CONNECTION_STATUS] == ConnectionStatus.CONNECTED
    assert row[schema.CONNECTION_IS_DEFAULT] is True
    assert row[schema.CONNECTION_CREATE_CONTACTS] is True
    assert row[schema.CONNECTION_TIME_ZONE] == "Europe/London"
    assert set(row) <= {col.logical_name for col in schema.CONNECTION_TABLE.all_columns()}


def test_reconnecting_touches_no_setting():
    patch = connected_patch(ORG)
    assert set(patch) == {
        schema.CONNECTION_XERO_TENANT_ID,
        schema.CONNECTION_XERO_TENANT_NAME,
        schema.CONNECTION_XERO_SHORT_CODE,
        schema.CONNECTION_STATUS,
        schema.CONNECTION_STATUS_MESSAGE,
    }
    assert patch[schema.CONNECTION_STATUS_MESSAGE] is None


def test_time_zones_known_and_unknown():
    assert iana_time_zone("NEWZEALANDSTANDARDTIME") == "Pacific/Auckland"
    assert iana_time_zone("gmt standard time") == "Europe/London"
    assert iana_time_zone("MARSSTANDARDTIME") is None
    assert iana_time_zone(None) is None


def test_status_messages_say_what_to_do():
    gone = disconnected_patch(AT)
    assert gone[schema.CONNECTION_STATUS] == ConnectionStatus.DISCONNECTED
    assert "2026-11-22 05:30 UTC" in gone[schema.CONNECTION_STATUS_MESSAGE]
    flagged = reconnect_patch("Xero refused (invalid_grant)", AT)
    assert flagged[schema.CONNECTION_STATUS] == ConnectionStatus.RECONNECT_XERO
    assert flagged[schema.CONNECTION_STATUS_MESSAGE].startswith("Reconnect Xero: Xero refused (invalid_grant)")
    assert "/xero/connect" in flagged[schema.CONNECTION_STATUS_MESSAGE]
