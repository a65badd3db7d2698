"""Fixtures for the sandbox Xero, shared with the whole suite.

- `xero_sandbox`: a running sandbox (one per session, reset to its seed before each test).
- `xero_admin`: a `SandboxAdmin` for it (faults, limits, webhooks, tokens, clock, state).
- `xero_sdk(tenant_id=..., scopes=...)`: a configured xero-python client with a fresh token for a tenant.
- `xero_client`: `xero_sdk()` for the first seeded tenant with the default granular scopes.
- `xero_sandbox_factory(settings)`: an extra sandbox with its own settings (e.g. a time scale).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.xero import RunningSandbox, Settings, start_in_thread
from sandbox.xero.admin_client import SandboxAdmin
from sandbox.xero.sdk import SdkClient, connect
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID

__all__ = ["TENANT_A_ID", "TENANT_B_ID"]


def _test_settings() -> Settings:
    # Short webhook batching and retry pauses keep tests quick; everything else is Xero's defaults.
    return Settings(webhook_batch_seconds=0.05, webhook_retry_seconds=0.02)


@pytest.fixture(scope="session")
def xero_sandbox_session() -> Iterator[RunningSandbox]:
    sandbox = start_in_thread(_test_settings())
    yield sandbox
    sandbox.stop()


@pytest.fixture
def xero_sandbox(xero_sandbox_session: RunningSandbox) -> RunningSandbox:
    xero_sandbox_session.state.reset()
    return xero_sandbox_session


@pytest.fixture
def xero_sandbox_factory() -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def start(settings: Settings | None = None) -> RunningSandbox:
        sandbox = start_in_thread(settings or _test_settings())
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


def admin_for(sandbox: RunningSandbox) -> SandboxAdmin:
    return SandboxAdmin(sandbox.url, sandbox.settings.admin_token)


@pytest.fixture
def xero_admin(xero_sandbox: RunningSandbox) -> Iterator[SandboxAdmin]:
    admin = admin_for(xero_sandbox)
    yield admin
    admin.close()


def sdk_for(sandbox: RunningSandbox, tenant_id: str = TENANT_A_ID, scopes: list[str] | None = None) -> SdkClient:
    admin = admin_for(sandbox)
    try:
        token = admin.mint_token([tenant_id], scopes)
    finally:
        admin.close()
    return connect(sandbox.url, token, tenant_id, sandbox.settings.client_id, sandbox.settings.client_secret)


@pytest.fixture
def xero_sdk(xero_sandbox: RunningSandbox) -> Callable[..., SdkClient]:
    def make(tenant_id: str = TENANT_A_ID, scopes: list[str] | None = None) -> SdkClient:
        return sdk_for(xero_sandbox, tenant_id, scopes)

    return make


@pytest.fixture
def xero_client(xero_sdk: Callable[..., SdkClient]) -> SdkClient:
    return xero_sdk()
