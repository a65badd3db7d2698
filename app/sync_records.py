"""What the connector remembers in Redis to make every effect in Xero happen once (ARCHITECTURE.md, invariant 4).

Dynamics is the place users see the Xero id, but it is written only after Xero answered; a crash in between
would lose it. So, per invoice:

- `begin_create` is called just before a create is sent; `record_document` the moment Xero answers with the
  document's id. A begun create with no id recorded means an earlier attempt's outcome is unknown (its
  answer was lost, or its worker died): the next attempt looks the document up before creating it again.
- the same pair exists for the credit note a cancellation creates (`begin_credit` / `record_credit`);
- a fingerprint of what the last successful write asked of Xero, so a follow-up job that finds Dynamics
  unchanged (events that arrived while the write ran) does not send the same document again;
- what was last said about a waiting invoice (a future day, a missing price list), so its history says
  so once, not on every edit;
- that a cancellation was carried out, so repeated events of the (read-only) cancelled invoice stay quiet;
- the ids of the invoice's lines, so a line deleted in Dynamics (whose event cannot name its invoice) still
  leads to its invoice;
- the fingerprint of the Dynamics content the last finished sync saw (`mappers.dynamics_changes`), so the
  reconciliation can tell a person's edit from the connector's own write-back in a change-tracking read;
- what a delete needs (Xero id, connection, type, number), so a delete whose webhook was lost, of which change
  tracking gives only the id, still cancels the Xero document.

Records expire after `RECORD_TTL_SECONDS`: by then the ids are on the Dynamics rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from redis import Redis

from mappers.dynamics_changes import DeletedInvoiceIdentity

KEY_PREFIX = "connector:sync"
RECORD_TTL_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class DocumentRecord:
    """What Redis knows about one invoice's Xero document."""

    xero_id: str | None
    create_started_at: datetime | None  # set while a create's outcome is unknown
    credit_note_id: str | None
    credit_started_at: datetime | None

    @property
    def create_outcome_unknown(self) -> bool:
        return self.xero_id is None and self.create_started_at is not None

    @property
    def credit_outcome_unknown(self) -> bool:
        return self.credit_note_id is None and self.credit_started_at is not None


def _instant(raw: bytes | None) -> datetime | None:
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


def _text(raw: bytes | None) -> str | None:
    return raw.decode() if raw else None


