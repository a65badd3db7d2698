"""The publisher and solution set-up, against a scripted server (exact requests, and an org without the tables)."""

from __future__ import annotations

from app.clients.dataverse import RetryPolicy
from plugins_registration.report import ChangeReport
from plugins_registration.solution import SOLUTION_UNIQUE_NAME, ensure_solution
from plugins_registration.webapi import WebApi
from tests.plugins_registration.stub_server import Canned, stub_server

PUBLISHER_ID = "7d1c7a10-0000-4000-8000-000000000001"


def api_for(url: str) -> WebApi:
    return WebApi(url, lambda: "token", retry=RetryPolicy(max_attempts=1))


def test_creates_publisher_and_solution_when_missing() -> None:
    script = [
        Canned(200, {"value": []}),
        Canned(204, None, {"OData-EntityId": f"x/publishers({PUBLISHER_ID})"}),
        Canned(200, {"value": []}),
        Canned(204, None, {"OData-EntityId": "x/solutions(7d1c7a10-0000-4000-8000-000000000002)"}),
    ]
    lines: list[str] = []
    with stub_server(script) as server:
        assert ensure_solution(api_for(server.url), ChangeReport(out=lines.append)) == SOLUTION_UNIQUE_NAME
    paths = [(method, path.split("?")[0]) for method, path, _ in server.requests]
    assert paths == [
        ("GET", "/api/data/v9.2/publishers"),
        ("POST", "/api/data/v9.2/publishers"),
        ("GET", "/api/data/v9.2/solutions"),
        ("POST", "/api/data/v9.2/solutions"),
    ]
    assert "customizationprefix+eq+%27xc%27" in server.requests[0][1]
    assert server.bodies[1]["customizationoptionvalueprefix"] == 10000
    assert server.bodies[3]["publisherid@odata.bind"] == f"/publishers({PUBLISHER_ID})"
    assert lines == [
        "  create publisher 'xeroconnector' (prefix xc, choice values from 100000000)",
        "  create solution 'XeroConnector'",
    ]


def test_existing_publisher_and_solution_change_nothing() -> None:
    script = [Canned(200, {"value": [{"publisherid": PUBLISHER_ID}]}), Canned(200, {"value": [{"solutionid": "s"}]})]
    report = ChangeReport(out=lambda line: None)
    with stub_server(script) as server:
        assert ensure_solution(api_for(server.url), report) == SOLUTION_UNIQUE_NAME
    assert report.changes == [] and len(server.requests) == 2


def test_dry_run_plans_without_writing() -> None:
    report = ChangeReport(dry_run=True, out=lambda line: None)
    with stub_server([Canned(200, {"value": []}), Canned(200, {"value": []})]) as server:
        ensure_solution(api_for(server.url), report)
    assert len(report.changes) == 2
    assert [method for method, _, _ in server.requests] == ["GET", "GET"]
