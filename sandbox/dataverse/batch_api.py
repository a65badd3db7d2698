"""The `$batch` endpoint: each inner request runs through this same app as the same caller."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, request

from sandbox.dataverse.batch import InnerRequest, InnerResponse, parse_batch, render_batch, run_batch
from sandbox.dataverse.records import WriteContext
from sandbox.dataverse.web import API_PREFIX, INTERNAL, current_sandbox, prefer


def handle_batch(ctx: WriteContext) -> Response:
    sandbox = current_sandbox()
    parts = parse_batch(request.headers.get("Content-Type", ""), request.get_data())
    authorization = request.headers.get("Authorization", "")
    host_url = request.host_url
    client = current_app.test_client()

    def execute(inner: InnerRequest) -> InnerResponse:
        parts_of_url = urlsplit(inner.url)
        path = parts_of_url.path if parts_of_url.path.startswith("/") else API_PREFIX + parts_of_url.path
        headers = {**inner.headers, "Authorization": authorization}
        response = client.open(
            path,
            method=inner.method,
            query_string=parts_of_url.query,
            headers=headers,
            data=inner.body,
            environ_base={INTERNAL: True},
            base_url=host_url,
        )
        kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "server", "date")}
        return InnerResponse(response.status_code, kept, response.get_data())

    results = run_batch(parts, execute, sandbox.store, "odata.continue-on-error" in prefer())
    body, content_type = render_batch(results)
    return Response(body, status=200, content_type=content_type, headers={"OData-Version": "4.0"})
