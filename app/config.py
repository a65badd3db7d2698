"""Every setting of every role, declared once: name, type, default and help, in `Settings` below.

Each field is an environment variable (its name in capitals). `load_settings(role=...)` reads and validates
them all (pydantic-settings) and then checks what that role cannot start without; every problem is reported
at once, one line each, and a secret's value is never echoed. The README's configuration table and
`.env.example` are generated from this declaration (`python -m app.config_docs --write`), and a test fails when
they drift.

Roles: `web` (gunicorn), `worker` (RQ worker), `scheduler`, `registration` (plugins_registration), `run` (only the
`make run` launcher reads it); `dataverse` and `xero` are the checks of the two remote services alone, `services`
both of them when either is configured.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROLES = ("web", "worker", "scheduler", "registration", "run")
SERVICE_ROLES = ("web", "worker", "scheduler")


class ConfigError(Exception):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


# ---- value types ---------------------------------------------------------------------------------------------


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _guid_or_empty(value: str) -> str:
    try:
        return str(uuid.UUID(value)).lower() if value else ""
    except ValueError:
        raise ValueError("must be a GUID like 5c0e0a5e-0000-4000-8000-00000000c0de") from None


def _http_url(value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


def normalise_org_url(raw: str) -> str:
    """`https://org.crm.dynamics.com/` or `.../api/data/v9.2/` -> `https://org.crm.dynamics.com`."""
    url = raw.strip().rstrip("/")
    if not url:
        return ""
    if "/api/data" in url:
        url = url.split("/api/data", 1)[0]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.username:
        raise ValueError("must be the organisation's address, like https://org.crm.dynamics.com")
    return url


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
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return value


def _fernet_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    from cryptography.fernet import Fernet

    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # The keys themselves are never echoed: they are secrets.
            raise ValueError("must be comma-separated Fernet keys (44 characters each)") from None
    return keys


def _host_port(value: str) -> str:
    host, _, port = value.rpartition(":")
    if value.startswith(("unix:", "fd://")) or (host and port.isdigit() and 0 < int(port) < 65536):
        return value
    raise ValueError("must be HOST:PORT (e.g. 0.0.0.0:8000) or unix:PATH")


Positive = Annotated[int, Field(gt=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(gt=0, lt=65536)]


def _not_empty(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("must hold at least one non-empty value")
    return values


# A list given as text: comma-separated, blanks dropped; set but empty is a mistake (unset is the default).
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list), AfterValidator(_not_empty)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]


def setting(
    default: Any,
    help: str,
    *,
    roles: tuple[str, ...] = SERVICE_ROLES,
    secret: bool = False,
    shown_default: str | None = None,
) -> Any:
    """One declared setting: its default, a one-line help, who reads it, whether it is secret, and (when the
    bare default would mislead, e.g. `make run` fills it in) how the default is described to people."""
    extra = {"roles": list(roles), "secret": secret, "shown_default": shown_default}
    return Field(default, description=help, repr=not secret, json_schema_extra=extra)  # type: ignore[arg-type]


class Settings(BaseSettings):
    """The declaration. Field name in capitals = environment variable."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, str_strip_whitespace=True, validate_default=False
    )

    # -- shared by the service roles
    redis_url: Annotated[str, AfterValidator(_redis_url)] = setting(
        "",
        "Redis for queues, locks, tokens and checkpoints. Required by the web, worker and scheduler.",
        shown_default="none (`make run` starts a private Redis)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = setting(
        "INFO", "Level of the JSON logs.", roles=(*SERVICE_ROLES, "run")
    )
    connector_user_id: Annotated[str, AfterValidator(_guid_or_empty)] = setting(
        "",
        "The systemuserid of the connector's application user in Dataverse. Events it caused are ignored (loop "
        "guard), except a change of the export status to No or Ready to update, which asks for a sync.",
        shown_default="empty: the worker asks Dataverse (WhoAmI) at start and records the answer in Redis",
    )
    # -- web
    dataverse_webhook_secrets: CommaList = setting(
        (),
        "Comma-separated secrets accepted from Dataverse. Several at once allow rotation without downtime. "
        "Required by the web process (and read by `plugins_registration register`).",
        roles=("web", "registration"),
        secret=True,
        shown_default="none (`make run` generates one for the sandbox)",
    )
    dataverse_webhook_header: Annotated[str, AfterValidator(_header_name)] = setting(
        "x-connector-key",
        "Header carrying the secret when the service endpoint uses HttpHeader authentication (WebhookKey sends "
        "`?code=`; both are accepted).",
        roles=("web",),
    )
    xero_webhook_key: str = setting(
        "",
        "The webhooks signing key of the Xero app. Without it every Xero webhook is refused with 401.",
        roles=("web",),
        secret=True,
        shown_default="empty (`make run` generates one and subscribes the sandbox Xero with it)",
    )
    admin_token: str = setting(
        "",
        "Password of the admin console (`/admin`) and the admin endpoints (connecting Xero, reference data): a "
        "bearer token, or the password of HTTP basic auth in a browser. Empty: they answer 503.",
        roles=("web",),
        secret=True,
        shown_default="empty: admin pages closed (`make run` generates one for the run and prints it)",
    )
    xero_redirect_uri: HttpUrl = setting(
        "",
        "Where Xero sends the admin back after consent: this service's `/xero/callback`, exactly as registered in "
        "the Xero app. Set it behind a proxy that rewrites the host or scheme.",
        roles=("web",),
        shown_default="empty (derived from the request)",
    )
    max_webhook_bytes: Positive = setting(
        1048576, "Largest webhook body accepted; larger gets 413 without being read whole.", roles=("web",)
    )
    dedupe_ttl_seconds: Positive = setting(
        172800, "How long a delivered event is remembered, so a redelivery enqueues nothing."
    )
    bind: Annotated[str, AfterValidator(_host_port)] = setting(
        "0.0.0.0:8000",
        "Where gunicorn listens (and where the container's health check asks).",
        roles=("web", "run"),
        shown_default="`0.0.0.0:8000` (`127.0.0.1:8000` under `make run`)",
    )
    web_concurrency: Positive = setting(2, "gunicorn worker processes.", roles=("web",))
    web_threads: Positive = setting(4, "Threads per gunicorn worker process.", roles=("web",))
    prometheus_multiproc_dir: str = setting(
        "",
        "A directory private to this machine's web or worker processes where they share their metrics. The "
        "container entrypoint and `make run` set it (emptied at start); unset, `/metrics` shows only the "
        "answering process.",
        roles=("web", "worker"),
        shown_default="empty (set by the entrypoint and `make run`)",
    )
    worker_metrics_port: Annotated[int, Field(ge=0, lt=65536)] = setting(
        0,
        "Port where a worker serves its machine's `/metrics` for Prometheus, when the web process runs elsewhere "
        "(its own container). 0: off (under `make run` the web's `/metrics` already shows the worker's).",
        roles=("worker",),
    )
    # -- jobs
    worker_recovery_seconds: Positive = setting(
        5,
        "How often a worker looks for work a dead worker left: a job taken but never started is put back after 3 "
        "periods, a running job whose worker stopped beating is retried after 4, and a dead worker's scheduler "
        "(retries, delays) is taken over after 2 (at least 3 seconds).",
        roles=("worker",),
    )
    job_timeout_seconds: Positive = setting(
        300, "Longest a single job may run. Keep the compose `stop_grace_period` above it."
    )
    retry_max_attempts: Positive = setting(
        8, "Attempts for a job failing with passing faults before it is marked failed."
    )
    retry_base_seconds: Positive = setting(
        5, "First retry delay; it doubles each attempt (±20 % jitter) unless the remote side said `Retry-After`."
    )
    retry_max_seconds: Positive = setting(3600, "Longest delay between two retries.")
    # -- scheduler
    reference_data_cron: Annotated[str, AfterValidator(_cron)] = setting(
        "0 2 * * *",
        "When the scheduler queues the nightly reference-data import (five-field cron, UTC) of every connection.",
        roles=("scheduler", "worker"),
    )
    reconcile_interval_seconds: Positive = setting(
        300,
        "How often the scheduler queues the reconciliation, which looks for invoice changes whose webhooks were "
        "lost (both sides, every connected Xero organisation).",
        roles=("scheduler", "worker"),
    )
    reconcile_overlap_seconds: Positive = setting(
        120,
        "How far each reconciliation pass reaches back before the start of the last successful one.",
        roles=("worker",),
    )
    xero_token_refresh_interval_seconds: Positive = setting(
        43200, "How often the scheduler queues the `xero.token_refresh` job.", roles=("scheduler", "worker")
    )
    xero_token_refresh_after_seconds: Positive = setting(
        604800,
        "That job refreshes a connection's Xero token once it is older than this (7 days), so an idle connection "
        "never reaches the 60-day expiry of its refresh token.",
        roles=("worker",),
    )
    # -- Dataverse
    dataverse_url: Annotated[str, AfterValidator(normalise_org_url)] = setting(
        "",
        "The Dynamics organisation, e.g. `https://contoso.crm.dynamics.com`. With `XERO_CLIENT_ID` it connects the "
        "worker; without either the worker only records the invoice jobs it receives.",
        roles=("worker", "registration", "run"),
        shown_default="none (`make run` uses the sandbox)",
    )
    dataverse_token: str = setting(
        "",
        "A bearer token used as is (the sandbox accepts these).",
        roles=("worker", "registration"),
        secret=True,
    )
    dataverse_tenant_id: str = setting(
        "",
        "Otherwise: the Entra tenant of the app used with client credentials (MSAL).",
        roles=("worker", "registration"),
    )
    dataverse_client_id: str = setting("", "Otherwise: that Entra app's client id.", roles=("worker", "registration"))
    dataverse_client_secret: str = setting(
        "", "Otherwise: that Entra app's client secret.", roles=("worker", "registration"), secret=True
    )
    dataverse_request_budget: Positive = setting(
        6000,
        "Dataverse requests per 5 minutes shared by every worker through Redis (service protection); a 429's "
        "Retry-After pauses all workers.",
        roles=("worker",),
    )
    dataverse_retry_budget_seconds: Annotated[float, Field(ge=0)] = setting(
        20.0,
        "Longest one Dataverse call spends retrying 429/5xx inside a job before the job is rescheduled instead.",
        roles=("worker", "registration"),
    )
    # -- Xero
    xero_client_id: str = setting(
        "",
        "The Xero app's client id; when unset, `make run` starts the sandbox Xero and connects it.",
        roles=("web", "worker", "run"),
        shown_default="none (`make run` uses the sandbox Xero)",
    )
    xero_client_secret: str = setting(
        "", "The Xero app's client secret. Required with `XERO_CLIENT_ID`.", roles=("web", "worker"), secret=True
    )
    token_encryption_keys: Annotated[CommaList, AfterValidator(_fernet_keys)] = setting(
        (),
        "Comma-separated Fernet keys encrypting the Xero tokens (and the Dataverse token cache) in Redis; the first "
        "encrypts, any decrypts, so a new key goes first to rotate. Required with `XERO_CLIENT_ID`.",
        roles=("web", "worker"),
        secret=True,
        shown_default="none (`make run` generates one per run)",
    )
    xero_api_url: HttpUrl = setting("https://api.xero.com", "Xero's API address.", roles=("web", "worker"))
    xero_identity_url: HttpUrl = setting(
        "https://identity.xero.com", "Xero's token and revocation address.", roles=("web", "worker")
    )
    xero_login_url: HttpUrl = setting("https://login.xero.com", "Xero's consent page address.", roles=("web",))
    xero_scopes: str = setting(
        "granular",
        "`granular`, `broad` (apps created before March 2026) or an explicit list including `offline_access`.",
        roles=("web", "worker"),
    )
    xero_custom_connection: bool = setting(
        False, "`true` for a Xero custom connection (client credentials, no refresh token).", roles=("web", "worker")
    )
    xero_concurrent_limit: Positive = setting(
        5, "Xero calls in flight per organisation, shared by every worker through Redis.", roles=("web", "worker")
    )
    xero_minute_limit: Positive = setting(60, "Xero calls per minute per organisation.", roles=("web", "worker"))
    xero_day_limit: Positive = setting(
        5000,
        "Xero calls per day per organisation (1000 on Xero's Starter tier); reaching it defers work to Xero's reset.",
        roles=("web", "worker"),
    )
    xero_app_minute_limit: Positive = setting(
        10_000, "Xero calls per minute across all organisations (Xero's app limit).", roles=("web", "worker")
    )
    xero_day_reserved_share: Annotated[float, Field(ge=0, le=0.9)] = setting(
        0.1,
        "Share of each organisation's daily budget that sending invoices leaves for payments coming back and "
        "reconciliation; one organisation's own budget is its connection row's \"Xero calls per day\".",
        roles=("web", "worker"),
    )
    xero_limit_wait_seconds: PositiveSeconds = setting(
        2.0, "Longest a worker waits for an organisation's slot before the job is retried later.", roles=("worker",)
    )
    xero_limit_time_scale: PositiveSeconds = setting(
        1.0,
        "Multiplies the limiter's minute and day windows; only for a time-scaled sandbox Xero (`--time-scale`), "
        "as the benchmarks use.",
        roles=("web", "worker"),
    )
    xero_request_timeout_seconds: PositiveSeconds = setting(
        30.0, "Read timeout of one Xero call (connect: at most 10).", roles=("web", "worker")
    )
    # -- make run only
    port: Port = setting(
        8000, "The preferred web port when `BIND` is unset (a free one is used if it is taken).", roles=("run",)
    )
    sandbox_dataverse_port: Port = setting(8771, "Preferred port of the sandbox Dataverse.", roles=("run",))
    sandbox_xero_port: Port = setting(8772, "Preferred port of the sandbox Xero.", roles=("run",))
    sandbox_access_log: bool = setting(
        False, "`true` shows the sandboxes' HTTP access lines among the connector's output.", roles=("run",)
    )

    @property
    def connected(self) -> bool:
        """A worker with neither Dataverse nor Xero configured only records the invoice jobs it receives."""
        return bool(self.dataverse_url or self.xero_client_id)


