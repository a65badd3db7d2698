"""A tiny webhook receiver for tests: verifies Xero's signature over the raw bytes, as a connector must."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import WSGIRequestHandler, make_server


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class Receiver:
    key: str
    # "verify": 200 for a good signature, 401 otherwise; "always-200" and "always-500" misbehave on purpose.
    mode: str = "verify"
    url: str = ""
    bodies: list[bytes] = field(default_factory=list)
    verdicts: list[bool] = field(default_factory=list)

    def signature_ok(self, raw: bytes, header: str) -> bool:
        expected = base64.b64encode(hmac.new(self.key.encode(), raw, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, header)

    def event_batches(self) -> list[dict[str, Any]]:
        """Accepted deliveries that carried events (intent-to-receive probes have none)."""
        batches = [json.loads(b) for b, ok in zip(self.bodies, self.verdicts, strict=True) if ok]
        return [b for b in batches if b["events"]]


@contextmanager
def running_receiver(key: str, mode: str = "verify") -> Iterator[Receiver]:
    receiver = Receiver(key=key, mode=mode)
    app = Flask("test-receiver")

    @app.post("/xero")
    def hook() -> Response:
        raw = request.get_data()
        ok = receiver.signature_ok(raw, request.headers.get("x-xero-signature", ""))
        receiver.bodies.append(raw)
        receiver.verdicts.append(ok)
        if receiver.mode == "always-200":
            return Response(status=200)
        if receiver.mode == "always-500":
            return Response(status=500)
        return Response(status=200 if ok else 401)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    receiver.url = f"http://127.0.0.1:{server.server_port}/xero"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
