"""`$batch` bodies: multipart/mixed requests with one change set, and their multipart answers.

Used through `DataverseClient.batch`. Operations are described with `BatchOperation` (its constructors build
the same paths and headers as the client's own verbs); each operation in a change set gets the Content-ID
of its 1-based position, so a later operation can bind to a row created earlier with `"$1"`:

    BatchOperation.create("accounts", {"name": "Contoso"}),
    BatchOperation.create("contacts", {"lastname": "Connor", "parentcustomerid_account@odata.bind": "$1"}),

A change set is all or nothing. Its answer holds one response per operation, or the single failing response
(Dataverse names it by Content-ID), which `failed_operation` turns back into the operation that failed.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from app.clients.dataverse_errors import DataverseUnavailable, error_for_status
from app.clients.dataverse_json import to_json
from app.clients.dataverse_paths import checked_entity_set, query_options, row_path, split_row_path
from app.clients.dataverse_retry import parse_retry_after
from app.errors import ConnectorError

MAX_BATCH_OPERATIONS = 1000  # Dataverse's limit for one $batch
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
JSON_CONTENT_TYPE = "application/json; type=entry"


@dataclass(frozen=True)
class BatchOperation:
    """One request inside a `$batch`. `path` is relative to the Web API root (or a `$<Content-ID>` reference)."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, entity_set: str, body: Mapping[str, Any]) -> BatchOperation:
        return cls("POST", checked_entity_set(entity_set), body)

    @classmethod
    def update(cls, entity_set: str, row_id: str, body: Mapping[str, Any], etag: str | None = None) -> BatchOperation:
        """Update only: 404 if the row is gone; with `etag`, 412 if it changed since it was read."""
        return cls("PATCH", row_path(entity_set, row_id), body, {"If-Match": etag or "*"})

    @classmethod
    def upsert(cls, entity_set: str, row_id: str, body: Mapping[str, Any]) -> BatchOperation:
        return cls("PATCH", row_path(entity_set, row_id), body)

    @classmethod
    def delete(cls, entity_set: str, row_id: str) -> BatchOperation:
        return cls("DELETE", row_path(entity_set, row_id))

    @classmethod
    def get(cls, entity_set: str, row_id: str, select: str | Sequence[str] | None = None) -> BatchOperation:
        """A read; only allowed in a non-atomic batch (Dataverse refuses GET inside a change set)."""
        options = query_options(select=select)
        query = "?" + "&".join(f"{k}={v}" for k, v in options.items()) if options else ""
        return cls("GET", row_path(entity_set, row_id) + query)

    def describe(self) -> str:
        """`PATCH invoices(<id>)`: the method and path without a query, for messages and logs."""
        return f"{self.method} {self.path.split('?', 1)[0]}"


@dataclass(frozen=True)
class BatchResult:
    """The answer to one operation. `error` is set only by a non-atomic batch (an atomic one raises instead)."""

    operation: BatchOperation
    status: int
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    error: ConnectorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    @property
    def entity_id(self) -> str | None:
        """The id of the row the operation created or changed, from `OData-EntityId` or the returned row."""
        found = _ENTITY_ID.search(_header(self.headers, "OData-EntityId") or "")
        return found.group(1).lower() if found else None


@dataclass(frozen=True)
class InnerResponse:
    """One HTTP response unpacked from a multipart answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    content_id: str | None = None

    def json(self) -> dict[str, Any] | None:
        if not self.body.strip():
            return None
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def build_batch(operations: Sequence[BatchOperation], api_url: str, atomic: bool) -> tuple[bytes, str]:
    """The multipart body and its Content-Type. Atomic: every operation in one change set."""
    batch_boundary = f"batch_{uuid.uuid4()}"
    chunks: list[bytes] = []
    if atomic:
        changeset_boundary = f"changeset_{uuid.uuid4()}"
        chunks.append(
            f"--{batch_boundary}\r\nContent-Type: multipart/mixed; boundary={changeset_boundary}\r\n\r\n".encode()
        )
        for position, operation in enumerate(operations, start=1):
            chunks.append(f"--{changeset_boundary}\r\n".encode())
            chunks.append(_http_part(operation, api_url, content_id=str(position)))
        chunks.append(f"--{changeset_boundary}--\r\n".encode())
    else:
        for operation in operations:
            chunks.append(f"--{batch_boundary}\r\n".encode())
            chunks.append(_http_part(operation, api_url, content_id=None))
    chunks.append(f"--{batch_boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={batch_boundary}"


def _http_part(operation: BatchOperation, api_url: str, content_id: str | None) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        head.append(f"Content-ID: {content_id}")
    target = operation.path if operation.path.startswith("$") else api_url + operation.path
    lines = [*head, "", f"{operation.method} {target} HTTP/1.1"]
    headers = dict(operation.headers)
    if operation.body is not None:
        headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
    else:
        headers.setdefault("Accept", "application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    body = to_json(operation.body) if operation.body is not None else b""
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body + b"\r\n"


def parse_batch_response(content_type: str, body: bytes) -> list[InnerResponse]:
    """Every HTTP response in the answer, change sets flattened, in the order Dataverse gave them."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("the $batch answer is not multipart")
    responses: list[InnerResponse] = []
    _collect(message, responses)
    return responses


