"""The connector's gateway to one Xero organisation: every call the handlers make, limited, keyed and classified.

Typical use in a handler::

    gateways = XeroGateways(redis_connection, XeroSettings.from_environ())
    xero = gateways.get(connection_id, tenant_id)          # one SDK client per connection, kept per process
    contact = xero.find_contact("Acme", email="ap@acme.example") or xero.create_contact(new_contact)
    invoice = xero.create_invoice(invoice_model, idempotency_key=mappers_key)

Inputs and outputs are the `xero_python.accounting` models (Invoice, CreditNote, Contact, Item, …), so the
mappers' output goes straight in and Xero's answer comes straight back.

Guarantees of every method:
- it runs inside `TenantLimiter.call(tenant_id)`: at most 5 calls in flight, 60 a minute and the daily budget
  per tenant across all workers (full: `Retryable`; daily budget spent: `Deferred`), and Xero's
  `X-…Limit-Remaining` headers of every answer (errors included) correct the shared counters;
- every write carries an `Idempotency-Key`: the caller's (the mapper's key, derived from what is written) or,
  when none is given, one derived here from the serialised request body. Xero replays the first answer for the
  same key and body for about 6 minutes only, so the handler still records ids and looks up before re-creating;
- every failure is one of `app.errors` (see `app.clients.xero_errors` for the table). The ones handlers act on:
  `OutcomeUnknown` (a write whose answer was lost: call `find_invoice` / `find_credit_note` before writing again),
  `XeroValidationError` (Permanent, `.messages` are Xero's validation messages), `NotFound` (Permanent),
  `ConnectionLost` (user message "Reconnect Xero: …"), `Retryable`, `Deferred`.

Batching: `save_invoices` sends up to 50 invoices in one call with summarizeErrors=false and returns one
`BatchItem` per invoice, so a per-tenant sender can drain several ready invoices in one call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import RedisError
from xero_python.accounting import (
    Account,
    Allocation,
    Allocations,
    BrandingTheme,
    Contact,
    Contacts,
    CreditNote,
    CreditNotes,
    Currency,
    Invoice,
    Invoices,
    Item,
    Items,
    Organisation,
    TaxRate,
    TrackingCategory,
)
from xero_python.api_client.serializer import serialize

from app import invoice_timeline, metrics
from app.clients.xero_auth import XeroTokenEndpoint, XeroTokenSource
from app.clients.xero_errors import (
    NotFound,
    OutcomeUnknown,
    TokenExpired,
    XeroValidationError,
    classify,
    tenant_pause_seconds,
    validation_error,
)
from app.clients.xero_item_cache import ItemCodeCache
from app.clients.xero_limits import TenantLimiter
from app.clients.xero_sdk import build_sdk, forget_last_request, last_request
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenBackup, TokenStore, token_cipher
from app.errors import ConnectorError
from app.xero_echoes import remember_write

__all__ = [
    "MAX_BATCH",
    "BatchItem",
    "NotFound",
    "OutcomeUnknown",
    "XeroGateway",
    "XeroGateways",
    "XeroSettings",
    "XeroValidationError",
    "derive_idempotency_key",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BATCH = 50  # Xero's recommended ceiling of objects per request
# Unit amounts travel with 4 decimals (the mappers price lines that way); without unitdp Xero rounds them to 2.
UNIT_DP = 4
MAX_KEY_LENGTH = 128  # Xero's limit for Idempotency-Key
IDS_PER_READ = 50  # ids per GET: keeps the URL short
CODES_PER_READ = 20
PAGE_SIZE = 100
MAX_LOOKUP_PAGES = 20  # a lookup that needs more pages than this is too broad to trust
GONE = {"DELETED", "VOIDED"}


def derive_idempotency_key(action: str, body: Any) -> str:
    """A key from what is written: the same body always gives the same key (≤ 128 characters)."""
    canonical = json.dumps(serialize(body), sort_keys=True, separators=(",", ":"), default=str)
    return f"{action}-{hashlib.sha256(canonical.encode()).hexdigest()}"


def _key(given: str | None, action: str, body: Any) -> str:
    if not given:
        return derive_idempotency_key(action, body)
    if len(given) <= MAX_KEY_LENGTH:
        return given
    return hashlib.sha256(given.encode()).hexdigest()  # still stable for the same caller key


@dataclass(frozen=True)
class BatchItem:
    """One invoice of a batch: what was sent, and Xero's answer for it."""

    sent: Invoice
    invoice: Invoice | None  # Xero's invoice when it was saved
    errors: tuple[str, ...] = ()  # Xero's validation messages when it was not
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.invoice is not None and not self.errors

    def result(self) -> Invoice:
        """The saved invoice, or the `XeroValidationError` a single call would have raised."""
        if self.invoice is None or self.errors:
            raise validation_error("save the invoice", self.errors)
        return self.invoice


