"""The connection row (`xc_connection`) bodies written when a Xero organisation is connected or disconnected.

Pure: the caller reads Xero and Dynamics and passes the facts in; the clock is a parameter.

Defaults a new row starts with (the seed guides: settings live on the connection row in Dynamics and the admin
reviews them after connecting): Xero numbering off (the Dynamics invoice number is used), new contacts created,
new items not created, new invoices as DRAFT, no default account codes (they are chosen from the imported
chart of accounts), no automatic credit notes, bundles sent as their header line, amounts tax exclusive, and the
time zone of the Xero organisation. An existing row keeps the settings the admin chose: reconnecting only
refreshes the organisation's identity and status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import dynamics_schema as schema
from app.dynamics_schema import BundleHandling, ConnectionStatus, DefaultInvoiceStatus, LineAmountTypes

# Xero names an organisation's time zone with Windows-style codes; the connection stores IANA names.
# Unknown codes leave the column empty, which the sync reads as UTC (the admin can set it).
XERO_TIME_ZONES: dict[str, str] = {
    "GMTSTANDARDTIME": "Europe/London",
    "GREENWICHSTANDARDTIME": "Atlantic/Reykjavik",
    "WEUROPESTANDARDTIME": "Europe/Berlin",
    "ROMANCESTANDARDTIME": "Europe/Paris",
    "CENTRALEUROPESTANDARDTIME": "Europe/Budapest",
    "IRISHSTANDARDTIME": "Europe/Dublin",
    "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg",
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
    "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EAUSTRALIASTANDARDTIME": "Australia/Brisbane",
    "CENAUSTRALIASTANDARDTIME": "Australia/Adelaide",
    "AUSCENTRALSTANDARDTIME": "Australia/Darwin",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth",
    "TASMANIASTANDARDTIME": "Australia/Hobart",
    "SINGAPORESTANDARDTIME": "Asia/Singapore",
    "EASTERNSTANDARDTIME": "America/New_York",
    "CENTRALSTANDARDTIME": "America/Chicago",
    "MOUNTAINSTANDARDTIME": "America/Denver",
    "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "UTC": "UTC",
}

RECONNECT_HINT = "Connect this organisation again from /xero/connect."


@dataclass(frozen=True)
class ConnectedOrganisation:
    """What Xero says about the organisation just connected."""

    tenant_id: str
    name: str
    short_code: str | None = None
    xero_time_zone: str | None = None


def iana_time_zone(xero_code: str | None) -> str | None:
    return XERO_TIME_ZONES.get((xero_code or "").replace(" ", "").upper())


def connected_patch(org: ConnectedOrganisation) -> dict[str, Any]:
    """The identity and status columns, written on every (re)connection."""
    return {
        schema.CONNECTION_XERO_TENANT_ID: org.tenant_id.lower(),
        schema.CONNECTION_XERO_TENANT_NAME: org.name,
        schema.CONNECTION_XERO_SHORT_CODE: org.short_code,
        schema.CONNECTION_STATUS: int(ConnectionStatus.CONNECTED),
        schema.CONNECTION_STATUS_MESSAGE: None,
    }


def new_connection_row(org: ConnectedOrganisation, *, is_default: bool) -> dict[str, Any]:
    """A whole new row: identity, status and the default settings."""
    return {
        schema.CONNECTION_NAME: org.name,
        **connected_patch(org),
        schema.CONNECTION_IS_DEFAULT: is_default,
        schema.CONNECTION_USE_XERO_INVOICE_NUMBER: False,
        schema.CONNECTION_CREATE_CONTACTS: True,
        schema.CONNECTION_CREATE_ITEMS: False,
        schema.CONNECTION_DEFAULT_INVOICE_STATUS: int(DefaultInvoiceStatus.DRAFT),
        schema.CONNECTION_CREATE_CREDIT_NOTE: False,
        schema.CONNECTION_TIME_ZONE: iana_time_zone(org.xero_time_zone),
        schema.CONNECTION_BUNDLE_HANDLING: int(BundleHandling.HEADER_ONLY),
        schema.CONNECTION_DEFAULT_LINE_AMOUNT_TYPES: int(LineAmountTypes.EXCLUSIVE),
    }


def disconnected_patch(at: datetime, by_whom: str = "an administrator") -> dict[str, Any]:
    return {
        schema.CONNECTION_STATUS: int(ConnectionStatus.DISCONNECTED),
        schema.CONNECTION_STATUS_MESSAGE: f"Disconnected from Xero by {by_whom} on {at:%Y-%m-%d %H:%M} UTC. "
        f"{RECONNECT_HINT}",
    }


def reconnect_patch(reason: str, at: datetime) -> dict[str, Any]:
    """The row flagged "Reconnect Xero": invoices for it stop until an admin connects it again."""
    return {
        schema.CONNECTION_STATUS: int(ConnectionStatus.RECONNECT_XERO),
        schema.CONNECTION_STATUS_MESSAGE: f"Reconnect Xero: {reason} ({at:%Y-%m-%d %H:%M} UTC). {RECONNECT_HINT}",
    }
