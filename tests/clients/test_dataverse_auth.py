"""Token sources and `dataverse_client_from_env`; MSAL is real except ConfidentialClientApplication itself,
which stands in for Microsoft's identity service (it cannot run here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import requests

from app.clients.dataverse import (
    DataverseNotConfigured,
    DataverseUnavailable,
    MsalTokenSource,
    SignInFailed,
    StaticTokenSource,
    dataverse_client_from_env,
)
from app.clients.dataverse_auth import forget_msal_applications
from app.errors import Permanent, Retryable
from sandbox.dataverse.seed import CONNECTOR_USER_ID, SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse

SECRET = "cs-very-secret-9"
MSAL_ENV = {"DATAVERSE_TENANT_ID": "tenant-1", "DATAVERSE_CLIENT_ID": "client-1", "DATAVERSE_CLIENT_SECRET": SECRET}


class FakeConfidentialClient:
    """Records how msal would be used and answers with `result` (or raises `failure`)."""

    created: ClassVar[list[FakeConfidentialClient]] = []
    result: ClassVar[dict[str, Any]] = {}
    failure: ClassVar[Exception | None] = None

    def __init__(self, client_id: str, client_credential: str, authority: str, **options: Any) -> None:
        if self.failure is not None:
            raise self.failure
        self.client_id, self.credential, self.authority, self.options = client_id, client_credential, authority, options
        self.scopes: list[list[str]] = []
        self.created.append(self)

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.scopes.append(scopes)
        return self.result


@pytest.fixture
def fake_msal(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeConfidentialClient]]:
    forget_msal_applications()
    FakeConfidentialClient.created = []
    FakeConfidentialClient.result = {
        "access_token": SANDBOX_CONNECTOR_TOKEN,
        "token_type": "Bearer",
        "expires_in": 3599,
    }
    FakeConfidentialClient.failure = None
    monkeypatch.setattr("msal.ConfidentialClientApplication", FakeConfidentialClient)
    yield FakeConfidentialClient
    forget_msal_applications()


def test_msal_client_signs_in_once_per_process_and_calls_dataverse(
    fake_msal: type[FakeConfidentialClient], dataverse_sandbox: RunningDataverse
) -> None:
    env = {"DATAVERSE_URL": dataverse_sandbox.url + "/", **MSAL_ENV}
    first, second = dataverse_client_from_env(env), dataverse_client_from_env(env)
    assert isinstance(first.token_source, MsalTokenSource)
    assert first.whoami().user_id == CONNECTOR_USER_ID
    assert second.whoami().user_id == CONNECTOR_USER_ID
    assert len(fake_msal.created) == 1  # one application, so msal's own token cache serves every call
    application = fake_msal.created[0]
    assert application.authority == "https://login.microsoftonline.com/tenant-1"
    assert (application.client_id, application.credential) == ("client-1", SECRET)
    assert application.scopes == [[f"{dataverse_sandbox.url}/.default"]] * 2


def test_a_rotated_secret_gets_a_new_application(fake_msal: type[FakeConfidentialClient]) -> None:
    MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", "old")()
    MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", "new")()
    MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", "new")()
    assert [application.credential for application in fake_msal.created] == ["old", "new"]


def test_refused_credentials_are_permanent_and_keep_the_secret(fake_msal: type[FakeConfidentialClient]) -> None:
    fake_msal.result = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2",
    }
    source = MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", SECRET)
    with pytest.raises(SignInFailed) as caught:
        source()
    error = caught.value
    assert isinstance(error, Permanent)
    assert "invalid_client: AADSTS7000215: Invalid client secret provided." in str(error)
    assert "client-1" in str(error) and "tenant-1" in str(error)
    shown = f"{error} {error.user_message} {error!r} {source!r}"
    assert SECRET not in shown and "Trace ID" not in shown


def test_a_malformed_tenant_is_permanent(fake_msal: type[FakeConfidentialClient]) -> None:
    fake_msal.failure = ValueError("Invalid tenant or authority\nmore detail")
    with pytest.raises(SignInFailed, match="rejected the tenant 'bad tenant': Invalid tenant or authority"):
        MsalTokenSource("https://org.crm.dynamics.com", "bad tenant", "client-1", SECRET)()


def test_microsoft_unreachable_or_busy_is_retryable(fake_msal: type[FakeConfidentialClient]) -> None:
    fake_msal.failure = requests.exceptions.ConnectionError(f"boom with {SECRET}")
    with pytest.raises(DataverseUnavailable) as unreachable:
        MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", SECRET)()
    assert "Cannot reach Microsoft sign-in" in str(unreachable.value) and SECRET not in str(unreachable.value)
    fake_msal.failure = None
    fake_msal.result = {"error": "temporarily_unavailable", "error_description": "Try later"}
    with pytest.raises(Retryable):
        MsalTokenSource("https://org.crm.dynamics.com", "tenant-1", "client-1", SECRET)()


def test_static_token_from_the_environment(dataverse_sandbox: RunningDataverse) -> None:
    client = dataverse_client_from_env(
        {"DATAVERSE_URL": dataverse_sandbox.api_url, "DATAVERSE_TOKEN": f" {SANDBOX_CONNECTOR_TOKEN} ", **MSAL_ENV}
    )
    assert client.org_url == dataverse_sandbox.url
    assert client.whoami().user_id == CONNECTOR_USER_ID
    assert SANDBOX_CONNECTOR_TOKEN not in repr(client.token_source) + repr(client)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "DATAVERSE_URL is required"),
        ({"DATAVERSE_URL": "org.crm.dynamics.com", "DATAVERSE_TOKEN": "t"}, "must be the organisation's address"),
        (
            {"DATAVERSE_URL": "https://org.crm.dynamics.com"},
            "missing: DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID, DATAVERSE_CLIENT_SECRET",
        ),
        (
            {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TENANT_ID": "t", "DATAVERSE_CLIENT_ID": " "},
            "missing: DATAVERSE_CLIENT_ID, DATAVERSE_CLIENT_SECRET",
        ),
        (
            {
                "DATAVERSE_URL": "https://org.crm.dynamics.com",
                "DATAVERSE_TOKEN": "t",
                "DATAVERSE_RETRY_BUDGET_SECONDS": "soon",
            },
            "DATAVERSE_RETRY_BUDGET_SECONDS: Input should be a valid number",
        ),
    ],
)
def test_missing_or_bad_settings_are_named(env: dict[str, str], expected: str) -> None:
    with pytest.raises(DataverseNotConfigured, match=expected) as caught:
        dataverse_client_from_env(env)
    assert isinstance(caught.value, Permanent)


def test_retry_budget_from_the_environment() -> None:
    client = dataverse_client_from_env(
        {
            "DATAVERSE_URL": "https://org.crm.dynamics.com/api/data/v9.2",
            "DATAVERSE_TOKEN": "t",
            "DATAVERSE_RETRY_BUDGET_SECONDS": "4.5",
        }
    )
    assert client.retry.budget_seconds == 4.5
    assert client.api_url == "https://org.crm.dynamics.com/api/data/v9.2/"
    assert (
        dataverse_client_from_env({"DATAVERSE_URL": "https://o.example", "DATAVERSE_TOKEN": "t"}).retry.budget_seconds
        == 20.0
    )


def test_an_empty_static_token_is_refused() -> None:
    with pytest.raises(DataverseNotConfigured, match="empty"):
        StaticTokenSource("  ")
