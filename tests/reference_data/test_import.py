"""The import end to end: sandbox Xero tenant A -> the provisioned sandbox Dataverse, through real RQ jobs."""

from __future__ import annotations

from decimal import Decimal

from app import dynamics_schema as schema
from app.reference_data import KIND_IMPORT, submit_import
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID, seeded_id
from tests.reference_data.conftest import Connected

CONNECTION_VALUE = f"_{schema.REFERENCE_CONNECTION}_value"
CATEGORY_VALUE = f"_{schema.TRACKING_OPTION_CATEGORY}_value"


def run_import(connected: Connected, connection_id: str | None = None) -> dict:
    queued = submit_import(connected.jobs, connection_id or connected.connection_id, trigger={"test": True})
    jobs = connected.work()
    assert [job.id for job in jobs] == [queued.job_id]
    result = jobs[0].return_value()
    assert result["outcome"] == "done", result
    return result


def by(rows: list[dict], column: str) -> dict[str, dict]:
    return {row[column]: row for row in rows}


def test_first_import_creates_every_row_linked_to_its_connection(connected):
    result = run_import(connected)
    tenant = connected.tenant()
    assert result["tables"]["tax_rates"] == {
        "created": len(tenant.tax_rates),
        "updated": 0,
        "deactivated": 0,
        "unchanged": 0,
    }
    assert result["tables"]["account_codes"]["created"] == len(tenant.accounts)
    assert result["tables"]["branding_themes"]["created"] == 2
    assert result["tables"]["tracking_categories"]["created"] == 2
    assert result["tables"]["tracking_options"]["created"] == 4
    assert result["changed"] is True

    snapshot = connected.api.snapshot()
    for rows in snapshot.values():
        assert rows and all(row[CONNECTION_VALUE] == connected.connection_id for row in rows)

    rates = by(snapshot[schema.TAX_RATE_ENTITY_SET], schema.TAX_RATE_TAX_TYPE)
    assert Decimal(str(rates["OUTPUT2"][schema.TAX_RATE_EFFECTIVE_RATE])) == Decimal("20")
    assert rates["OUTPUT2"][schema.REFERENCE_IS_ACTIVE] is True
    assert rates["OUTPUT2"][schema.REFERENCE_XERO_ID] is None  # tax rates have no Xero id

    accounts = by(snapshot[schema.ACCOUNT_CODE_ENTITY_SET], schema.ACCOUNT_CODE_CODE)
    assert accounts["200"][schema.REFERENCE_XERO_ID] == seeded_id(TENANT_A_ID, "account", "200")
    assert accounts["200"][schema.ACCOUNT_CODE_TYPE] == "SALES"  # the Type Xero gives, as given
    assert accounts["205"][schema.REFERENCE_STATUS] == "ARCHIVED"
    assert accounts["205"][schema.REFERENCE_IS_ACTIVE] is False, "archived in Xero: imported, but inactive"

    themes = by(snapshot[schema.BRANDING_THEME_ENTITY_SET], schema.REFERENCE_NAME)
    assert set(themes) == {"Standard", "Special Projects"}


def test_tracking_options_are_linked_to_their_category(connected):
    run_import(connected)
    categories = by(connected.api.rows(schema.TRACKING_CATEGORY_ENTITY_SET), schema.REFERENCE_NAME)
    options = connected.api.rows(schema.TRACKING_OPTION_ENTITY_SET)
    linked = {(row[CATEGORY_VALUE + schema_formatted()], row[schema.REFERENCE_NAME]) for row in options}
    assert linked == {("Region", "North"), ("Region", "South"), ("Department", "Sales"), ("Department", "Ops")}
    north = next(row for row in options if row[schema.REFERENCE_NAME] == "North")
    assert north[CATEGORY_VALUE] == categories["Region"][schema.TRACKING_CATEGORY_TABLE.primary_id]
    assert north[schema.REFERENCE_XERO_ID] == seeded_id(TENANT_A_ID, "tracking", "Region", "North")


def schema_formatted() -> str:
    return "@OData.Community.Display.V1.FormattedValue"


def test_a_second_run_with_nothing_changed_writes_nothing(connected):
    run_import(connected)
    before = connected.api.snapshot()
    history_before = connected.api.rows(schema.SYNC_HISTORY_ENTITY_SET)

    result = run_import(connected)

    assert result["totals"]["created"] == result["totals"]["updated"] == result["totals"]["deactivated"] == 0
    assert result["totals"]["unchanged"] == sum(len(rows) for rows in before.values())
    assert result["changed"] is False
    assert connected.api.snapshot() == before, "not even modifiedon moved"
    assert connected.api.rows(schema.SYNC_HISTORY_ENTITY_SET) == history_before