@dataclass(frozen=True)
class SettingDoc:
    """What people are told about one setting (the README table, `.env.example`)."""

    name: str
    default: str
    description: str
    roles: tuple[str, ...]
    secret: bool
    shown_default: str | None


def _describe_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _declared() -> tuple[SettingDoc, ...]:
    docs = []
    for name, info in Settings.model_fields.items():
        extra = info.json_schema_extra or {}
        assert isinstance(extra, dict)
        docs.append(
            SettingDoc(
                name=name.upper(),
                default=_describe_default(info.default),
                description=info.description or "",
                roles=tuple(extra["roles"]),  # type: ignore[arg-type]
                secret=bool(extra["secret"]),
                shown_default=extra["shown_default"],  # type: ignore[arg-type]
            )
        )
    return tuple(docs)


SETTINGS: tuple[SettingDoc, ...] = _declared()


# ---- loading -------------------------------------------------------------------------------------------------


def _field_problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else "configuration"
        message = item["msg"].removeprefix("Value error, ")
        # pydantic's messages and ours never quote the value, so a secret is not echoed.
        problems.append(f"{name}: {message}")
    return problems


def dataverse_problems(settings: Settings) -> list[str]:
    if not settings.dataverse_url:
        return ["DATAVERSE_URL is required: the organisation's address, like https://org.crm.dynamics.com"]
    if settings.dataverse_token:
        return []
    msal = ("dataverse_tenant_id", "dataverse_client_id", "dataverse_client_secret")
    missing = [name.upper() for name in msal if not getattr(settings, name)]
    if missing:
        return [
            "Set DATAVERSE_TOKEN, or all of DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET "
            f"(missing: {', '.join(missing)})"
        ]
    return []


