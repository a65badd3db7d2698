"""`$batch`: multipart/mixed requests, atomic change sets and `$<Content-ID>` references.

Each inner request runs through the same Flask app (as the same caller), so it behaves exactly like a
direct call; a change set runs inside one store transaction and is rolled back when any of its requests fails.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message

from sandbox.dataverse.errors import bad_request
from sandbox.dataverse.store import Store

MAX_REQUESTS = 1000
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass
class InnerRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class InnerResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class Part:
    request: InnerRequest | None = None
    changeset: list[InnerRequest] = field(default_factory=list)


class ChangeSetFailed(Exception):
    def __init__(self, response: InnerResponse):
        super().__init__(response.status)
        self.response = response


def _parse_http(part: Message) -> InnerRequest:
    raw = part.get_payload(decode=True)
    text = raw if isinstance(raw, bytes) else str(part.get_payload()).encode()
    head, _, body = text.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode("utf-8").strip().split("\n")
    request_line = lines[0].split()
    if len(request_line) < 2:
        raise bad_request("A batch part does not start with an HTTP request line.")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    content_id = part.get("Content-ID") or headers.pop("Content-ID", None)
    # Tolerate unencoded spaces in the URL: everything between the method and the HTTP version.
    url_words = request_line[1:-1] if request_line[-1].startswith("HTTP/") else request_line[1:]
    url = " ".join(url_words).replace(" ", "%20")
    return InnerRequest(request_line[0].upper(), url, headers, body.strip(), content_id)


def parse_batch(content_type: str, body: bytes) -> list[Part]:
    if not content_type.startswith("multipart/mixed") or "boundary=" not in content_type:
        raise bad_request("A $batch request must be multipart/mixed with a boundary.")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts: list[Part] = []
    for sub in message.get_payload() or []:
        if not isinstance(sub, Message):
            continue
        if sub.get_content_type() == "multipart/mixed":
            parts.append(Part(changeset=[_parse_http(p) for p in sub.get_payload() if isinstance(p, Message)]))
        else:
            parts.append(Part(request=_parse_http(sub)))
    if sum(len(p.changeset) or 1 for p in parts) > MAX_REQUESTS:
        raise bad_request(f"The number of requests in a batch cannot exceed {MAX_REQUESTS}.")
    return parts


def _render_response(response: InnerResponse) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if response.content_id:
        lines.append(f"Content-ID: {response.content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}"]
    lines += [f"{k}: {v}" for k, v in response.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + response.body + b"\r\n"


def render_batch(results: list[InnerResponse | list[InnerResponse]]) -> tuple[bytes, str]:
    boundary = f"batchresponse_{uuid.uuid4()}"
    out = b""
    for item in results:
        out += f"--{boundary}\r\n".encode()
        if isinstance(item, list):
            inner = f"changesetresponse_{uuid.uuid4()}"
            out += f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode()
            for response in item:
                out += f"--{inner}\r\n".encode() + _render_response(response)
            out += f"--{inner}--\r\n".encode()
        else:
            out += _render_response(item)
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/mixed; boundary={boundary}"


def _resolve_references(request: InnerRequest, locations: dict[str, str]) -> InnerRequest:
    def swap(text: str) -> str:
        match = re.match(r"^\$(\w+)(.*)$", text)
        if match and match.group(1) in locations:
            return locations[match.group(1)] + match.group(2)
        return text

    url = swap(request.url)
    body = request.body
    if body and locations:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            data = {k: swap(v) if isinstance(v, str) and k.endswith("@odata.bind") else v for k, v in data.items()}
            body = json.dumps(data).encode()
    return InnerRequest(request.method, url, request.headers, body, request.content_id)


def run_batch(
    parts: list[Part], execute: Callable[[InnerRequest], InnerResponse], store: Store, continue_on_error: bool
) -> list[InnerResponse | list[InnerResponse]]:
    results: list[InnerResponse | list[InnerResponse]] = []
    for part in parts:
        if part.request is not None:
            response = execute(part.request)
            results.append(response)
            if response.status >= 400 and not continue_on_error:
                break
            continue
        locations: dict[str, str] = {}
        responses: list[InnerResponse] = []
        try:
            with store.transaction():
                for request in part.changeset:
                    if request.method == "GET":
                        raise ChangeSetFailed(
                            InnerResponse(
                                400,
                                {"Content-Type": "application/json"},
                                json.dumps(bad_request("GET is not allowed inside a change set.").body()).encode(),
                            )
                        )
                    response = execute(_resolve_references(request, locations))
                    response.content_id = request.content_id
                    if response.status >= 400:
                        raise ChangeSetFailed(response)
                    if request.content_id and "OData-EntityId" in response.headers:
                        locations[request.content_id] = response.headers["OData-EntityId"]
                    responses.append(response)
        except ChangeSetFailed as failed:
            results.append(failed.response)
            if not continue_on_error:
                break
            continue
        results.append(responses)
    return results