class SyncRecords:
    def __init__(self, connection: Redis) -> None:
        self.redis = connection

    @staticmethod
    def invoice_key(organization_id: str, invoice_id: str) -> str:
        return f"{KEY_PREFIX}:invoice:{organization_id}:{invoice_id.lower()}"

    @staticmethod
    def line_key(organization_id: str, line_id: str) -> str:
        return f"{KEY_PREFIX}:line:{organization_id}:{line_id.lower()}"

    def document(self, organization_id: str, invoice_id: str) -> DocumentRecord:
        raw = self.redis.hmget(
            self.invoice_key(organization_id, invoice_id),
            ["xero_id", "create_started", "credit_note_id", "credit_started"],
        )
        return DocumentRecord(_text(raw[0]), _instant(raw[1]), _text(raw[2]), _instant(raw[3]))

    def begin_create(self, organization_id: str, invoice_id: str) -> None:
        """Before a create goes out. An earlier start is kept: the lookup must reach back to the first try."""
        self._begin(organization_id, invoice_id, "create_started")

    def record_document(self, organization_id: str, invoice_id: str, xero_id: str) -> None:
        """The moment the Xero id is known, before anything is written to Dynamics."""
        self._record(organization_id, invoice_id, "xero_id", xero_id, "create_started")

    def begin_credit(self, organization_id: str, invoice_id: str) -> None:
        self._begin(organization_id, invoice_id, "credit_started")

    def record_credit(self, organization_id: str, invoice_id: str, credit_note_id: str) -> None:
        self._record(organization_id, invoice_id, "credit_note_id", credit_note_id, "credit_started")

    def _begin(self, organization_id: str, invoice_id: str, started_field: str) -> None:
        key = self.invoice_key(organization_id, invoice_id)
        self.redis.hsetnx(key, started_field, str(time.time()))
        self.redis.expire(key, RECORD_TTL_SECONDS)

    def _record(self, organization_id: str, invoice_id: str, id_field: str, value: str, started_field: str) -> None:
        key = self.invoice_key(organization_id, invoice_id)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, id_field, value)
            pipe.hdel(key, started_field)
            pipe.expire(key, RECORD_TTL_SECONDS)
            pipe.execute()

    def forget_document(self, organization_id: str, invoice_id: str) -> None:
        """The document was deleted in Xero: a later sync of the same invoice starts afresh."""
        self.redis.delete(self.invoice_key(organization_id, invoice_id))

    def record_sent(self, organization_id: str, invoice_id: str, fingerprint: str) -> None:
        """What Dynamics asked for in the last successful write, so an identical follow-up sends nothing."""
        key = self.invoice_key(organization_id, invoice_id)
        self.redis.hset(key, "sent", fingerprint)
        self.redis.expire(key, RECORD_TTL_SECONDS)

    def last_sent(self, organization_id: str, invoice_id: str) -> str | None:
        return _text(self.redis.hget(self.invoice_key(organization_id, invoice_id), "sent"))

    def news(self, organization_id: str, invoice_id: str, message: str) -> bool:
        """Remember the last thing said about an invoice that is waiting (a future day, a missing price list);
        True when `message` differs from it, so each edit of a waiting invoice does not repeat the history."""
        key = self.invoice_key(organization_id, invoice_id)
        with self.redis.pipeline() as pipe:
            pipe.hget(key, "told")
            pipe.hset(key, "told", message)
            pipe.expire(key, RECORD_TTL_SECONDS)
            previous, _, _ = pipe.execute()
        return _text(previous) != message

    def forget_news(self, organization_id: str, invoice_id: str) -> None:
        """The invoice moved on (it synced): the same wait later is news again."""
        self.redis.hdel(self.invoice_key(organization_id, invoice_id), "told")

    def mark_cancelled(self, organization_id: str, invoice_id: str) -> None:
        """The cancellation was carried out and told: later events of the read-only invoice change nothing."""
        key = self.invoice_key(organization_id, invoice_id)
        self.redis.hset(key, "cancelled", "1")
        self.redis.expire(key, RECORD_TTL_SECONDS)

    def is_cancelled(self, organization_id: str, invoice_id: str) -> bool:
        return bool(self.redis.hexists(self.invoice_key(organization_id, invoice_id), "cancelled"))

    def clear_cancelled(self, organization_id: str, invoice_id: str) -> None:
        """The invoice is active again: a later cancellation is a new one."""
        self.redis.hdel(self.invoice_key(organization_id, invoice_id), "cancelled")

    def record_content(self, organization_id: str, invoice_id: str, fingerprint: str) -> None:
        """The Dynamics content the sync that just finished worked from."""
        key = self.invoice_key(organization_id, invoice_id)
        self.redis.hset(key, "content", fingerprint)
        self.redis.expire(key, RECORD_TTL_SECONDS)

    def recorded_content(self, organization_id: str, invoice_id: str) -> str | None:
        return _text(self.redis.hget(self.invoice_key(organization_id, invoice_id), "content"))

    def remember_identity(self, organization_id: str, invoice_id: str, identity: DeletedInvoiceIdentity) -> None:
        key = self.invoice_key(organization_id, invoice_id)
        self.redis.hset(key, "identity", json.dumps(asdict(identity)))
        self.redis.expire(key, RECORD_TTL_SECONDS)

    def identity(self, organization_id: str, invoice_id: str) -> DeletedInvoiceIdentity | None:
        raw = self.redis.hget(self.invoice_key(organization_id, invoice_id), "identity")
        if not raw:
            return None
        try:
            return DeletedInvoiceIdentity(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    def remember_lines(self, organization_id: str, invoice_id: str, line_ids: Iterable[str]) -> None:
        with self.redis.pipeline() as pipe:
            for line_id in line_ids:
                pipe.set(self.line_key(organization_id, line_id), invoice_id, ex=RECORD_TTL_SECONDS)
            pipe.execute()

    def invoice_for_line(self, organization_id: str, line_id: str) -> str | None:
        return _text(self.redis.get(self.line_key(organization_id, line_id)))
