"""`python -m sandbox.dataverse --port P`: serve the sandbox Dataverse until interrupted."""

from __future__ import annotations

import argparse
import logging

from sandbox.dataverse.seed import SANDBOX_CONNECTOR_TOKEN, SANDBOX_PERSON_TOKEN
from sandbox.dataverse.server import create_app
from sandbox.dataverse.settings import DataverseSandboxSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.dataverse", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5555)
    parser.add_argument(
        "--request-budget",
        type=int,
        default=None,
        help="service-protection budget per user per 5 minutes (default: unlimited)",
    )
    parser.add_argument("--organization-host", default=DataverseSandboxSettings.organization_host)
    parser.add_argument("--quiet", action="store_true", help="no access log line per request")
    args = parser.parse_args(argv)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # werkzeug logs each request at INFO
    settings = DataverseSandboxSettings(request_budget=args.request_budget, organization_host=args.organization_host)
    print(
        f"Dataverse sandbox on http://{args.host}:{args.port}/api/data/v9.2/ "
        f"(tokens: {SANDBOX_CONNECTOR_TOKEN}, {SANDBOX_PERSON_TOKEN})",
        flush=True,
    )
    create_app(settings).run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
