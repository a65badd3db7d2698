"""The Accounting API under /api.xro/2.0: routes map Xero's verbs onto the rules modules."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, g, request

from sandbox.xero import contacts as contact_rules
from sandbox.xero import documents, items, render, settlements
from sandbox.xero.documents import CREDIT_NOTE, INVOICE, DocKind
from sandbox.xero.errors import NotFound, ValidationFailure, problem, validation_error_body
from sandbox.xero.tenant import Record, Tenant
from sandbox.xero.transaction import Transaction
from sandbox.xero.web import (
    ENDPOINT_FAMILIES,
    accounting_gate,
    add_limit_headers,
    idempotent_write,
    json_response,
    post_data_invalid,
    release_limit,
    sandbox_state,
)
from sandbox.xero.where import Predicate, compile_where
from sandbox.xero.xjson import CENT, loads, ms_date, parse_date, parse_http_datetime

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
bp = Blueprint("xero_accounting", __name__, url_prefix="/api.xro/2.0")
bp.before_request(accounting_gate)
bp.after_request(add_limit_headers)
bp.teardown_request(release_limit)


def route(rule: str, methods: list[str], family: str, endpoint: str) -> Callable[[Callable[..., Any]], Any]:
    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        ENDPOINT_FAMILIES[f"{bp.name}.{endpoint}"] = family
        bp.add_url_rule(rule, endpoint, view, methods=methods)
        return view

    return register


# -- request helpers -----------------------------------------------------------------------------------
def _tenant() -> Tenant:
    return sandbox_state().tenants[g.tenant_id]


def _now() -> dt.datetime:
    return sandbox_state().clock.utcnow()


def _list_param(name: str) -> list[str] | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    return [part.strip().lower() for part in raw.split(",") if part.strip()]


def _modified_since() -> dt.datetime | None:
    raw = request.headers.get("If-Modified-Since")
    return parse_http_datetime(raw) if raw else None


def _page() -> tuple[int | None, int]:
    try:
        page = int(request.args["page"]) if "page" in request.args else None
        size = int(request.args.get("pageSize", PAGE_SIZE))
    except ValueError:
        return None, PAGE_SIZE
    return (max(1, page) if page is not None else None), min(max(1, size), MAX_PAGE_SIZE)


def _paginate(rows: list[Record]) -> tuple[list[Record], dict[str, Any]]:
    page, size = _page()
    if page is None:
        return rows, {}
    count = len(rows)
    pagination = {"page": page, "pageSize": size, "pageCount": (count + size - 1) // size, "itemCount": count}
    return rows[(page - 1) * size : page * size], {"pagination": pagination}


def _since_filter(rows: list[Record]) -> list[Record]:
    since = _modified_since()
    return [r for r in rows if r["UpdatedDateUTC"] >= since] if since else rows


def _filter_and_page(
    rows: list[Record], predicate: Predicate | None, shown: Callable[[Record], Record]
) -> tuple[list[Record], dict[str, Any]]:
    """A list read's common tail: the `where` filter (on each row as the API shows it), If-Modified-Since,
    then the requested page."""
    if predicate is not None:
        rows = [r for r in rows if predicate(shown(r))]
    return _paginate(_since_filter(rows))


def _unit_places() -> Decimal:
    return Decimal("0.0001") if request.args.get("unitdp") == "4" else CENT


def _summarize() -> bool:
    return request.args.get("summarizeErrors", "true").strip().lower() != "false"


def _ok(name: str, rows: list[Any], extra: dict[str, Any] | None = None) -> Response:
    st = sandbox_state()
    return json_response(render.envelope(name, rows, st.settings.provider_name, _now(), extra))


def _not_found() -> Response:
    return json_response(problem(404, "Not Found", "The resource you're looking for cannot be found"), 404)


def _one_or_404(collection: str, record: Record | None, show: Callable[[Record], Record] | None = None) -> Response:
    """A read of one record by its key: the envelope around it, or Xero's 404 when there is none."""
    if not record:
        return _not_found()
    return _ok(collection, [show(record) if show else record])


def _where() -> Predicate | Response | None:
    """The compiled `where` filter, or a 400 for one the sandbox cannot evaluate (never silently ignored)."""
    expression = request.args.get("where")
    if not expression:
        return None
    try:
        return compile_where(expression)
    except ValueError as exc:
        return json_response(validation_error_body([], str(exc)), 400)


def _summary(tenant: Tenant, kind: DocKind, record: Record) -> Record:
    if kind is INVOICE:
        return render.invoice(tenant, record, with_lines=False)
    return render.credit_note(tenant, record)


