"""Which item codes exist in each Xero organisation, remembered in Redis so a run of invoices asks Xero once.

Codes Xero confirmed (or the connector created) are kept for `ttl_seconds`; codes Xero did not know for
`absent_ttl_seconds` only, as a user may add the item in Xero at any time (Xero sends no webhook for items).
Everything is dropped when Xero says an item code sent on a document is not valid (the item was deleted or
renamed there).
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

KEY_PREFIX = "connector:xero:items"
DEFAULT_TTL_SECONDS = 6 * 3600
DEFAULT_ABSENT_TTL_SECONDS = 10 * 60


class ItemCodeCache:
    def __init__(
        self,
        connection: Redis,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        absent_ttl_seconds: int = DEFAULT_ABSENT_TTL_SECONDS,
    ) -> None:
        self.redis = connection
        self.ttl_seconds = ttl_seconds
        self.absent_ttl_seconds = absent_ttl_seconds

    def _keys(self, tenant_id: str) -> tuple[str, str]:
        base = f"{KEY_PREFIX}:{tenant_id.lower()}"
        return f"{base}:known", f"{base}:absent"

    def lookup(self, tenant_id: str, codes: Iterable[str]) -> tuple[set[str], set[str]]:
        """(known to exist, known not to exist) among `codes`, as asked (Xero compares codes without case)."""
        wanted = [c for c in dict.fromkeys(codes) if c]
        if not wanted:
            return set(), set()
        folded = [c.casefold() for c in wanted]
        known_key, absent_key = self._keys(tenant_id)
        with self.redis.pipeline() as pipe:
            pipe.hmget(known_key, folded)
            pipe.hmget(absent_key, folded)
            present, absent = pipe.execute()
        return (
            {code for code, hit in zip(wanted, present, strict=True) if hit},
            {code for code, hit in zip(wanted, absent, strict=True) if hit},
        )

    def add(self, tenant_id: str, codes: Iterable[str]) -> None:
        codes = list(codes)
        self._remember(self._keys(tenant_id)[0], codes, self.ttl_seconds)
        folded = [c.casefold() for c in codes if c]
        if folded:
            self.redis.hdel(self._keys(tenant_id)[1], *folded)

    def add_absent(self, tenant_id: str, codes: Iterable[str]) -> None:
        self._remember(self._keys(tenant_id)[1], codes, self.absent_ttl_seconds)

    def _remember(self, key: str, codes: Iterable[str], ttl: int) -> None:
        mapping = {c.casefold(): c for c in codes if c}
        if not mapping:
            return
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, ttl)
            pipe.execute()

    def forget(self, tenant_id: str) -> None:
        self.redis.delete(*self._keys(tenant_id))
