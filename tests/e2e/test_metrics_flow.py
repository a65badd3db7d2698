"""/metrics scraped over HTTP around real syncs through the sandboxes: Xero calls and 429s by organisation,
headroom, retries and end-to-end latency are counted where they happen (one process here: deltas)."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox.xero.seed import TENANT_A_ID
from tests.xero_to_dynamics.linked import linked  # noqa: F401 - the fixture is reused

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(harness) -> Samples:
    answer = requests.get(f"{harness.web_url}/metrics", timeout=5)
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_a_sync_is_counted_from_webhook_to_xero(harness):
    before = scrape(harness)
    harness.new_invoice()
    harness.drain()
    after = scrape(harness)

    assert delta(before, after, "connector_webhooks_total", source="dataverse", answer="202") >= 1
    assert delta(before, after, "connector_jobs_total", kind="invoice.sync", outcome="done") >= 1
    assert delta(before, after, "connector_sync_results_total", kind="invoice.sync", result="create") == 1
    assert delta(before, after, "connector_xero_calls_total", tenant_id=TENANT_A_ID, outcome="ok") >= 2
    assert delta(before, after, "connector_dynamics_to_xero_seconds_count", kind="invoice.sync") == 1
    # The limiter's view after the last call: the sandbox's default budget less what this test used.
    minute_left = after[("connector_xero_calls_left", (("tenant_id", TENANT_A_ID), ("window", "minute")))]
    day_left = after[("connector_xero_calls_left", (("tenant_id", TENANT_A_ID), ("window", "day")))]
    assert 0 <= minute_left < 60 and minute_left < day_left < 5000


def test_a_429_is_counted_for_its_organisation_with_the_retry(harness):
    harness.xero.set_faults(rate_limit_next=1)
    before = scrape(harness)
    harness.new_invoice()
    harness.drain()
    harness.run_due_now()
    after = scrape(harness)

    assert delta(before, after, "connector_xero_rate_limited_total", tenant_id=TENANT_A_ID) == 1
    assert delta(before, after, "connector_job_retries_total", kind="invoice.sync") == 1
    assert delta(before, after, "connector_jobs_total", kind="invoice.sync", outcome="retry_scheduled") == 1
    # Latency counts from the save in Dynamics, across the retry.
    assert delta(before, after, "connector_dynamics_to_xero_seconds_count", kind="invoice.sync") == 1


def test_a_payment_in_xero_is_counted_until_it_is_written_in_dynamics(linked):  # noqa: F811
    harness = linked.harness
    invoice_id, document = linked.both_sides("120.00")
    before = scrape(harness)
    linked.xero_user.pay(document["InvoiceID"], "120.00")
    linked.settle()
    after = scrape(harness)

    assert harness.invoice_row(invoice_id)["statecode"] == 2
    assert delta(before, after, "connector_webhooks_total", source="xero", answer="200") >= 1
    assert delta(before, after, "connector_sync_results_total", kind="xero.invoice", result="paid") == 1
    assert delta(before, after, "connector_xero_to_dynamics_seconds_count", kind="xero.invoice") == 1
