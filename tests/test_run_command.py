"""The run command's stack (what `make run` starts) and the demo story, end to end on embedded defaults."""

from __future__ import annotations

import os

import requests
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.embedded_redis import free_port
from app.launcher import LocalStack
from sandbox.demo import tell_story

NOT_CONFIGURED = ("REDIS_URL", "DATAVERSE_URL", "DATAVERSE_TOKEN", "DATAVERSE_WEBHOOK_SECRETS", "XERO_CLIENT_ID",
                  "CONNECTOR_USER_ID", "BIND")


def test_the_stack_starts_on_embedded_defaults_and_the_demo_story_runs(tmp_path, capsys):
    environ = {k: v for k, v in os.environ.items() if k not in NOT_CONFIGURED}
    environ.update(PORT=str(free_port()), SANDBOX_DATAVERSE_PORT=str(free_port()), SANDBOX_XERO_PORT=str(free_port()))
    with LocalStack(environ=environ, log_dir=tmp_path) as stack:
        assert stack.sandbox_dataverse and stack.sandbox_xero
        assert requests.get(f"{stack.web_url}/readyz", timeout=5).json()["status"] == "ready"
        steps = requests.get(
            f"{stack.env['DATAVERSE_URL']}/api/data/v9.2/sdkmessageprocessingsteps",
            headers={"Authorization": f"Bearer {stack.env['DATAVERSE_TOKEN']}", "Accept": "application/json"},
            timeout=5,
        ).json()["value"]
        assert len(steps) >= 6, "the webhook steps were registered on the sandbox"
        assert stack.env["SANDBOX_CONNECTION_ID"]

        tell_story(stack)
        story = capsys.readouterr().out
        assert "6 webhooks fired for the invoice and its lines, 6 accepted" in story
        assert "job done by handlers.invoice_sync: done" in story
        redis_url = stack.env["REDIS_URL"]

    try:
        Redis.from_url(redis_url, socket_connect_timeout=0.5).ping()
        stopped = False
    except RedisConnectionError:
        stopped = True
    assert stopped, "the private Redis stops with the stack"
    assert all(child.poll() is not None for _, child in stack.supervisor.children), "every child was stopped"
