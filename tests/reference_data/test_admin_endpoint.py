"""`POST /admin/reference-data` served over real HTTP: admin only, 202 with job ids, and the jobs do the work."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from app import create_app
from app.embedded_redis import free_port
from app.reference_data import KIND_IMPORT, KIND_IMPORT_ALL
from tests.helpers import settings_for
from tests.reference_data.conftest import Connected

ADMIN_TOKEN = "reference-admin-token"


@pytest.fixture
def web(connected: Connected) -> Iterator[str]:
    app = create_app(settings_for(connected.jobs.settings.redis_url, admin_token=ADMIN_TOKEN), connected.redis)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/admin/reference-data"
    finally:
        server.shutdown()
        thread.join(5)


def post(url: str, body: object = None, token: str | None = ADMIN_TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(url, json=body, headers=headers, timeout=10)


def test_without_the_admin_token_nothing_is_queued(web, connected):
    for token in (None, "wrong-token"):
        response = post(web, {"connection_id": connected.connection_id}, token=token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert connected.queued(KIND_IMPORT) == []


def test_one_connection_is_queued_and_imported(web, connected):
    response = post(web, {"connection_id": connected.connection_id.upper()})
    assert response.status_code == 202
    body = response.json()
    assert body["connection_id"] == connected.connection_id and body["status"] == "queued"
    [queued] = connected.queued(KIND_IMPORT)
    assert body["job_ids"] == [queued.id]

    again = post(web, {"connection_id": connected.connection_id}).json()
    assert again["job_ids"] == body["job_ids"] and again["status"] == "coalesced"

    [ran] = connected.work()
    # 9 tax rates, 14 accounts, 2 themes, 2 categories, 4 options, 3 currencies
    assert ran.return_value()["totals"]["created"] == 34


def test_without_a_connection_every_connection_is_imported(web, connected):
    response = requests.post(web, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)  # no body
    assert response.status_code == 202
    [job_id] = response.json()["job_ids"]
    assert post(web, {"all": True}).json()["job_ids"] == [job_id]
    ran = connected.work()
    assert [job.meta["kind"] for job in ran] == [KIND_IMPORT_ALL, KIND_IMPORT]
    assert ran[0].id == job_id and ran[1].return_value()["outcome"] == "done"


@pytest.mark.parametrize("body", [{"connection_id": "not-a-guid"}, ["a list"], {"all": False}])
def test_a_malformed_request_is_refused(web, connected, body):
    response = post(web, body)
    assert response.status_code == 400 and response.json()["error"]
    assert connected.queued(KIND_IMPORT) == connected.queued(KIND_IMPORT_ALL) == []