def _same(a: str | None, b: str | None) -> bool:
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _messages(errors: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(e.message) for e in errors or () if getattr(e, "message", None))


class XeroGateway:
    """Everything the connector does in one Xero organisation (`tenant_id`) through one connection's tokens."""

    def __init__(
        self,
        connection_id: str,
        tenant_id: str,
        *,
        settings: XeroSettings,
        tokens: TokenStore,
        limiter: TenantLimiter,
        token_endpoint: XeroTokenEndpoint | None = None,
        essential: bool = False,
        item_codes: ItemCodeCache | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.tenant_id = tenant_id
        self.essential = essential  # may use the daily budget's reserved share (payments-back, reconciliation)
        self.item_codes = item_codes or ItemCodeCache(limiter.redis)
        self.settings = settings
        self.limiter = limiter
        self.token_source = XeroTokenSource(connection_id, tokens, token_endpoint or XeroTokenEndpoint(settings))
        self._sdk = build_sdk(settings, self.token_source)
        self.accounting = self._sdk.accounting

    # -- the one way out ------------------------------------------------------------------------------------
    def _call(self, action: str, write: bool, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # Any refresh happens here, before taking one of the tenant's slots: a worker waiting on the identity
        # server (or on another worker's refresh) must not hold a slot the tenant's other work could use.
        used = self.token_source.current()
        try:
            return self._call_once(action, write, method, *args, **kwargs)
        except TokenExpired:
            # Xero disagrees with our clock (skew, or it expired the token early): retrying with the same token
            # cannot help. One forced refresh (shared by every worker that hit it), then one more try; a 401 is
            # a refusal, so even a write is safe to send again.
            self.token_source.renew_rejected(used.access_token)
            return self._call_once(action, write, method, *args, **kwargs)

    def _call_once(self, action: str, write: bool, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.limiter.call(self.tenant_id, essential=self.essential):
            forget_last_request()
            started = time.monotonic()
            try:
                data, status, headers = method(
                    self.tenant_id,
                    *args,
                    _request_timeout=self.settings.request_timeout,
                    _return_http_data_only=False,
                    **kwargs,
                )
                metrics.xero_call(self.tenant_id)
                self._on_timeline(method, started, status=status)
                self.limiter.observe(self.tenant_id, headers)
                return data
            except ConnectorError as exc:
                metrics.xero_call(self.tenant_id, exc)
                self._on_timeline(method, started, status=getattr(exc, "status", None), error=type(exc).__name__)
                raise  # already classified (token refresh, reconnect)
            except Exception as exc:
                self.limiter.observe(self.tenant_id, getattr(exc, "headers", None))
                pause = tenant_pause_seconds(exc)
                if pause is not None:
                    self.limiter.pause(self.tenant_id, pause)
                error = classify(exc, action=action, write=write)
                metrics.xero_call(self.tenant_id, error, exc)
                self._on_timeline(method, started, status=getattr(exc, "status", None), error=type(error).__name__)
                if _names_an_unknown_item(error):
                    with suppress(RedisError):
                        self.item_codes.forget(self.tenant_id)
                log.warning(
                    "xero call failed",
                    extra={
                        "tenant_id": self.tenant_id,
                        "action": action,
                        "error": type(error).__name__,
                        "detail": str(error),
                    },
                )
                raise error from exc

    def _on_timeline(
        self, method: Callable[..., Any], started: float, *, status: Any, error: str | None = None
    ) -> None:
        """The call on the running job's invoice timeline: method, endpoint (no query), answer and duration."""
        if invoice_timeline.current_invoice() is None:
            return
        request = last_request()
        verb, url = request if request else ("", getattr(method, "__name__", "call"))
        path = url.removeprefix(self.settings.accounting_url).lstrip("/")
        entry = invoice_timeline.xero_call_entry(
            verb,
            path,
            status=status if isinstance(status, int) else None,
            error=error,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        invoice_timeline.record_xero_call(self.limiter.redis, entry)

    def _pages(self, action: str, method: Callable[..., Any], collection: str, **filters: Any) -> Iterator[Any]:
        for page in range(1, MAX_LOOKUP_PAGES + 1):
            answer = self._call(action, False, method, page=page, page_size=PAGE_SIZE, **filters)
            rows = getattr(answer, collection) or []
            yield from rows
            if len(rows) < PAGE_SIZE:
                return

    def _written(self, document: T) -> T:
        """Remember Xero's answer to our own write, so its webhook echo costs no call (app.xero_echoes)."""
        try:
            remember_write(self.limiter.redis, self.tenant_id, document)
        except RedisError:
            log.warning(
                "could not remember the write; its echo will be read from Xero", extra={"tenant": self.tenant_id}
            )
        return document

    # -- organisation and reference data ----------------------------------------------------------------------
    def get_organisation(self) -> Organisation:
        """The organisation (`short_code` builds deep links, `base_currency`)."""
        return self._call("read the organisation", False, self.accounting.get_organisations).organisations[0]

    def get_tax_rates(self) -> list[TaxRate]:
        return list(self._call("read the tax rates", False, self.accounting.get_tax_rates).tax_rates or [])

    def get_accounts(self) -> list[Account]:
        return list(self._call("read the chart of accounts", False, self.accounting.get_accounts).accounts or [])

    def get_currencies(self) -> list[Currency]:
        """The currencies enabled in the organisation."""
        return list(self._call("read the currencies", False, self.accounting.get_currencies).currencies or [])

    def get_branding_themes(self) -> list[BrandingTheme]:
        answer = self._call("read the branding themes", False, self.accounting.get_branding_themes)
        return list(answer.branding_themes or [])

    def get_tracking_categories(self, *, include_archived: bool = False) -> list[TrackingCategory]:
        """Active categories (and their options); with include_archived, archived ones too, marked as such."""
        answer = self._call(
            "read the tracking categories",
            False,
            self.accounting.get_tracking_categories,
            include_archived=include_archived,
        )
        return list(answer.tracking_categories or [])

    # -- contacts ----------------------------------------------------------------------------------------
    def find_contact(self, name: str, *, email: str | None = None, account_number: str | None = None) -> Contact | None:
        """The Xero contact with this name (compared without case or extra spaces) that agrees on the email
        or account number; one with neither set also counts, as it cannot disagree. None when there is none.

        Names are unique in a Xero organisation, so a same-named contact with a different email or account
        number is a different party: None is returned and creating it will fail with Xero's own message.
        """
        found = [
            c
            for c in self._pages(
                "look up the contact", self.accounting.get_contacts, "contacts", search_term=" ".join(name.split())
            )
            if _same(c.name, name)
        ]
        if not (email or account_number):
            return found[0] if found else None
        for contact in found:
            if (account_number and _same(contact.account_number, account_number)) or (
                email and _same(contact.email_address, email)
            ):
                return contact
        return next((c for c in found if not (c.email_address or c.account_number)), None)

    def get_contact(self, contact_id: str) -> Contact:
        """One contact with its balances (`balances.accounts_receivable.outstanding`, …)."""
        return self._call("read the contact", False, self.accounting.get_contact, contact_id).contacts[0]

    def create_contact(self, contact: Contact, *, idempotency_key: str | None = None) -> Contact:
        body = Contacts(contacts=[contact])
        answer = self._call(
            "create the contact",
            True,
            self.accounting.create_contacts,
            body,
            idempotency_key=_key(idempotency_key, "contact", body),
        )
        return answer.contacts[0]

    # -- items ---------------------------------------------------------------------------------------------
    def get_items_by_codes(self, codes: Iterable[str]) -> dict[str, Item]:
        """The existing items among `codes`, keyed by the code as asked (Xero compares codes without case)."""
        wanted = list(dict.fromkeys(c for c in codes if c))
        found: dict[str, Item] = {}
        for chunk in _chunks(wanted, CODES_PER_READ):
            quoted = [c for c in chunk if '"' not in c]
            where = " OR ".join(f'Code=="{c}"' for c in quoted) if len(quoted) == len(chunk) else None
            answer = self._call(
                "read the items", False, self.accounting.get_items, **({"where": where} if where else {})
            )
            by_code = {(item.code or "").casefold(): item for item in answer.items or []}
            found.update({code: by_code[code.casefold()] for code in chunk if code.casefold() in by_code})
        return found

    def known_item_codes(self, codes: Iterable[str]) -> set[str]:
        """The codes among `codes` that exist as items in Xero: from what this organisation's earlier lookups
        found (`ItemCodeCache`), asking Xero only about the rest."""
        wanted = list(dict.fromkeys(c for c in codes if c))
        known, absent = self.item_codes.lookup(self.tenant_id, wanted)
        missing = [c for c in wanted if c not in known and c not in absent]
        if missing:
            found = self.get_items_by_codes(missing)
            self.item_codes.add(self.tenant_id, [str(item.code or code) for code, item in found.items()])
            self.item_codes.add_absent(self.tenant_id, [c for c in missing if c not in found])
            known.update(found)
        return known

    def create_item(self, item: Item, *, idempotency_key: str | None = None) -> Item:
        body = Items(items=[item])
        answer = self._call(
            "create the item",
            True,
            self.accounting.create_items,
            body,
            idempotency_key=_key(idempotency_key, "item", body),
        )
        created = answer.items[0]
        self.item_codes.add(self.tenant_id, [str(created.code or item.code or "")])
        return created

    # -- invoices --------------------------------------------------------------------------------------------
    def create_invoice(self, invoice: Invoice, *, idempotency_key: str | None = None) -> Invoice:
        """Create one invoice or bill (PUT: never updates an existing one)."""
        body = Invoices(invoices=[invoice])
        answer = self._call(
            "create the invoice",
            True,
            self.accounting.create_invoices,
            body,
            unitdp=UNIT_DP,
            idempotency_key=_key(idempotency_key, "invoice-create", body),
        )
        return self._written(answer.invoices[0])

    def update_invoice(self, invoice: Invoice, *, idempotency_key: str | None = None) -> Invoice:
        """Update the invoice `invoice.invoice_id` (send existing LineItemIDs back, or the lines are recreated)."""
        if not invoice.invoice_id:
            raise ValueError("update_invoice needs invoice.invoice_id")
        body = Invoices(invoices=[invoice])
        answer = self._call(
            "update the invoice",
            True,
            self.accounting.update_invoice,
            invoice.invoice_id,
            body,
            unitdp=UNIT_DP,
            idempotency_key=_key(idempotency_key, "invoice-update", body),
        )
        return self._written(answer.invoices[0])

    def save_invoices(self, invoices: Sequence[Invoice], *, idempotency_key: str | None = None) -> list[BatchItem]:
        """Create or update up to 50 invoices in one call (with an InvoiceID: update; without: create).

        One bad invoice does not sink the others: each `BatchItem` carries its own outcome, in order. A failure
        of the call as a whole (limits, 5xx, lost answer, reconnect) raises as usual.
        """
        if not invoices:
            return []
        if len(invoices) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} invoices per call, got {len(invoices)}")
        body = Invoices(invoices=list(invoices))
        answer = self._call(
            "save the invoices",
            True,
            self.accounting.update_or_create_invoices,
            body,
            summarize_errors=False,
            unitdp=UNIT_DP,
            idempotency_key=_key(idempotency_key, "invoice-batch", body),
        )
        returned = list(answer.invoices or [])
        items = []
        for position, sent in enumerate(invoices):
            got = returned[position] if position < len(returned) else None
            errors = _messages(getattr(got, "validation_errors", None))
            failed = got is None or got.status_attribute_string == "ERROR" or bool(got.has_errors) or bool(errors)
            if failed and not errors:
                errors = ("Xero did not return this invoice",)
            if not failed:
                self._written(got)
            items.append(
                BatchItem(
                    sent=sent,
                    invoice=None if failed else got,
                    errors=errors,
                    warnings=_messages(getattr(got, "warnings", None)),
                )
            )
        return items

    def invoices_modified_since(self, since: datetime) -> Iterator[Invoice]:
        """Invoices Xero changed since `since` (If-Modified-Since), page by page; at most
        MAX_LOOKUP_PAGES pages, so a caller that got that many full pages must assume more are left."""
        return self._pages(
            "read the invoices changed in Xero", self.accounting.get_invoices, "invoices", if_modified_since=since
        )

    def credit_notes_modified_since(self, since: datetime) -> Iterator[CreditNote]:
        """Credit notes Xero changed since `since`, like `invoices_modified_since`."""
        return self._pages(
            "read the credit notes changed in Xero",
            self.accounting.get_credit_notes,
            "credit_notes",
            if_modified_since=since,
        )

    def contacts_modified_since(self, since: datetime) -> Iterator[Contact]:
        """Contacts Xero changed since `since` (archived ones too), like `invoices_modified_since`."""
        return self._pages(
            "read the contacts changed in Xero",
            self.accounting.get_contacts,
            "contacts",
            if_modified_since=since,
            include_archived=True,
        )

    def get_invoice(self, invoice_id: str) -> Invoice:
        return self._call("read the invoice", False, self.accounting.get_invoice, invoice_id).invoices[0]

    def get_invoices_by_ids(self, invoice_ids: Iterable[str]) -> list[Invoice]:
        """The invoices among `invoice_ids` (with their lines), in the order asked; unknown ids are left out."""
        wanted = list(dict.fromkeys(i for i in invoice_ids if i))
        found: dict[str, Invoice] = {}
        for chunk in _chunks(wanted, IDS_PER_READ):
            # page=1 makes Xero include line items, which it leaves out of unpaged lists.
            answer = self._call(
                "read the invoices", False, self.accounting.get_invoices, i_ds=chunk, page=1, page_size=PAGE_SIZE
            )
            found.update({str(inv.invoice_id).lower(): inv for inv in answer.invoices or []})
        return [found[i.lower()] for i in wanted if i.lower() in found]

    def get_contacts_by_ids(self, contact_ids: Iterable[str]) -> list[Contact]:
        """The contacts among `contact_ids` with their balances (paged reads carry them), in batches of
        IDS_PER_READ; ids this organisation does not know are left out."""
        wanted = list(dict.fromkeys(i.lower() for i in contact_ids if i))
        found: list[Contact] = []
        for chunk in _chunks(wanted, IDS_PER_READ):
            answer = self._call(
                "read the contacts' balances",
                False,
                self.accounting.get_contacts,
                i_ds=chunk,
                page=1,
                include_archived=True,
                page_size=PAGE_SIZE,
            )
            found += list(answer.contacts or [])
        return found

    def find_invoice(
        self,
        *,
        number: str | None = None,
        reference: str | None = None,
        contact_id: str | None = None,
        invoice_type: str | None = None,
        modified_since: datetime | None = None,
    ) -> Invoice | None:
        """The invoice already in Xero for this number or reference: the lookup before re-creating anything
        whose earlier outcome is unknown. A live one (not DELETED/VOIDED) is preferred, then the latest.

        By number: exact, through Xero's InvoiceNumbers filter. By reference only: give `contact_id` and/or
        `modified_since` (when the first attempt started) to bound the search; references are compared exactly.
        """
        filters: dict[str, Any] = {}
        if number:
            filters["invoice_numbers"] = [number]
        elif reference and (contact_id or modified_since):
            if contact_id:
                filters["contact_i_ds"] = [contact_id]
        else:
            raise ValueError("find_invoice needs a number, or a reference with contact_id or modified_since")
        if modified_since is not None:
            filters["if_modified_since"] = modified_since
        matches = [
            inv
            for inv in self._pages("look up the invoice", self.accounting.get_invoices, "invoices", **filters)
            if (not number or _same(inv.invoice_number, number))
            and (not reference or (inv.reference or "") == reference)
            and (not invoice_type or inv.type == invoice_type)
            and (not contact_id or str(getattr(inv.contact, "contact_id", "")).lower() == contact_id.lower())
        ]
        return _best(matches)

    def delete_invoice(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        """DRAFT or SUBMITTED -> DELETED (Xero refuses other statuses with a validation message)."""
        return self._set_status(invoice_id, "DELETED", "delete the invoice", idempotency_key)

    def void_invoice(self, invoice_id: str, *, idempotency_key: str | None = None) -> Invoice:
        """AUTHORISED with nothing paid -> VOIDED."""
        return self._set_status(invoice_id, "VOIDED", "void the invoice", idempotency_key)

    def _set_status(self, invoice_id: str, status: str, action: str, idempotency_key: str | None) -> Invoice:
        body = Invoices(invoices=[Invoice(invoice_id=invoice_id, status=status)])
        answer = self._call(
            action,
            True,
            self.accounting.update_invoice,
            invoice_id,
            body,
            idempotency_key=_key(idempotency_key, f"invoice-{status.lower()}", body),
        )
        return self._written(answer.invoices[0])

    # -- credit notes -----------------------------------------------------------------------------------------
    def create_credit_note(self, credit_note: CreditNote, *, idempotency_key: str | None = None) -> CreditNote:
        body = CreditNotes(credit_notes=[credit_note])
        answer = self._call(
            "create the credit note",
            True,
            self.accounting.create_credit_notes,
            body,
            unitdp=UNIT_DP,
            idempotency_key=_key(idempotency_key, "credit-note", body),
        )
        return self._written(answer.credit_notes[0])

    def update_credit_note(self, credit_note: CreditNote, *, idempotency_key: str | None = None) -> CreditNote:
        """Update the credit note `credit_note.credit_note_id` (also how a draft is deleted or one voided)."""
        if not credit_note.credit_note_id:
            raise ValueError("update_credit_note needs credit_note.credit_note_id")
        body = CreditNotes(credit_notes=[credit_note])
        answer = self._call(
            "update the credit note",
            True,
            self.accounting.update_credit_note,
            credit_note.credit_note_id,
            body,
            unitdp=UNIT_DP,
            idempotency_key=_key(idempotency_key, "credit-note-update", body),
        )
        return self._written(answer.credit_notes[0])

    def get_credit_note(self, credit_note_id: str) -> CreditNote:
        answer = self._call("read the credit note", False, self.accounting.get_credit_note, credit_note_id)
        return answer.credit_notes[0]

    def find_credit_note(
        self,
        *,
        modified_since: datetime,
        number: str | None = None,
        reference: str | None = None,
        contact_id: str | None = None,
    ) -> CreditNote | None:
        """The credit note changed since `modified_since` with this number and/or reference (and contact):
        the lookup before re-creating a credit note whose outcome is unknown."""
        if not (number or reference):
            raise ValueError("find_credit_note needs a number or a reference")
        matches = [
            note
            for note in self._pages(
                "look up the credit note",
                self.accounting.get_credit_notes,
                "credit_notes",
                if_modified_since=modified_since,
            )
            if (not number or _same(note.credit_note_number, number))
            and (not reference or (note.reference or "") == reference)
            and (not contact_id or str(getattr(note.contact, "contact_id", "")).lower() == contact_id.lower())
        ]
        return _best(matches)

    def allocate_credit_note(
        self, credit_note_id: str, invoice_id: str, amount: Decimal, on: date, *, idempotency_key: str | None = None
    ) -> Allocation:
        """Allocate `amount` of an AUTHORISED credit note to an invoice."""
        body = Allocations(allocations=[Allocation(invoice=Invoice(invoice_id=invoice_id), amount=amount, date=on)])
        answer = self._call(
            "allocate the credit note",
            True,
            self.accounting.create_credit_note_allocation,
            credit_note_id,
            body,
            idempotency_key=_key(idempotency_key, f"allocation-{credit_note_id}", body),
        )
        return answer.allocations[0]


def _names_an_unknown_item(error: ConnectorError) -> bool:
    """Xero refused a document for an item code it does not know: the remembered item codes are stale."""
    messages = getattr(error, "messages", ()) or ()
    return any("item code" in m.casefold() and "not valid" in m.casefold() for m in messages)


def _best(matches: list[T]) -> T | None:
    """A live document first, then the most recently updated."""
    if not matches:
        return None

    def rank(doc: Any) -> tuple[bool, datetime]:
        updated = getattr(doc, "updated_date_utc", None) or datetime.min
        return (getattr(doc, "status", None) not in GONE, updated.replace(tzinfo=None))

    return max(matches, key=rank)


class XeroGateways:
    """One gateway (one SDK client) per connection in this process, sharing the Redis token store and limiter."""

    def __init__(self, connection: Redis, settings: XeroSettings, *, token_backup: TokenBackup | None = None) -> None:
        self.settings = settings
        self.tokens = TokenStore(
            connection,
            token_cipher(settings.token_encryption_keys),
            backup=token_backup,
            token_call_seconds=sum(settings.request_timeout),
        )
        self.limiter = TenantLimiter(connection, settings.limits, max_wait_seconds=settings.limit_wait_seconds)
        self._gateways: dict[tuple[str, str], XeroGateway] = {}
        self._lock = threading.Lock()

    def get(self, connection_id: str, tenant_id: str, *, essential: bool = False) -> XeroGateway:
        """The gateway for this connection; `essential` (payments-back, reconciliation) may spend the share of
        the daily budget that bulk sending leaves alone."""
        with self._lock:
            key = (connection_id, tenant_id.lower(), essential)
            if key not in self._gateways:
                self._gateways[key] = XeroGateway(
                    connection_id,
                    tenant_id,
                    settings=self.settings,
                    tokens=self.tokens,
                    limiter=self.limiter,
                    essential=essential,
                )
            return self._gateways[key]
