"""Seeded hostile webhook bodies: real-shaped Dataverse and Xero bodies with one or two values made hostile.

Shared by the suite's small fuzz (tests/webhooks/test_hostile_input.py) and the full run over real HTTP
(`python -m benchmarks.hostile`). Hostile values are the known classes that once gave 5xx, hung a worker or were
queued: huge numbers, deep nesting, out-of-range dates, lone surrogates, wrong types in every position, ids that
are not GUIDs, invalid UTF-8, truncated and bit-flipped bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
XERO_TENANT = "50bd1a8c-c1ab-5c70-b60f-cff4c56f618a"

# Raw JSON text put in place of a value (some are not expressible as Python values: that is the point).
_RAW_VALUES = [
    "1e999999999",
    "-1e999999999",
    "1e-999999999",
    "9" * 5000,
    "-" + "9" * 4301,
    "1." + "1" * 5000,
    "NaN",
    "Infinity",
    "-0",
    '"/Date(99999999999999999999)/"',
    '"/Date(-99999999999999999999)/"',
    '"/Date(253402300800000)/"',
    '"\\ud800"',
    '"\\udfff tail"',
    '"\\u0000"',
    '["a", "b"]',
    "[1, 2]",
    "[]",
    "{}",
    "null",
    "true",
    "0",
    '""',
    '"../../contacts"',
    '"\\r\\n\\r\\nx-injected: 1"',
    '"' + "x" * 20000 + '"',
    "[" * 600 + "]" * 600,
    '{"a":' * 600 + "1" + "}" * 600,
    '{"__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": [1]}',
    '{"__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": "1e999999999"}',
    '{"__type": "OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": 1e999999999}',
    '{"__type": "Money:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": 1e999999999}',
    '{"__type": "Money:http://schemas.microsoft.com/xrm/2011/Contracts", "Value": "abc"}',
    '{"__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts", "Id": "../../x", '
    '"LogicalName": "invoice"}',
    '{"__type": "EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts", "Id": ["x"], '
    '"LogicalName": "invoice"}',
    '{"__type": "OptionSetValueCollection:http://schemas.microsoft.com/xrm/2011/Contracts", "Values": ["a"]}',
    '{"__type": "EntityCollection:http://schemas.microsoft.com/xrm/2011/Contracts", "Entities": ["a", 1]}',
    '{"__type": "Entity:http://schemas.microsoft.com/xrm/2011/Contracts", "LogicalName": "x", "Attributes": "s"}',
    '{"__type": "DateTime:#System", "__value": "/Date(99999999999999999999)/"}',
    '{"__value": ["x"]}',
]

# Byte-level damage, applied to the finished body.
_INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]


@dataclass(frozen=True)
class HostileBody:
    body: bytes
    description: str


def _fixtures(folder: str) -> list[Any]:
    return [json.loads(path.read_text()) for path in sorted((FIXTURES / folder).glob("*.json"))]


def _paths(document: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, (*prefix, index))


def _set(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


def _mutate(rng: random.Random, template: Any) -> tuple[bytes, str]:
    document = json.loads(json.dumps(template))
    placeholders: dict[str, str] = {}
    described = []
    for _ in range(rng.choice((1, 1, 2))):
        path = rng.choice(list(_paths(document)))
        raw = rng.choice(_RAW_VALUES)
        marker = f"@@hostile{uuid.UUID(int=rng.getrandbits(128)).hex}@@"
        placeholders[marker] = raw
        document = _set(document, path, marker)
        described.append(f"{'/'.join(map(str, path)) or '(root)'} = {raw[:40]}")
    text = json.dumps(document)
    for marker, raw in placeholders.items():
        text = text.replace(f'"{marker}"', raw)
    body = text.encode("utf-8", "surrogatepass")
    damage = rng.random()
    if damage < 0.05:
        cut = rng.randrange(len(body) or 1)
        body, described = body[:cut], [*described, f"truncated at {cut}"]
    elif damage < 0.10:
        at = rng.randrange(len(body) or 1)
        body = body[:at] + rng.choice(_INVALID_UTF8) + body[at:]
        described.append(f"invalid UTF-8 at {at}")
    elif damage < 0.15 and body:
        at = rng.randrange(len(body))
        body = body[:at] + bytes([body[at] ^ (1 << rng.randrange(8))]) + body[at + 1 :]
        described.append(f"bit flipped at {at}")
    return body, "; ".join(described)


def dataverse_bodies(count: int, seed: int) -> Iterator[HostileBody]:
    rng = random.Random(seed)
    templates = _fixtures("dataverse")
    for _ in range(count):
        body, description = _mutate(rng, rng.choice(templates))
        yield HostileBody(body, description)


def xero_bodies(count: int, seed: int) -> Iterator[HostileBody]:
    rng = random.Random(seed)
    templates = [t for t in _fixtures("xero") if isinstance(t, dict) and t.get("events")]
    for _ in range(count):
        template = json.loads(json.dumps(rng.choice(templates)))
        for event in template["events"]:
            event["tenantId"] = XERO_TENANT  # a known tenant, so a valid event would be queued
        body, description = _mutate(rng, template)
        yield HostileBody(body, description)


def xero_signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def is_guid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


_ID_FIELDS = ("organization_id", "invoice_id", "line_id", "connection_id", "tenant_id", "resource_id")


def invalid_job_payloads(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queued job payloads whose ids are not GUIDs: jobs that hostile input should never have produced."""
    return [p for p in payloads if any(k in p and not is_guid(p[k]) for k in _ID_FIELDS if k != "connection_id")]
