"""Shared HTTP plumbing: JSON answers in Xero's encoding, the request gate, idempotent writes, dropping."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request

from sandbox.xero.errors import problem, validation_error_body
from sandbox.xero.idempotency import MAX_KEY_LENGTH, StoredResponse, fingerprint
from sandbox.xero.identity import scope_covers
from sandbox.xero.state import SandboxState
from sandbox.xero.xjson import dumps

JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 3_500_000  # Xero refuses larger POST/PUT bodies
# endpoint name -> resource family whose scopes cover it (see identity.scope_covers)
ENDPOINT_FAMILIES: dict[str, str] = {}


def sandbox_state() -> SandboxState:
    return current_app.extensions["xero_sandbox"]  # type: ignore[no-any-return]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status=status, headers=headers or {}, content_type=JSON_TYPE)


def validation_response(messages: list[str], element: dict[str, Any] | None = None) -> Response:
    elements = [{**(element or {}), "ValidationErrors": [{"Message": m} for m in messages]}]
    return json_response(validation_error_body(elements), 400)


def post_data_invalid(message: str) -> Response:
    return json_response({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}, 400)


def rate_limited(problem_name: str, retry_after: int, headers: dict[str, str]) -> Response:
    return Response(
        "", status=429, headers={**headers, "Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem_name}
    )


def accounting_gate() -> Response | None:
    """Authenticate, check tenant and scope, apply limits and injected faults, in Xero's order."""
    st = sandbox_state()
    g.limit_acquired = False
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    with st.lock:
        grant, reason = st.identity.grant_for_access_token(token) if token else (None, "AuthenticationUnsuccessful")
        if grant is None:
            return json_response(
                problem(401, "Unauthorized", reason), 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        tenant_id = request.headers.get("xero-tenant-id", "").strip().lower()
        if tenant_id not in {t.lower() for t in grant.connections.values()} or tenant_id not in st.tenants:
            return json_response(problem(403, "Forbidden", "AuthenticationUnsuccessful"), 403)
        family = ENDPOINT_FAMILIES.get(request.endpoint or "", "settings")
        if not scope_covers(set(grant.scopes), family, request.method != "GET"):
            return json_response(problem(401, "Unauthorized", "AuthorizationUnsuccessful"), 401)
    g.tenant_id = tenant_id
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return json_response(problem(413, "Request Entity Too Large", "The request body exceeds 3.5 MB"), 413)
    if st.faults.take_rate_limit():
        return rate_limited("minute", 1, st.limiter.headers_for(tenant_id))
    path = request.path.split("/api.xro/2.0/", 1)[-1].split("/", 1)[0]
    decision = st.limiter.acquire(tenant_id, f"{request.method} {path}")
    if not decision.allowed:
        return rate_limited(decision.problem, decision.retry_after, decision.headers)
    g.limit_acquired = True
    latency = st.faults.snapshot()["latency_ms"]
    if latency:
        time.sleep(latency / 1000)
    status = st.faults.take_error()
    if status is not None:
        title = "Service Unavailable" if status == 503 else "Internal Server Error"
        return json_response(problem(status, title, "Injected fault"), status)
    return None


def add_limit_headers(response: Response) -> Response:
    tenant_id = g.get("tenant_id")
    if tenant_id and "X-MinLimit-Remaining" not in response.headers:
        response.headers.update(sandbox_state().limiter.headers_for(tenant_id))
    return response


def release_limit(_exc: BaseException | None) -> None:
    if g.get("limit_acquired"):
        sandbox_state().limiter.release(g.tenant_id)
        g.limit_acquired = False


def _drop_connection() -> None:
    """Close the client's socket so the caller sees a dropped connection though the write committed."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def idempotent_write(view: Callable[..., Response]) -> Callable[..., Response]:
    """Replay the first answer for a repeated Idempotency-Key; refuse the key for a different request."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        st = sandbox_state()
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
            return validation_response([f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"])
        print_ = fingerprint(request.method, request.path, request.query_string.decode(), request.get_data())
        with st.lock:
            if key:
                seen = st.idempotency.lookup(g.tenant_id, key, print_)
                if seen is False:
                    return validation_response(["The Idempotency-Key has already been used with a different request"])
                if isinstance(seen, StoredResponse):
                    return Response(seen.body, status=seen.status, headers=seen.headers, content_type=JSON_TYPE)
            response = view(*args, **kwargs)
            if key and response.status_code < 500:
                st.idempotency.remember(
                    g.tenant_id,
                    key,
                    StoredResponse(print_, response.status_code, response.get_data(), {}, st.clock.now()),
                )
        if st.faults.take_drop():
            _drop_connection()
        return response

    return wrapper
