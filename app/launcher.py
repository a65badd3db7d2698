"""`make run`: the whole service on one machine, on embedded defaults where nothing real is configured.

Starts, as child processes: a private Redis (no REDIS_URL), the sandbox Dataverse (no DATAVERSE_URL) and
the sandbox Xero (no XERO_CLIENT_ID), gunicorn serving wsgi:app, one RQ worker and the scheduler. Against the sandbox
Dataverse it also provisions the schema, registers the webhook steps on the local service and creates the
connection row for a sandbox Xero organisation; with the sandbox Xero too, it connects that organisation
(consent, code exchange, token set encrypted in Redis with TOKEN_ENCRYPTION_KEYS, generated for the run when
unset), gives the worker the XERO_* settings of the sandbox, so invoices really sync, and queues the import of
that organisation's reference data, so the console's account lists and Dynamics' lookups are filled.
Without ADMIN_TOKEN it generates one for the run: the summary prints it once, with the console's address and the
sandbox credentials a person needs to try the connector.
Ctrl-C (or any child dying) stops everything it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from app import redis_client
from app.config import settings_or_exit
from app.embedded_redis import EmbeddedRedis, free_port
from app.metrics import fresh_metrics_dir
from app.sandbox_xero_link import connect_organisation, sandbox_xero_settings
from app.xero_tenants import register_tenant

ROOT = Path(__file__).resolve().parent.parent


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def choose_port(preferred: int) -> int:
    """The preferred port when nothing listens there, else any free one (said in the summary)."""
    return preferred if _port_free(preferred) else free_port()


def wait_for_port(port: int, child: subprocess.Popen[bytes], name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{name} exited during start-up (code {child.returncode})")
        if not _port_free(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on port {port} within {timeout:.0f} s")


@dataclass
class Supervisor:
    """Starts children and stops them all, newest first."""

    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    log_dir: Path | None = None  # None: children write to this terminal; else one log file each

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        output = None
        if self.log_dir is not None:
            output = (self.log_dir / f"{name.replace(' ', '-').lower()}.log").open("ab")
        # Own session: Ctrl-C reaches only the launcher, which then stops the children in order (newest first).
        child = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
        if output:
            output.close()  # the child holds its own copy
        self.children.append((name, child))
        return child

    def run(self, argv: list[str], env: Mapping[str, str]) -> None:
        """A one-off command (provisioning, registration); its output goes where the children's goes."""
        output = None
        if self.log_dir is not None:
            output = (self.log_dir / "setup.log").open("ab")
        try:
            result = subprocess.run(
                argv, cwd=ROOT, env=dict(env), check=False, stdout=output, stderr=subprocess.STDOUT if output else None
            )
        finally:
            if output:
                output.close()
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[2:4])} failed (exit code {result.returncode})")

    def first_exited(self) -> str | None:
        for name, child in self.children:
            if child.poll() is not None:
                return f"{name} (exit code {child.returncode})"
        return None

    def stop_all(self) -> None:
        """Newest first, each given time to finish its work: the worker ends its current job, gunicorn its
        requests, and the sandboxes go after the processes that talk to them."""
        for _, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def start_sandbox(
    supervisor: Supervisor, name: str, module: str, preferred_port: int, env: Mapping[str, str], access_log: bool
) -> int:
    port = choose_port(preferred_port)
    # The sandboxes' access lines would drown the connector's own output; SANDBOX_ACCESS_LOG=true shows them.
    quiet = [] if access_log else ["--quiet"]
    child = supervisor.start(name, [sys.executable, "-m", module, "--port", str(port), *quiet], env)
    wait_for_port(port, child, name)
    return port


