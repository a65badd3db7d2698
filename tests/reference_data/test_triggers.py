"""What starts an import: a connection row created or changed, a deleted one, the nightly schedule."""

from __future__ import annotations

from app import dynamics_schema as schema
from app import schedule, xero_tenants
from app.clients.xero_limits import TenantLimiter
from app.queue import QUEUE_MAINTENANCE
from app.reference_data import KIND_IMPORT, KIND_NIGHTLY, import_scope, submit_import_all
from app.scheduler import build_scheduler
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.reference_data.conftest import Connected
from tests.stack_helpers import store_token

ORG = "b2fe5e36-4ad1-ee11-9078-000d3a4b7a1c"


def submit_change(connected: Connected, connection_id: str, *, deleted: bool = False) -> None:
    # Submitted on its own (not coalesced), as two changes a moment apart would be once the first had started.
    connected.jobs.submit(
        QUEUE_MAINTENANCE,
        "connection.changed",
        {"organization_id": ORG, "connection_id": connection_id, "deleted": deleted},
        trigger={"message": "Delete" if deleted else "Create"},
    )


def connection_changed(connected: Connected, connection_id: str, *, deleted: bool = False) -> dict:
    submit_change(connected, connection_id, deleted=deleted)
    [job] = connected.work(max_jobs=1)  # only this job: the import it may queue stays queued
    return job.return_value()


def test_a_connection_with_a_token_gets_its_import_queued_and_run(connected):
    result = connection_changed(connected, connected.connection_id)
    assert result["outcome"] == "done" and result["tenant_id"] == TENANT_A_ID
    [queued] = connected.queued(KIND_IMPORT)
    assert queued.id == result["import_job"]
    assert queued.meta["coalesce_scope"] == queued.meta["lock_scope"] == import_scope(connected.connection_id)
    [ran] = connected.work()
    assert ran.return_value()["totals"]["created"] > 0


def test_changes_arriving_together_queue_one_import(connected):
    submit_change(connected, connected.connection_id)
    submit_change(connected, connected.connection_id)
    first, second = (job.return_value() for job in connected.work(max_jobs=2))
    assert first["import_job"] is not None and second["import_job"] is None
    assert len(connected.queued(KIND_IMPORT)) == 1


def test_saving_the_settings_again_imports_nothing_but_a_new_organisation_does(connected):
    connection_changed(connected, connected.connection_id)
    connected.work()  # the import
    calls_before = connected.xero.calls()[TENANT_A_ID]["calls"]
    connected.api.update(schema.CONNECTION_ENTITY_SET, connected.connection_id, {schema.CONNECTION_CREATE_ITEMS: True})
    again = connection_changed(connected, connected.connection_id)
    assert again["import_job"] is None and "already imported" in again["reason"]
    assert connected.queued(KIND_IMPORT) == []
    assert connected.xero.calls()[TENANT_A_ID]["calls"] == calls_before

    connected.api.update(
        schema.CONNECTION_ENTITY_SET, connected.connection_id, {schema.CONNECTION_XERO_TENANT_ID: TENANT_B_ID}
    )
    store_token(connected.tokens, connected.xero, connected.connection_id, TENANT_B_ID)
    moved = connection_changed(connected, connected.connection_id)
    assert moved["import_job"] is not None and moved["tenant_id"] == TENANT_B_ID


def test_the_connection_rows_daily_budget_applies_to_its_organisation(connected):
    connected.api.update(
        schema.CONNECTION_ENTITY_SET, connected.connection_id, {schema.CONNECTION_XERO_DAILY_CALL_LIMIT: 1000}
    )
    connection_changed(connected, connected.connection_id)
    limiter = TenantLimiter(connected.redis)
    assert limiter.day_budget(TENANT_A_ID) == 1000
    assert limiter.day_budget(TENANT_B_ID) == 5000
    connected.api.update(
        schema.CONNECTION_ENTITY_SET, connected.connection_id, {schema.CONNECTION_XERO_DAILY_CALL_LIMIT: None}
    )
    connection_changed(connected, connected.connection_id)
    assert limiter.day_budget(TENANT_A_ID) == 5000


def test_no_import_without_a_token_or_without_a_xero_organisation(connected):
    no_token = connected.new_connection("Northwind Goods Ltd", TENANT_B_ID, token=False)
    assert connection_changed(connected, no_token)["import_job"] is None
    no_tenant = connected.new_connection("Not connected yet", None, token=False)
    assert connection_changed(connected, no_tenant)["outcome"] == "ignored"
    assert connected.queued(KIND_IMPORT) == []


def test_a_deleted_connection_forgets_its_xero_organisation(connected):
    xero_tenants.register_tenant(connected.redis, TENANT_A_ID, connected.connection_id)
    xero_tenants.register_tenant(connected.redis, TENANT_B_ID, "another-connection")
    result = connection_changed(connected, connected.connection_id, deleted=True)
    assert result["tenants_forgotten"] == [TENANT_A_ID.lower()]
    assert xero_tenants.connection_for_tenant(connected.redis, TENANT_A_ID) is None
    assert xero_tenants.connection_for_tenant(connected.redis, TENANT_B_ID) == "another-connection"
    assert connected.queued(KIND_IMPORT) == []


def test_import_all_queues_one_import_per_connection_with_a_token(connected):
    second = connected.new_connection("Northwind Goods Ltd", TENANT_B_ID, token=True)
    without_token = connected.new_connection("Waiting for consent", TENANT_B_ID, token=False)
    connected.new_connection("Not connected yet", None, token=False)
    queued = submit_import_all(connected.jobs, trigger={"test": True})
    [fan_out] = connected.work(max_jobs=1)
    result = fan_out.return_value()
    assert fan_out.id == queued.job_id
    assert set(result["queued"]) == {connected.connection_id, second}
    assert result["skipped_without_token"] == [without_token]
    imports = connected.queued(KIND_IMPORT)
    assert sorted(job.args[1]["connection_id"] for job in imports) == sorted([connected.connection_id, second])
    ran = connected.work()
    assert [job.return_value()["outcome"] for job in ran] == ["done", "done"]


def test_the_nightly_schedule_fans_out_through_the_scheduler(connected):
    [entry] = [p for p in schedule.PERIODIC if p.kind == KIND_NIGHTLY]
    assert entry.cron == "0 2 * * *" and entry.queue == QUEUE_MAINTENANCE
    scheduler = build_scheduler(connected.jobs.settings.redis_url)
    [cron_job] = [job for job in scheduler.get_jobs() if job.name == KIND_NIGHTLY]
    cron_job.enqueue(connected.redis)  # as when 02:00 comes
    ran = connected.work()  # the tick, the nightly job it queues, and the import that one queues
    assert [job.meta.get("kind") for job in ran] == [None, KIND_NIGHTLY, KIND_IMPORT]
    assert ran[2].args[1]["connection_id"] == connected.connection_id
    assert ran[2].return_value()["totals"]["created"] > 0
