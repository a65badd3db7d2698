"""`python -m sandbox.xero --port 8102`: a local stand-in for Xero's Accounting API, identity and webhooks.

Flags not given fall back to SANDBOX_XERO_TIME_SCALE, SANDBOX_XERO_ADMIN_TOKEN, SANDBOX_XERO_WEBHOOK_URL
and SANDBOX_XERO_WEBHOOK_KEY, so a launcher can configure the child through its environment.
"""

from __future__ import annotations

import argparse
import os

from sandbox.xero.server import serve_forever
from sandbox.xero.settings import Limits, Settings


def parse_args(argv: list[str] | None = None) -> Settings:
    defaults = Settings()
    limits = Limits()
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.xero", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=8102, help="0 picks a free port")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=float(env.get("SANDBOX_XERO_TIME_SCALE", defaults.time_scale)),
        help="multiplies every Xero duration: 0.1 makes a rate-limit minute 6 s",
    )
    parser.add_argument("--admin-token", default=env.get("SANDBOX_XERO_ADMIN_TOKEN", defaults.admin_token))
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--client-secret", default=defaults.client_secret)
    parser.add_argument("--redirect-uri", action="append", default=[], help="may repeat")
    parser.add_argument(
        "--webhook-url",
        default=env.get("SANDBOX_XERO_WEBHOOK_URL") or None,
        help="subscribe at start (runs intent to receive)",
    )
    parser.add_argument("--webhook-key", default=env.get("SANDBOX_XERO_WEBHOOK_KEY", defaults.webhook_key))
    parser.add_argument("--limit-concurrent", type=int, default=limits.concurrent)
    parser.add_argument("--limit-minute", type=int, default=limits.per_minute)
    parser.add_argument("--limit-day", type=int, default=limits.per_day)
    parser.add_argument("--limit-app-minute", type=int, default=limits.app_per_minute)
    parser.add_argument("--quiet", action="store_true", help="no access log line per request")
    args = parser.parse_args(argv)
    return Settings(
        access_log=not args.quiet,
        host=args.host,
        port=args.port,
        time_scale=args.time_scale,
        admin_token=args.admin_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uri,
        webhook_key=args.webhook_key,
        webhook_url=args.webhook_url,
        limits=Limits(args.limit_concurrent, args.limit_minute, args.limit_day, args.limit_app_minute),
    )


def main(argv: list[str] | None = None) -> None:
    serve_forever(parse_args(argv))


if __name__ == "__main__":
    main()