def _collect(message: Message, into: list[InnerResponse]) -> None:
    for part in message.get_payload() or []:
        if not isinstance(part, Message):
            continue
        if part.is_multipart():
            _collect(part, into)
        else:
            into.append(_parse_http_response(part))


def _parse_http_response(part: Message) -> InnerResponse:
    raw = part.get_payload(decode=True)
    data = raw if isinstance(raw, bytes) else str(part.get_payload()).encode()
    separator = b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n"
    head, _, body = data.partition(separator)
    lines = head.decode("utf-8", "replace").replace("\r\n", "\n").strip().split("\n")
    status_words = lines[0].split()
    if len(status_words) < 2 or not status_words[0].startswith("HTTP/") or not status_words[1].isdigit():
        raise ValueError("a $batch answer part does not start with an HTTP status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
    content_id = part.get("Content-ID") or headers.get("Content-ID")
    return InnerResponse(int(status_words[1]), headers, body.strip(), content_id.strip() if content_id else None)


def failed_operation(response: InnerResponse, operations: Sequence[BatchOperation]) -> tuple[int | None, str]:
    """(0-based index or None, description) of the operation a change set's failing response belongs to."""
    index: int | None = None
    if response.content_id and response.content_id.isdigit() and 1 <= int(response.content_id) <= len(operations):
        index = int(response.content_id) - 1
    elif len(operations) == 1:
        index = 0
    if index is None:
        return None, f"one of the {len(operations)} operations of the change set"
    return index, f"operation {index + 1} of {len(operations)} ({operations[index].describe()})"


# ---- results -----------------------------------------------------------------------------------------


def change_set_results(ops: list[BatchOperation], inner: list[InnerResponse]) -> list[BatchResult]:
    """Results of an atomic batch in the operations' order; raises the failing operation's error instead."""
    failures = [response for response in inner if response.status >= 400]
    if failures:
        failing = failures[0]
        index, description = failed_operation(failing, ops)
        entity_set, row_id = split_row_path(ops[index].path) if index is not None else (None, None)
        method = ops[index].method if index is not None else "POST"
        error = error_for_status(
            failing.status,
            failing.body,
            method=method,
            path="$batch",
            operation=description,
            retry_after=parse_retry_after(failing.headers.get("Retry-After")),
            entity_set=entity_set,
            row_id=row_id,
        )
        raise _in_change_set(error)
    by_id = {response.content_id: response for response in inner if response.content_id}
    results = []
    for position, op in enumerate(ops, start=1):
        response = by_id.get(str(position)) or (inner[position - 1] if len(inner) == len(ops) else None)
        if response is None:
            raise DataverseUnavailable(
                f"Dataverse's $batch answer has no response for {op.describe()}", outcome_unknown=True
            )
        results.append(BatchResult(op, response.status, response.headers, response.json()))
    return results


def _in_change_set(error: ConnectorError) -> ConnectorError:
    """A change set failed as a whole: say so, so nobody looks for half-applied changes."""
    error.args = (f"{error.args[0]}; nothing in the change set was applied",)
    return error


def independent_results(ops: list[BatchOperation], inner: list[InnerResponse]) -> list[BatchResult]:
    """Results of a non-atomic batch, paired by position; each failure becomes that result's `error`."""
    results = []
    for position, op in enumerate(ops):
        if position >= len(inner):
            missing = DataverseUnavailable(
                f"Dataverse did not run {op.describe()} in the $batch",
                operation=f"operation {position + 1} of {len(ops)}",
            )
            results.append(BatchResult(op, 0, {}, None, missing))
            continue
        response = inner[position]
        error: ConnectorError | None = None
        if response.status >= 400:
            entity_set, row_id = split_row_path(op.path)
            error = error_for_status(
                response.status,
                response.body,
                method=op.method,
                path="$batch",
                operation=f"operation {position + 1} of {len(ops)} ({op.describe()})",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                entity_set=entity_set,
                row_id=row_id,
            )
        results.append(BatchResult(op, response.status, response.headers, response.json(), error))
    return results


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
