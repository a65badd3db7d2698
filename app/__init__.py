"""create_app(): the only place the Flask application is assembled."""

from __future__ import annotations

from flask import Flask, Response, jsonify, redirect
from redis import Redis
from werkzeug.exceptions import HTTPException

from app.admin import blueprint as admin_console
from app.admin_reference import blueprint as admin_reference
from app.config import Settings, load_settings
from app.health import blueprint as health
from app.logs import configure_logging
from app.metrics import blueprint as metrics_endpoint
from app.queue import JobQueue
from app.webhooks.dataverse import blueprint as dataverse
from app.webhooks.xero import blueprint as xero
from app.xero_connect import blueprint as xero_connect


def redis_client(url: str) -> Redis:
    # Short timeouts: a webhook must answer 503 well inside its sender's patience when Redis is away.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def create_app(settings: Settings | None = None, redis: Redis | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config["CONNECTOR_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_bytes
    app.extensions["connector.jobs"] = JobQueue(redis or redis_client(settings.redis_url), settings)

    app.register_blueprint(health)
    app.register_blueprint(metrics_endpoint)
    app.register_blueprint(dataverse)
    app.register_blueprint(xero)
    app.register_blueprint(xero_connect)
    app.register_blueprint(admin_reference)
    app.register_blueprint(admin_console)
    # A person who opens the service's address lands on the console (which asks for the admin password).
    app.add_url_rule("/", "root", lambda: redirect("/admin", code=302))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        # Every error answers in JSON with a short description, never an HTML page or a traceback.
        return jsonify({"error": exc.description or exc.name}), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> tuple[Response, int]:
        app.logger.exception("unhandled error")
        return jsonify({"error": "internal error"}), 500

    return app
