"""Xero reference data into Dynamics: tax rates, account codes, branding themes, tracking categories and options.

Job kinds (registered in app.dispatch.HANDLERS):
- `reference_data.import` {connection_id}: one connection's import. Read the four lists from Xero, read the
  connection's rows of the five tables from Dynamics, and write only the differences in one `$batch` per
  1,000 rows, in the order above. The result counts what was created, updated, deactivated and unchanged.
- `reference_data.import_all` (on demand) and `reference_data.nightly` (the schedule): queue one import per
  connection that has a Xero organisation and a stored token.

Imports are coalesced per connection (one waiting job, one running at a time), so a burst of requests costs one
run. Every write is a PATCH to a known row id (new rows get an id derived from their key), so a `$batch` whose
answer was lost can be sent again without creating duplicates.

What Dynamics shows: a run that changes something leaves a Sync History row with the counts (a run that
changes nothing writes nothing at all); a failed run leaves a failed one, and a lost Xero authorisation also
sets the connection row to "Reconnect Xero" with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import BatchOperation, RowNotFound
from app.clients.dataverse_batch import MAX_BATCH_OPERATIONS
from app.dispatch import JobContext
from app.dynamics_schema import SyncAction, SyncStatus
from app.errors import ConnectionLost, ConnectorError, Ignored, Permanent, Retryable
from app.reference_data import KIND_IMPORT, submit_import
from app.services import Services, services_for
from handlers.dynamics_outcomes import reconnect_patch, write_patches
from mappers import reference_data as ref
from mappers.account_defaults import CONNECTION_FACT_COLUMNS, connection_facts
from mappers.writeback import history_row

log = logging.getLogger(__name__)

NOT_CONFIGURED = "the worker is not connected to Dynamics and Xero"


# ---------------------------------------------------------------------------------------------------
# Which connections
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XeroConnection:
    connection_id: str
    tenant_id: str
    name: str | None
    daily_call_limit: int | None = None  # this organisation's Xero budget; None: the connector's default


_CONNECTION_SELECT = [
    schema.CONNECTION_ID,
    schema.CONNECTION_NAME,
    schema.CONNECTION_XERO_TENANT_ID,
    schema.CONNECTION_XERO_DAILY_CALL_LIMIT,
    "statecode",
]


def _as_connection(row: Mapping[str, Any]) -> XeroConnection | None:
    tenant_id = (row.get(schema.CONNECTION_XERO_TENANT_ID) or "").strip()
    if not tenant_id or row.get("statecode") not in (None, 0):
        return None
    limit = row.get(schema.CONNECTION_XERO_DAILY_CALL_LIMIT)
    return XeroConnection(
        str(row[schema.CONNECTION_ID]).lower(),
        tenant_id,
        row.get(schema.CONNECTION_NAME),
        int(limit) if isinstance(limit, int) and limit > 0 else None,
    )


def read_connection(services: Services, connection_id: str) -> XeroConnection:
    """The active connection row with its Xero organisation; `Ignored` when there is nothing to import for."""
    row = services.dataverse.get_optional(schema.CONNECTION_ENTITY_SET, connection_id, select=_CONNECTION_SELECT)
    if row is None:
        raise Ignored(f"connection {connection_id} no longer exists")
    found = _as_connection(row)
    if found is None:
        raise Ignored(f"connection {connection_id} is inactive or has no Xero organisation yet")
    return found


def has_token(services: Services, connection_id: str) -> bool:
    try:
        return services.xero.tokens.load(connection_id) is not None
    except ConnectionLost:
        return False  # stored but unreadable: the import would only fail; reconnecting fixes it


def importable_connections(services: Services) -> tuple[list[XeroConnection], list[str]]:
    """Active connections with a Xero organisation and a stored token, and the ids of those without a token."""
    found, without_token = [], []
    rows = services.dataverse.query(
        schema.CONNECTION_ENTITY_SET,
        select=_CONNECTION_SELECT,
        filter=f"statecode eq 0 and {schema.CONNECTION_XERO_TENANT_ID} ne null",
    )
    for row in rows:
        connection = _as_connection(row)
        if connection is None:
            continue
        if has_token(services, connection.connection_id):
            found.append(connection)
        else:
            without_token.append(connection.connection_id)
    return found, without_token


# ---------------------------------------------------------------------------------------------------
# One import
# ---------------------------------------------------------------------------------------------------


def import_reference_data(
    services: Services, connection: XeroConnection, *, now: datetime | None = None
) -> dict[str, Any]:
    """Bring the connection's reference tables in line with its Xero organisation; the counts per table."""
    services.xero.limiter.set_day_budget(connection.tenant_id, connection.daily_call_limit)
    xero = services.xero.get(connection.connection_id, connection.tenant_id)
    organisation = xero.get_organisation()
    accounts = xero.get_accounts()
    categories, options = ref.wanted_tracking(xero.get_tracking_categories(include_archived=True))
    wanted = {
        ref.TAX_RATES: ref.wanted_tax_rates(xero.get_tax_rates()),
        ref.ACCOUNT_CODES: ref.wanted_accounts(accounts),
        ref.BRANDING_THEMES: ref.wanted_branding_themes(xero.get_branding_themes()),
        ref.TRACKING_CATEGORIES: categories,
        ref.TRACKING_OPTIONS: options,
        ref.CURRENCIES: ref.wanted_currencies(xero.get_currencies(), organisation.base_currency),
    }
    plans: list[ref.TablePlan] = []
    for table in ref.IMPORT_ORDER:
        existing = services.dataverse.query(
            table.entity_set,
            select=table.select(),
            filter=table.connection_filter(connection.connection_id),
            orderby="createdon asc",
        )
        parents = plans[-1].row_ids if table.parent is not None else None  # options follow their categories
        plans.append(
            ref.plan_table(
                table, wanted[table], existing, connection_id=connection.connection_id, parent_row_ids=parents
            )
        )
    _write(services, plans)
    changed = any(plan.writes for plan in plans)
    if changed:
        _record(services, connection, plans, now or datetime.now(UTC))
    first_import = not any(plan.updates or plan.deactivations or plan.unchanged for plan in plans)
    facts = _connection_facts(services, connection, organisation, accounts, now or datetime.now(UTC), first_import)
    result = {plan.table.label.replace(" ", "_"): plan.counts() for plan in plans}
    totals = {
        what: sum(plan.counts()[what] for plan in plans) for what in ("created", "updated", "deactivated", "unchanged")
    }
    # LogRecord reserves "created": the counts go under a key of their own.
    log.info("reference data imported", extra={"connection_id": connection.connection_id, "counts": totals})
    return {
        "connection_id": connection.connection_id,
        "tenant_id": connection.tenant_id,
        "tables": result,
        "totals": totals,
        "changed": changed,
        "connection_facts": facts,
    }


