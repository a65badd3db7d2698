"""Contacts, items and the read-only settings through the SDK, plus the command-line entry point."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import requests
from xero_python.accounting import Contact, Contacts, Item, Items, Purchase
from xero_python.exceptions import AccountingBadRequestException

from app.embedded_redis import free_port
from sandbox.xero.sdk import SdkClient
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.sandbox.xero.builders import ACME_ID


def test_contact_names_are_unique_per_organisation(xero_client: SdkClient) -> None:
    api, tenant = xero_client.accounting, xero_client.tenant_id
    (created,) = api.create_contacts(
        tenant, Contacts(contacts=[Contact(name="Hooli", email_address="a@h.test")])
    ).contacts
    assert created.contact_status == "ACTIVE" and created.balances.accounts_receivable.outstanding == 0
    with pytest.raises(AccountingBadRequestException) as error:
        api.create_contacts(tenant, Contacts(contacts=[Contact(name="Acme Corporation")]))
    assert error.value.reason.startswith("The contact name Acme Corporation is already assigned to another contact.")
    (renamed,) = api.update_contact(tenant, created.contact_id, Contacts(contacts=[Contact(name="Hooli XYZ")])).contacts
    assert renamed.name == "Hooli XYZ" and renamed.email_address == "a@h.test"


def test_contact_reads_ids_paging_and_name_filter(xero_client: SdkClient) -> None:
    api, tenant = xero_client.accounting, xero_client.tenant_id
    assert [c.contact_id for c in api.get_contacts(tenant, i_ds=[ACME_ID]).contacts] == [ACME_ID]
    assert [c.name for c in api.get_contacts(tenant, where='Name=="Globex Ltd"').contacts] == ["Globex Ltd"]
    paged = api.get_contacts(tenant, page=1)
    assert len(paged.contacts) == 3 and paged.pagination.item_count == 3
    archived = Contact(contact_id=ACME_ID, contact_status="ARCHIVED")
    api.update_or_create_contacts(tenant, Contacts(contacts=[archived]))
    assert ACME_ID not in {c.contact_id for c in api.get_contacts(tenant).contacts}
    assert ACME_ID in {c.contact_id for c in api.get_contacts(tenant, include_archived=True).contacts}


def test_items_create_update_and_unique_codes(xero_client: SdkClient) -> None:
    api, tenant = xero_client.accounting, xero_client.tenant_id
    new = Item(
        code="GADGET", name="Gadget", sales_details=Purchase(unit_price=12.5, account_code="200", tax_type="OUTPUT2")
    )
    (created,) = api.create_items(tenant, Items(items=[new])).items
    assert created.sales_details.unit_price == 12.5
    with pytest.raises(AccountingBadRequestException):
        api.create_items(tenant, Items(items=[Item(code="WIDGET", name="Clash")]))
    with pytest.raises(AccountingBadRequestException):
        api.create_items(
            tenant, Items(items=[Item(code="BAD", name="Bad", sales_details=Purchase(account_code="999"))])
        )
    (updated,) = api.update_or_create_items(tenant, Items(items=[Item(code="GADGET", name="Gadget Pro")])).items
    assert updated.item_id == created.item_id and updated.name == "Gadget Pro"
    assert api.get_item(tenant, "GADGET").items[0].name == "Gadget Pro"
    assert {i.code for i in api.get_items(tenant).items} == {"WIDGET", "CONSULT", "SUPPORT", "GADGET"}


def test_seeded_settings_per_tenant(xero_sdk: Callable[..., SdkClient]) -> None:
    for tenant_id, short_code in ((TENANT_A_ID, "!SbxA1"), (TENANT_B_ID, "!SbxB2")):
        client = xero_sdk(tenant_id)
        api = client.accounting
        org = api.get_organisations(tenant_id).organisations[0]
        assert (org.short_code, org.base_currency.value, org.organisation_id) == (short_code, "GBP", tenant_id)
        codes = {a.code: a for a in api.get_accounts(tenant_id).accounts}
        assert {"090", "200", "260", "300", "310", "400"} <= set(codes)
        assert codes["090"].type.value == "BANK" and codes["200"].tax_type == "OUTPUT2"
        rates = {t.tax_type: t.effective_rate for t in api.get_tax_rates(tenant_id).tax_rates}
        assert rates["OUTPUT2"] == 20 and rates["INPUT2"] == 20 and rates["ZERORATEDOUTPUT"] == 0
        assert {"NONE", "ZERORATEDINPUT"} <= set(rates)
        categories = {
            c.name: [o.name for o in c.options] for c in api.get_tracking_categories(tenant_id).tracking_categories
        }
        assert categories == {"Region": ["North", "South"], "Department": ["Sales", "Ops"]}
        assert [b.name for b in api.get_branding_themes(tenant_id).branding_themes] == ["Standard", "Special Projects"]


def test_command_line_entry_point_serves() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.xero", "--port", str(port), "--time-scale", "0.5", "--limit-minute", "7"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        headers = {"X-Sandbox-Admin-Token": "sandbox-admin"}
        for _ in range(100):
            try:
                response = requests.get(f"http://127.0.0.1:{port}/_sandbox/limits", headers=headers, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("the sandbox did not start")
        assert response.json()["per_minute"] == 7
        token = requests.post(f"http://127.0.0.1:{port}/_sandbox/tokens", json={}, headers=headers, timeout=2).json()
        assert token["expires_in"] == 900  # 30 minutes at time scale 0.5
    finally:
        process.terminate()
        process.wait(timeout=10)
