"""Change tracking (RetrieveEntityChanges over the Web API), as Dataverse does it.

Facts (learn.microsoft.com/power-apps/developer/data-platform/use-change-tracking-synchronize-data-external-systems
and .../webapi/use-change-tracking-synchronize-data-external-systems):

- A table answers change-tracking requests only when its `ChangeTrackingEnabled` is true (an entity
  definition property; once enabled it cannot be disabled). Otherwise the request is refused.
- `GET <entityset>?$select=…` with `Prefer: odata.track-changes` returns the rows like any query, and the last
  page carries `@odata.deltaLink`: the same URL with a `$deltatoken`. The answer says
  `Preference-Applied: odata.track-changes`.
- Following the delta link returns what changed since the token (`@odata.context` ending `/$delta`):
  NewOrUpdatedItem entries are ordinary rows (the current values of the selected columns); a
  RemovedOrDeletedItem is `{"@odata.context": "…$metadata#<entityset>/$deletedEntity", "id": "<guid>",
  "reason": "deleted"}` — only the id survives a delete. Each answer carries the next delta link.
- The tracked query is a whole table with `$select` only: `$filter`, `$orderby`, `$top` and `$expand` are refused.

Versions are the store's row version numbers: a row changed after the token's version is returned; deletes are
kept as tombstones with the version they happened at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.dataverse.errors import bad_request
from sandbox.dataverse.odata import QueryOptions
from sandbox.dataverse.schema import Table
from sandbox.dataverse.store import Store

TRACK_CHANGES = "odata.track-changes"
DELTA_TOKEN = "$deltatoken"
NOT_TRACKED_CODE = "0x80044153"
UNSUPPORTED_OPTIONS = ("$filter", "$orderby", "$top", "$expand", "$count")


def check_trackable(table: Table, args: dict[str, str]) -> None:
    if not table.change_tracking:
        raise bad_request(
            f"Change tracking is not enabled for the entity '{table.logical_name}' "
            "(set ChangeTrackingEnabled on its definition).",
            NOT_TRACKED_CODE,
        )
    refused = [name for name in UNSUPPORTED_OPTIONS if name in args]
    if refused:
        raise bad_request(f"The query option(s) {', '.join(refused)} are not supported with change tracking.")


def token_now(store: Store) -> str:
    """Dataverse's tokens look like `<version>!<timestamp>`; only the version matters here."""
    return f"{store.current_version}!{datetime.now(UTC):%m/%d/%Y %H:%M:%S}"


def version_of(token: str) -> int:
    version = token.split("!", 1)[0]
    if not version.isdigit():
        raise bad_request(f"The delta token '{token}' is not valid.")
    return int(version)


def delta_link(base_url: str, table: Table, options: QueryOptions, token: str) -> str:
    args = {"$select": ",".join(options.select)} if options.select else {}
    args[DELTA_TOKEN] = token
    return f"{base_url}{table.entity_set}?{urlencode(args)}"


def changes_since(store: Store, table: Table, version: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows written after `version` (oldest change first) and ids deleted after it."""
    changed = sorted(
        (row for row in store.table_rows(table.logical_name).values() if int(row.get("versionnumber") or 0) > version),
        key=lambda row: int(row["versionnumber"]),
    )
    deleted = [
        record_id
        for record_id, at in sorted(store.tombstones.get(table.logical_name, {}).items(), key=lambda item: item[1])
        if at > version and record_id not in store.table_rows(table.logical_name)
    ]
    return changed, deleted


def deleted_entry(base_url: str, table: Table, record_id: str) -> dict[str, Any]:
    return {
        "@odata.context": f"{base_url}$metadata#{table.entity_set}/$deletedEntity",
        "id": record_id,
        "reason": "deleted",
    }
