"""Connect the run command's sandbox Xero the way an admin connects a real organisation.

`sandbox_xero_settings` points the worker's Xero settings at the sandbox (its app credentials, API, identity
and login URLs) and generates a token encryption key for the run when none is configured.
`connect_organisation` then walks the OAuth consent: the authorize page (approved automatically by the
sandbox's `auto_approve`), the code exchange, the connections list, and the token set stored, encrypted, in
the `TokenStore` under the connection row's id: exactly what a worker reads when it syncs.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, MutableMapping
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography.fernet import Fernet
from redis import Redis

from app.clients.xero_auth import XeroTokenEndpoint
from app.clients.xero_settings import XeroSettings
from app.clients.xero_tokens import TokenStore, token_cipher


def sandbox_xero_settings(env: MutableMapping[str, str], xero_url: str) -> None:
    from sandbox.xero.settings import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    env["XERO_CLIENT_ID"] = DEFAULT_CLIENT_ID
    env["XERO_CLIENT_SECRET"] = DEFAULT_CLIENT_SECRET
    env["XERO_API_URL"] = env["XERO_IDENTITY_URL"] = env["XERO_LOGIN_URL"] = xero_url
    if not env.get("TOKEN_ENCRYPTION_KEYS", "").strip():
        env["TOKEN_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()  # for this run only; never printed


def connect_organisation(
    env: Mapping[str, str], redis: Redis, connection_id: str, tenant_id: str, redirect_uri: str
) -> None:
    settings = XeroSettings.from_environ(env)
    endpoint = XeroTokenEndpoint(settings)
    state = secrets.token_urlsafe(16)
    consent = requests.get(
        f"{endpoint.authorization_url(redirect_uri, state)}&auto_approve={tenant_id}", allow_redirects=False, timeout=10
    )
    answer = parse_qs(urlsplit(consent.headers.get("Location", "")).query)
    if consent.status_code not in (302, 303) or answer.get("state") != [state] or "code" not in answer:
        raise RuntimeError(f"the sandbox Xero consent did not return a code ({consent.status_code})")
    tokens = endpoint.exchange_code(answer["code"][0], redirect_uri)
    if not any(t.get("tenantId") == tenant_id for t in endpoint.tenants(tokens)):
        raise RuntimeError(f"the consent does not cover the sandbox organisation {tenant_id}")
    TokenStore(redis, token_cipher(settings.token_encryption_keys)).save(connection_id, tokens)
