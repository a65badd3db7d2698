"""The connector's Dataverse (Dynamics 365) Web API client.

    client = dataverse_client_from_env(os.environ)
    invoice = client.get("invoices", invoice_id, select=["name", "totalamount"], expand="invoice_details")
    client.update("invoices", invoice_id, {"description": "..."}, etag=invoice["@odata.etag"])
    # custom names always come from app.dynamics_schema
    client.batch([BatchOperation.update("invoices", invoice_id, {schema.INVOICE_XERO_NUMBER: "INV-0042"}),
                  BatchOperation.create(schema.SYNC_HISTORY_ENTITY_SET, history_row)])

Public interface:
- `DataverseClient(base_url, token_source, session=None, timeout=(10, 60), retry=RetryPolicy())`:
  `whoami()`, `get()`, `get_optional()`, `query()`/`iter_query()` (following `@odata.nextLink`), `create()`,
  `update()` (If-Match: * or an ETag), `upsert()`, `delete()`, `batch()` (one atomic change set, or independent
  requests) and `request()` for anything else (actions, metadata).
- `dataverse_client_from_settings(settings, token_cache=None)` (or `dataverse_client_from_env(environ)`):
  `DATAVERSE_URL` plus either `DATAVERSE_TOKEN`
  (sandbox) or `DATAVERSE_TENANT_ID`, `DATAVERSE_CLIENT_ID`, `DATAVERSE_CLIENT_SECRET` (MSAL client
  credentials); optional `DATAVERSE_RETRY_BUDGET_SECONDS` (default 20). `token_cache` shares msal's tokens
  between worker processes (`RedisTokenCache` in app/clients/dataverse_token_cache.py).
- Errors (app/clients/dataverse_errors.py), all from the taxonomy in app/errors.py: `DataverseUnavailable`
  (Retryable: 429/5xx/connection after the retry budget, with `retry_after`), `Conflict` (Retryable: 412),
  `RowNotFound` (Permanent: 404), `AccessDenied` (Permanent: 401, 403 naming the privilege),
  `DataverseRejected` (Permanent: 400 with Dataverse's message), `SignInFailed` and `DataverseNotConfigured`
  (Permanent).

Retries (app/clients/dataverse_retry.py) happen inside one call and never wait longer in total than the
policy's budget; past it the job is rescheduled instead of holding a worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Literal, overload
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from app.clients.dataverse_auth import MsalTokenSource, StaticTokenSource, TokenCacheStore, TokenSource
from app.clients.dataverse_batch import (
    MAX_BATCH_OPERATIONS,
    BatchOperation,
    BatchResult,
    change_set_results,
    independent_results,
    parse_batch_response,
)
from app.clients.dataverse_batch import build_batch as _build_batch
from app.clients.dataverse_errors import (
    AccessDenied,
    Conflict,
    DataverseNotConfigured,
    DataverseRejected,
    DataverseUnavailable,
    RowNotFound,
    SignInFailed,
    connection_problem,
    error_for_status,
)
from app.clients.dataverse_json import to_json
from app.clients.dataverse_limits import DataverseLimiter
from app.clients.dataverse_paths import checked_entity_set, odata_literal, query_options, row_path, split_row_path
from app.clients.dataverse_retry import (
    RETRY_ON_ANY_METHOD,
    RETRY_WHEN_IDEMPOTENT,
    RetryBudget,
    RetryPolicy,
    parse_retry_after,
)
from app.config import ConfigError, Settings, dataverse_problems, load_settings
from app.config import normalise_org_url as config_org_url
from app.errors import Permanent

__all__ = [
    "AccessDenied",
    "BatchOperation",
    "BatchResult",
    "Conflict",
    "DataverseClient",
    "DataverseNotConfigured",
    "DataverseRejected",
    "DataverseUnavailable",
    "MsalTokenSource",
    "RetryPolicy",
    "RowNotFound",
    "SignInFailed",
    "StaticTokenSource",
    "TokenCacheStore",
    "TokenSource",
    "WhoAmI",
    "dataverse_client_from_env",
    "dataverse_client_from_settings",
    "normalise_org_url",
    "odata_literal",
]

log = logging.getLogger(__name__)

API_PATH = "/api/data/v9.2/"
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
JSON_BODY = "application/json; charset=utf-8"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class WhoAmI:
    """The caller as Dataverse sees it; `user_id` recognises the connector's own writes in webhooks."""

    user_id: str
    business_unit_id: str
    organization_id: str


