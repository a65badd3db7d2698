import threading
import time

import pytest
from cryptography.fernet import Fernet

from app.clients.xero_tokens import TokenSet, TokenStore, token_cipher
from app.errors import ConnectionLost

CONNECTION = "conn-1"


def tokens(expires_in: float, refresh: str = "refresh-1") -> TokenSet:
    return TokenSet.from_oauth_response(
        {
            "access_token": "access-" + refresh,
            "refresh_token": refresh,
            "expires_in": expires_in,
            "scope": "offline_access accounting.invoices",
        }
    )


@pytest.fixture
def store(redis_conn):
    return TokenStore(redis_conn, token_cipher([Fernet.generate_key().decode()]))


def test_tokens_are_encrypted_at_rest(store, redis_conn):
    store.save(CONNECTION, tokens(1800))
    raw = redis_conn.get(f"connector:xero:token:{CONNECTION}")
    assert b"access-refresh-1" not in raw and b"refresh-1" not in raw
    assert store.load(CONNECTION).access_token == "access-refresh-1"


def test_a_rotated_key_still_reads_old_tokens(redis_conn):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    TokenStore(redis_conn, token_cipher([old])).save(CONNECTION, tokens(1800))
    assert TokenStore(redis_conn, token_cipher([new, old])).load(CONNECTION).refresh_token == "refresh-1"


def test_a_token_unreadable_with_the_configured_keys_means_reconnect(redis_conn):
    TokenStore(redis_conn, token_cipher([Fernet.generate_key().decode()])).save(CONNECTION, tokens(1800))
    with pytest.raises(ConnectionLost):
        TokenStore(redis_conn, token_cipher([Fernet.generate_key().decode()])).load(CONNECTION)


def test_sdk_dict_has_exactly_the_keys_the_sdk_accepts():
    sdk = tokens(1800).to_sdk()
    assert set(sdk) == {"access_token", "scope", "expires_in", "expires_at", "token_type", "refresh_token"}
    assert sdk["scope"] == ["offline_access", "accounting.invoices"]


def test_a_fresh_token_is_not_refreshed(store):
    store.save(CONNECTION, tokens(1800))
    assert store.fresh(CONNECTION, lambda _: pytest.fail("must not refresh")).refresh_token == "refresh-1"


def test_concurrent_workers_refresh_once_and_all_get_the_rotated_token(store):
    store.save(CONNECTION, tokens(10))  # inside the refresh margin
    calls = []

    def refresh(current: TokenSet) -> TokenSet:
        calls.append(current.refresh_token)
        time.sleep(0.1)
        return tokens(1800, refresh="refresh-2")

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.fresh(CONNECTION, refresh))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["refresh-1"], "a single-use refresh token is spent once"
    assert {result.refresh_token for result in results} == {"refresh-2"}
    assert store.load(CONNECTION).refresh_token == "refresh-2"


def test_no_stored_token_means_connect_first(store):
    with pytest.raises(ConnectionLost, match="no Xero token"):
        store.fresh("unknown", lambda t: t)
