"""Sample answers validated against Xero's official OpenAPI schemas (xero_accounting.yaml)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_schema_validator import OAS30Validator
from xero_python.accounting import Account, CreditNotes, Invoice, Invoices, Payment, Payments

from sandbox.xero.sdk import SdkClient
from tests.sandbox.xero.builders import FINANCE_SCOPES, credit_note, invoice, line, tracking

# Xero's official spec is kept beside the repository (shared/reference/), not in it; XERO_OPENAPI_SPEC may point
# elsewhere. Without it these tests cannot run at all, and say so as a skip rather than passing.
_REPOSITORY = Path(__file__).resolve().parents[3]
SPEC = Path(
    os.environ.get("XERO_OPENAPI_SPEC")
    or _REPOSITORY.parent / "shared" / "reference" / "xero-openapi" / "xero_accounting.yaml"
)
if not SPEC.exists():
    pytest.skip(f"Xero's OpenAPI spec not found at {SPEC} (set XERO_OPENAPI_SPEC)", allow_module_level=True)


@pytest.fixture(scope="session")
def accounting_spec() -> dict[str, Any]:
    with SPEC.open() as handle:
        # The C loader is a safe loader too, and parses the 900 KB spec several times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(handle, Loader=loader)  # type: ignore[no-any-return]  # noqa: S506


@pytest.fixture(scope="session")
def validate(accounting_spec: dict[str, Any]) -> Callable[[str, Any], None]:
    """Validate a body against components/schemas/<name>, resolving $refs inside the spec."""
    components = accounting_spec["components"]

    def check(name: str, body: Any) -> None:
        root = {"components": components, "$ref": f"#/components/schemas/{name}"}
        OAS30Validator(root).validate(body)

    return check


@pytest.fixture
def xero_client(xero_sdk: Callable[..., SdkClient]) -> SdkClient:
    return xero_sdk(scopes=FINANCE_SCOPES)


def _raw(client: SdkClient, base: str, path: str) -> Any:
    response = requests.get(
        f"{base}/api.xro/2.0/{path}",
        timeout=10,
        headers={
            "Authorization": f"Bearer {client.token['access_token']}",
            "xero-tenant-id": client.tenant_id,
            "Accept": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_schema_rejects_a_wrong_shape(validate: Callable[[str, Any], None]) -> None:
    from jsonschema.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate("Invoices", {"Invoices": [{"Status": "SETTLED"}]})


def test_samples_match_xeros_schemas(
    validate: Callable[[str, Any], None], xero_client: SdkClient, xero_sandbox: Any
) -> None:
    tenant, api, base = xero_client.tenant_id, xero_client.accounting, xero_sandbox.url
    (doc,) = api.create_invoices(
        tenant,
        Invoices(
            invoices=[
                invoice(
                    [
                        line(
                            quantity=2,
                            unit_amount=10,
                            tracking=[tracking("Region", "South"), tracking("Department", "Ops")],
                            discount_rate=5,
                        )
                    ]
                )
            ]
        ),
    ).invoices
    api.create_payments(
        tenant,
        Payments(
            payments=[
                Payment(
                    invoice=Invoice(invoice_id=doc.invoice_id),
                    account=Account(code="090"),
                    amount=5,
                    date=dt.date(2026, 1, 15),
                )
            ]
        ),
    )
    (note,) = api.create_credit_notes(tenant, CreditNotes(credit_notes=[credit_note(2)])).credit_notes

    samples = {
        "Invoices": _raw(xero_client, base, f"Invoices/{doc.invoice_id}"),
        "Contacts": _raw(xero_client, base, f"Contacts/{doc.contact.contact_id}"),
        "CreditNotes": _raw(xero_client, base, f"CreditNotes/{note.credit_note_id}"),
        "TaxRates": _raw(xero_client, base, "TaxRates"),
        "Accounts": _raw(xero_client, base, "Accounts"),
        "TrackingCategories": _raw(xero_client, base, "TrackingCategories"),
        "Organisations": _raw(xero_client, base, "Organisation"),
        "BrandingThemes": _raw(xero_client, base, "BrandingThemes"),
        "Items": _raw(xero_client, base, "Items"),
        "Payments": _raw(xero_client, base, "Payments"),
    }
    receivable = samples["Contacts"]["Contacts"][0]["Balances"]["AccountsReceivable"]
    assert receivable["Outstanding"] == 15.4  # 22.80 - 5.00 paid - 2.40 unallocated credit
    assert samples["Invoices"]["Invoices"][0]["Date"].endswith("+0000)/")
    for name, body in samples.items():
        validate(name, body)

    error = requests.put(
        f"{base}/api.xro/2.0/Invoices",
        timeout=10,
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": doc.contact.contact_id},
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "999"}],
                }
            ]
        },
        headers={"Authorization": f"Bearer {xero_client.token['access_token']}", "xero-tenant-id": tenant},
    )
    assert error.status_code == 400
    validate("Error", error.json())
