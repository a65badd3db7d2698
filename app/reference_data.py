"""`python -m app.reference_data import (--connection ID | --all) [--now]`: Xero reference data into Dynamics.

By default the imports are queued for the workers (one job per connection; `--all` queues the job that finds
every connection with a Xero organisation and a stored token). `--now` runs them here instead and prints what
each changed; it needs the worker's environment (DATAVERSE_*, XERO_*, TOKEN_ENCRYPTION_KEYS).

Exit codes: 0 done, 1 an import failed (the reason is printed), 2 bad configuration or arguments.

The job kinds and how to queue them live here too, so the web process (the admin endpoint) can ask for an
import without loading the worker's clients. The work itself is in handlers/reference_data.py.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Mapping
from typing import Any

from redis import Redis

from app.config import settings_or_exit
from app.errors import ConnectorError
from app.queue import QUEUE_MAINTENANCE, EnqueueResult, JobQueue

KIND_IMPORT = "reference_data.import"  # one connection
KIND_IMPORT_ALL = "reference_data.import_all"  # on demand: queue one import per connection
KIND_NIGHTLY = "reference_data.nightly"  # the schedule's: the same as KIND_IMPORT_ALL
TABLE_COLUMNS = ("created", "updated", "deactivated", "unchanged")


def import_scope(connection_id: str) -> str:
    return f"reference_data:{connection_id.lower()}"


IMPORTED_TENANT_KEY = "connector:reference:tenant"  # hash: connection id -> the tenant its import was queued for


def submit_import(
    jobs: JobQueue, connection_id: str, *, trigger: Mapping[str, Any], tenant_id: str | None = None
) -> EnqueueResult:
    """Queue one connection's import, or join the one already waiting for it (imports never overlap: the
    scope is also the job's lock). With `tenant_id`, remember which organisation it is for, so saving the
    connection row again for the same organisation does not import again."""
    queued = jobs.submit_coalesced(
        QUEUE_MAINTENANCE,
        KIND_IMPORT,
        {"connection_id": connection_id.lower()},
        scope=import_scope(connection_id),
        trigger=trigger,
    )
    if tenant_id:
        jobs.redis.hset(IMPORTED_TENANT_KEY, connection_id.lower(), tenant_id.lower())
    return queued


def imported_tenant(redis: Redis, connection_id: str) -> str | None:
    """The organisation the connection's last queued import was for (None: never imported)."""
    value = redis.hget(IMPORTED_TENANT_KEY, connection_id.lower())
    return value.decode() if value else None


def submit_import_all(jobs: JobQueue, *, trigger: Mapping[str, Any]) -> EnqueueResult:
    """Queue the job that queues one import per connection."""
    return jobs.submit_coalesced(QUEUE_MAINTENANCE, KIND_IMPORT_ALL, {}, scope="reference_data:all", trigger=trigger)


def _connection_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a connection id (a GUID)") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m app.reference_data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("import", help="import tax rates, account codes, branding themes and tracking")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--connection", type=_connection_id, metavar="ID", help="one connection row's id")
    which.add_argument("--all", action="store_true", help="every connection with a Xero organisation")
    run.add_argument("--now", action="store_true", help="run here and print the counts instead of queueing")
    return root


def print_result(result: dict[str, Any]) -> None:
    print(f"connection {result['connection_id']} (Xero tenant {result['tenant_id']})")
    print(f"  {'table':<22}" + "".join(f"{name:>13}" for name in TABLE_COLUMNS))
    for table, counts in result["tables"].items():
        print(f"  {table.replace('_', ' '):<22}" + "".join(f"{counts[name]:>13}" for name in TABLE_COLUMNS))
    print(f"  {'total':<22}" + "".join(f"{result['totals'][name]:>13}" for name in TABLE_COLUMNS))


def run_now(jobs: JobQueue, connection_id: str | None) -> int:
    # The worker's clients are only loaded for an inline run.
    from app.services import services_for
    from handlers.reference_data import import_reference_data, importable_connections, read_connection

    services = services_for(jobs.redis)
    if services is None:
        print("--now needs the worker's environment: DATAVERSE_URL and XERO_CLIENT_ID are not set", file=sys.stderr)
        return 2
    failures = 0
    try:
        if connection_id:
            connections = [read_connection(services, connection_id)]
        else:
            connections, without_token = importable_connections(services)
            for skipped in without_token:
                print(f"connection {skipped}: skipped, no Xero token is stored for it")
    except ConnectorError as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 1
    for connection in connections:
        try:
            print_result(import_reference_data(services, connection))
        except ConnectorError as exc:
            failures += 1
            print(f"connection {connection.connection_id}: failed: {exc}", file=sys.stderr)
    if not connections:
        print("no connection has a Xero organisation and a stored token")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from app import redis_client

    settings = settings_or_exit("worker")
    jobs = JobQueue(redis_client(settings.redis_url), settings)
    if args.now:
        return run_now(jobs, args.connection)
    trigger = {"requested_by": "command line"}
    if args.connection:
        queued = submit_import(jobs, args.connection, trigger=trigger)
        print(f"{queued.status} {queued.job_id}: reference data import for connection {args.connection}")
    else:
        queued = submit_import_all(jobs, trigger=trigger)
        print(f"{queued.status} {queued.job_id}: one reference data import per connection will be queued")
    return 0


if __name__ == "__main__":
    sys.exit(main())
