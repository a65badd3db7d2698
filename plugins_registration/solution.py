"""The publisher and solution that own the connector's customisations.

Dataverse accepts a custom name only with the prefix of the publisher of the solution it is created in, so
provisioning first makes sure a publisher with our prefix (`xc`) and a solution of that publisher exist,
then sends every metadata change with the `MSCRM.SolutionUniqueName` header. Admins can then see, export
or remove the connector's customisations as one solution.
"""

from __future__ import annotations

from app.dynamics_schema import CHOICE_VALUE_BASE, PUBLISHER_PREFIX
from plugins_registration.report import ChangeReport
from plugins_registration.webapi import WebApi

SOLUTION_UNIQUE_NAME = "XeroConnector"
SOLUTION_VERSION = "1.0.0.0"
SOLUTION_HEADER = "MSCRM.SolutionUniqueName"
PUBLISHER_UNIQUE_NAME = "xeroconnector"
# A publisher's choice values start at prefix * 10000: 10000 gives the 100000000+ values of the schema.
OPTION_VALUE_PREFIX = CHOICE_VALUE_BASE // 10000


def ensure_solution(api: WebApi, report: ChangeReport) -> str | None:
    """The unique name of the solution to create components in, or None when the org keeps no solutions."""
    publishers = api.get_optional(
        "publishers",
        {"$filter": f"customizationprefix eq '{PUBLISHER_PREFIX}'", "$select": "publisherid,uniquename"},
    )
    if publishers is None:
        # Only a stand-in without solution tables answers 404 here; components then go to the default solution.
        report.note("this organisation has no publishers table: components are created outside any solution")
        return None
    found = publishers.get("value") or []
    publisher_id = str(found[0]["publisherid"]) if found else None
    if publisher_id is None:
        report.change(
            f"create publisher '{PUBLISHER_UNIQUE_NAME}' (prefix {PUBLISHER_PREFIX}, "
            f"choice values from {CHOICE_VALUE_BASE})"
        )
        if not report.dry_run:
            publisher_id = api.post(
                "publishers",
                {
                    "uniquename": PUBLISHER_UNIQUE_NAME,
                    "friendlyname": "Xero connector",
                    "description": "Publisher of the Dynamics 365 to Xero connector's tables and columns",
                    "customizationprefix": PUBLISHER_PREFIX,
                    "customizationoptionvalueprefix": OPTION_VALUE_PREFIX,
                },
            )

    solutions = api.get_all(
        "solutions", {"$filter": f"uniquename eq '{SOLUTION_UNIQUE_NAME}'", "$select": "solutionid"}
    )
    if not solutions:
        report.change(f"create solution '{SOLUTION_UNIQUE_NAME}'")
        if not report.dry_run:
            api.post(
                "solutions",
                {
                    "uniquename": SOLUTION_UNIQUE_NAME,
                    "friendlyname": "Xero connector",
                    "version": SOLUTION_VERSION,
                    "description": "Tables and columns of the Dynamics 365 to Xero connector",
                    "publisherid@odata.bind": f"/publishers({publisher_id})",
                },
            )
    return SOLUTION_UNIQUE_NAME
