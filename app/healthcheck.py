"""`python -m app.healthcheck web|worker`: the container's health check, exit 0 when healthy.

web: GET /healthz where gunicorn listens (`BIND`, a wildcard host asked on loopback, or a unix socket).
worker: a worker of this host wrote its heartbeat to Redis recently (RQ renews it while idle and during jobs).
"""

from __future__ import annotations

import http.client
import socket
import sys

from redis.exceptions import RedisError

from app.config import settings_or_defaults

TIMEOUT_SECONDS = 3.0
_WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT_SECONDS)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT_SECONDS)
        self.sock.connect(self.unix_path)


def connection_for(bind: str) -> http.client.HTTPConnection:
    """Where to ask for /healthz, given gunicorn's BIND."""
    if bind.startswith("unix:"):
        return _UnixConnection(bind.removeprefix("unix:"))
    host, _, port = bind.rpartition(":")
    host = "127.0.0.1" if host in _WILDCARDS else host.strip("[]")
    return http.client.HTTPConnection(host, int(port), timeout=TIMEOUT_SECONDS)


def web_is_healthy(bind: str) -> bool:
    connection = connection_for(bind)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def worker_is_healthy(redis_url: str) -> bool:
    from app import redis_client
    from app.worker import alive_here

    try:
        return alive_here(redis_client(redis_url))
    except RedisError:
        return False


def main(argv: list[str] | None = None) -> int:
    role = (argv if argv is not None else sys.argv[1:]) or ["web"]
    # The role itself validated its settings at start; a health check only needs where to look.
    settings = settings_or_defaults()
    if role[0] == "web":
        return 0 if web_is_healthy(settings.bind) else 1
    if role[0] == "worker":
        return 0 if worker_is_healthy(settings.redis_url) else 1
    print("usage: python -m app.healthcheck web|worker", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
