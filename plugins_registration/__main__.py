"""The admin CLI: `plugins_registration provision|register|status|unregister|rotate-secret`.

Exit codes: 0 done, 1 failed (one line on stderr says why), 2 wrong usage or missing settings.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence

from plugins_registration.auth import connection_from_environment
from plugins_registration.errors import RegistrationError, UsageError
from plugins_registration.package import solution_zip
from plugins_registration.provision import provision
from plugins_registration.register import register, rotate_secret, unregister
from plugins_registration.report import ChangeReport
from plugins_registration.solution import SOLUTION_UNIQUE_NAME, SOLUTION_VERSION
from plugins_registration.solution_import import import_solution
from plugins_registration.status import show_status
from plugins_registration.steps import DEFAULT_HEADER_NAME, AuthType, EndpointSpec, validate_webhook_url
from plugins_registration.webapi import WebApi

DEFAULT_SECRET_ENV = "DATAVERSE_WEBHOOK_SECRETS"  # noqa: S105 - the variable's name, not a secret
AUTH_CHOICES = {"webhookkey": AuthType.WEBHOOK_KEY, "header": AuthType.HTTP_HEADER}
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: `--secret` must never be read as `--secret-env`, nor any secret accepted as an argument.
    parser = argparse.ArgumentParser(
        prog="plugins_registration",
        allow_abbrev=False,
        description="Install the Dynamics 365 side of the Xero connector. Connects with DATAVERSE_URL and either "
        "DATAVERSE_TOKEN or DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, help=help, allow_abbrev=False)

    def dry_run(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")

    def secret_env(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--secret-env",
            default=DEFAULT_SECRET_ENV,
            metavar="VAR",
            help="environment variable holding the webhook secret; its first comma-separated value is used "
            f"(default {DEFAULT_SECRET_ENV})",
        )

    prov = command("provision", help="create or upgrade the connector's tables, columns, forms, views, app and roles")
    dry_run(prov)
    prov.add_argument(
        "--import",
        dest="import_solution",
        action="store_true",
        help="install everything as one solution import (ImportSolutionAsync) instead of change by change",
    )
    package = command("package", help="write the customisations as a solution file to import in Dynamics")
    package.add_argument("--output", required=True, metavar="FILE.zip", help="where to write the solution file")

    reg = command("register", help="register (or update) the webhook endpoint and its steps")
    reg.add_argument(
        "--url", required=True, help="the connector's webhook address, e.g. https://host/webhooks/dataverse"
    )
    reg.add_argument("--auth", required=True, choices=sorted(AUTH_CHOICES), help="how Dataverse sends the secret")
    reg.add_argument(
        "--header-name", default=DEFAULT_HEADER_NAME, help=f"header for --auth header (default {DEFAULT_HEADER_NAME})"
    )
    secret_env(reg)
    dry_run(reg)

    command("status", help="show the registration and recent failed webhook jobs")
    dry_run(command("unregister", help="remove the webhook endpoint, its steps and images"))

    rotate = command("rotate-secret", help="write a new secret into the webhook endpoint")
    rotate.add_argument("--header-name", default=None, help="header name, when --auth header (default: as registered)")
    secret_env(rotate)
    dry_run(rotate)
    return parser


def read_secret(environ: Mapping[str, str], variable: str) -> str:
    first = environ.get(variable, "").split(",", 1)[0].strip()
    if not first:
        raise UsageError(
            f"{variable} is not set: put the webhook secret there (the first comma-separated value is used)"
        )
    return first


def valid_header(name: str) -> str:
    """An HTTP header name (RFC 9110 token characters), so Dataverse can actually send it."""
    name = name.strip()
    if not HEADER_NAME.fullmatch(name):
        raise UsageError(f"--header-name must be a plain HTTP header name like x-connector-key (got {name!r})")
    return name


def redact(text: str, environ: Mapping[str, str], secret_env: str = DEFAULT_SECRET_ENV) -> str:
    """Masks every secret the script knows of, should a server ever echo one back in an error message."""
    known = [environ.get("DATAVERSE_TOKEN", ""), environ.get("DATAVERSE_CLIENT_SECRET", "")]
    known += environ.get(secret_env, "").split(",")
    for secret in sorted({value.strip() for value in known if len(value.strip()) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def write_package(output: str) -> int:
    content = solution_zip()
    try:
        with open(output, "wb") as target:
            target.write(content)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"Wrote solution '{SOLUTION_UNIQUE_NAME}' {SOLUTION_VERSION} to {output} ({len(content):,} bytes)")
    print("Import it in Power Apps (Solutions > Import solution), then publish all customizations.")
    return EXIT_OK


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.command == "package":
        return write_package(args.output)
    connection = connection_from_environment(environ)
    api = WebApi(connection.org_url, connection.token_provider)
    dry = bool(getattr(args, "dry_run", False))
    report = ChangeReport(dry_run=dry)

    if args.command == "status":
        print(f"Dataverse {connection.org_url}")
        pending = ChangeReport(dry_run=True, out=lambda line: None)
        provision(api, pending)  # a dry run: only reads
        if pending.changes:
            print(f"Schema: {len(pending.changes)} change(s) pending: run `plugins_registration provision`")
        else:
            print("Schema: up to date")
        show_status(api)
        return EXIT_OK

    if args.command == "provision" and args.import_solution:
        print(f"Importing the connector's solution into {connection.org_url}")
        pending = ChangeReport(dry_run=True, out=lambda line: None)
        provision(api, pending)  # reads only: is anything missing?
        if pending.changes:
            import_solution(api, report)
        print(report.summary("Schema"))
    elif args.command == "provision":
        print(f"Provisioning the connector's schema in {connection.org_url}")
        provision(api, report)
        print(report.summary("Schema"))
    elif args.command == "register":
        spec = EndpointSpec(validate_webhook_url(args.url), AUTH_CHOICES[args.auth], valid_header(args.header_name))
        print(f"Registering the webhook in {connection.org_url}")
        register(api, spec, lambda: read_secret(environ, args.secret_env), report)
        print(report.summary("Registration"))
    elif args.command == "unregister":
        print(f"Unregistering the webhook from {connection.org_url}")
        unregister(api, report)
        print(report.summary("Unregistration") if report.changes else "Nothing is registered: nothing changed.")
    elif args.command == "rotate-secret":
        print(f"Rotating the webhook secret in {connection.org_url}")
        header = valid_header(args.header_name) if args.header_name is not None else None
        rotate_secret(api, lambda: read_secret(environ, args.secret_env), report, header)
        print(report.summary("Secret rotation"))
    return EXIT_OK


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # argparse exits 2 on bad usage and 0 for --help
        return int(exit_request.code or 0)
    environ = os.environ if environ is None else environ
    secret_env = getattr(args, "secret_env", DEFAULT_SECRET_ENV)
    try:
        return run(args, environ)
    except UsageError as exc:
        for line in redact(str(exc), environ, secret_env).splitlines():  # one line per configuration problem
            print(f"error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except RegistrationError as exc:
        print(f"error: {redact(str(exc), environ, secret_env)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
