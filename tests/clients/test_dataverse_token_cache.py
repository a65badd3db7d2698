"""Sharing msal's Dataverse tokens between worker processes through Redis.

These use the real msal ConfidentialClientApplication and token cache; only msal's HTTP transport is a stand-in
for Microsoft's identity service (it cannot run here). A "new process" is simulated by dropping the process's
applications, which is exactly the state of a freshly forked RQ work-horse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msal
import pytest
import redis
from cryptography.fernet import Fernet
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.clients.dataverse import DataverseClient, MsalTokenSource, dataverse_client_from_env
from app.clients.dataverse_auth import forget_msal_applications
from app.clients.dataverse_token_cache import RedisTokenCache
from app.clients.xero_tokens import token_cipher
from app.embedded_redis import free_port
from sandbox.dataverse.seed import CONNECTOR_USER_ID, SANDBOX_CONNECTOR_TOKEN
from sandbox.dataverse.server import RunningDataverse

ORG = "https://org.crm.dynamics.com"
TOKEN_ENDPOINT = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token"


@dataclass
class Answer:
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return json.dumps(self.body)

    def raise_for_status(self) -> None:
        return None


@dataclass
class IdentityStandIn:
    """msal's http_client: answers discovery and issues the queued tokens, one per token request."""

    tokens: list[tuple[str, int]]
    token_requests: int = 0

    def get(self, url: str, **_: Any) -> Answer:
        assert url.startswith("https://login.microsoftonline.com/tenant-1/")
        return Answer(
            200,
            {
                "token_endpoint": TOKEN_ENDPOINT,
                "issuer": "https://login.microsoftonline.com/tenant-1/v2.0",
                "authorization_endpoint": "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/authorize",
            },
        )

    def post(self, url: str, **_: Any) -> Answer:
        assert url == TOKEN_ENDPOINT
        token, lifetime = self.tokens[min(self.token_requests, len(self.tokens) - 1)]
        self.token_requests += 1
        return Answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def close(self) -> None:
        return None


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    forget_msal_applications()
    yield
    forget_msal_applications()


@pytest.fixture
def shared(redis_conn: redis.Redis) -> RedisTokenCache:
    return RedisTokenCache(redis_conn, token_cipher([Fernet.generate_key().decode()]))


def source(identity: IdentityStandIn, cache: RedisTokenCache | None, org: str = ORG) -> MsalTokenSource:
    return MsalTokenSource(org, "tenant-1", "client-1", "cs-secret", shared_cache=cache, http_client=identity)


def test_a_new_process_reuses_the_token_another_obtained(shared: RedisTokenCache, redis_conn: redis.Redis) -> None:
    identity = IdentityStandIn([("token-one", 3600)])
    assert source(identity, shared)() == "token-one"
    assert source(identity, shared)() == "token-one"
    assert identity.token_requests == 1
    forget_msal_applications()  # the next job's fork starts here
    assert source(identity, shared)() == "token-one"
    assert identity.token_requests == 1
    stored = redis_conn.get(shared.key("tenant-1:client-1"))
    assert stored and b"token-one" not in stored and b"cs-secret" not in stored  # encrypted at rest


def test_without_a_shared_cache_every_process_signs_in(shared: RedisTokenCache) -> None:
    identity = IdentityStandIn([("token-one", 3600), ("token-two", 3600)])
    assert source(identity, None)() == "token-one"
    forget_msal_applications()
    assert source(identity, None)() == "token-two"
    assert identity.token_requests == 2


def test_a_token_near_expiry_is_renewed_once_and_shared(shared: RedisTokenCache) -> None:
    identity = IdentityStandIn([("short-lived", 60), ("renewed", 3600)])
    assert source(identity, shared)() == "short-lived"
    forget_msal_applications()
    assert source(identity, shared)() == "renewed"  # msal will not use a token with under 5 minutes left
    forget_msal_applications()
    assert source(identity, shared)() == "renewed"
    assert identity.token_requests == 2


def test_an_undecryptable_cache_means_signing_in_again(
    redis_conn: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    identity = IdentityStandIn([("token-one", 3600), ("token-two", 3600)])
    old = RedisTokenCache(redis_conn, token_cipher([Fernet.generate_key().decode()]))
    assert source(identity, old)() == "token-one"
    forget_msal_applications()
    rotated = RedisTokenCache(redis_conn, token_cipher([Fernet.generate_key().decode()]))
    with caplog.at_level(logging.WARNING, logger="app.clients.dataverse_token_cache"):
        assert source(identity, rotated)() == "token-two"
    assert "cannot be decrypted" in caplog.text and "token-" not in caplog.text


def test_a_cache_entry_that_is_not_msals_is_ignored(shared: RedisTokenCache, caplog: pytest.LogCaptureFixture) -> None:
    shared.save("tenant-1:client-1", "not json at all")
    identity = IdentityStandIn([("token-one", 3600)])
    with caplog.at_level(logging.WARNING, logger="app.clients.dataverse_auth"):
        assert source(identity, shared)() == "token-one"
    assert "not readable" in caplog.text
    forget_msal_applications()
    assert source(identity, shared)() == "token-one"  # the sign-in replaced the bad entry
    assert identity.token_requests == 1


def test_an_unreachable_redis_does_not_stop_sign_in(caplog: pytest.LogCaptureFixture) -> None:
    nowhere = redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    identity = IdentityStandIn([("token-one", 3600)])
    with caplog.at_level(logging.WARNING, logger="app.clients.dataverse_token_cache"):
        assert (
            source(identity, RedisTokenCache(nowhere, token_cipher([Fernet.generate_key().decode()])))() == "token-one"
        )
    assert "unreadable" in caplog.text and "not updated" in caplog.text


def test_the_factory_passes_the_shared_cache_to_msal(
    shared: RedisTokenCache, dataverse_sandbox: RunningDataverse, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = IdentityStandIn([(SANDBOX_CONNECTOR_TOKEN, 3600)])
    env = {
        "DATAVERSE_URL": dataverse_sandbox.url,
        "DATAVERSE_TENANT_ID": "tenant-1",
        "DATAVERSE_CLIENT_ID": "client-1",
        "DATAVERSE_CLIENT_SECRET": "cs-secret",
    }
    # Pre-fill the shared cache as another process would have; the factory's client must then need no sign-in.
    assert source(identity, shared, org=dataverse_sandbox.url)() == SANDBOX_CONNECTOR_TOKEN
    forget_msal_applications()
    real = msal.ConfidentialClientApplication
    monkeypatch.setattr(
        "msal.ConfidentialClientApplication", lambda *args, **kwargs: real(*args, **{**kwargs, "http_client": identity})
    )
    client: DataverseClient = dataverse_client_from_env(env, token_cache=shared)
    assert isinstance(client.token_source, MsalTokenSource)
    assert client.whoami().user_id == CONNECTOR_USER_ID
    assert identity.token_requests == 1  # only the other process's sign-in