def ensure_sandbox_connection(
    dataverse_url: str, token: str, tenant_id: str, tenant_name: str, short_code: str | None = None
) -> str:
    """The connection row for the sandbox Xero organisation, created once (the Dynamics side of connecting)."""
    from app.dynamics_schema import CONNECTION_ENTITY_SET, ConnectionStatus, column

    api = f"{dataverse_url}/api/data/v9.2"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "OData-Version": "4.0",
        "OData-MaxVersion": "4.0",
        "Content-Type": "application/json",
    }
    tenant_column = column("xerotenantid")
    found = requests.get(
        f"{api}/{CONNECTION_ENTITY_SET}",
        headers=headers,
        timeout=10,
        params={"$filter": f"{tenant_column} eq '{tenant_id}'", "$select": column("name")},
    )
    found.raise_for_status()
    rows = found.json()["value"]
    if rows:
        return rows[0][f"{column('connectionid')}"]
    created = requests.post(
        f"{api}/{CONNECTION_ENTITY_SET}",
        headers={**headers, "Prefer": "return=representation"},
        timeout=10,
        json={
            column("name"): tenant_name,
            tenant_column: tenant_id,
            column("xerotenantname"): tenant_name,
            column("isdefault"): True,
            column("timezone"): "Europe/London",
            column("defaultsalesaccountcode"): "200",
            column("defaultpurchaseaccountcode"): "300",
            column("xeroshortcode"): short_code,
            column("createcontacts"): True,
            column("createcreditnote"): True,
            column("connectionstatus"): int(ConnectionStatus.CONNECTED),
        },
    )
    created.raise_for_status()
    return created.json()[column("connectionid")]


def sandbox_credentials(env: Mapping[str, str], with_xero: bool) -> list[str]:
    """What a person needs to act in the sandboxes (fixed, public test values; the run's own secrets stay out)."""
    from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN, SANDBOX_PERSON_TOKEN

    lines = [
        f"Sandbox Dynamics users      bearer {SANDBOX_PERSON_TOKEN} (Sam Seller, a salesperson), "
        f"{SANDBOX_CONNECTOR_TOKEN} (the connector, administrator)",
        f"  e.g.                      curl -H 'Authorization: Bearer {SANDBOX_PERSON_TOKEN}' "
        f"{env['DATAVERSE_URL']}/api/data/v9.2/invoices",
    ]
    if with_xero:
        from sandbox.xero.settings import DEFAULT_ADMIN_TOKEN

        lines += [
            "Sandbox Xero                its consent page needs no sign-in (tick the organisations, Allow access);",
            f"  state and test controls   {env['XERO_API_URL']}/_sandbox/... with header "
            f"X-Sandbox-Admin-Token: {DEFAULT_ADMIN_TOKEN}",
        ]
    return lines


