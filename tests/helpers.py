"""Small builders shared by the tests."""

from __future__ import annotations

from typing import Any

from app.config import Settings

SECRET = "test-secret-one"
SECOND_SECRET = "test-secret-two"
CONNECTOR_USER = "5c0e0a5e-0000-4000-8000-00000000c0de"


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "dataverse_webhook_secrets": (SECRET, SECOND_SECRET),
        "connector_user_id": CONNECTOR_USER,
        "retry_base_seconds": 1,
        "retry_max_attempts": 3,
    }
    values.update(overrides)
    return Settings(**values)


def settings_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """The same settings as environment variables, for processes and code that read the environment."""
    env = {
        "REDIS_URL": redis_url,
        "DATAVERSE_WEBHOOK_SECRETS": f"{SECRET},{SECOND_SECRET}",
        "CONNECTOR_USER_ID": CONNECTOR_USER,
        "RETRY_BASE_SECONDS": "1",
        "RETRY_MAX_ATTEMPTS": "3",
    }
    env.update(overrides)
    return env
