"""Fires webhooks for committed changes, as the asynchronous service does for registered steps.

On commit (under the store lock) each change is matched against enabled asynchronous steps; each match becomes
a system job (`asyncoperations` row) and a queued delivery. Synchronous steps are called before the commit,
inside the transaction, and a failure rolls the caller's operation back (so a synchronous receiver must not
call this sandbox back while it handles the call). One background thread sends them in order: 60 s timeout,
one more attempt only after 502/503/504, then the system job is Succeeded (30) or Failed (31). A successful
job of a step with `asyncautodelete` is removed, as Dataverse does.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from sandbox.dataverse.context import ContextBuilder, build_context, render
from sandbox.dataverse.errors import DataverseError
from sandbox.dataverse.registration import (
    HTTP_HEADER,
    HTTP_QUERY_STRING,
    WEBHOOK_CONTRACT,
    WEBHOOK_KEY,
    parse_auth_settings,
)
from sandbox.dataverse.seed import BUSINESS_UNIT_ID, ORGANIZATION_ID
from sandbox.dataverse.settings import DataverseSandboxSettings
from sandbox.dataverse.store import ChangeEvent, Row
from sandbox.dataverse.values import Ref, utcnow

if TYPE_CHECKING:
    from sandbox.dataverse.queries import Reader
    from sandbox.dataverse.records import Records

RETRYABLE = frozenset({502, 503, 504})
SYNC, ASYNC = 0, 1
PLUGIN_FAILED = "0x80040265"
SYSTEM_EVENT = 1
READY, LOCKED, COMPLETED = 0, 2, 3
WAITING_FOR_RESOURCES, IN_PROGRESS, SUCCEEDED, FAILED = 0, 20, 30, 31


@dataclass
class Delivery:
    asyncoperation_id: str
    step_id: str
    step_name: str
    message: str
    entity: str
    record_id: str
    url: str
    authtype: int
    authvalue: str
    body: bytes
    headers: dict[str, str]
    trimmed: bool
    auto_delete: bool
    status: str = "pending"
    attempts: list[Any] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        return {
            "asyncoperationid": self.asyncoperation_id,
            "stepid": self.step_id,
            "stepname": self.step_name,
            "message": self.message,
            "entity": self.entity,
            "recordid": self.record_id,
            "url": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "status": self.status,
            "attempts": list(self.attempts),
            "error": self.error,
            "size": len(self.body),
            "trimmed": self.trimmed,
        }


def authenticated(url: str, authtype: int, authvalue: str) -> tuple[str, dict[str, str]]:
    """The URL and extra headers for the endpoint's authentication type."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    headers: dict[str, str] = {}
    if authtype == WEBHOOK_KEY:
        query.append(("code", authvalue))
    elif authtype == HTTP_HEADER:
        headers.update(parse_auth_settings(authvalue))
    elif authtype == HTTP_QUERY_STRING:
        query.extend(parse_auth_settings(authvalue))
    return urlunsplit(parts._replace(query=urlencode(query))), headers


