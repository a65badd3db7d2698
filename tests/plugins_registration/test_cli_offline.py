"""CLI behaviour that needs no Dataverse: usage errors, settings, MSAL sign-in (mocked at msal only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.clients.dataverse_auth import forget_msal_applications
from plugins_registration.__main__ import main, read_secret
from plugins_registration.auth import connection_from_environment, normalise_org_url
from plugins_registration.errors import RegistrationError, UsageError
from tests.plugins_registration.stub_server import Canned, stub_server

MSAL_ENV = {"DATAVERSE_TENANT_ID": "tenant-1", "DATAVERSE_CLIENT_ID": "client-1", "DATAVERSE_CLIENT_SECRET": "cs-9"}


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], {}) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_register_requires_url_and_auth(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "--auth", "header"], {}) == 2
    assert "--url" in capsys.readouterr().err


def test_a_secret_on_the_command_line_is_not_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TOKEN": "t", "DATAVERSE_WEBHOOK_SECRETS": "x"}
    assert main(["register", "--url", "https://h/x", "--auth", "header", "--secret", "s3cret"], env) == 2
    assert "unrecognized arguments: --secret" in capsys.readouterr().err


def test_missing_dataverse_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"], {}) == 2
    assert "DATAVERSE_URL is required" in capsys.readouterr().err


def test_incomplete_app_credentials_name_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TENANT_ID": "t"}
    assert main(["provision"], env) == 2
    err = capsys.readouterr().err
    assert "DATAVERSE_CLIENT_ID" in err and "DATAVERSE_CLIENT_SECRET" in err


def test_webhook_url_on_a_refused_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TOKEN": "t"}
    assert main(["register", "--url", "https://host:8443/hook", "--auth", "header"], env) == 2
    assert "ports 80 and 443" in capsys.readouterr().err


def test_org_url_is_normalised() -> None:
    assert normalise_org_url("https://org.crm.dynamics.com/api/data/v9.2/") == "https://org.crm.dynamics.com"
    with pytest.raises(UsageError):
        normalise_org_url("org.crm.dynamics.com")


def test_read_secret_takes_the_first_value() -> None:
    assert read_secret({"S": " new , old"}, "S") == "new"
    with pytest.raises(UsageError, match="S is not set"):
        read_secret({"S": " , old"}, "S")


class FakeConfidentialClient:
    """Stands in for msal.ConfidentialClientApplication: Microsoft's identity service cannot run here."""

    created: list[dict[str, Any]] = []
    result: dict[str, Any] = {"access_token": "msal-issued-token", "token_type": "Bearer", "expires_in": 3600}

    def __init__(self, client_id: str, authority: str, client_credential: str, **options: Any) -> None:
        self.created.append({"client_id": client_id, "authority": authority, "credential": client_credential})
        self.scopes: list[list[str]] = []

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.created[-1].setdefault("scopes", []).append(scopes)
        return self.result


@pytest.fixture
def fake_msal(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeConfidentialClient]]:
    FakeConfidentialClient.created = []
    FakeConfidentialClient.result = {"access_token": "msal-issued-token", "token_type": "Bearer"}
    monkeypatch.setattr("msal.ConfidentialClientApplication", FakeConfidentialClient)
    forget_msal_applications()  # the connector keeps one msal application per process and credentials
    yield FakeConfidentialClient
    forget_msal_applications()


def test_msal_path_uses_tenant_authority_and_org_scope(fake_msal: type[FakeConfidentialClient]) -> None:
    connection = connection_from_environment({"DATAVERSE_URL": "https://org.crm.dynamics.com/", **MSAL_ENV})
    assert connection.token_provider() == "msal-issued-token"
    assert connection.token_provider() == "msal-issued-token"
    assert len(fake_msal.created) == 1  # one application, so msal's own token cache is reused
    made = fake_msal.created[0]
    assert made["client_id"] == "client-1" and made["credential"] == "cs-9"
    assert made["authority"] == "https://login.microsoftonline.com/tenant-1"
    assert made["scopes"][0] == ["https://org.crm.dynamics.com/.default"]


def test_msal_token_is_sent_as_bearer(
    fake_msal: type[FakeConfidentialClient], capsys: pytest.CaptureFixture[str]
) -> None:
    with stub_server([Canned(200, {"value": []})] * 100) as server:
        assert main(["status"], {"DATAVERSE_URL": server.url, **MSAL_ENV}) == 0
    assert {request[2]["Authorization"] for request in server.requests} == {"Bearer msal-issued-token"}
    assert "No webhook endpoint is registered" in capsys.readouterr().out


def test_msal_error_is_one_line_without_the_client_secret(
    fake_msal: type[FakeConfidentialClient], capsys: pytest.CaptureFixture[str]
) -> None:
    fake_msal.result = {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2",
    }
    assert main(["status"], {"DATAVERSE_URL": "https://org.crm.dynamics.com", **MSAL_ENV}) == 1
    err = capsys.readouterr().err
    assert "invalid_client: AADSTS7000215: Invalid client secret provided." in err
    assert "cs-9" not in err and "Trace ID" not in err and err.count("\n") == 1


def test_msal_error_raises_registration_error(fake_msal: type[FakeConfidentialClient]) -> None:
    fake_msal.result = {"error": "unauthorized_client", "error_description": "AADSTS700016: app not found"}
    connection = connection_from_environment({"DATAVERSE_URL": "https://org.crm.dynamics.com", **MSAL_ENV})
    with pytest.raises(RegistrationError, match="unauthorized_client"):
        connection.token_provider()


def test_a_secret_echoed_by_the_server_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"error": {"code": "0x0", "message": "Invalid value 'hook-secret-42' and token tok-777777"}}
    with stub_server([Canned(400, body)]) as server:
        env = {
            "DATAVERSE_URL": server.url,
            "DATAVERSE_TOKEN": "tok-777777",
            "DATAVERSE_WEBHOOK_SECRETS": "hook-secret-42,x",
        }
        assert main(["status"], env) == 1
    err = capsys.readouterr().err
    assert "Invalid value '***' and token ***" in err
    assert "hook-secret-42" not in err and "tok-777777" not in err


@pytest.mark.parametrize("header", ["", "x key", "x:key"])
def test_a_header_name_dataverse_could_not_send_is_a_usage_error(
    header: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TOKEN": "t"}
    assert main(["register", "--url", "https://h/x", "--auth", "header", "--header-name", header], env) == 2
    assert "--header-name must be a plain HTTP header name" in capsys.readouterr().err