class DataverseClient:
    """Calls one organisation's Web API v9.2 with a fresh bearer token per request.

    `base_url` is the organisation's address (`https://org.crm.dynamics.com`) or its Web API root. The
    session is the caller's when given (and then not closed by `close()`); `sleep` is injectable so tests can
    watch the waits.
    """

    def __init__(
        self,
        base_url: str,
        token_source: TokenSource | Callable[[], str],
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: DataverseLimiter | None = None,
    ) -> None:
        self.org_url = normalise_org_url(base_url)
        self.limiter = limiter  # service protection shared by every worker (None: this process alone)
        self.api_url = self.org_url + API_PATH
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._token_source = token_source
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._sleep = sleep
        origin = urlsplit(self.org_url)
        self._origin = (origin.scheme, origin.netloc.lower())

    def __repr__(self) -> str:
        return f"DataverseClient({self.org_url!r})"

    @property
    def token_source(self) -> TokenSource | Callable[[], str]:
        return self._token_source

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> DataverseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reads ---------------------------------------------------------------------------------------------

    def whoami(self) -> WhoAmI:
        body = self.request("GET", "WhoAmI").json()
        return WhoAmI(str(body["UserId"]), str(body["BusinessUnitId"]), str(body["OrganizationId"]))

    def get(
        self,
        entity_set: str,
        row_id: str,
        *,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        formatted_values: bool = False,
    ) -> dict[str, Any]:
        """One row; `RowNotFound` if it does not exist. `formatted_values` adds Dataverse's annotations."""
        response = self.request(
            "GET",
            row_path(entity_set, row_id),
            params=query_options(select=select, expand=expand),
            headers=_prefer(annotations=formatted_values),
        )
        return dict(response.json())

    def get_optional(
        self,
        entity_set: str,
        row_id: str,
        *,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        formatted_values: bool = False,
    ) -> dict[str, Any] | None:
        """Like `get`, but None when the row does not exist."""
        try:
            return self.get(entity_set, row_id, select=select, expand=expand, formatted_values=formatted_values)
        except RowNotFound:
            return None

    def iter_query(
        self,
        entity_set: str,
        *,
        filter: str | None = None,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        orderby: str | Sequence[str] | None = None,
        top: int | None = None,
        page_size: int | None = None,
        formatted_values: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Rows of a collection, page by page, following `@odata.nextLink` (each page is its own call)."""
        headers = _prefer(annotations=formatted_values, page_size=page_size)
        params = query_options(select=select, expand=expand, filter=filter, orderby=orderby, top=top)
        page = self.request("GET", checked_entity_set(entity_set), params=params, headers=headers).json()
        while True:
            yield from page.get("value", [])
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.request("GET", next_link, headers=headers).json()

    def query(
        self,
        entity_set: str,
        *,
        filter: str | None = None,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        orderby: str | Sequence[str] | None = None,
        top: int | None = None,
        page_size: int | None = None,
        formatted_values: bool = False,
    ) -> list[dict[str, Any]]:
        """Every row matching, across all pages. Build string literals in `filter` with `odata_literal`."""
        return list(
            self.iter_query(
                entity_set,
                filter=filter,
                select=select,
                expand=expand,
                orderby=orderby,
                top=top,
                page_size=page_size,
                formatted_values=formatted_values,
            )
        )

    # ---- writes --------------------------------------------------------------------------------------------

    @overload
    def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        return_representation: Literal[False] = False,
        *,
        select: str | Sequence[str] | None = None,
    ) -> str: ...

    @overload
    def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        return_representation: Literal[True],
        *,
        select: str | Sequence[str] | None = None,
    ) -> dict[str, Any]: ...

    def create(
        self,
        entity_set: str,
        body: Mapping[str, Any],
        return_representation: bool = False,
        *,
        select: str | Sequence[str] | None = None,
    ) -> str | dict[str, Any]:
        """Creates a row; returns its id, or the created row (its `select`ed columns) when asked.

        Not retried after a gateway error or a lost connection (the row may exist already): that raises
        `DataverseUnavailable(outcome_unknown=True)`. A 429 is retried, since Dataverse ran nothing.
        """
        headers = {"Prefer": "return=representation"} if return_representation else {}
        params = query_options(select=select) if return_representation else None
        response = self.request("POST", checked_entity_set(entity_set), json_body=body, headers=headers, params=params)
        if return_representation:
            return dict(response.json())
        found = split_row_path(urlsplit(response.headers.get("OData-EntityId", "")).path.rsplit("/", 1)[-1])
        if found[1] is None:
            raise DataverseUnavailable(
                f"Dataverse created a row in {entity_set} without saying its id", outcome_unknown=True
            )
        return found[1]

    def update(self, entity_set: str, row_id: str, body: Mapping[str, Any], *, etag: str | None = None) -> None:
        """Updates an existing row only: `RowNotFound` if it is gone; with `etag`, `Conflict` if it changed."""
        self.request("PATCH", row_path(entity_set, row_id), json_body=body, headers={"If-Match": etag or "*"})

    def upsert(self, entity_set: str, row_id: str, body: Mapping[str, Any]) -> None:
        """Updates the row, or creates it with this id when it does not exist."""
        self.request("PATCH", row_path(entity_set, row_id), json_body=body)

    def delete(self, entity_set: str, row_id: str, *, missing_ok: bool = False) -> bool:
        """Deletes the row; True if this call deleted it. With `missing_ok`, a row already gone returns False
        (a retried delete whose first answer was lost ends that way)."""
        try:
            self.request("DELETE", row_path(entity_set, row_id))
        except RowNotFound:
            if missing_ok:
                return False
            raise
        return True

    def batch(self, operations: Iterable[BatchOperation], *, atomic: bool = True) -> list[BatchResult]:
        """Runs the operations in one `$batch`; results come back in the operations' order.

        atomic=True: one change set, all or nothing; a failing operation raises its taxonomy error with the
        operation named in the message and in `error.operation`. atomic=False: independent requests, all run
        (`odata.continue-on-error`), each result carries its own `error`; more than 1,000 are split.
        """
        ops = list(operations)
        if not ops:
            return []
        if atomic:
            if len(ops) > MAX_BATCH_OPERATIONS:
                raise Permanent(f"A change set holds at most {MAX_BATCH_OPERATIONS} operations ({len(ops)} given)")
            if any(op.method == "GET" for op in ops):
                raise Permanent("Dataverse does not allow reads inside a change set; use atomic=False")
            return self._send_batch(ops, atomic=True)
        results: list[BatchResult] = []
        for start in range(0, len(ops), MAX_BATCH_OPERATIONS):
            results += self._send_batch(ops[start : start + MAX_BATCH_OPERATIONS], atomic=False)
        return results

    def _send_batch(self, ops: list[BatchOperation], *, atomic: bool) -> list[BatchResult]:
        body, content_type = _build_batch(ops, self.api_url, atomic)
        headers = {"Content-Type": content_type}
        if not atomic:
            headers["Prefer"] = "odata.continue-on-error"
        # Safe to repeat after a lost answer only when no operation creates a row.
        idempotent = all(op.method in IDEMPOTENT_METHODS for op in ops)
        response = self.request("POST", "$batch", data=body, headers=headers, idempotent=idempotent)
        try:
            inner = parse_batch_response(response.headers.get("Content-Type", ""), response.content)
        except ValueError as exc:
            raise DataverseUnavailable(
                f"Dataverse's answer to a $batch of {len(ops)} could not be read ({exc})", outcome_unknown=True
            ) from None
        return change_set_results(ops, inner) if atomic else independent_results(ops, inner)

    # ---- plumbing ------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """One Web API call with retries; `path` is relative to the API root or a link Dataverse gave us.

        Raises a taxonomy error for any answer of 400 or more. `idempotent` defaults to "not a POST".
        """
        method = method.upper()
        url = self._url(path)
        shown = (
            path.split("?", 1)[0]
            if not path.startswith(("http://", "https://"))
            else urlsplit(path).path.removeprefix(API_PATH)
        )
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        payload = data
        all_headers = {**ODATA_HEADERS, **(headers or {})}
        if json_body is not None:
            payload = to_json(json_body)
            all_headers["Content-Type"] = JSON_BODY
        budget = RetryBudget(self.retry, self._sleep)
        while True:
            budget.begin_attempt()
            all_headers["Authorization"] = f"Bearer {self._token_source()}"
            try:
                with self.limiter.slot() if self.limiter is not None else nullcontext():
                    response = self._session.request(
                        method, url, params=params, data=payload, headers=all_headers, timeout=self.timeout
                    )
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                reason = connection_problem(exc)
                if not (idempotent or _never_sent(exc)):
                    raise DataverseUnavailable(
                        f"{method} {shown} to Dataverse at {self.org_url} failed ({reason}); "
                        "whether it was applied is unknown",
                        outcome_unknown=True,
                    ) from None
                wait = budget.next_wait(None)
                if wait is None:
                    raise DataverseUnavailable(
                        f"Cannot reach Dataverse at {self.org_url} for {method} {shown} ({reason}) after "
                        f"{budget.attempts} attempts",
                        retry_after=budget.suggested_retry_after(None),
                    ) from None
                log.warning("Dataverse %s %s failed (%s); retrying in %.1f s", method, shown, reason, wait)
                budget.pause(wait)
                continue
            except requests.exceptions.RequestException as exc:
                raise DataverseNotConfigured(
                    f"Cannot call Dataverse at {self.org_url} ({type(exc).__name__}); check DATAVERSE_URL"
                ) from None
            status = response.status_code
            if status < 400:
                return response
            server_wait = parse_retry_after(response.headers.get("Retry-After"))
            if status == 429 and self.limiter is not None:
                self.limiter.pause(server_wait if server_wait is not None else self.retry.backoff(budget.attempts))
            if status in RETRY_ON_ANY_METHOD or (idempotent and status in RETRY_WHEN_IDEMPOTENT):
                wait = budget.next_wait(server_wait)
                if wait is not None:
                    log.warning("Dataverse answered %s to %s %s; retrying in %.1f s", status, method, shown, wait)
                    budget.pause(wait)
                    continue
            entity_set, row_id = split_row_path(shown)
            error = error_for_status(
                status,
                response.content,
                method=method,
                path=shown,
                retry_after=budget.suggested_retry_after(server_wait),
                entity_set=entity_set,
                row_id=row_id,
            )
            if isinstance(error, DataverseUnavailable) and not idempotent and status not in RETRY_ON_ANY_METHOD:
                error.outcome_unknown = True
            raise error

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            # The bearer token goes only to the organisation we were configured for.
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise Permanent(f"Refusing to follow a Dataverse link to another host ({parts.netloc})")
            return path
        return self.api_url + path.lstrip("/")


# ---- configuration -----------------------------------------------------------------------------------------


def normalise_org_url(raw: str) -> str:
    """`https://org.crm.dynamics.com/` or `.../api/data/v9.2/` -> `https://org.crm.dynamics.com`."""
    try:
        url = config_org_url(raw)
    except ValueError as exc:
        raise DataverseNotConfigured(f"DATAVERSE_URL {exc} (got {raw!r})") from None
    if not url:
        raise DataverseNotConfigured("DATAVERSE_URL is required: the organisation's address")
    return url


def dataverse_client_from_settings(
    settings: Settings,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    token_cache: TokenCacheStore | None = None,
) -> DataverseClient:
    """A client for validated settings: a static token when `DATAVERSE_TOKEN` is set, else MSAL.

    `token_cache` (for MSAL only) shares tokens between processes, e.g. `RedisTokenCache`.
    """
    problems = dataverse_problems(settings)
    if problems:
        raise DataverseNotConfigured("\n".join(problems))
    retry = RetryPolicy(budget_seconds=settings.dataverse_retry_budget_seconds)
    org_url = settings.dataverse_url
    if settings.dataverse_token:
        return DataverseClient(org_url, StaticTokenSource(settings.dataverse_token), session, retry=retry, sleep=sleep)
    source = MsalTokenSource(
        org_url,
        settings.dataverse_tenant_id,
        settings.dataverse_client_id,
        settings.dataverse_client_secret,
        shared_cache=token_cache,
    )
    return DataverseClient(org_url, source, session, retry=retry, sleep=sleep)


def dataverse_client_from_env(
    environ: Mapping[str, str],
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    token_cache: TokenCacheStore | None = None,
) -> DataverseClient:
    """`dataverse_client_from_settings` for an environment (scripts, tests); its problems, one per line, as
    DataverseNotConfigured."""
    try:
        settings = load_settings(environ, role="dataverse")
    except ConfigError as exc:
        raise DataverseNotConfigured("\n".join(exc.problems)) from None
    return dataverse_client_from_settings(settings, session=session, sleep=sleep, token_cache=token_cache)


# ---- helpers -----------------------------------------------------------------------------------------------


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection was never established, so Dataverse cannot have run the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _prefer(*, annotations: bool = False, page_size: int | None = None) -> dict[str, str]:
    preferences = []
    if annotations:
        preferences.append('odata.include-annotations="*"')
    if page_size is not None:
        preferences.append(f"odata.maxpagesize={int(page_size)}")
    return {"Prefer": ",".join(preferences)} if preferences else {}
