"""XeroSettings read from the environment, and the error classification's edges not reachable through the sandbox."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.clients.xero_errors import classify, validation_messages
from app.clients.xero_settings import BROAD_SCOPES, GRANULAR_SCOPES, XeroSettings
from app.config import ConfigError
from app.errors import Permanent

KEY = Fernet.generate_key().decode()
REQUIRED = {"XERO_CLIENT_ID": "client", "XERO_CLIENT_SECRET": "secret", "TOKEN_ENCRYPTION_KEYS": KEY}


def test_defaults_point_at_xero():
    settings = XeroSettings.from_environ(REQUIRED)

    assert settings.accounting_url == "https://api.xero.com/api.xro/2.0"
    assert settings.token_url == "https://identity.xero.com/connect/token"
    assert settings.authorize_url == "https://login.xero.com/identity/connect/authorize"
    assert settings.scopes == GRANULAR_SCOPES
    assert (settings.limits.concurrent, settings.limits.per_minute, settings.limits.per_day) == (5, 60, 5000)
    assert settings.request_timeout == (10.0, 30.0)
    assert settings.custom_connection is False
    assert "secret" not in repr(settings) and KEY not in repr(settings)


def test_every_setting_can_be_changed():
    second_key = Fernet.generate_key().decode()
    settings = XeroSettings.from_environ(
        {
            **REQUIRED,
            "TOKEN_ENCRYPTION_KEYS": f"{KEY}, {second_key}",
            "XERO_API_URL": "http://127.0.0.1:9/",
            "XERO_IDENTITY_URL": "http://127.0.0.1:9",
            "XERO_SCOPES": "broad",
            "XERO_CUSTOM_CONNECTION": "true",
            "XERO_CONCURRENT_LIMIT": "2",
            "XERO_MINUTE_LIMIT": "30",
            "XERO_DAY_LIMIT": "1000",
            "XERO_LIMIT_WAIT_SECONDS": "0.5",
            "XERO_REQUEST_TIMEOUT_SECONDS": "5",
        }
    )

    assert settings.token_encryption_keys == (KEY, second_key)
    assert settings.accounting_url == "http://127.0.0.1:9/api.xro/2.0"
    assert settings.scopes == BROAD_SCOPES and settings.custom_connection
    assert (settings.limits.concurrent, settings.limits.per_minute, settings.limits.per_day) == (2, 30, 1000)
    assert settings.limit_wait_seconds == 0.5 and settings.request_timeout == (5.0, 5.0)


def test_explicit_scopes_need_offline_access_unless_custom_connection():
    explicit = XeroSettings.from_environ({**REQUIRED, "XERO_SCOPES": "offline_access,accounting.invoices"})
    assert explicit.scopes == ("offline_access", "accounting.invoices")
    with pytest.raises(ConfigError, match="XERO_SCOPES"):
        XeroSettings.from_environ({**REQUIRED, "XERO_SCOPES": "accounting.invoices"})
    custom = XeroSettings.from_environ(
        {**REQUIRED, "XERO_SCOPES": "accounting.invoices", "XERO_CUSTOM_CONNECTION": "1"}
    )
    assert custom.scopes == ("accounting.invoices",)


def test_every_problem_is_reported_at_once_without_echoing_secrets():
    with pytest.raises(ConfigError) as bad:
        XeroSettings.from_environ(
            {
                "TOKEN_ENCRYPTION_KEYS": "not-a-fernet-key",
                "XERO_API_URL": "ftp://x",
                "XERO_DAY_LIMIT": "-1",
                "XERO_CUSTOM_CONNECTION": "maybe",
            }
        )

    text = str(bad.value)
    for name in (
        "XERO_CLIENT_ID",
        "XERO_CLIENT_SECRET",
        "TOKEN_ENCRYPTION_KEYS",
        "XERO_API_URL",
        "XERO_DAY_LIMIT",
        "XERO_CUSTOM_CONNECTION",
    ):
        assert name in text
    assert "not-a-fernet-key" not in text


def test_validation_messages_are_collected_once_each_in_order():
    body = {
        "Message": "A validation exception occurred",
        "Elements": [
            {"ValidationErrors": [{"Message": "Account must be valid."}, {"Message": "Contact is required."}]},
            {"ValidationErrors": [{"Message": "Account must be valid."}]},
        ],
    }
    assert validation_messages(body) == ("Account must be valid.", "Contact is required.")
    assert validation_messages({"Message": "Only the summary"}) == ("Only the summary",)
    assert validation_messages(None) == ()


def test_an_unexpected_failure_is_still_classified():
    assert isinstance(classify(ValueError("bad date"), action="read the invoice", write=False), Permanent)
    outcome = classify(ValueError("bad date"), action="create the invoice", write=True)
    assert type(outcome).__name__ == "OutcomeUnknown"
