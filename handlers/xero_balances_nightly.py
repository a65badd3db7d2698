"""Nightly: every linked account's and contact's outstanding and overdue amounts, read afresh from Xero.

Overdue amounts change as invoices age, without any event in Xero, so the balances written on events alone go
stale. Once a night (`xero.balances_nightly`, see app.schedule) each connected organisation's linked customers
are read in batches (IDS_PER_READ contacts per Xero call, balances included) and only the rows whose figures
differ are written, in `$batch` requests of BATCH_SIZE updates.
"""

from __future__ import annotations

import logging
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import BatchOperation
from app.dispatch import JobContext
from app.errors import ConnectorError
from app.services import Services, services_for
from handlers.reconciliation import NOT_CONFIGURED, connections_to_reconcile
from mappers.dynamics import ConnectionSettings, CustomerKind
from mappers.xero_to_dynamics import LinkedCustomer, balance_patch, contact_balance, linked_customer_columns

log = logging.getLogger(__name__)

KIND = "xero.balances_nightly"
CRON = "30 2 * * *"  # UTC, after the night's reference-data import
BATCH_SIZE = 100


def handle(ctx: JobContext) -> dict[str, Any]:
    receipt = {"handler": __name__, "kind": ctx.kind}
    services = services_for(ctx.redis)
    if services is None:
        return {**receipt, "skipped": NOT_CONFIGURED}
    linked = linked_customers(services)
    results = []
    for connection in connections_to_reconcile(services):
        try:
            results.append(refresh_connection(services, connection, linked))
        except ConnectorError as exc:
            log.warning("nightly balances failed", extra={"connection_id": connection.id, "error": str(exc)})
            results.append({"connection_id": connection.id, "error": exc.user_message})
    return {**receipt, "customers": sum(len(c) for c in linked.values()), "connections": results}


def linked_customers(services: Services) -> dict[str, list[LinkedCustomer]]:
    """Every Dynamics account and contact carrying a Xero contact id, by that id."""
    by_contact: dict[str, list[LinkedCustomer]] = {}
    for kind in CustomerKind:
        rows = services.dataverse.query(
            kind.entity_set,
            filter=f"{schema.CUSTOMER_XERO_CONTACT_ID} ne null",
            select=list(linked_customer_columns(kind)),
        )
        for row in rows:
            contact_id = str(row[schema.CUSTOMER_XERO_CONTACT_ID]).lower()
            by_contact.setdefault(contact_id, []).append(LinkedCustomer.from_row(row, kind))
    return by_contact


def refresh_connection(
    services: Services, connection: ConnectionSettings, linked: dict[str, list[LinkedCustomer]]
) -> dict[str, Any]:
    assert connection.xero_tenant_id is not None  # selected for having one
    xero = services.xero.get(connection.id, connection.xero_tenant_id)
    contacts = xero.get_contacts_by_ids(linked)  # ids of another organisation are simply not found here
    patches = []
    for contact in contacts:
        balance = contact_balance(contact)
        for customer in linked.get(str(contact.contact_id).lower(), []):
            patch = balance_patch(customer, balance)
            if patch is not None:
                patches.append(BatchOperation.update(patch.entity_set, patch.row_id, patch.body))
    for start in range(0, len(patches), BATCH_SIZE):
        # Not atomic: each row's balances stand alone, and one refused row must not hold back the others.
        services.dataverse.batch(patches[start : start + BATCH_SIZE], atomic=False)
    return {"connection_id": connection.id, "contacts_read": len(contacts), "balances_written": len(patches)}
