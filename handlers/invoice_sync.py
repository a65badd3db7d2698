"""Bring one invoice's Xero counterpart in line with Dynamics: create, update, or cancel it, and say so in Dynamics.

The job carries only ids (ARCHITECTURE.md, invariant 2): the invoice, its lines, customer and connection are
re-read from Dataverse. Then: eligibility (`mappers.eligibility`), the Xero contact, items, the document
(`mappers.xero_invoice`) and, for a Canceled invoice, the cancellation rules. Every attempt ends with a
Sync History row; the Xero id, number, status, link, amounts, line tax and export status go back in the same
$batch. After each write Xero's totals are compared with what Dynamics holds after that write-back
(`mappers.totals`): a difference is written on the invoice and makes the history row "Totals differ", never
Success; with the connection's rounding-line setting a rounding gap is closed by one more update first.

Failures: Xero's validation (and anything else a person must fix) marks the export status Failed and fails
the job; nothing more happens until someone sets the export status back to No or Ready to update. A lost Xero
authorisation also flags the connection "Reconnect Xero". Passing faults are retried by `app.dispatch`; the
last attempt writes its failure to the history before giving up.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app import dynamics_schema as schema
from app.clients.xero import XeroGateway, XeroValidationError
from app.dispatch import JobContext
from app.dynamics_schema import ExportStatus, SyncAction, SyncStatus, TotalsStatus
from app.errors import ConnectionLost, ConnectorError, Deferred, Ignored, Permanent, Retryable
from app.services import Services, services_for
from handlers.cancellation_flow import cancel_in_xero
from handlers.closed_invoice import show_on_closed_invoice
from handlers.default_connection import assign_default_connection, find_default_connection
from handlers.dynamics_outcomes import Outcome, reconnect_patch, write_outcome
from handlers.dynamics_state import InvoiceState, load_invoice
from handlers.preflight_checks import checked_invoice
from handlers.xero_contacts import resolve_contact
from handlers.xero_io import DocumentSender, find_document, fingerprint, get_document
from handlers.xero_items import resolve_items
from mappers import xero_documents as docs
from mappers.dynamics import ConnectionSettings
from mappers.dynamics import InvoiceState as DynamicsState
from mappers.eligibility import Ineligible, NotYet, check_eligibility, local_date, start_of_day
from mappers.inclusive import new_net_amounts
from mappers.money_writeback import WriteBack, write_back_money
from mappers.totals import (
    TotalsCheck,
    compare_totals,
    dynamics_totals_after,
    known_causes,
    rounding_line,
    with_rounding_line,
    xero_totals,
)
from mappers.writeback import (
    RowPatch,
    failure_details,
    invoice_failure_patch,
    invoice_status_patch,
    invoice_success_patch,
    line_value_patches,
    success_details,
    totals_fields,
)
from mappers.xero_documents import XeroDocument
from mappers.xero_invoice import NoChange, SendDocument, build_document, idempotency_key

log = logging.getLogger(__name__)

LOOKUP_MARGIN = timedelta(minutes=5)  # worker and Xero clocks differ a little
NO_DEFAULT = (
    "The invoice was marked Ready to update without a Xero connection, and no connection is flagged Default. "
    "Choose a connection on the invoice (or flag one as Default)."
)
NOT_CONFIGURED = "this worker is not connected to Dataverse and Xero: the job was only recorded"


def handle(ctx: JobContext) -> dict[str, Any]:
    organization_id = ctx.payload["organization_id"]
    invoice_id = ctx.payload["invoice_id"]
    receipt = {
        "handler": __name__,
        "organization_id": organization_id,
        "invoice_id": invoice_id,
        "events": len(ctx.triggers),
    }
    services = services_for(ctx.redis)
    if services is None:
        log.warning("invoice sync received without Dataverse or Xero configured", extra={"invoice_id": invoice_id})
        return {**receipt, "skipped": NOT_CONFIGURED}
    state = load_invoice(services.dataverse, invoice_id, services.connection_rows)
    if state is None:
        raise Ignored(f"invoice {invoice_id} no longer exists in Dynamics")
    result = InvoiceSync(ctx, services, organization_id, state).run()
    # What this sync worked from: the reconciliation's change-tracking read skips a row that still says this.
    services.records.record_content(organization_id, invoice_id, state.content)
    return {**receipt, **result}


class InvoiceSync:
    """One attempt at one invoice."""

    def __init__(self, ctx: JobContext, services: Services, organization_id: str, state: InvoiceState) -> None:
        self.ctx = ctx
        self.services = services
        self.organization_id = organization_id
        self.invoice = state.invoice
        self.connection = state.connection
        self.customer = state.customer
        self.now = datetime.now(UTC)
        self.patches: list[RowPatch] = []  # kept whatever happens next (a new contact link, say)
        self.action = SyncAction.UPDATE if self.invoice.xero_invoice_id else SyncAction.CREATE
        if self.connection is not None:
            ctx.note_connection(self.connection.id)
        self.recovered = False  # the document an earlier attempt created was found instead of created again
        self.existing: XeroDocument | None = None  # the Xero document as read before this attempt wrote anything

    # -- deciding ---------------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        if self.invoice.connection_id is None:
            self._use_default_connection()
        invoice = self.invoice
        if invoice.state is DynamicsState.CANCELED:
            if self.connection is None:
                raise Ignored("the cancelled invoice's Xero connection no longer exists")
            return self._guarded(self._cancel)  # a separate request of the user's, whatever the last sync did
        if invoice.export_status is ExportStatus.FAILED:
            raise Ignored("the last sync failed: set the export status back to No or Ready to update to retry")
        if self.connection is not None:
            self.services.records.clear_cancelled(self.organization_id, invoice.id)
        eligibility = check_eligibility(invoice, self.connection, self.now)
        if isinstance(eligibility, NotYet):
            assert self.connection is not None
            run_at = start_of_day(eligibility.run_on, self.connection)
            waiting = (
                f"The delivery date is {eligibility.run_on:%d %B %Y}, so the invoice will be sent to Xero on that day."
            )
            if self.services.records.news(self.organization_id, invoice.id, waiting):
                self._write(SyncStatus.INFORMATION, waiting)
            raise Deferred(
                f"delivery date {eligibility.run_on} is in the future",
                run_at=run_at,
                user_message=f"The invoice will be sent to Xero on {eligibility.run_on:%d %B %Y}.",
            )
        if isinstance(eligibility, Ineligible):
            if self.services.records.news(self.organization_id, invoice.id, eligibility.reason):
                self._write(SyncStatus.SKIPPED, eligibility.reason)
            return {"result": "ineligible", "reason": eligibility.reason}
        return self._guarded(self._push)

    def _use_default_connection(self) -> None:
        """Ready to update without a connection: the default connection, said in the history (or Ignored)."""
        marked_ready = self.invoice.export_status is ExportStatus.READY_TO_UPDATE
        if not marked_ready or self.invoice.state is not DynamicsState.ACTIVE:
            raise Ignored("the invoice has no Xero connection yet (choosing one marks it ready to sync)")
        default = find_default_connection(self.services.dataverse)
        if default is None:
            if self.services.records.news(self.organization_id, self.invoice.id, NO_DEFAULT):
                self._write(SyncStatus.SKIPPED, NO_DEFAULT)
            raise Ignored("marked ready without a connection, and no connection is flagged default")
        assign_default_connection(self.services.dataverse, self.invoice, default, self.now)
        self.connection = default
        self.invoice = replace(self.invoice, connection_id=default.id)

    def _guarded(self, step: Any) -> dict[str, Any]:
        """Run a step that talks to Xero; a failure a person must act on is written to Dynamics first."""
        try:
            return step(self._gateway())
        except ConnectionLost as exc:
            if self.connection is not None:
                self.patches.append(reconnect_patch(self.connection.id, exc.user_message))
            self._fail(exc)
            raise
        except Deferred as exc:
            # Xero's daily budget is spent: say in Dynamics when the invoice will go (once per message).
            if self.services.records.news(self.organization_id, self.invoice.id, exc.user_message):
                try:
                    self._write(SyncStatus.INFORMATION, exc.user_message)
                except ConnectorError:
                    log.exception(
                        "could not say in Dynamics why the invoice waits", extra={"invoice_id": self.invoice.id}
                    )
            raise
        except Permanent as exc:
            self._fail(exc)
            raise
        except Retryable as exc:
            if self.ctx.is_last_attempt:
                self._fail(exc)
            else:
                self._tell_retrying(exc)
            raise

    def _gateway(self) -> XeroGateway:
        connection = self.connection
        assert connection is not None
        if not connection.xero_tenant_id:
            raise Permanent(
                f"connection {connection.id} has no Xero tenant id",
                user_message="The Xero connection is not linked to a Xero organisation yet. Connect "
                "it to Xero, then set the export status back to No.",
            )
        return self.services.xero.get(connection.id, connection.xero_tenant_id)

    # -- create or update -------------------------------------------------------------------------------------
    def _push(self, xero: XeroGateway) -> dict[str, Any]:
        if self.customer is None:
            raise Permanent(
                "the invoice's customer row cannot be read",
                user_message="The invoice's customer could not be found in Dynamics.",
            )
        # Before any Xero call: what Xero would refuse, judged from the imported reference data.
        invoice = checked_invoice(self.services, self.invoice, self._connection()).invoice
        connection = self._short_coded(xero)
        existing = self._existing(xero)
        self.existing = existing
        self.action = SyncAction.UPDATE if existing is not None else SyncAction.CREATE
        link = resolve_contact(xero, self.services.dataverse, self.customer, connection)
        invoice, known_codes = resolve_items(xero, self.services.dataverse, invoice, connection)
        plan = build_document(
            invoice,
            connection,
            contact_id=link.contact_id,
            org_url=self.services.org_url,
            known_item_codes=known_codes,
            existing=existing,
        )
        if isinstance(plan, NoChange):
            assert existing is not None
            self.patches.append(invoice_status_patch(invoice.id, existing))
            self._write(SyncStatus.SKIPPED, plan.reason, xero_id=docs.document_id(existing))
            return {"result": "unchanged", "xero_status": plan.xero_status}
        sent = fingerprint(plan.document)
        if self._already_sent(plan, sent):
            return {"result": "unchanged", "xero_id": self.invoice.xero_invoice_id}
        saved = self._send(xero, plan, link.contact_id)
        self.services.records.record_sent(self.organization_id, invoice.id, sent)
        self.services.records.forget_news(self.organization_id, invoice.id)
        self.services.records.remember_lines(self.organization_id, invoice.id, [line.id for line in invoice.lines])
        saved, check, money = self._check_totals(xero, plan, saved)
        success = invoice_success_patch(invoice.id, saved, connection, exported_at=self.now)
        self.patches.append(replace(success, body={**success.body, **money.invoice_body, **totals_fields(check)}))
        self.patches.extend(line_value_patches(invoice, money.taxes, money.converted))
        details = success_details(plan.action, saved, plan.notes)
        status = SyncStatus.TOTALS_DIFFER if check.status is TotalsStatus.DIFFER else SyncStatus.SUCCESS
        self._write(status, f"{details} {check.difference}".strip(), xero_id=docs.document_id(saved))
        return {
            "result": plan.action.name.lower(),
            "recovered": self.recovered,
            "xero_id": docs.document_id(saved),
            "xero_number": docs.document_number(saved),
            "xero_status": docs.status_of(saved),
            "totals": check.status.name.lower(),
        }

    def _check_totals(
        self, xero: XeroGateway, plan: SendDocument, saved: XeroDocument
    ) -> tuple[XeroDocument, TotalsCheck, WriteBack]:
        """Compare Xero's totals with what Dynamics holds after the write-back; when the connection asks for
        it and the gap is a rounding gap, add a rounding line in Xero and compare again."""
        money = write_back_money(self.invoice, self._connection(), plan, saved)
        causes = known_causes(plan, saved)
        dynamics = dynamics_totals_after(self.invoice, money.taxes, new_net_amounts(money.converted))
        check = compare_totals(dynamics, xero_totals(saved), causes=causes)
        line = rounding_line(check, self._connection(), blocked=bool(causes) or plan.restricted)
        if line is None:
            return saved, check, money
        document = with_rounding_line(plan, saved, line)
        try:
            saved = DocumentSender(xero).update(document, idempotency_key(document))
        except XeroValidationError as refused:
            # The document itself is in Xero: say why the rounding line is missing rather than fail the sync.
            reason = f"Xero refused the rounding line on account {line.account_code}: {' '.join(refused.messages)}"
            return saved, compare_totals(dynamics, check.xero, causes=[reason]), money
        check = compare_totals(dynamics, xero_totals(saved), causes=causes, rounding_amount=check.total_gap)
        return saved, check, money

    def _short_coded(self, xero: XeroGateway) -> ConnectionSettings:
        """The connection with Xero's short code, which deep links need: asked of Xero once and kept on the
        connection row when the connect flow did not store it."""
        connection = self._connection()
        if connection.xero_short_code:
            return connection
        short_code = xero.get_organisation().short_code
        if not short_code:
            return connection
        self.patches.append(
            RowPatch(schema.CONNECTION_ENTITY_SET, connection.id, {schema.CONNECTION_XERO_SHORT_CODE: short_code})
        )
        self.connection = replace(connection, xero_short_code=short_code)
        self.services.connection_rows.forget(connection.id)  # our own write does not come back as an event
        return self.connection

    def _already_sent(self, plan: SendDocument, sent: str) -> bool:
        """An update asking exactly what the last write asked, on an invoice nobody asked to resend: a follow-up
        of events the last write already covered. Nothing is sent and no history row is added."""
        return (
            plan.action is SyncAction.UPDATE
            and self.invoice.export_status is ExportStatus.YES
            and self.services.records.last_sent(self.organization_id, self.invoice.id) == sent
        )

    def _existing(self, xero: XeroGateway) -> XeroDocument | None:
        """The Xero document of this invoice: by the id on the row, else the one Redis recorded."""
        xero_id = self.invoice.xero_invoice_id
        if not xero_id:
            xero_id = self.services.records.document(self.organization_id, self.invoice.id).xero_id
        if not xero_id:
            return None
        return get_document(xero, xero_id, credit_note=self.invoice.xero_type.is_credit_note)

    def _send(self, xero: XeroGateway, plan: SendDocument, contact_id: str) -> XeroDocument:
        records, org, invoice_id = self.services.records, self.organization_id, self.invoice.id
        key = idempotency_key(plan.document)
        sender = DocumentSender(xero)
        if plan.action is not SyncAction.CREATE:
            return sender.update(plan.document, key)
        record = records.document(org, invoice_id)
        if record.create_outcome_unknown and record.create_started_at is not None:
            found = find_document(
                xero, self.invoice, plan.document, since=record.create_started_at - LOOKUP_MARGIN, contact_id=contact_id
            )
            if found is not None and not docs.is_gone(found):
                log.info("found the document an earlier attempt created", extra={"invoice_id": invoice_id})
                records.record_document(org, invoice_id, str(docs.document_id(found)))
                self.recovered = True
                return found
        records.begin_create(org, invoice_id)
        saved = sender.create(plan.document, key)
        records.record_document(org, invoice_id, str(docs.document_id(saved)))
        return saved

    # -- cancel -----------------------------------------------------------------------------------------------
    def _cancel(self, xero: XeroGateway) -> dict[str, Any]:
        records = self.services.records
        if records.is_cancelled(self.organization_id, self.invoice.id):
            raise Ignored("the cancellation was already carried out")
        existing = self._existing(xero)
        result = cancel_in_xero(
            xero,
            records,
            self.organization_id,
            self.invoice.id,
            existing,
            create_credit_note=self._connection().create_credit_note,
            today=local_date(self.now, self._connection()),
        )
        decision = result.decision
        self.action = decision.history_action
        details = decision.details
        if result.document is not None:
            # Xero's final status and amounts on the row, which Dynamics keeps read-only once cancelled.
            details += show_on_closed_invoice(
                self.services.dataverse,
                self.invoice.state,
                self.invoice.status_reason,
                invoice_status_patch(self.invoice.id, result.document),
            )
        self._write(
            decision.history_status,
            details,
            xero_id=docs.document_id(existing) if existing is not None else None,
        )
        records.mark_cancelled(self.organization_id, self.invoice.id)
        return {
            "result": f"cancel:{decision.action.value}",
            "xero_status": docs.status_of(result.document) if result.document is not None else None,
            "credit_note_id": docs.document_id(result.credit_note) if result.credit_note else None,
        }

    # -- writing back -----------------------------------------------------------------------------------------
    def _connection(self) -> ConnectionSettings:
        assert self.connection is not None
        return self.connection

    def _write(self, status: SyncStatus, details: str, *, xero_id: str | None = None) -> None:
        outcome = Outcome(
            invoice_id=self.invoice.id,
            connection=self.connection,
            action=self.action,
            status=status,
            details=details,
            xero_invoice_id=xero_id or self.invoice.xero_invoice_id,
            patches=self.patches,
        )
        write_outcome(self.services.dataverse, outcome, self.now)
        self.patches = []

    def _tell_retrying(self, error: Retryable) -> None:
        """A history row saying the invoice waits for Xero and until when, so retrying work is never invisible."""
        retry_at = self.ctx.retry_at(error)
        zone = self.connection.zone if self.connection is not None else UTC
        local = retry_at.astimezone(zone)
        details = (
            f"Xero is unavailable; retrying at {local:%Y-%m-%d %H:%M:%S} {local.tzname()} "
            f"(attempt {self.ctx.attempt} of {self.ctx.settings.retry_max_attempts}). {error.user_message}"
        )
        try:
            self._write(SyncStatus.INFORMATION, details)
        except ConnectorError:
            log.warning("could not tell Dynamics about the retry", extra={"invoice_id": self.invoice.id})

    def _fail(self, error: ConnectorError) -> None:
        if isinstance(error, XeroValidationError):
            details = failure_details("The invoice could not be sent to Xero.", list(error.messages))
        elif isinstance(error, Retryable):
            # Only the last attempt gets here: its "the sync will retry" is no longer true.
            fault = error.user_message.split(";")[0].rstrip(".")
            details = (
                f"{fault}. The connector tried {self.ctx.attempt} times and stopped; retry once Xero answers again."
            )
        else:
            details = error.user_message
        if self.invoice.state is DynamicsState.ACTIVE:
            self.patches.append(invoice_failure_patch(self.invoice.id))
            if self.existing is not None and isinstance(error, XeroValidationError):
                # Xero refused the edit and kept its document: the row shows what Xero holds, not the old copy.
                self.patches.append(invoice_status_patch(self.invoice.id, self.existing))
        try:
            self._write(SyncStatus.FAILED, details)
        except ConnectorError:
            # The original failure matters more; the write-back failure is in the log.
            log.exception("could not write the failure back to Dynamics", extra={"invoice_id": self.invoice.id})