def xero_problems(settings: Settings) -> list[str]:
    problems = []
    if not settings.xero_client_id:
        problems.append("XERO_CLIENT_ID is required: the Xero app's client id")
    if not settings.xero_client_secret:
        problems.append("XERO_CLIENT_SECRET is required: the Xero app's client secret")
    if not settings.token_encryption_keys:
        problems.append("TOKEN_ENCRYPTION_KEYS is required: comma-separated Fernet keys (44 characters each)")
    return problems


def xero_scope_list(value: str, custom_connection: bool) -> tuple[str, ...] | None:
    """The explicit scopes of `XERO_SCOPES` (None for the named sets), or ValueError when unusable."""
    if value.lower() in ("granular", "broad"):
        return None
    scopes = tuple(s for s in value.replace(",", " ").split() if s)
    # Without offline_access there is no refresh token; only a custom connection can live without one.
    if not scopes or ("offline_access" not in scopes and not custom_connection):
        raise ValueError("must be granular, broad, or a list including offline_access")
    return scopes


def _cross_problems(settings: Settings, role: str) -> list[str]:
    """What the role cannot start without. `settings` may be unvalidated (built from the raw values when some
    were invalid): only presence is looked at, so every problem is still reported at once."""
    problems = []
    custom = str(settings.xero_custom_connection).lower() in ("true", "1", "yes", "on", "t", "y")
    try:
        xero_scope_list(str(settings.xero_scopes), custom)
    except ValueError as exc:
        problems.append(f"XERO_SCOPES: {exc}")
    if role in SERVICE_ROLES and not settings.redis_url:
        problems.append("REDIS_URL is required: Redis for queues, locks, tokens and checkpoints")
    if role == "web" and not settings.dataverse_webhook_secrets:
        problems.append("DATAVERSE_WEBHOOK_SECRETS is required: comma-separated secrets accepted from Dataverse")
    # The web connects Xero organisations (/xero/connect) with the same clients the worker uses.
    connected_role = role in ("web", "worker", "services") and settings.connected
    if role in ("dataverse", "registration") or connected_role:
        problems += dataverse_problems(settings)
    if role == "xero" or connected_role:
        problems += xero_problems(settings)
    return problems


def _values_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The declared variables that are set and not blank (blank means "use the default")."""
    values = {}
    for name in Settings.model_fields:
        raw = environ.get(name.upper(), "").strip()
        if raw:
            values[name] = raw
    return values


def load_settings(environ: Mapping[str, str] | None = None, role: str = "web") -> Settings:
    """Read and validate every setting for a role; raise ConfigError listing all problems at once."""
    values = _values_from(os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_field_problems(exc) + _cross_problems(Settings.model_construct(**values), role)) from None
    problems = _cross_problems(settings, role)
    if problems:
        raise ConfigError(problems)
    return settings


def settings_or_defaults(environ: Mapping[str, str] | None = None) -> Settings:
    """The valid settings, or the declared defaults when some value is invalid: only for what a module needs at
    import (the schedule). Every entry point validates with `settings_or_exit` first, which names the problem."""
    try:
        return load_settings(environ, role="any")
    except ConfigError:
        return Settings.model_construct()


def settings_or_exit(role: str, environ: Mapping[str, str] | None = None) -> Settings:
    """For entry points: the settings, or one line per problem on stderr and exit code 2 (no traceback)."""
    try:
        return load_settings(environ, role=role)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
