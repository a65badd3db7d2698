import base64

import pytest
from flask import Flask

from app.admin_auth import admin_required
from tests.helpers import settings_for


def app_with(token: str, redis_url: str) -> Flask:
    app = Flask(__name__)
    app.config["CONNECTOR_SETTINGS"] = settings_for(redis_url, admin_token=token)

    @app.get("/admin/ping")
    @admin_required
    def ping():
        return {"ok": True}

    return app


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Bearer admin-secret"}, 200),
        ({"Authorization": "Basic " + base64.b64encode(b"admin:admin-secret").decode()}, 200),
        ({"Authorization": "Basic " + base64.b64encode(b"admin:nope").decode()}, 401),
    ],
)
def test_bearer_or_basic_with_the_admin_token(redis_url, headers, status):
    response = app_with("admin-secret", redis_url).test_client().get("/admin/ping", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_without_a_configured_token_the_admin_surface_is_closed(redis_url):
    response = app_with("", redis_url).test_client().get("/admin/ping", headers={"Authorization": "Bearer "})
    assert response.status_code == 503