def test_the_first_import_leaves_a_sync_history_row_for_the_connection(connected):
    run_import(connected)
    history = connected.api.rows(schema.SYNC_HISTORY_ENTITY_SET)
    [imported] = [row for row in history if row[schema.SYNC_HISTORY_ACTION] == schema.SyncAction.REFERENCE_DATA]
    assert imported[f"_{schema.SYNC_HISTORY_CONNECTION}_value"] == connected.connection_id
    assert "tax rates: 9 created" in imported[schema.SYNC_HISTORY_DETAILS]


def test_archived_and_removed_in_xero_become_inactive_and_changes_are_updated(connected):
    run_import(connected)
    tenant = connected.tenant()
    with connected.xero_sandbox.state.lock:
        # The sandbox has no write API for settings, so the tenant's books are changed in place.
        tenant.tax_rate("RRINPUT")["Status"] = "ARCHIVED"
        tenant.account_by_code("429")["Status"] = "ARCHIVED"
        tenant.account_by_code("400")["Name"] = "Advertising and Marketing"
        tenant.branding_themes[:] = [t for t in tenant.branding_themes if t["Name"] != "Special Projects"]
        tenant.tracking_category("Department")["Options"][1]["Status"] = "ARCHIVED"  # Ops

    result = run_import(connected)

    assert result["tables"]["tax_rates"]["updated"] == 1
    assert result["tables"]["account_codes"]["updated"] == 2
    assert result["tables"]["branding_themes"]["deactivated"] == 1
    assert result["tables"]["tracking_options"]["updated"] == 1
    rates = by(connected.api.rows(schema.TAX_RATE_ENTITY_SET), schema.TAX_RATE_TAX_TYPE)
    assert rates["RRINPUT"][schema.REFERENCE_IS_ACTIVE] is False
    assert rates["RRINPUT"][schema.REFERENCE_STATUS] == "ARCHIVED"
    assert rates["RROUTPUT"][schema.REFERENCE_IS_ACTIVE] is True
    accounts = by(connected.api.rows(schema.ACCOUNT_CODE_ENTITY_SET), schema.ACCOUNT_CODE_CODE)
    assert accounts["429"][schema.REFERENCE_IS_ACTIVE] is False
    assert accounts["400"][schema.REFERENCE_NAME] == "Advertising and Marketing"
    themes = by(connected.api.rows(schema.BRANDING_THEME_ENTITY_SET), schema.REFERENCE_NAME)
    assert themes["Special Projects"][schema.REFERENCE_IS_ACTIVE] is False, "kept, never deleted"
    options = by(connected.api.rows(schema.TRACKING_OPTION_ENTITY_SET), schema.REFERENCE_NAME)
    assert options["Ops"][schema.REFERENCE_IS_ACTIVE] is False
    assert options["Sales"][schema.REFERENCE_IS_ACTIVE] is True

    with connected.xero_sandbox.state.lock:
        tenant.tax_rate("RRINPUT")["Status"] = "ACTIVE"
    again = run_import(connected)
    assert again["tables"]["tax_rates"] == {"created": 0, "updated": 1, "deactivated": 0, "unchanged": 8}
    rates = by(connected.api.rows(schema.TAX_RATE_ENTITY_SET), schema.TAX_RATE_TAX_TYPE)
    assert rates["RRINPUT"][schema.REFERENCE_IS_ACTIVE] is True, "active again once Xero lists it as active"


def test_each_connection_keeps_its_own_rows(connected):
    run_import(connected)
    other = connected.new_connection("Northwind Goods Ltd", TENANT_B_ID, token=True)
    result = run_import(connected, other)
    assert result["tenant_id"] == TENANT_B_ID
    assert result["totals"]["updated"] == result["totals"]["deactivated"] == 0
    accounts = connected.api.rows(schema.ACCOUNT_CODE_ENTITY_SET)
    mine = [row for row in accounts if row[CONNECTION_VALUE] == other]
    assert {row[schema.REFERENCE_XERO_ID] for row in mine} == {
        seeded_id(TENANT_B_ID, "account", row[schema.ACCOUNT_CODE_CODE]) for row in mine
    }
    assert len(accounts) == 2 * len(mine)


def test_without_a_token_the_import_fails_and_the_connection_asks_to_connect_xero(connected):
    connected.tokens.delete(connected.connection_id)
    queued = submit_import(connected.jobs, connected.connection_id, trigger={"test": True})
    [job] = connected.work()
    assert job.id == queued.job_id and job.is_failed
    assert "connect" in (job.latest_result().exc_string or "")
    assert connected.api.rows(schema.TAX_RATE_ENTITY_SET) == []
    [row] = connected.api.rows(schema.CONNECTION_ENTITY_SET)
    assert row[schema.CONNECTION_STATUS] == schema.ConnectionStatus.RECONNECT_XERO
    assert "connect it first" in row[schema.CONNECTION_STATUS_MESSAGE]
    [history] = connected.api.rows(schema.SYNC_HISTORY_ENTITY_SET)
    assert history[schema.SYNC_HISTORY_STATUS] == schema.SyncStatus.FAILED
    assert history[schema.SYNC_HISTORY_DETAILS].startswith("Reference data could not be imported from Xero")


