"""Fixtures for the gateway tests: settings pointed at the sandbox Xero, a Redis token store, a connect helper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from xero_python.accounting import Contact, Invoice, LineItem

from app.clients.xero import XeroGateway
from app.clients.xero_limits import TenantLimiter, XeroLimits
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenSet, TokenStore, token_cipher
from sandbox.xero.seed import TENANT_A_ID, seeded_id

# Star-imported by the test modules: the fixtures only.
__all__ = ["connect", "limiter", "make_gateway", "token_store", "xero", "xero_settings"]

ACME_ID = seeded_id(TENANT_A_ID, "contact", "Acme Corporation")


@pytest.fixture
def xero_settings(xero_sandbox) -> XeroSettings:
    return XeroSettings(
        client_id=xero_sandbox.settings.client_id,
        client_secret=xero_sandbox.settings.client_secret,
        token_encryption_keys=(Fernet.generate_key().decode(),),
        api_url=xero_sandbox.url,
        identity_url=xero_sandbox.url,
        login_url=xero_sandbox.url,
        request_timeout_seconds=10.0,
        # A short wait keeps "tenant paused" visible as an error instead of a sleep.
        limit_wait_seconds=0.05,
    )


@pytest.fixture
def token_store(redis_conn, xero_settings) -> TokenStore:
    return TokenStore(redis_conn, token_cipher(xero_settings.token_encryption_keys))


@pytest.fixture
def limiter(redis_conn, xero_settings) -> TenantLimiter:
    return TenantLimiter(redis_conn, XeroLimits(), max_wait_seconds=xero_settings.limit_wait_seconds)


@pytest.fixture
def make_gateway(xero_settings, token_store, limiter) -> Callable[..., XeroGateway]:
    def make(
        connection_id: str = "conn-a", tenant_id: str = TENANT_A_ID, settings: XeroSettings | None = None, **kwargs
    ) -> XeroGateway:
        return XeroGateway(
            connection_id, tenant_id, settings=settings or xero_settings, tokens=token_store, limiter=limiter, **kwargs
        )

    return make


@pytest.fixture
def connect(xero_admin, token_store, make_gateway) -> Callable[..., XeroGateway]:
    """Connect a tenant the way the consent flow does (tokens in the store), and return its gateway."""

    def run(connection_id: str = "conn-a", tenant_id: str = TENANT_A_ID) -> XeroGateway:
        token_store.save(connection_id, TokenSet.from_oauth_response(xero_admin.mint_token([tenant_id])))
        return make_gateway(connection_id, tenant_id)

    return run


@pytest.fixture
def xero(connect) -> XeroGateway:
    return connect()


def sales_invoice(
    number: str | None = None,
    *,
    account_code: str = "200",
    amount: str = "100.00",
    status: str = "DRAFT",
    reference: str | None = None,
    contact_id: str = ACME_ID,
) -> Invoice:
    today = dt.date.today()
    return Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        date=today,
        due_date=today + dt.timedelta(days=30),
        invoice_number=number,
        reference=reference,
        status=status,
        line_items=[
            LineItem(
                description="Widgets",
                quantity=Decimal("1"),
                unit_amount=Decimal(amount),
                account_code=account_code,
                tax_type="OUTPUT2",
            )
        ],
    )


def invoices_in_xero(admin, tenant_id: str = TENANT_A_ID) -> list[dict]:
    return admin.state(tenant_id)["Invoices"]