def _operations(plans: list[ref.TablePlan]) -> list[BatchOperation]:
    operations = []
    for plan in plans:
        for write in plan.writes:
            if write.create:
                operations.append(BatchOperation.upsert(plan.table.entity_set, write.row_id, write.body))
            else:
                operations.append(BatchOperation.update(plan.table.entity_set, write.row_id, write.body))
    return operations


def _write(services: Services, plans: list[ref.TablePlan]) -> None:
    operations = _operations(plans)
    # In order, so a category is written before the options that bind to it.
    for start in range(0, len(operations), MAX_BATCH_OPERATIONS):
        try:
            services.dataverse.batch(operations[start : start + MAX_BATCH_OPERATIONS])
        except RowNotFound as exc:
            # Someone deleted a row between our read and our write: the next attempt reads again.
            raise Retryable(f"a reference row disappeared during the import ({exc})") from exc


def _connection_facts(
    services: Services,
    connection: XeroConnection,
    organisation: Any,
    accounts: list[Any],
    now: datetime,
    first_import: bool,
) -> dict[str, Any]:
    """The organisation's lock date on the connection row, and default account codes proposed from its chart of
    accounts when the row has none (said in a history row, so an admin reviews them)."""
    row = services.dataverse.get(
        schema.CONNECTION_ENTITY_SET, connection.connection_id, select=list(CONNECTION_FACT_COLUMNS)
    )
    proposal = connection_facts(row, organisation, accounts, propose=first_import)
    if proposal.patch:
        services.dataverse.update(schema.CONNECTION_ENTITY_SET, connection.connection_id, proposal.patch)
        services.connection_rows.forget(connection.connection_id)  # our own write comes back as no event
    if proposal.proposed:
        history = history_row(
            invoice_id=None,
            connection_id=connection.connection_id,
            occurred_on=now,
            action=SyncAction.CONNECTION,
            status=SyncStatus.INFORMATION,
            details="Default account codes proposed from the organisation's chart of accounts: "
            f"{', '.join(proposal.proposed)}. Review them on the connection; invoices whose lines name no "
            "account use them.",
        )
        services.dataverse.create(history.entity_set, history.body)
    return {"written": sorted(proposal.patch), "proposed": proposal.proposed}


