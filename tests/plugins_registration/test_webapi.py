"""The Web API client against a scripted loopback server: retries, one-line errors, no secrets shown."""

from __future__ import annotations

import pytest

from app.clients.dataverse import RetryPolicy
from app.embedded_redis import free_port
from plugins_registration.errors import RegistrationError
from plugins_registration.webapi import ADMIN_RETRY, WebApi
from tests.plugins_registration.stub_server import Canned, stub_server

TOKEN = "very-secret-token-value"


def api_for(url: str, sleeps: list[float] | None = None) -> WebApi:
    retry = RetryPolicy(budget_seconds=ADMIN_RETRY.budget_seconds, max_attempts=4, backoff_base_seconds=0)
    return WebApi(url, lambda: TOKEN, retry=retry, sleep=(sleeps if sleeps is not None else []).append)


def test_sends_odata_headers_and_the_bearer_token() -> None:
    with stub_server([Canned(200, {"UserId": "u"})]) as server:
        assert api_for(server.url).get("WhoAmI") == {"UserId": "u"}
    method, path, headers = server.requests[0]
    assert (method, path) == ("GET", "/api/data/v9.2/WhoAmI")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["OData-Version"] == "4.0" and headers["OData-MaxVersion"] == "4.0"


def test_retries_429_honouring_retry_after_then_succeeds() -> None:
    script = [Canned(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}), Canned(200, {"value": []})]
    with stub_server(script) as server:
        assert api_for(server.url).get_all("accounts") == []
    assert len(server.requests) == 2


def test_gives_up_after_bounded_retries_on_503() -> None:
    with (
        stub_server([Canned(503)] * 10) as server,
        pytest.raises(RegistrationError, match="busy or unavailable"),
    ):
        api_for(server.url).get("WhoAmI")
    assert len(server.requests) == 4  # the first try and three retries


def test_a_create_is_not_repeated_after_a_gateway_error_but_is_after_429() -> None:
    with stub_server([Canned(503)] * 5) as server, pytest.raises(RegistrationError, match="503") as caught:
        api_for(server.url).post("sdkmessageprocessingsteps", {"name": "x"})
    assert len(server.requests) == 1
    assert "may or may not have been applied; run the command again" in str(caught.value)
    script = [Canned(429, None, {"Retry-After": "0"}), Canned(204, None, {"OData-EntityId": "x/a(1)"})]
    with stub_server(script) as server:
        api_for(server.url).post("sdkmessageprocessingsteps", {"name": "x"})
    assert len(server.requests) == 2


def test_a_retry_after_within_the_budget_is_waited_out() -> None:
    sleeps: list[float] = []
    with stub_server([Canned(429, None, {"Retry-After": "7"}), Canned(200, {"UserId": "u"})]) as server:
        assert api_for(server.url, sleeps).get("WhoAmI") == {"UserId": "u"}
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_budget_ends_at_once_as_busy() -> None:
    sleeps: list[float] = []
    with (
        stub_server([Canned(429, None, {"Retry-After": "3600"})] * 3) as server,
        pytest.raises(RegistrationError, match=r"busy or unavailable \(429\) after several attempts; try again later"),
    ):
        api_for(server.url, sleeps).get("WhoAmI")
    assert len(server.requests) == 1 and sleeps == []


def test_post_returns_the_id_from_odata_entity_id() -> None:
    row_id = "0b4c3c33-1111-4000-8000-000000000001"
    headers = {"OData-EntityId": f"http://x/api/data/v9.2/serviceendpoints({row_id})"}
    with stub_server([Canned(204, None, headers)]) as server:
        assert api_for(server.url).post("serviceendpoints", {"name": "x"}) == row_id


def test_get_all_follows_next_links() -> None:
    with stub_server([]) as server:
        server.responses.extend(
            [
                Canned(200, {"value": [{"n": 1}], "@odata.nextLink": f"{server.url}/api/data/v9.2/accounts?page=2"}),
                Canned(200, {"value": [{"n": 2}]}),
            ]
        )
        assert api_for(server.url).get_all("accounts") == [{"n": 1}, {"n": 2}]


def test_401_is_one_clear_line_without_the_token() -> None:
    with (
        stub_server([Canned(401, {"error": {"code": "0x80040220", "message": "bad token"}})]) as server,
        pytest.raises(RegistrationError) as caught,
    ):
        api_for(server.url).get("WhoAmI")
    message = str(caught.value)
    assert "401" in message and "credentials" in message
    assert TOKEN not in message and "\n" not in message


def test_403_names_the_missing_privilege() -> None:
    body = {
        "error": {
            "code": "0x80040220",
            "message": "Principal user (Id=abc, type=8) is missing prvCreateEntity privilege (Id=1234)\r\nmore lines",
        }
    }
    with (
        stub_server([Canned(403, body)]) as server,
        pytest.raises(RegistrationError, match="lacks the prvCreateEntity privilege") as caught,
    ):
        api_for(server.url).post("EntityDefinitions", {})
    assert "System Administrator" in str(caught.value)


def test_other_errors_carry_dataverse_message() -> None:
    body = {"error": {"code": "0x0", "message": "Could not find a property named 'xc_name'."}}
    with (
        stub_server([Canned(400, body)]) as server,
        pytest.raises(RegistrationError, match="400 to POST xc_connections: Could not find a property"),
    ):
        api_for(server.url).post("xc_connections?x=1", {})


def test_missing_rows_are_none_for_get_optional() -> None:
    with stub_server([Canned(404, {"error": {"message": "not found"}})]) as server:
        assert api_for(server.url).get_optional("EntityDefinitions(LogicalName='xc_x')") is None


def test_unreachable_org_names_the_url_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistrationError) as caught:
        api_for(url).get("WhoAmI")
    assert str(caught.value).startswith(f"Cannot reach Dataverse at {url}")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_server_that_is_not_dataverse_is_named_not_a_traceback() -> None:
    with stub_server([Canned(200, "<html>hello</html>")]) as server, pytest.raises(RegistrationError) as caught:
        api_for(server.url).get_all("serviceendpoints")
    assert str(caught.value) == (
        f"{server.url} did not answer like Dataverse (no JSON from /api/data/v9.2/serviceendpoints): "
        "check DATAVERSE_URL"
    )