class WebhookDispatcher:
    def __init__(self, records: Records, reader: Reader, settings: DataverseSandboxSettings):
        self.records = records
        self.reader = reader
        self.settings = settings
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._session = requests.Session()
        # Test control: the share of asynchronous deliveries lost on the way (never sent, system job Failed).
        self.drop_rate = 0.0
        self._random = random.Random()
        self._thread = threading.Thread(target=self._run, name="dataverse-webhooks", daemon=True)
        self._thread.start()

    # ---- planning (runs inside the committing transaction's lock) ---------------------------------------

    def on_commit(self, events: list[ChangeEvent]) -> None:
        """Asynchronous steps: a system job and a queued delivery per matching step."""
        for event in events:
            for step in self.matching_steps(event, mode=ASYNC):
                self._plan(event, step)

    def before_commit(self, events: list[ChangeEvent]) -> None:
        """Synchronous steps run inside the transaction: a failed call rolls the caller's operation back."""
        for event in events:
            for step in self.matching_steps(event, mode=SYNC):
                delivery = self._prepare(event, step, operation_id=str(uuid.uuid4()), asynchronous=False)
                with self._idle:
                    self.deliveries.append(delivery)
                if not self._send(delivery):
                    raise DataverseError(
                        400,
                        PLUGIN_FAILED,
                        f"The synchronous webhook step '{delivery.step_name}' "
                        f"failed, so the operation was rolled back. {delivery.error}",
                    )

    def matching_steps(self, event: ChangeEvent, mode: int) -> list[Row]:
        store = self.records.store
        matches = []
        for step in store.table_rows("sdkmessageprocessingstep").values():
            if step.get("statecode") != 0 or step.get("mode") != mode or mode in event.bypassed_modes:
                continue
            message = store.get("sdkmessage", step["sdkmessageid"].id)
            if message is None or message["name"] != event.message:
                continue
            filter_ref = step.get("sdkmessagefilterid")
            if filter_ref is not None:
                msg_filter = store.get("sdkmessagefilter", filter_ref.id)
                if msg_filter is None or msg_filter["primaryobjecttypecode"] != event.table:
                    continue
            endpoint = store.get("serviceendpoint", step["eventhandler"].id)
            if endpoint is None or endpoint.get("contract") != WEBHOOK_CONTRACT:
                continue
            filtering = {a.strip() for a in (step.get("filteringattributes") or "").split(",") if a.strip()}
            if event.message == "Update" and filtering and not filtering & event.changed_by_caller:
                continue
            matches.append(step)
        return sorted(matches, key=lambda s: (s.get("stage") or 0, s.get("rank") or 0, s["createdon"]))

    def _prepare(self, event: ChangeEvent, step: Row, operation_id: str, asynchronous: bool) -> Delivery:
        store = self.records.store
        table = store.schema.tables[event.table]
        step_id = step["sdkmessageprocessingstepid"]
        step_ref = Ref("sdkmessageprocessingstep", step_id)
        images = [
            i
            for i in store.table_rows("sdkmessageprocessingstepimage").values()
            if i.get("sdkmessageprocessingstepid") == step_ref
        ]
        endpoint = store.get("serviceendpoint", step["eventhandler"].id)
        assert endpoint is not None
        builder = ContextBuilder(table, self.reader.name_of, self.reader.currency_symbol)
        context = build_context(
            event=event,
            builder=builder,
            step=step,
            images=images,
            operation_id=operation_id,
            created_on=utcnow(),
            organization={
                "business_unit_id": BUSINESS_UNIT_ID,
                "organization_id": ORGANIZATION_ID,
                "organization_name": self.settings.organization_name,
            },
        )
        body, trimmed = render(context, self.settings.webhook_size_limit_bytes)
        headers = {
            "Content-Type": "application/json",
            "x-ms-dynamics-organization": self.settings.organization_host,
            "x-ms-dynamics-entity-name": event.table,
            "x-ms-dynamics-request-name": event.message,
            "x-ms-correlation-request-id": str(uuid.uuid4()),
        }
        if trimmed:
            headers["x-ms-dynamics-msg-size-exceeded"] = "true"
        return Delivery(
            asyncoperation_id=operation_id if asynchronous else "",
            step_id=step_id,
            step_name=step.get("name") or "",
            message=event.message,
            entity=event.table,
            record_id=event.record_id,
            url=endpoint["url"],
            authtype=endpoint["authtype"],
            authvalue=endpoint["authvalue"],
            body=body,
            headers=headers,
            trimmed=trimmed,
            auto_delete=bool(step.get("asyncautodelete")),
        )

    def _plan(self, event: ChangeEvent, step: Row) -> None:
        operation_id = str(uuid.uuid4())
        delivery = self._prepare(event, step, operation_id, asynchronous=True)
        self.records.insert_system(
            "asyncoperation",
            {
                "asyncoperationid": operation_id,
                "name": step.get("name"),
                "operationtype": SYSTEM_EVENT,
                "statecode": READY,
                "statuscode": WAITING_FOR_RESOURCES,
                "owningextensionid": Ref("sdkmessageprocessingstep", delivery.step_id),
                "regardingobjectid": Ref(event.table, event.record_id),
                "primaryentitytype": event.table,
                "messagename": event.message,
                "correlationid": event.correlation_id,
                "depth": event.depth,
                "retrycount": 0,
            },
            user_id=event.user_id,
        )
        with self._idle:
            self._pending += 1
            self.deliveries.append(delivery)
        self._queue.put(delivery)

    # ---- delivery (background thread) --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _attempt(self, delivery: Delivery, url: str, headers: dict[str, str]) -> int | None:
        try:
            # Synchronous calls come from request threads: the background thread's session stays its own.
            post = self._session.post if delivery.asyncoperation_id else requests.post
            response = post(url, data=delivery.body, headers=headers, timeout=self.settings.webhook_timeout_seconds)
        except requests.RequestException as exc:
            delivery.attempts.append(type(exc).__name__)
            delivery.error = f"The webhook call failed: {type(exc).__name__}."
            return None
        delivery.attempts.append(response.status_code)
        return response.status_code

    def _send(self, delivery: Delivery) -> bool:
        """POST the context: one more attempt only after 502/503/504; True when it ended in 2xx."""
        url, extra = authenticated(delivery.url, delivery.authtype, delivery.authvalue)
        headers = {**delivery.headers, **extra}
        status = self._attempt(delivery, url, headers)
        if status in RETRYABLE:
            time.sleep(self.settings.webhook_retry_delay_seconds)
            if delivery.asyncoperation_id:
                self._set_job(delivery, {"retrycount": 1})
            status = self._attempt(delivery, url, headers)
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.error = "succeeded", None
            return True
        delivery.status = "failed"
        if status is not None:
            delivery.error = f"The webhook call returned HTTP status {status}; only 2xx counts as success."
        return False

    def set_faults(self, drop_rate: float, seed: int | None = None) -> None:
        self.drop_rate = drop_rate
        if seed is not None:
            self._random.seed(seed)

    def _deliver(self, delivery: Delivery) -> None:
        self._set_job(delivery, {"statecode": LOCKED, "statuscode": IN_PROGRESS, "startedon": utcnow()})
        if self.drop_rate and self._random.random() < self.drop_rate:
            delivery.status, delivery.error = "dropped", "The webhook call was lost (sandbox fault control)."
            self._set_job(delivery, {"statecode": COMPLETED, "statuscode": FAILED, "completedon": utcnow()})
            return
        if self._send(delivery):
            if delivery.auto_delete:
                with self.records.store.lock:
                    self.records.store.table_rows("asyncoperation").pop(delivery.asyncoperation_id, None)
                return
            self._set_job(delivery, {"statecode": COMPLETED, "statuscode": SUCCEEDED, "completedon": utcnow()})
            return
        self._set_job(
            delivery,
            {
                "statecode": COMPLETED,
                "statuscode": FAILED,
                "completedon": utcnow(),
                "message": delivery.error,
                "friendlymessage": delivery.error,
                "errorcode": -2147220891,
            },
        )

    def _set_job(self, delivery: Delivery, values: Row) -> None:
        with self.records.store.lock:
            if self.records.store.get("asyncoperation", delivery.asyncoperation_id) is not None:
                self.records.update_system("asyncoperation", delivery.asyncoperation_id, values)

    # ---- test support ------------------------------------------------------------------------------------

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every queued delivery has finished (or False after `timeout` seconds)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def reset(self) -> None:
        with self._idle:
            self.deliveries = [d for d in self.deliveries if d.status == "pending"]
        self.drop_rate = 0.0

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._session.close()