def test_an_archived_tracking_category_takes_its_options_with_it(connected):
    run_import(connected)
    with connected.xero_sandbox.state.lock:
        connected.tenant().tracking_category("Region")["Status"] = "ARCHIVED"
    result = run_import(connected)
    # The import asks for archived categories too, so Region comes back marked ARCHIVED: an update, not a loss.
    assert result["tables"]["tracking_categories"]["updated"] == 1
    assert result["tables"]["tracking_options"]["updated"] == 2
    categories = by(connected.api.rows(schema.TRACKING_CATEGORY_ENTITY_SET), schema.REFERENCE_NAME)
    assert categories["Region"][schema.REFERENCE_IS_ACTIVE] is False
    assert categories["Region"][schema.REFERENCE_STATUS] == "ARCHIVED"
    assert categories["Department"][schema.REFERENCE_IS_ACTIVE] is True
    options = by(connected.api.rows(schema.TRACKING_OPTION_ENTITY_SET), schema.REFERENCE_NAME)
    assert [options[name][schema.REFERENCE_IS_ACTIVE] for name in ("North", "South", "Sales", "Ops")] == [
        False,
        False,
        True,
        True,
    ]


def test_a_connection_without_a_xero_organisation_is_ignored(connected):
    bare = connected.new_connection("Not yet connected", None, token=False)
    submit_import(connected.jobs, bare, trigger={"test": True})
    [job] = connected.work()
    assert job.return_value()["outcome"] == "ignored"
    assert job.meta["kind"] == KIND_IMPORT


def test_classes_tax_types_and_currencies_come_along_for_the_checks_before_sending(connected):
    run_import(connected)
    snapshot = connected.api.snapshot()
    accounts = by(snapshot[schema.ACCOUNT_CODE_ENTITY_SET], schema.ACCOUNT_CODE_CODE)
    assert (accounts["200"][schema.ACCOUNT_CODE_CLASS], accounts["200"][schema.ACCOUNT_CODE_TAX_TYPE]) == (
        "REVENUE",
        "OUTPUT2",
    )
    rates = by(snapshot[schema.TAX_RATE_ENTITY_SET], schema.TAX_RATE_TAX_TYPE)
    assert rates["OUTPUT2"][schema.TAX_RATE_ACCOUNT_CLASSES] == "ASSET,EQUITY,LIABILITY,REVENUE"
    assert rates["INPUT2"][schema.TAX_RATE_ACCOUNT_CLASSES] == "ASSET,EQUITY,EXPENSE,LIABILITY"
    currencies = {row[schema.CURRENCY_CODE] for row in snapshot[schema.CURRENCY_ENTITY_SET]}
    assert currencies == {"GBP", "EUR", "USD"}


def test_a_new_connection_gets_default_account_codes_from_its_chart_and_a_history_row_saying_so(connected):
    result = run_import(connected)
    row = connected.api.get(schema.CONNECTION_ENTITY_SET, connected.connection_id)
    assert row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "200"  # 200 Sales, type SALES
    assert row[schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE] == "300"  # 300 Purchases, type DIRECTCOSTS
    assert result["connection_facts"]["proposed"] == ["sales 200 (Sales)", "purchases 300 (Purchases)"]
    [note] = [
        r
        for r in connected.api.rows(schema.SYNC_HISTORY_ENTITY_SET)
        if r[schema.SYNC_HISTORY_ACTION] == schema.SyncAction.CONNECTION
    ]
    assert "sales 200 (Sales), purchases 300 (Purchases)" in note[schema.SYNC_HISTORY_DETAILS]

    # An admin's own choice is never replaced, and nothing is proposed twice.
    connected.api.update(
        schema.CONNECTION_ENTITY_SET, connected.connection_id, {schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE: "260"}
    )
    again = run_import(connected)
    assert again["connection_facts"] == {"written": [], "proposed": []}
    row = connected.api.get(schema.CONNECTION_ENTITY_SET, connected.connection_id)
    assert row[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "260"


def test_the_organisations_lock_date_is_kept_on_the_connection(connected):
    connected.xero.set_organisation(TENANT_A_ID, PeriodLockDate="2026-03-31", EndOfYearLockDate="2025-03-31")
    result = run_import(connected)
    assert schema.CONNECTION_PERIOD_LOCK_DATE in result["connection_facts"]["written"]
    row = connected.api.get(schema.CONNECTION_ENTITY_SET, connected.connection_id)
    assert row[schema.CONNECTION_PERIOD_LOCK_DATE].startswith("2026-03-31")
    connected.xero.set_organisation(TENANT_A_ID, PeriodLockDate=None, EndOfYearLockDate=None)
    run_import(connected)
    assert (
        connected.api.get(schema.CONNECTION_ENTITY_SET, connected.connection_id)[schema.CONNECTION_PERIOD_LOCK_DATE]
        is None
    )