def _elements(collection: str) -> list[Any] | Response:
    try:
        body = loads(request.get_data() or b"{}")
    except ValueError:
        return post_data_invalid("The request body is not valid JSON")
    if isinstance(body, dict) and collection in body:
        body = body[collection]
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return body
    return post_data_invalid(f"Expected {collection} in the request body")


_ECHO_DATES = {"Date", "DueDate", "ExpectedPaymentDate", "PlannedPaymentDate"}
_ECHO_SCALARS = {
    "InvoiceID",
    "InvoiceNumber",
    "CreditNoteID",
    "CreditNoteNumber",
    "ContactID",
    "Name",
    "Reference",
    "Code",
    "ItemID",
    "PaymentID",
    "EmailAddress",
    "Url",
}


def _echo(element: Any) -> Record:
    """What Xero sends back for a failed element: its identifying fields, in Xero's own encoding."""
    if not isinstance(element, dict):
        return {}
    out: Record = {k: v for k, v in element.items() if k in _ECHO_SCALARS and isinstance(v, str)}
    for key in _ECHO_DATES & element.keys():
        with contextlib.suppress(ValueError):
            out[key] = ms_date(parse_date(element[key]))
    contact = element.get("Contact")
    if isinstance(contact, dict):
        out["Contact"] = {k: v for k, v in contact.items() if k in ("ContactID", "Name") and isinstance(v, str)}
    return out


Apply = Callable[[Tenant, Any, Transaction, dt.datetime], Record]
Show = Callable[[Tenant, Record], Record]


def run_batch(
    collection: str, elements: list[Any], apply: Apply, show: Show, summarize: bool | None = None
) -> Response:
    """Xero's batch rules: all-or-nothing 400 by default; with summarizeErrors=false, per-element results."""
    st = sandbox_state()
    summarize = _summarize() if summarize is None else summarize
    with st.lock:
        tenant, now, tx = _tenant(), _now(), Transaction()
        outcomes: list[tuple[Any, Record | None, list[str]]] = []
        for element in elements:
            savepoint = tx.savepoint()
            try:
                outcomes.append((element, apply(tenant, element, tx, now), []))
            except ValidationFailure as failure:
                tx.rollback(savepoint)
                outcomes.append((element, None, failure.messages))
            except NotFound:
                tx.rollback(savepoint)
                outcomes.append((element, None, [f"{collection[:-1]} could not be found"]))
        failed = [(e, m) for e, r, m in outcomes if m]
        if failed and summarize:
            tx.rollback()
            elements_out = [{**_echo(e), "ValidationErrors": [{"Message": m} for m in msgs]} for e, msgs in failed]
            return json_response(validation_error_body(elements_out), 400)
        rows = []
        for element, record, messages in outcomes:
            if record is not None:
                rows.append({**show(tenant, record), "StatusAttributeString": "OK"})
            else:
                rows.append(
                    {
                        **_echo(element),
                        "StatusAttributeString": "ERROR",
                        "HasErrors": True,
                        "ValidationErrors": [{"Message": m} for m in messages],
                    }
                )
        st.publish(tx.events)
    return _ok(collection, rows)


def _write_collection(collection: str, apply: Apply, show: Show) -> Response:
    """A PUT or POST on a collection: the batch rules over every element of the body."""
    elements = _elements(collection)
    if isinstance(elements, Response):
        return elements
    return run_batch(collection, elements, apply, show)


def _lookup(find: Callable[[Tenant], Any], tenant: Tenant) -> Any:
    try:
        return find(tenant)
    except NotFound:
        return None


def _write_to_one(
    collection: str,
    find: Callable[[Tenant], Any],
    write: Callable[[Tenant, Any, Any, Transaction, dt.datetime], Record],
    show: Show,
    *,
    summarize: bool | None = None,
    first_only: bool = True,
) -> Response:
    """A POST or PUT under one record's URL: 404 while `find` sees no record, else the batch rules.

    `write` gets the record looked up afresh for each element, so earlier elements' changes count.
    """
    elements = _elements(collection)
    if isinstance(elements, Response):
        return elements
    with sandbox_state().lock:
        if _lookup(find, _tenant()) is None:
            return _not_found()

        def apply(tenant: Tenant, element: Any, tx: Transaction, now: dt.datetime) -> Record:
            return write(tenant, find(tenant), element, tx, now)

        return run_batch(collection, elements[:1] if first_only else elements, apply, show, summarize)


