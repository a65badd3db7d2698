"""Settings, read once from the environment and validated at start-up.

Every setting is declared in `SETTINGS` with its default and a one-line description; the README's
configuration table is the same list. A bad or missing value stops start-up with one clear line per problem.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    description: str
    required_for: frozenset[str] = frozenset()  # roles ("web", "worker") that cannot start without it
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "REDIS_URL",
        None,
        "Redis for queues, locks, tokens and checkpoints. The run command starts a private Redis when unset.",
        required_for=frozenset({"web", "worker"}),
    ),
    Setting(
        "DATAVERSE_WEBHOOK_SECRETS",
        None,
        "Comma-separated secrets accepted from Dataverse (several "
        "allow rotation without downtime). Required by the web process.",
        required_for=frozenset({"web"}),
        secret=True,
    ),
    Setting(
        "DATAVERSE_WEBHOOK_HEADER",
        "x-connector-key",
        "Header carrying the secret when the endpoint uses HttpHeader authentication (WebhookKey uses ?code=).",
    ),
    Setting(
        "XERO_WEBHOOK_KEY",
        "",
        "The webhooks signing key from the Xero app; without it every Xero webhook is refused with 401.",
        secret=True,
    ),
    Setting(
        "ADMIN_TOKEN",
        "",
        "Password for the admin pages and endpoints (connect Xero, reference data): sent "
        "as a bearer token or as the password of HTTP basic auth. Unset: they answer 503.",
        secret=True,
    ),
    Setting(
        "XERO_REDIRECT_URI",
        "",
        "Where Xero sends the admin back after consent: this service's /xero/callback "
        "as registered in the Xero app. Empty: derived from the request to /xero/connect.",
    ),
    Setting(
        "XERO_TOKEN_REFRESH_INTERVAL_SECONDS",
        "43200",
        "How often the scheduler queues the Xero token refresh of every connection.",
    ),
    Setting(
        "XERO_TOKEN_REFRESH_AFTER_SECONDS",
        "604800",
        "A connection's Xero token is refreshed by that job "
        "once it is older than this, long before the 60-day expiry of an unused refresh token.",
    ),
    Setting("MAX_WEBHOOK_BYTES", "1048576", "Largest webhook body accepted; larger gets 413."),
    Setting(
        "CONNECTOR_USER_ID",
        "",
        "Dataverse systemuserid of the connector's application user; its own "
        "writes are ignored (loop guard), except a re-sync request. Unset: the worker learns it (WhoAmI).",
    ),
    Setting(
        "WORKER_RECOVERY_SECONDS",
        "5",
        "How often a worker looks for work a dead worker left: a job taken but never started is put back after 3 "
        "periods, a running job whose worker stopped beating is retried after 4, and a dead worker's scheduler "
        "(retries, delays) is taken over after 2 (at least 3 seconds).",
    ),
    Setting("JOB_TIMEOUT_SECONDS", "300", "Longest a single job may run before RQ stops it."),
    Setting("RETRY_MAX_ATTEMPTS", "8", "Attempts for a job failing with passing faults before it is marked failed."),
    Setting("RETRY_BASE_SECONDS", "5", "First retry delay; doubles each attempt (with jitter)."),
    Setting("RETRY_MAX_SECONDS", "3600", "Longest delay between two retries."),
    Setting("DEDUPE_TTL_SECONDS", "172800", "How long a delivered event is remembered to drop redeliveries."),
    Setting("LOG_LEVEL", "INFO", "Python log level for the JSON logs."),
    Setting(
        "RECONCILE_INTERVAL_SECONDS",
        "300",
        "How often the reconciliation looks for invoice changes whose "
        "webhooks were lost, on both sides, per Xero connection.",
    ),
    Setting(
        "RECONCILE_OVERLAP_SECONDS",
        "120",
        "How far each reconciliation pass reaches back before the last "
        "successful one (clock differences, late commits).",
    ),
    Setting(
        "REFERENCE_DATA_CRON",
        "0 2 * * *",
        "When the nightly reference-data import runs (cron, five "
        "fields): Xero tax rates, accounts, branding themes and tracking into Dynamics.",
    ),
)


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _guid_or_empty(value: str) -> str:
    return str(uuid.UUID(value)).lower() if value else ""


def _http_url_or_empty(value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _secrets(value: str) -> tuple[str, ...]:
    secrets = tuple(part.strip() for part in value.split(",") if part.strip())
    if not secrets:
        raise ValueError("must hold at least one non-empty secret")
    return secrets


def _header_name(value: str) -> str:
    if not value or any(ch.isspace() or ch == ":" for ch in value):
        raise ValueError("must be a single HTTP header name")
    return value.lower()


def _cron(value: str) -> str:
    from croniter import croniter  # RQ's cron scheduler parses with it, so the same rules apply

    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise ValueError("must be a cron expression with five fields, e.g. 0 2 * * *")
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return value


@dataclass(frozen=True)
class Settings:
    redis_url: str
    dataverse_webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    dataverse_webhook_header: str = "x-connector-key"
    xero_webhook_key: str = field(default="", repr=False)
    admin_token: str = field(default="", repr=False)
    xero_redirect_uri: str = ""
    xero_token_refresh_interval_seconds: int = 43200
    xero_token_refresh_after_seconds: int = 604800
    max_webhook_bytes: int = 1024 * 1024
    connector_user_id: str = ""
    job_timeout_seconds: int = 300
    worker_recovery_seconds: int = 5
    retry_max_attempts: int = 8
    retry_base_seconds: int = 5
    retry_max_seconds: int = 3600
    dedupe_ttl_seconds: int = 172800
    log_level: str = "INFO"
    reconcile_interval_seconds: int = 300
    reconcile_overlap_seconds: int = 120
    reference_data_cron: str = "0 2 * * *"


_PARSERS: dict[str, Callable[[str], Any]] = {
    "REDIS_URL": _redis_url,
    "DATAVERSE_WEBHOOK_SECRETS": _secrets,
    "DATAVERSE_WEBHOOK_HEADER": _header_name,
    "XERO_WEBHOOK_KEY": str,
    "ADMIN_TOKEN": str,
    "XERO_REDIRECT_URI": _http_url_or_empty,
    "XERO_TOKEN_REFRESH_INTERVAL_SECONDS": _positive_int,
    "XERO_TOKEN_REFRESH_AFTER_SECONDS": _positive_int,
    "MAX_WEBHOOK_BYTES": _positive_int,
    "CONNECTOR_USER_ID": _guid_or_empty,
    "JOB_TIMEOUT_SECONDS": _positive_int,
    "WORKER_RECOVERY_SECONDS": _positive_int,
    "RETRY_MAX_ATTEMPTS": _positive_int,
    "RETRY_BASE_SECONDS": _positive_int,
    "RETRY_MAX_SECONDS": _positive_int,
    "DEDUPE_TTL_SECONDS": _positive_int,
    "LOG_LEVEL": _log_level,
    "RECONCILE_INTERVAL_SECONDS": _positive_int,
    "RECONCILE_OVERLAP_SECONDS": _positive_int,
    "REFERENCE_DATA_CRON": _cron,
}


def load_settings(environ: Mapping[str, str] | None = None, role: str = "web") -> Settings:
    """Read and validate every setting for a process role; raise ConfigError listing all problems at once."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = env.get(setting.name, "").strip() or (setting.default or "")
        if not raw:
            if role in setting.required_for:
                problems.append(f"{setting.name} is required: {setting.description}")
            continue
        try:
            values[setting.name.lower()] = _PARSERS[setting.name](raw)
        except ValueError as exc:
            # The value itself is not echoed back: it may be a secret.
            reason = str(exc) if not setting.secret else "is not valid"
            problems.append(f"{setting.name} {reason}" if setting.secret else f"{setting.name}: {reason}")
    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def raw_setting(name: str, environ: Mapping[str, str] | None = None) -> str:
    """One setting's text, or its default, unvalidated: for values fixed at import time (the schedule).
    `load_settings` validates the same value when the process starts."""
    setting = next(s for s in SETTINGS if s.name == name)
    env = os.environ if environ is None else environ
    return env.get(name, "").strip() or (setting.default or "")


def settings_or_exit(role: str) -> Settings:
    """For command-line entry points: the settings, or the list of problems on stderr and exit code 2."""
    try:
        return load_settings(role=role)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
