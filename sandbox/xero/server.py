"""Assemble the sandbox Flask app and serve it, in the foreground or on a background thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.xero import api_accounting, api_admin, api_identity
from sandbox.xero.settings import Settings
from sandbox.xero.state import SandboxState


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings()
    app = Flask("sandbox.xero")
    app.extensions["xero_sandbox"] = SandboxState(settings)
    app.register_blueprint(api_accounting.bp)
    app.register_blueprint(api_identity.bp)
    app.register_blueprint(api_admin.bp)
    return app


def state_of(app: Flask) -> SandboxState:
    return app.extensions["xero_sandbox"]  # type: ignore[no-any-return]


class _Handler(WSGIRequestHandler):
    # Idle keep-alive connections are closed after this long, so clients that never close their pools
    # (the SDK's never do) do not pin one server thread each for ever.
    timeout = 30


class _QuietHandler(_Handler):
    """No access log line per request: benchmarks make thousands."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class RunningSandbox:
    url: str
    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def state(self) -> SandboxState:
        return state_of(self.app)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def accounting_url(self) -> str:
        return f"{self.url}/api.xro/2.0"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.state.webhooks.stop()


def _bind(settings: Settings, quiet: bool) -> tuple[Flask, BaseWSGIServer]:
    app = create_app(settings)
    server = make_server(
        settings.host, settings.port, app, threaded=True, request_handler=_QuietHandler if quiet else _Handler
    )
    # The real port is known only now (port 0 asks the OS for a free one).
    settings.port = server.server_port
    state_of(app).base_url = f"http://{settings.host}:{server.server_port}"
    return app, server


def start_in_thread(settings: Settings | None = None, quiet: bool = True) -> RunningSandbox:
    """Serve on a background thread; port 0 (the default) picks a free port. Call .stop() when done."""
    settings = replace(settings) if settings else Settings()
    app, server = _bind(settings, quiet)
    # A short poll interval makes stop() quick; it costs nothing while requests are being served.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="xero-sandbox", daemon=True
    )
    thread.start()
    _subscribe_when_configured(state_of(app))
    return RunningSandbox(state_of(app).base_url, app, server, thread)


def _subscribe_when_configured(state: SandboxState, attempts: int = 10, pause: float = 1.0) -> None:
    """Run intent to receive for a start-up webhook URL in the background: the receiver may start later."""
    url = state.settings.webhook_url
    if not url:
        return

    def keep_trying() -> None:
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause)
            if state.webhooks.subscribe(url, state.settings.webhook_key).status == "ACTIVE":
                return

    threading.Thread(target=keep_trying, name="xero-sandbox-subscribe", daemon=True).start()


def serve_forever(settings: Settings) -> None:
    app, server = _bind(settings, quiet=not settings.access_log)
    _subscribe_when_configured(state_of(app))
    try:
        server.serve_forever()
    finally:
        server.server_close()
        state_of(app).webhooks.stop()