def _record(services: Services, connection: XeroConnection, plans: list[ref.TablePlan], now: datetime) -> None:
    """A Sync History row when something changed (a run that changes nothing leaves no trace in Dynamics)."""
    row = history_row(
        invoice_id=None,
        connection_id=connection.connection_id,
        occurred_on=now,
        action=SyncAction.REFERENCE_DATA,
        status=SyncStatus.SUCCESS,
        details=f"Reference data imported from Xero. {ref.summary(plans)}.",
    )
    services.dataverse.create(row.entity_set, row.body)


# ---------------------------------------------------------------------------------------------------
# The job entry point
# ---------------------------------------------------------------------------------------------------


def handle(ctx: JobContext) -> dict[str, Any]:
    services = services_for(ctx.redis)
    if services is None:
        raise Ignored(NOT_CONFIGURED)
    if ctx.kind == KIND_IMPORT:
        connection = read_connection(services, ctx.payload["connection_id"])
        try:
            return import_reference_data(services, connection)
        except (ConnectionLost, Permanent) as exc:
            _record_failure(services, connection, exc)
            raise
    return _queue_imports(ctx, services)


def _record_failure(services: Services, connection: XeroConnection, exc: ConnectorError) -> None:
    """Say in Dynamics why the import stopped; a lost Xero authorisation also flags the connection row."""
    row = history_row(
        invoice_id=None,
        connection_id=connection.connection_id,
        occurred_on=datetime.now(UTC),
        action=SyncAction.REFERENCE_DATA,
        status=SyncStatus.FAILED,
        details=f"Reference data could not be imported from Xero: {exc.user_message}",
    )
    patches = [reconnect_patch(connection.connection_id, exc.user_message)] if isinstance(exc, ConnectionLost) else []
    try:
        write_patches(services.dataverse, patches)
        services.dataverse.create(row.entity_set, row.body)
    except ConnectorError:
        # Dynamics itself may be what failed; the job's own failure still carries the reason.
        log.warning("could not record the failed import in Dynamics", extra={"connection_id": connection.connection_id})


def _queue_imports(ctx: JobContext, services: Services) -> dict[str, Any]:
    connections, without_token = importable_connections(services)
    queued = {
        connection.connection_id: submit_import(
            ctx.jobs,
            connection.connection_id,
            trigger={"kind": ctx.kind, "job_id": ctx.job_id},
            tenant_id=connection.tenant_id,
        ).job_id
        for connection in connections
    }
    if without_token:
        log.info("connections without a Xero token skipped", extra={"connections": without_token})
    return {"queued": queued, "skipped_without_token": without_token}
