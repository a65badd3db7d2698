"""msal's token cache for Dataverse, shared by every worker process through Redis and encrypted at rest.

RQ runs each job in a fork that exits afterwards, so an in-memory msal cache would mean one sign-in with
Microsoft per job. `RedisTokenCache` is the `TokenCacheStore` that `MsalTokenSource(shared_cache=...)` reads
when its own cache has no fresh token and writes whenever msal obtained a new one. The cache is only an
optimisation: when Redis is unreachable or the state cannot be decrypted (a rotated key), the source just signs
in again, and says so in a log line without any token in it.

    cache = RedisTokenCache(redis_connection, token_cipher(keys))
    client = dataverse_client_from_env(os.environ, token_cache=cache)
"""

from __future__ import annotations

import logging

from cryptography.fernet import InvalidToken, MultiFernet
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "connector:dataverse:msal-cache"
# Client-credential tokens live about an hour; a day keeps the entry from outliving a forgotten application.
DEFAULT_TTL_SECONDS = 24 * 3600


class RedisTokenCache:
    """One encrypted Redis string per application (`partition` is `<tenant>:<client id>`).

    No lock around renewals: client-credential tokens are not single-use (unlike Xero's refresh tokens), so two
    processes renewing at once both hold valid tokens and the last write simply wins.
    """

    def __init__(
        self,
        connection: Redis,
        cipher: MultiFernet,
        *,
        prefix: str = KEY_PREFIX,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._redis = connection
        self._cipher = cipher
        self._prefix = prefix
        self._ttl_seconds = ttl_seconds

    def key(self, partition: str) -> str:
        return f"{self._prefix}:{partition}"

    def load(self, partition: str) -> str | None:
        try:
            stored = self._redis.get(self.key(partition))
        except RedisError as exc:
            log.warning("Shared Dataverse token cache unreadable (%s); signing in directly", type(exc).__name__)
            return None
        if stored is None:
            return None
        try:
            return self._cipher.decrypt(stored if isinstance(stored, bytes) else str(stored).encode()).decode()
        except InvalidToken:
            log.warning("Shared Dataverse token cache cannot be decrypted (was the key rotated?); signing in afresh")
            return None

    def save(self, partition: str, state: str) -> None:
        try:
            self._redis.set(self.key(partition), self._cipher.encrypt(state.encode()), ex=self._ttl_seconds)
        except RedisError as exc:
            log.warning("Shared Dataverse token cache not updated (%s)", type(exc).__name__)