# -- invoices and credit notes ----------------------------------------------------------------------------
def _find_for_upsert(tenant: Tenant, kind: DocKind, element: Any) -> Record | None:
    if not isinstance(element, dict):
        return None
    if element.get(kind.id_key):
        return documents.find(tenant, kind, str(element[kind.id_key]))
    number = element.get(kind.number_key)
    if number and element.get("Type", kind.numbered_type) == kind.numbered_type:
        try:
            found = documents.find(tenant, kind, str(number))
        except NotFound:
            return None
        return found if found["Type"] == kind.numbered_type and found["Status"] != "DELETED" else None
    return None


def _show_doc(kind: DocKind) -> Show:
    if kind is INVOICE:
        return lambda tenant, rec: render.invoice(tenant, rec)
    return lambda tenant, rec: render.credit_note(tenant, rec)


def _register_documents(kind: DocKind, collection: str) -> None:
    base = f"/{collection}"
    prefix = collection.lower()
    show = _show_doc(kind)

    def list_docs() -> Response:
        predicate = _where()
        if isinstance(predicate, Response):
            return predicate
        st = sandbox_state()
        with st.lock:
            tenant = _tenant()
            rows = list(documents.store_of(tenant, kind).values())
            ids = _list_param("IDs")
            numbers = _list_param(f"{kind.number_key}s")
            statuses = _list_param("Statuses")
            contact_ids = _list_param("ContactIDs")
            if ids is not None:
                rows = [r for r in rows if r[kind.id_key].lower() in ids]
            if numbers is not None:
                rows = [r for r in rows if kind.number_of(r).lower() in numbers]
            if statuses is not None:
                rows = [r for r in rows if r["Status"].lower() in statuses]
            if contact_ids is not None:
                rows = [r for r in rows if r["Contact"]["ContactID"].lower() in contact_ids]
            term = (request.args.get("searchTerm") or "").strip().lower()
            if term:
                rows = [
                    r for r in rows if term in kind.number_of(r).lower() or term in str(r.get("Reference", "")).lower()
                ]
            page_rows, extra = _filter_and_page(rows, predicate, lambda r: _summary(tenant, kind, r))
            # Xero leaves line items out of unpaged multi-invoice reads.
            with_lines = kind is CREDIT_NOTE or bool(extra) or ids is not None
            out = [show(tenant, r) if with_lines else render.invoice(tenant, r, with_lines=False) for r in page_rows]
        return _ok(collection, out, extra)

    def get_doc(key: str) -> Response:
        st = sandbox_state()
        with st.lock:
            tenant = _tenant()
            try:
                record = documents.find(tenant, kind, key)
            except NotFound:
                return _not_found()
            return _ok(collection, [show(tenant, record)])

    def create() -> Response:
        places = _unit_places()

        def apply(tenant: Tenant, element: Any, tx: Transaction, now: dt.datetime) -> Record:
            if isinstance(element, dict) and element.get(kind.id_key):
                try:
                    documents.find(tenant, kind, str(element[kind.id_key]))
                except NotFound:
                    pass
                else:
                    raise ValidationFailure(
                        f"{kind.label} {element[kind.id_key]} already exists; use POST to update it"
                    )
            return documents.upsert(tenant, kind, element, None, tx, now, places)

        return _write_collection(collection, apply, show)

    def upsert() -> Response:
        places = _unit_places()

        def apply(tenant: Tenant, element: Any, tx: Transaction, now: dt.datetime) -> Record:
            existing = _find_for_upsert(tenant, kind, element)
            return documents.upsert(tenant, kind, element, existing, tx, now, places)

        return _write_collection(collection, apply, show)

    def update_one(key: str) -> Response:
        places = _unit_places()

        def write(tenant: Tenant, existing: Record, element: Any, tx: Transaction, now: dt.datetime) -> Record:
            return documents.upsert(tenant, kind, element, existing, tx, now, places)

        return _write_to_one(collection, lambda tenant: documents.find(tenant, kind, key), write, show)

    route(base, ["GET"], "invoices", f"{prefix}_list")(list_docs)
    route(f"{base}/<key>", ["GET"], "invoices", f"{prefix}_get")(get_doc)
    route(base, ["PUT"], "invoices", f"{prefix}_create")(idempotent_write(create))
    route(base, ["POST"], "invoices", f"{prefix}_upsert")(idempotent_write(upsert))
    route(f"{base}/<key>", ["POST"], "invoices", f"{prefix}_update")(idempotent_write(update_one))


