"""The totals invariant on generated invoices, end to end (sandbox Dataverse -> webhook -> worker -> sandbox
Xero -> write-back): Xero's totals equal Dynamics', or the outcome is not a Success and names the difference.

A fixed seed and a few examples keep the suite quick and reproducible; `make bench` runs many more
(`benchmarks/money.py`, which sets MONEY_PROPERTY_EXAMPLES and MONEY_PROPERTY_REPORT).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from app.services import forget_services
from tests.e2e.money_invoices import InvoiceSpec, MoneyStack, invoice_specs

EXAMPLES = int(os.environ.get("MONEY_PROPERTY_EXAMPLES", "6"))


def test_every_generated_invoice_matches_xero_or_says_why(harness, monkeypatch):
    # Volume, not rate limits, is under test: lift Xero's minute and day limits on both sides for this run.
    monkeypatch.setenv("XERO_MINUTE_LIMIT", "100000")
    monkeypatch.setenv("XERO_DAY_LIMIT", "1000000")
    forget_services()
    # The sandbox Xero goes back to its seeded limits when the next test resets it.
    harness.xero.set_limits(per_minute=100000, per_day=1000000, app_per_minute=1000000)
    try:
        run(harness)
    finally:
        forget_services()


def run(harness) -> None:
    stack = MoneyStack(harness)

    @seed(20261201)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec=invoice_specs)
    def one_invoice(spec: InvoiceSpec) -> None:
        stack.check_invariant(stack.push(spec))

    one_invoice()
    assert sum(stack.outcomes.values()) >= min(EXAMPLES, 3)
    report = os.environ.get("MONEY_PROPERTY_REPORT")
    if report:
        Path(report).write_text(json.dumps(dict(stack.outcomes)))
