"""Helpers for running the CLI against a fresh sandbox Dataverse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from plugins_registration.__main__ import main
from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN

WEBHOOK_SECRET = "first-webhook-secret-0123456789"


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class Org:
    """A sandbox org plus shortcuts: run the CLI against it, read its rows as the administrator."""

    url: str
    session: requests.Session
    capsys: pytest.CaptureFixture[str]

    @property
    def api(self) -> str:
        return f"{self.url}/api/data/v9.2/"

    def env(self, token: str = SANDBOX_CONNECTOR_TOKEN, **extra: str) -> dict[str, str]:
        return {
            "DATAVERSE_URL": self.url,
            "DATAVERSE_TOKEN": token,
            "DATAVERSE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            **extra,
        }

    def run(self, *argv: str, env: dict[str, str] | None = None) -> Outcome:
        self.capsys.readouterr()
        code = main(list(argv), env if env is not None else self.env())
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def rows(self, entity_set: str, **params: str) -> list[dict[str, Any]]:
        response = self.session.get(self.api + entity_set, params=params)
        response.raise_for_status()
        return list(response.json()["value"])

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(self.api + path, params=params)


@pytest.fixture
def org(dataverse_sandbox: Any, dataverse_session: requests.Session, capsys: pytest.CaptureFixture[str]) -> Org:
    return Org(dataverse_sandbox.url.rstrip("/"), dataverse_session, capsys)


@pytest.fixture
def provisioned(org: Org) -> Org:
    outcome = org.run("provision")
    assert outcome.code == 0, outcome.err
    return org