_register_documents(INVOICE, "Invoices")
_register_documents(CREDIT_NOTE, "CreditNotes")


@idempotent_write
def _allocate(key: str) -> Response:
    return _write_to_one(
        "Allocations",
        lambda tenant: documents.find(tenant, CREDIT_NOTE, key),
        settlements.allocate,
        render.allocation,
        summarize=True,
        first_only=False,
    )


route("/CreditNotes/<key>/Allocations", ["PUT"], "invoices", "credit_note_allocations")(_allocate)


# -- payments ------------------------------------------------------------------------------------------------
@route("/Payments", ["GET"], "payments", "payments_list")
def _list_payments() -> Response:
    predicate = _where()
    if isinstance(predicate, Response):
        return predicate
    with sandbox_state().lock:
        tenant = _tenant()
        page_rows, extra = _filter_and_page(
            list(tenant.payments.values()), predicate, lambda r: render.payment(tenant, r)
        )
        return _ok("Payments", [render.payment(tenant, p) for p in page_rows], extra)


@route("/Payments/<payment_id>", ["GET"], "payments", "payments_get")
def _get_payment(payment_id: str) -> Response:
    with sandbox_state().lock:
        tenant = _tenant()
        payment = tenant.payments.get(payment_id)
        return _one_or_404("Payments", payment, lambda found: render.payment(tenant, found))


@idempotent_write
def _create_payments() -> Response:
    return _write_collection("Payments", settlements.create_payment, render.payment)


@idempotent_write
def _delete_payment(payment_id: str) -> Response:
    def write(tenant: Tenant, _payment: Record, element: Any, tx: Transaction, now: dt.datetime) -> Record:
        return settlements.delete_payment(tenant, payment_id, element, tx, now)

    return _write_to_one(
        "Payments", lambda tenant: tenant.payments.get(payment_id), write, render.payment, summarize=True
    )


route("/Payments", ["PUT", "POST"], "payments", "payments_create")(_create_payments)
route("/Payments/<payment_id>", ["POST"], "payments", "payments_delete")(_delete_payment)


# -- contacts --------------------------------------------------------------------------------------------------
def _show_contact(tenant: Tenant, record: Record) -> Record:
    return render.contact(tenant, record, sandbox_state().clock.today())


@route("/Contacts", ["GET"], "contacts", "contacts_list")
def _list_contacts() -> Response:
    st = sandbox_state()
    with st.lock:
        tenant = _tenant()
        rows = list(tenant.contacts.values())
        ids = _list_param("IDs")
        if ids is not None:
            rows = [r for r in rows if r["ContactID"].lower() in ids]
        if request.args.get("includeArchived", "false").lower() != "true" and ids is None:
            rows = [r for r in rows if r["ContactStatus"] != "ARCHIVED"]
        predicate = _where()
        if isinstance(predicate, Response):
            return predicate
        if predicate is not None:
            rows = [r for r in rows if predicate(r)]
        term = request.args.get("searchTerm")
        if term:
            rows = [r for r in rows if term.lower() in (r["Name"] + " " + r.get("EmailAddress", "")).lower()]
        rows = _since_filter(rows)
        page_rows, extra = _paginate(rows)
        return _ok("Contacts", [_show_contact(tenant, r) for r in page_rows], extra)


@route("/Contacts/<key>", ["GET"], "contacts", "contacts_get")
def _get_contact(key: str) -> Response:
    with sandbox_state().lock:
        tenant = _tenant()
        record = tenant.contacts.get(key) or next(
            (c for c in tenant.contacts.values() if c.get("ContactNumber") and c["ContactNumber"] == key), None
        )
        return _one_or_404("Contacts", record, lambda found: _show_contact(tenant, found))


def _contact_apply(create_only: bool) -> Apply:
    def apply(tenant: Tenant, element: Any, tx: Transaction, now: dt.datetime) -> Record:
        existing = None
        if isinstance(element, dict) and element.get("ContactID"):
            existing = tenant.contacts.get(str(element["ContactID"]))
            if existing is None:
                raise ValidationFailure(f"The contact with ID {element['ContactID']} could not be found")
            if create_only:
                raise ValidationFailure("The contact already exists; use POST to update it")
        return contact_rules.upsert(tenant, element, existing, tx, now)

    return apply


@idempotent_write
def _create_contacts() -> Response:
    return _write_collection("Contacts", _contact_apply(create_only=request.method == "PUT"), _show_contact)


