"""A small client for the sandbox's /_sandbox admin endpoints, for tests, the demo and benchmarks."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.xero.settings import DEFAULT_ADMIN_TOKEN


class SandboxAdmin:
    def __init__(self, base_url: str, admin_token: str = DEFAULT_ADMIN_TOKEN, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["X-Sandbox-Admin-Token"] = admin_token

    def _call(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = self._http.request(
            method, f"{self.base_url}/_sandbox{path}", json=json, params=params, timeout=self.timeout
        )
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def tenants(self) -> list[dict[str, Any]]:
        return self._call("GET", "/tenants")  # type: ignore[no-any-return]

    def state(self, tenant_id: str) -> dict[str, Any]:
        return self._call("GET", f"/state/{tenant_id}")  # type: ignore[no-any-return]

    def calls(self) -> dict[str, dict[str, int]]:
        return self._call("GET", "/calls")  # type: ignore[no-any-return]

    def set_organisation(self, tenant_id: str, **settings: Any) -> dict[str, Any]:
        """Lock dates (`PeriodLockDate`, `EndOfYearLockDate`: ISO dates or None) and enabled `Currencies`."""
        return dict(self._call("PUT", f"/organisation/{tenant_id}", settings))

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        return self._call("PUT", "/faults", json=changes)  # type: ignore[no-any-return]

    def set_limits(self, **changes: int) -> dict[str, int]:
        return self._call("PUT", "/limits", json=changes)  # type: ignore[no-any-return]

    def subscribe_webhooks(
        self, url: str | None, key: str | None = None, categories: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"url": url, "key": key, "categories": categories}
        return self._call("PUT", "/webhooks", json=body)  # type: ignore[no-any-return]

    def drop_webhooks(self, rate: float) -> None:
        """Lose this share of the events from now on (never sent), as a flaky network would."""
        self._call("PUT", "/webhooks", json={"dropRate": rate})

    def webhooks(self) -> dict[str, Any]:
        return self._call("GET", "/webhooks")  # type: ignore[no-any-return]

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        return bool(self._call("POST", "/webhooks/flush", timeout=timeout)["idle"])

    def mint_token(
        self, tenant_ids: list[str] | None = None, scopes: list[str] | None = None, client_id: str | None = None
    ) -> dict[str, Any]:
        body = {"tenantIds": tenant_ids, "scopes": scopes, "clientId": client_id}
        return self._call("POST", "/tokens", json=body)  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock", json={"advanceSeconds": seconds})

    def close(self) -> None:
        self._http.close()
