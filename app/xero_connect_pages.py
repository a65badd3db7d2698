"""The few small HTML pages of the connect flow; every value is escaped."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from flask import Response

if TYPE_CHECKING:
    from app.xero_connect_flow import Connected, Tenant

CONSOLE_LINK = '<p><a href="/admin">Back to the admin console</a></p>'
_STYLE = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5}"


def page(title: str, body_html: str, status: int = 200) -> Response:
    document = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style><h1>{escape(title)}</h1>{body_html}</html>"
    )
    response = Response(document, status=status, content_type="text/html; charset=utf-8")
    # The choice page carries a single-use token: keep it out of caches and other sites' frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def message(title: str, text: str, status: int) -> Response:
    return page(title, f"<p>{escape(text)}</p>", status)


def connected(result: Connected) -> Response:
    short = f" (short code {escape(result.short_code)})" if result.short_code else ""
    what = "connected" if result.created else "reconnected"
    default = (
        " It is the default connection: invoices marked Ready to update without a connection go to it."
        if result.is_default
        else ""
    )
    return page(
        "Xero connected",
        (
            f"<p>The Xero organisation <strong>{escape(result.name)}</strong>{short} is {what}.{default}</p>"
            "<p>Its tax rates, account codes, branding themes, tracking categories and currencies are being "
            "imported into Dynamics, and default sales and purchase accounts proposed from its chart of accounts. "
            "Next, review its default accounts and tax rates under Account mapping.</p>"
            f"{CONSOLE_LINK}"
        ),
    )


def choose(choice_token: str, tenants: list[Tenant], action: str) -> Response:
    options = "".join(
        f'<p><label><input type="radio" name="tenant_id" value="{escape(t.tenant_id)}" required> '
        f"{escape(t.name)}</label></p>"
        for t in tenants
    )
    return page(
        "Choose the Xero organisation",
        (
            "<p>Xero gave access to several organisations. Choose the one to connect; to connect another as well, "
            "start again from /xero/connect afterwards.</p>"
            f'<form method="post" action="{escape(action)}">'
            f'<input type="hidden" name="choice" value="{escape(choice_token)}">{options}'
            "<p><button type=submit>Connect</button></p></form>"
        ),
    )


def disconnected(name: str) -> Response:
    return page(
        "Xero disconnected",
        (
            f"<p>The Xero organisation <strong>{escape(name)}</strong> is disconnected: its authorisation is revoked "
            "and the connector no longer syncs with it.</p>"
            f"{CONSOLE_LINK}"
        ),
    )