@idempotent_write
def _update_contact(key: str) -> Response:
    def write(tenant: Tenant, existing: Record, element: Any, tx: Transaction, now: dt.datetime) -> Record:
        return contact_rules.upsert(tenant, element, existing, tx, now)

    return _write_to_one("Contacts", lambda tenant: tenant.contacts.get(key), write, _show_contact)


route("/Contacts", ["PUT", "POST"], "contacts", "contacts_create")(_create_contacts)
route("/Contacts/<key>", ["POST"], "contacts", "contacts_update")(_update_contact)


# -- items -------------------------------------------------------------------------------------------------------
def _show_item(_tenant: Tenant, record: Record) -> Record:
    return render.item(record)


@route("/Items", ["GET"], "items", "items_list")
def _list_items() -> Response:
    with sandbox_state().lock:
        rows = _since_filter(list(_tenant().items.values()))
        return _ok("Items", [render.item(r) for r in rows])


@route("/Items/<key>", ["GET"], "items", "items_get")
def _get_item(key: str) -> Response:
    with sandbox_state().lock:
        record = items.find(_tenant(), key)
        return _one_or_404("Items", record, render.item)


@idempotent_write
def _write_items() -> Response:
    def apply(tenant: Tenant, element: Any, tx: Transaction, now: dt.datetime) -> Record:
        existing = None
        if isinstance(element, dict):
            existing = items.find(tenant, str(element.get("ItemID") or ""))
            if existing is None and request.method == "POST" and element.get("Code"):
                existing = tenant.item_by_code(str(element["Code"]))
        return items.upsert(tenant, element, existing, tx, now)

    return _write_collection("Items", apply, _show_item)


@idempotent_write
def _update_item(key: str) -> Response:
    def write(tenant: Tenant, existing: Record, element: Any, tx: Transaction, now: dt.datetime) -> Record:
        return items.upsert(tenant, element, existing, tx, now)

    return _write_to_one("Items", lambda tenant: items.find(tenant, key), write, _show_item)


route("/Items", ["PUT", "POST"], "items", "items_write")(_write_items)
route("/Items/<key>", ["POST"], "items", "items_update")(_update_item)


# -- settings (read-only here) -----------------------------------------------------------------------------------
def _read_only(rule: str, endpoint: str, collection: str, rows: Callable[[Tenant], list[Record]]) -> None:
    """A GET of a whole settings collection, read under the books' lock."""

    def view() -> Response:
        with sandbox_state().lock:
            return _ok(collection, rows(_tenant()))

    route(rule, ["GET"], "settings", endpoint)(view)


def _read_one(rule: str, endpoint: str, collection: str, find: Callable[[Tenant, str], Record | None]) -> None:
    """A GET of one settings record by the `<key>` in `rule`, or Xero's 404."""

    def view(key: str) -> Response:
        with sandbox_state().lock:
            return _one_or_404(collection, find(_tenant(), key))

    route(rule, ["GET"], "settings", endpoint)(view)


def _tax_rates(tenant: Tenant) -> list[Record]:
    wanted = request.args.get("TaxType")
    if wanted:
        return [r for r in tenant.tax_rates if r["TaxType"].lower() == wanted.lower()]
    return tenant.tax_rates


def _tracking_categories(tenant: Tenant) -> list[Record]:
    if request.args.get("includeArchived", "false").lower() != "true":
        return [r for r in tenant.tracking_categories if r["Status"] == "ACTIVE"]
    return tenant.tracking_categories


def _tracking_category(tenant: Tenant, category_id: str) -> Record | None:
    return next((c for c in tenant.tracking_categories if c["TrackingCategoryID"] == category_id), None)


_read_only("/Organisation", "organisation", "Organisations", lambda tenant: [dict(tenant.organisation)])
_read_only("/TaxRates", "tax_rates", "TaxRates", _tax_rates)
_read_only("/Currencies", "currencies", "Currencies", lambda tenant: tenant.currencies)
_read_only("/Accounts", "accounts_list", "Accounts", lambda tenant: _since_filter(tenant.accounts))
_read_one("/Accounts/<key>", "accounts_get", "Accounts", Tenant.account_by_id)
_read_only("/BrandingThemes", "branding_themes", "BrandingThemes", lambda tenant: tenant.branding_themes)
_read_one("/BrandingThemes/<key>", "branding_theme", "BrandingThemes", Tenant.branding_theme)
_read_only("/TrackingCategories", "tracking_categories", "TrackingCategories", _tracking_categories)
_read_one("/TrackingCategories/<key>", "tracking_category", "TrackingCategories", _tracking_category)