@dataclass
class LocalStack:
    """Everything `make run` starts, as a context manager so the demo can drive the same stack."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    env: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    supervisor: Supervisor = field(default_factory=Supervisor)
    redis_server: EmbeddedRedis | None = None
    web_url: str = ""
    admin_token_generated: bool = False
    sandbox_dataverse: bool = False
    sandbox_xero: bool = False
    log_dir: Path | None = None  # where the children's output goes; None: this terminal

    def __post_init__(self) -> None:
        self.supervisor.log_dir = self.log_dir

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        env = self.env = dict(self.environ)
        run = settings_or_exit("run", env)  # what the person configured; `env` becomes what the children get
        # One metrics directory for web, worker and scheduler, so the web's /metrics shows them all.
        env["PROMETHEUS_MULTIPROC_DIR"] = fresh_metrics_dir(run.prometheus_multiproc_dir or None)
        python = sys.executable
        if not run.redis_url:
            self.redis_server = EmbeddedRedis().start()
            env["REDIS_URL"] = self.redis_server.url
            self.summary.append(f"Redis (private, in-memory)  {self.redis_server.url}")
        else:
            self.summary.append("Redis                       REDIS_URL (configured)")
        if not run.dataverse_webhook_secrets:
            env["DATAVERSE_WEBHOOK_SECRETS"] = secrets.token_urlsafe(32)  # never printed
        if not run.admin_token:
            # The console needs one, and a token set later would need a restart: one for this run, printed once.
            env["ADMIN_TOKEN"] = secrets.token_urlsafe(18)
            self.admin_token_generated = True

        if "bind" not in run.model_fields_set:
            env["BIND"] = f"127.0.0.1:{choose_port(run.port)}"
        web_port = int(env["BIND"].rsplit(":", 1)[1])

        self.sandbox_dataverse = not run.dataverse_url
        if self.sandbox_dataverse:
            from sandbox.dataverse.seed import CONNECTOR_USER_ID, SANDBOX_CONNECTOR_TOKEN

            port = start_sandbox(
                self.supervisor,
                "sandbox Dataverse",
                "sandbox.dataverse",
                run.sandbox_dataverse_port,
                env,
                run.sandbox_access_log,
            )
            env["DATAVERSE_URL"] = f"http://127.0.0.1:{port}"
            env["DATAVERSE_TOKEN"] = SANDBOX_CONNECTOR_TOKEN
            env.setdefault("CONNECTOR_USER_ID", CONNECTOR_USER_ID)
            self.summary.append(f"Sandbox Dataverse           {env['DATAVERSE_URL']}/api/data/v9.2/")

        self.sandbox_xero = not run.xero_client_id
        if self.sandbox_xero:
            # The sandbox subscribes the connector's Xero webhook at start (intent to receive retries for a while,
            # so the web process may come up after it), signing with a key generated for this run.
            env.setdefault("XERO_WEBHOOK_KEY", secrets.token_urlsafe(32))
            env["SANDBOX_XERO_WEBHOOK_URL"] = f"http://127.0.0.1:{web_port}/webhooks/xero"
            env["SANDBOX_XERO_WEBHOOK_KEY"] = env["XERO_WEBHOOK_KEY"]
            port = start_sandbox(
                self.supervisor,
                "sandbox Xero",
                "sandbox.xero",
                run.sandbox_xero_port,
                env,
                run.sandbox_access_log,
            )
            sandbox_xero_settings(env, f"http://127.0.0.1:{port}")
            self.summary.append(f"Sandbox Xero                {env['XERO_API_URL']}/api.xro/2.0")

        web = self.supervisor.start("web", [python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env)
        wait_for_port(web_port, web, "web")
        self.supervisor.start("worker", [python, "-m", "app.worker"], env)
        self.supervisor.start("scheduler", [python, "-m", "app.scheduler"], env)
        self.web_url = f"http://127.0.0.1:{web_port}"
        webhook_url = f"{self.web_url}/webhooks/dataverse"
        self.summary.append(f"Connector webhooks          {webhook_url}  {self.web_url}/webhooks/xero")
        password = env["ADMIN_TOKEN"] if self.admin_token_generated else "the configured ADMIN_TOKEN"
        self.summary.append(f"Admin console               {self.web_url}/admin  (any user name; password {password})")
        self.summary.append(f"Health                      {self.web_url}/healthz  /readyz")
        self.summary.append(f"Metrics (Prometheus)        {self.web_url}/metrics")
        self.summary.append("Processes                   web (gunicorn), worker, scheduler (periodic work)")

        if self.sandbox_dataverse:
            self.supervisor.run([python, "-m", "plugins_registration", "provision"], env)
            self.supervisor.run(
                [python, "-m", "plugins_registration", "register", "--url", webhook_url, "--auth", "webhookkey"], env
            )
            self.summary.append("Dynamics side               provisioned; webhook steps registered on the service")
            if self.sandbox_xero:
                from sandbox.xero.seed import TENANT_A_ID

                tenant_name = "Sandbox Trading Ltd"
                connection_id = ensure_sandbox_connection(
                    env["DATAVERSE_URL"], env["DATAVERSE_TOKEN"], TENANT_A_ID, tenant_name, short_code="!SbxA1"
                )
                env["SANDBOX_CONNECTION_ID"] = connection_id
                redis = redis_client(env["REDIS_URL"])
                register_tenant(redis, TENANT_A_ID, connection_id)
                connect_organisation(env, redis, connection_id, TENANT_A_ID, f"{self.web_url}/xero/callback")
                self.supervisor.run([python, "-m", "app.reference_data", "import", "--connection", connection_id], env)
                self.summary.append(
                    f"Xero connection             {tenant_name}, connected (tokens stored encrypted); "
                    "its reference data import is queued"
                )
            self.summary.extend(sandbox_credentials(env, self.sandbox_xero))

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.redis_server:
            self.redis_server.stop()
            self.redis_server = None


def main() -> int:
    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        with LocalStack() as stack:
            print(
                "\nThe connector is running:\n  " + "\n  ".join(stack.summary) + "\nPress Ctrl-C to stop.\n", flush=True
            )
            while True:
                exited = stack.supervisor.first_exited()
                if exited:
                    print(f"{exited} stopped; stopping everything.", file=sys.stderr)
                    return 1
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"Start-up failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
