"""What the connector registers in Dynamics: one webhook endpoint and the steps and images that feed it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import parse_qs, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from app.dynamics_schema import (
    CONNECTION_ENTITY,
    CONNECTION_FILTERING_COLUMNS,
    INVOICE_DELETE_IMAGE_COLUMNS,
    INVOICE_FILTERING_COLUMNS,
    INVOICE_LINE_FILTERING_COLUMNS,
    INVOICE_LINE_IMAGE_COLUMNS,
    INVOICE_UPDATE_IMAGE_COLUMNS,
    POST_IMAGE_ALIAS,
    PRE_IMAGE_ALIAS,
)
from plugins_registration.errors import UsageError

ENDPOINT_NAME = "Xero connector webhook"
STEP_NAME_PREFIX = "Xero connector"
DEFAULT_HEADER_NAME = "x-connector-key"
WEBHOOK_CONTRACT = 8
STAGE_POST_OPERATION = 40
MODE_ASYNC = 1
RANK = 1
DEPLOYMENT_SERVER = 0
# Stored in the endpoint's description: authvalue cannot be read back, so this is how a re-run notices
# that the auth mode or header name changed.
AUTH_MARKER = "auth:"


class AuthType(IntEnum):
    WEBHOOK_KEY = 4
    HTTP_HEADER = 5


class ImageType(IntEnum):
    PRE = 0
    POST = 1


@dataclass(frozen=True)
class EndpointSpec:
    url: str
    auth: AuthType
    header_name: str = DEFAULT_HEADER_NAME

    @property
    def auth_label(self) -> str:
        return "webhookkey" if self.auth is AuthType.WEBHOOK_KEY else f"header {self.header_name}"

    @property
    def description(self) -> str:
        return f"Dynamics to Xero connector: invoice, line and connection events ({AUTH_MARKER} {self.auth_label})"

    def authvalue(self, secret: str) -> str:
        """The write-only authvalue: the bare key, or the settings XML naming the header."""
        if self.auth is AuthType.WEBHOOK_KEY:
            return secret
        return f'<settings><setting name="{_attribute(self.header_name)}" value="{_attribute(secret)}" /></settings>'


def _attribute(text: str) -> str:
    """Escaped for a double-quoted XML attribute."""
    return escape(text, {'"': "&quot;"})


def auth_label_in(description: str | None) -> str | None:
    """The auth mode recorded in an endpoint's description, or None when it carries none."""
    if not description or AUTH_MARKER not in description:
        return None
    return description.split(AUTH_MARKER, 1)[1].rstrip(")").strip()


def header_name_in(description: str | None) -> str | None:
    found = auth_label_in(description)
    return found.removeprefix("header ").strip() if found and found.startswith("header ") else None


@dataclass(frozen=True)
class ImageSpec:
    alias: str
    image_type: ImageType
    message_property: str  # "Target" for Update and Delete, "Id" for a Create post-image
    attributes: tuple[str, ...]

    def name(self, step_name: str) -> str:
        return f"{step_name}: {self.alias}"


@dataclass(frozen=True)
class StepSpec:
    table: str
    message: str
    filtering_attributes: tuple[str, ...] = ()
    images: tuple[ImageSpec, ...] = ()

    @property
    def name(self) -> str:
        return f"{STEP_NAME_PREFIX}: {self.message} of {self.table}"

    @property
    def filtering(self) -> str | None:
        return ",".join(self.filtering_attributes) if self.filtering_attributes else None


def _image(alias: str, kind: ImageType, message: str, attributes: tuple[str, ...]) -> ImageSpec:
    return ImageSpec(alias, kind, "Id" if message == "Create" else "Target", attributes)


def desired_steps() -> tuple[StepSpec, ...]:
    line_post = _image(POST_IMAGE_ALIAS, ImageType.POST, "Update", INVOICE_LINE_IMAGE_COLUMNS)
    return (
        StepSpec("invoice", "Create"),
        StepSpec(
            "invoice",
            "Update",
            INVOICE_FILTERING_COLUMNS,
            (
                _image(PRE_IMAGE_ALIAS, ImageType.PRE, "Update", INVOICE_UPDATE_IMAGE_COLUMNS),
                _image(POST_IMAGE_ALIAS, ImageType.POST, "Update", INVOICE_UPDATE_IMAGE_COLUMNS),
            ),
        ),
        StepSpec(
            "invoice",
            "Delete",
            images=(_image(PRE_IMAGE_ALIAS, ImageType.PRE, "Delete", INVOICE_DELETE_IMAGE_COLUMNS),),
        ),
        StepSpec(
            "invoicedetail",
            "Create",
            images=(_image(POST_IMAGE_ALIAS, ImageType.POST, "Create", INVOICE_LINE_IMAGE_COLUMNS),),
        ),
        StepSpec("invoicedetail", "Update", INVOICE_LINE_FILTERING_COLUMNS, (line_post,)),
        StepSpec(
            "invoicedetail",
            "Delete",
            images=(_image(PRE_IMAGE_ALIAS, ImageType.PRE, "Delete", INVOICE_LINE_IMAGE_COLUMNS),),
        ),
        StepSpec(CONNECTION_ENTITY, "Create"),
        StepSpec(CONNECTION_ENTITY, "Update", CONNECTION_FILTERING_COLUMNS),
    )


LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str) -> str:
    """Dataverse accepts only ports 80 and 443 (loopback is allowed any port, for local stand-ins)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError("--url must be an http(s) address, like https://connector.example.com/webhooks/dataverse")
    if parts.username or parts.password:
        raise UsageError("--url must not carry credentials; the secret comes from --secret-env")
    if "code" in parse_qs(parts.query):
        raise UsageError("--url must not carry ?code=; with --auth webhookkey Dataverse appends the key itself")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port not in (80, 443) and not is_loopback(parts.hostname):
        raise UsageError(f"Dataverse only calls webhooks on ports 80 and 443 (got {port})")
    return url.strip()


def safe_url(url: str) -> str:
    """The URL without query or credentials: a webhook key may have been put there by hand."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
