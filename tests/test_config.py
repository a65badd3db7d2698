"""The one configuration: every setting declared once, validated with one line per problem, documented from the
declaration."""

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from app import config_docs
from app.config import SETTINGS, ConfigError, load_settings, settings_or_defaults

GOOD = {"REDIS_URL": "redis://127.0.0.1:6390/0", "DATAVERSE_WEBHOOK_SECRETS": "s3cret-a, s3cret-b"}


def test_defaults_and_parsing():
    settings = load_settings(GOOD)
    assert settings.dataverse_webhook_secrets == ("s3cret-a", "s3cret-b")
    assert settings.dataverse_webhook_header == "x-connector-key"
    assert settings.max_webhook_bytes == 1024 * 1024
    assert settings.connector_user_id == ""
    assert settings.reconcile_interval_seconds == 300 and settings.xero_limit_wait_seconds == 2.0


def test_every_problem_is_reported_at_once_without_echoing_secrets():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "DATAVERSE_WEBHOOK_SECRETS": " , ",
                "MAX_WEBHOOK_BYTES": "-3",
                "CONNECTOR_USER_ID": "bob",
                "LOG_LEVEL": "chatty",
                "DATAVERSE_WEBHOOK_HEADER": "two words",
                "TOKEN_ENCRYPTION_KEYS": "not-a-fernet-key-but-a-secret",
            }
        )
    problems = info.value.problems
    assert any(p.startswith("REDIS_URL is required") for p in problems)
    for name in (
        "DATAVERSE_WEBHOOK_SECRETS",
        "MAX_WEBHOOK_BYTES",
        "CONNECTOR_USER_ID",
        "LOG_LEVEL",
        "DATAVERSE_WEBHOOK_HEADER",
        "TOKEN_ENCRYPTION_KEYS",
    ):
        assert any(p.startswith(f"{name}: ") for p in problems), name
    assert len(problems) == 7
    assert all("\n" not in p for p in problems)
    assert "not-a-fernet-key-but-a-secret" not in str(info.value)


def test_settings_repr_hides_secrets():
    key = Fernet.generate_key().decode()
    settings = load_settings({**GOOD, "TOKEN_ENCRYPTION_KEYS": key, "ADMIN_TOKEN": "adm1n-pass"})
    assert "s3cret" not in repr(settings) and key not in repr(settings) and "adm1n" not in repr(settings)


def test_guid_is_normalised():
    settings = load_settings({**GOOD, "CONNECTOR_USER_ID": "5C0E0A5E-0000-4000-8000-00000000C0DE"})
    assert settings.connector_user_id == "5c0e0a5e-0000-4000-8000-00000000c0de"


def test_the_worker_needs_no_webhook_secret_but_the_web_does():
    env = {"REDIS_URL": "redis://127.0.0.1:6390/0"}
    assert load_settings(env, role="worker").dataverse_webhook_secrets == ()
    with pytest.raises(ConfigError, match="DATAVERSE_WEBHOOK_SECRETS is required"):
        load_settings(env, role="web")


def test_a_connected_worker_needs_every_xero_and_dataverse_setting_at_start():
    env = {"REDIS_URL": "redis://127.0.0.1:6390/0", "DATAVERSE_URL": "https://org.crm.dynamics.com"}
    with pytest.raises(ConfigError) as info:
        load_settings({**env, "XERO_MINUTE_LIMIT": "lots"}, role="worker")
    problems = info.value.problems
    assert [p.split(":")[0].split(" ")[0] for p in problems] == [
        "XERO_MINUTE_LIMIT",
        "Set",
        "XERO_CLIENT_ID",
        "XERO_CLIENT_SECRET",
        "TOKEN_ENCRYPTION_KEYS",
    ]


def test_the_declaration_documents_every_setting_of_every_role():
    names = [doc.name for doc in SETTINGS]
    assert len(names) == len(set(names))
    for expected in ("BIND", "WEB_CONCURRENCY", "XERO_CLIENT_ID", "DATAVERSE_TOKEN", "PORT", "SANDBOX_ACCESS_LOG"):
        assert expected in names
    assert all(doc.description and doc.roles for doc in SETTINGS)


def test_readme_table_and_env_example_are_generated_from_the_declaration():
    assert config_docs.drift() == [], "run `make config-docs`"
    readme = config_docs.README.read_text()
    assert all(f"| `{doc.name}` |" in readme for doc in SETTINGS)
    assert all(f"#{doc.name}=" in config_docs.ENV_EXAMPLE.read_text() for doc in SETTINGS)


def test_drift_is_detected(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(config_docs.README.read_text().replace("| `JOB_TIMEOUT_SECONDS` | `300`", "| `X` | `1`"))
    (tmp_path / ".env.example").write_text(config_docs.env_example())
    monkeypatch.setattr(config_docs, "README", readme)
    monkeypatch.setattr(config_docs, "ENV_EXAMPLE", tmp_path / ".env.example")
    assert config_docs.drift() == ["README.md (configuration table)"]
    assert config_docs.main(["--write"]) == 0 and config_docs.drift() == []


def test_a_bad_interval_is_no_traceback_at_import_but_one_line_at_start():
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "RECONCILE_INTERVAL_SECONDS": "five minutes", "PATH": ""}
    assert settings_or_defaults(env).reconcile_interval_seconds == 300
    done = subprocess.run(
        [sys.executable, "-m", "app.scheduler"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "RECONCILE_INTERVAL_SECONDS: Input should be a valid integer" in done.stderr


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (
            ["-m", "app.worker", "--burst"],
            {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TOKEN": "t", "XERO_CLIENT_ID": "c"},
            ["XERO_CLIENT_SECRET is required", "TOKEN_ENCRYPTION_KEYS is required"],
        ),
        (["-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], {"WEB_THREADS": "0"}, ["WEB_THREADS: "]),
    ],
)
def test_a_role_with_bad_settings_stops_at_start_with_one_line_per_problem(argv, env, expected):
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "DATAVERSE_WEBHOOK_SECRETS": "s", **env}
    done = subprocess.run(
        [sys.executable, *argv],
        env=env,
        cwd=config_docs.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    for line in expected:
        assert line in done.stderr


def test_the_web_checks_the_xero_settings_it_connects_organisations_with():
    with pytest.raises(ConfigError, match="XERO_CLIENT_SECRET is required"):
        load_settings({**GOOD, "XERO_CLIENT_ID": "client", "DATAVERSE_URL": "https://org.crm.dynamics.com"})
