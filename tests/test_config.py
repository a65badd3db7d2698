import pytest

from app.config import SETTINGS, ConfigError, load_settings

GOOD = {"REDIS_URL": "redis://127.0.0.1:6390/0", "DATAVERSE_WEBHOOK_SECRETS": "s3cret-a, s3cret-b"}


def test_defaults_and_parsing():
    settings = load_settings(GOOD)
    assert settings.dataverse_webhook_secrets == ("s3cret-a", "s3cret-b")
    assert settings.dataverse_webhook_header == "x-connector-key"
    assert settings.max_webhook_bytes == 1024 * 1024
    assert settings.connector_user_id == ""


def test_every_problem_is_reported_at_once_without_echoing_secrets():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "DATAVERSE_WEBHOOK_SECRETS": " , ",
                "MAX_WEBHOOK_BYTES": "-3",
                "CONNECTOR_USER_ID": "bob",
                "LOG_LEVEL": "chatty",
                "DATAVERSE_WEBHOOK_HEADER": "two words",
            }
        )
    problems = info.value.problems
    assert any(p.startswith("REDIS_URL is required") for p in problems)
    assert any(p.startswith("DATAVERSE_WEBHOOK_SECRETS") for p in problems)
    assert any(p.startswith("MAX_WEBHOOK_BYTES") for p in problems)
    assert any(p.startswith("CONNECTOR_USER_ID") for p in problems)
    assert any(p.startswith("LOG_LEVEL") for p in problems)
    assert any(p.startswith("DATAVERSE_WEBHOOK_HEADER") for p in problems)
    assert len(problems) == 6


def test_settings_repr_hides_secrets():
    assert "s3cret" not in repr(load_settings(GOOD))


def test_guid_is_normalised():
    settings = load_settings({**GOOD, "CONNECTOR_USER_ID": "5C0E0A5E-0000-4000-8000-00000000C0DE"})
    assert settings.connector_user_id == "5c0e0a5e-0000-4000-8000-00000000c0de"


def test_every_setting_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in readme]
    assert missing == []


def test_the_worker_needs_no_webhook_secret_but_the_web_does():
    env = {"REDIS_URL": "redis://127.0.0.1:6390/0"}
    assert load_settings(env, role="worker").dataverse_webhook_secrets == ()
    with pytest.raises(ConfigError, match="DATAVERSE_WEBHOOK_SECRETS is required"):
        load_settings(env, role="web")
