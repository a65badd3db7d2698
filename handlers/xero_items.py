"""The Xero items of an invoice's products in one organisation, kept per (product, connection).

A product's code in an organisation is its link row's (`xc_xeroitemlink`), else the product's own Xero item
code, else its product number. Which codes exist in Xero comes from the organisation's item cache
(`XeroGateway.known_item_codes`), the missing ones are created when the connection allows it, and every
product whose item exists gets its link row with Xero's item id (asked of Xero once, while it has no link), so
each organisation's items are known separately.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app import dynamics_schema as schema
from app.clients.dataverse import DataverseClient
from app.clients.xero import XeroGateway
from mappers import xero_links as links
from mappers.dynamics import ConnectionSettings, Invoice, InvoiceLine
from mappers.xero_invoice import items_to_create


def _itemised(invoice: Invoice) -> list[InvoiceLine]:
    return [line for line in invoice.lines if line.product_id and line.item_code and not line.is_note]


def linked_items(dataverse: DataverseClient, connection_id: str, product_ids: set[str]) -> dict[str, links.ItemLinkRow]:
    if not product_ids:
        return {}
    found = dataverse.query(
        schema.ITEM_LINK_ENTITY_SET,
        filter=links.item_links_filter(connection_id, product_ids),
        select=list(links.ITEM_LINK_COLUMNS),
    )
    return {row.product_id: row for row in map(links.ItemLinkRow.from_row, found) if row.product_id}


def with_linked_codes(invoice: Invoice, linked: dict[str, links.ItemLinkRow]) -> Invoice:
    """The invoice whose lines carry this organisation's item codes."""

    def coded(line: InvoiceLine) -> InvoiceLine:
        link = linked.get((line.product_id or "").lower())
        if link is None or not link.xero_item_code or line.is_write_in:
            return line
        return replace(line, xero_item_code=link.xero_item_code)

    return replace(invoice, lines=tuple(coded(line) for line in invoice.lines))


def resolve_items(
    xero: XeroGateway, dataverse: DataverseClient, invoice: Invoice, connection: ConnectionSettings
) -> tuple[Invoice, set[str]]:
    """The invoice with this organisation's item codes, and the codes Xero knows (after creating missing ones)."""
    products = {str(line.product_id).lower() for line in _itemised(invoice)}
    if not products:
        return invoice, set()
    linked = linked_items(dataverse, connection.id, products)
    invoice = with_linked_codes(invoice, linked)
    # Known codes come from the organisation's item cache (not one Xero lookup per invoice); Xero is asked for
    # item ids only for products not linked yet in this organisation.
    known = xero.known_item_codes({str(line.item_code) for line in _itemised(invoice)})
    found: dict[str, Any] = {}
    for item in items_to_create(invoice, connection, known):
        created = xero.create_item(item)
        code = str(created.code or item.code)
        known.add(code)
        found[code] = created
    unlinked = {
        str(line.item_code)
        for line in _itemised(invoice)
        if str(line.item_code) in known and not _linked_to(linked.get(str(line.product_id).lower()), line.item_code)
    }
    if unlinked - set(found):
        found.update(xero.get_items_by_codes(unlinked - set(found)))
    for line in _itemised(invoice):
        product_id, code = str(line.product_id).lower(), str(line.item_code)
        item = found.get(code)
        if item is None or _linked_to(linked.get(product_id), code):
            continue
        item_id = str(item.item_id) if item.item_id else None
        dataverse.upsert(
            schema.ITEM_LINK_ENTITY_SET,
            links.item_link_id(connection.id, product_id),
            links.item_link_body(connection.id, product_id, line.product_name, item_id, code),
        )
        linked[product_id] = links.ItemLinkRow(product_id, item_id, code)
    return invoice, known


def _linked_to(link: links.ItemLinkRow | None, code: str | None) -> bool:
    return link is not None and bool(link.xero_item_id) and link.xero_item_code == code
