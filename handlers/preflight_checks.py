"""The checks before Xero is called (`mappers.preflight`), fed with the connection's reference rows from Dynamics.

A connection whose reference data has never been imported (a row made by hand, or an invoice that arrives
before the import queued by /xero/connect ran) is imported here first, in place: the checks need the chart of
accounts, and importing writes only what is missing.
"""

from __future__ import annotations

import logging
import uuid

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.errors import Permanent
from app.services import Services
from handlers.reference_data import XeroConnection, import_reference_data
from mappers import rows
from mappers.dynamics import ConnectionSettings, Invoice
from mappers.preflight import Checked, ReferenceData, check_before_sending

log = logging.getLogger(__name__)

_ACCOUNT_COLUMNS = [
    schema.ACCOUNT_CODE_CODE,
    schema.REFERENCE_NAME,
    schema.REFERENCE_IS_ACTIVE,
    schema.ACCOUNT_CODE_CLASS,
    schema.ACCOUNT_CODE_TAX_TYPE,
]
_TAX_RATE_COLUMNS = [
    schema.TAX_RATE_TAX_TYPE,
    schema.REFERENCE_NAME,
    schema.REFERENCE_IS_ACTIVE,
    schema.TAX_RATE_ACCOUNT_CLASSES,
]
_CURRENCY_COLUMNS = [schema.CURRENCY_CODE, schema.REFERENCE_IS_ACTIVE]


def load_reference(dataverse: DataverseClient, connection: ConnectionSettings) -> ReferenceData:
    of_connection = f"{rows.lookup_key(schema.REFERENCE_CONNECTION)} eq {uuid.UUID(connection.id)}"
    return ReferenceData.from_rows(
        dataverse.query(schema.ACCOUNT_CODE_ENTITY_SET, filter=of_connection, select=_ACCOUNT_COLUMNS),
        dataverse.query(schema.TAX_RATE_ENTITY_SET, filter=of_connection, select=_TAX_RATE_COLUMNS),
        dataverse.query(schema.CURRENCY_ENTITY_SET, filter=of_connection, select=_CURRENCY_COLUMNS),
        lock_date=connection.period_lock_date,
    )


def checked_invoice(services: Services, invoice: Invoice, connection: ConnectionSettings) -> Checked:
    """The invoice with every priced line's account and tax type checked; `Permanent` listing the problems."""
    reference = load_reference(services.dataverse, connection)
    if not reference.imported and connection.xero_tenant_id:
        log.info("reference data imported before the first invoice", extra={"connection_id": connection.id})
        import_reference_data(
            services, XeroConnection(connection.id.lower(), connection.xero_tenant_id, connection.name)
        )
        reference = load_reference(services.dataverse, connection)
    checked = check_before_sending(invoice, connection, reference)
    if checked.problems:
        raise Permanent(
            f"{len(checked.problems)} problem(s) found before sending: {' | '.join(checked.problems)}",
            user_message="The invoice was not sent to Xero: " + " ".join(checked.problems),
        )
    return checked
