"""What a finance user sees: an invoice synced end to end, opened in a real browser through its provisioned form.

The sandbox renders the record through the published main form (`/_sandbox/records/...`), so these checks see
exactly the fields, link and Sync History subgrid that `plugins_registration provision` put on the form.
With UPDATE_SCREENSHOTS=1 the pictures go to docs/screenshots/ (the README's), else to a temporary folder.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from app import dynamics_schema as schema
from app import dynamics_ui as ui
from app.dynamics_schema import ExportStatus
from app.reference_data import submit_import
from plugins_registration.provision import provision
from tests.browser import browser, screenshot  # noqa: F401 - the fixture
from tests.stack_helpers import connector_web_api, quiet_report

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _full_page(driver: WebDriver, path: Path) -> None:
    """The whole page in one picture: the window grows to the page's height for the shot."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    for _ in range(2):  # the second pass measures the layout of the taller window
        page = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(width, max(height, page + 160))
    try:
        screenshot(driver, path)
    finally:
        driver.set_window_size(width, height)


def test_a_synced_invoice_shows_its_xero_details_link_and_history(harness, browser, tmp_path) -> None:  # noqa: F811
    provision(connector_web_api(harness.dataverse), quiet_report())  # adds the forms, views and app
    submit_import(harness.jobs, harness.connection_id, trigger={"source": "page test"})  # tax rates and the like
    invoice_id = harness.new_invoice(name="Website redesign for Contoso")
    harness.drain()
    harness.person.update("invoices", invoice_id, {schema.INVOICE_EXPORT_STATUS: int(ExportStatus.READY_TO_UPDATE)})
    harness.drain()
    row = harness.invoice_row(invoice_id)
    history = harness.history(invoice_id)
    assert len(history) == 2, history

    browser.get(f"{harness.dataverse.url}/_sandbox/records/invoice/{invoice_id}")
    assert browser.find_element(By.ID, "record-title").text == "Website redesign for Contoso"

    def shown(column: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f"dd[data-field='{column}']").text

    assert shown(schema.INVOICE_XERO_NUMBER) == row[schema.INVOICE_XERO_NUMBER] == row["invoicenumber"]
    assert shown(schema.INVOICE_XERO_STATUS) == "DRAFT"
    assert shown(schema.INVOICE_EXPORT_STATUS) == "Yes"
    assert shown(schema.INVOICE_CONNECTION) == "Sandbox Trading Ltd"
    link = browser.find_element(By.CSS_SELECTOR, f"dd[data-field='{schema.INVOICE_XERO_LINK}'] a")
    assert link.get_attribute("href") == row[schema.INVOICE_XERO_LINK]
    assert row[schema.INVOICE_XERO_INVOICE_ID] in link.get_attribute("href")

    grid_rows = browser.find_elements(By.CSS_SELECTOR, "#grid-xc_synchistory_grid tbody tr")
    assert {r.get_attribute("data-id") for r in grid_rows} == {h[f"{schema.SYNC_HISTORY_ENTITY}id"] for h in history}
    occurred = [datetime.strptime(r.find_element(By.TAG_NAME, "td").text, "%m/%d/%Y %I:%M %p") for r in grid_rows]
    assert occurred == sorted(occurred, reverse=True), "newest first"
    texts = " ".join(r.text for r in grid_rows)
    assert f"Invoice {row['invoicenumber']} created in Xero" in texts
    assert f"Invoice {row['invoicenumber']} updated in Xero" in texts

    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    _full_page(browser, folder / "invoice-xero-tab.png")

    link.click()  # the Xero link opens the invoice in Xero (a new tab); the form stays where it was
    assert len(browser.window_handles) == 2
    browser.switch_to.window(browser.window_handles[1])
    browser.close()
    browser.switch_to.window(browser.window_handles[0])

    browser.find_element(By.CSS_SELECTOR, f"dd[data-field='{schema.INVOICE_CONNECTION}'] a").click()
    assert browser.find_element(By.ID, "record-title").text == "Sandbox Trading Ltd"
    assert browser.find_element(By.CSS_SELECTOR, "#tab-xc_connection_settings h2").text == "Sync settings"
    help_text = browser.find_element(By.CSS_SELECTOR, "#tab-xc_connection_general .help").get_attribute("title")
    assert help_text == schema.CONNECTION_TABLE[schema.CONNECTION_XERO_SHORT_CODE].description
    tax_rates = browser.find_elements(By.CSS_SELECTOR, "#grid-xc_taxrate_grid tbody tr[data-id]")
    assert len(tax_rates) == len(harness.connector.rows(schema.TAX_RATE_ENTITY_SET)) > 0
    _full_page(browser, folder / "connection-form.png")

    browser.get(f"{harness.dataverse.url}/_sandbox/apps/{ui.APP.app_id}")
    assert browser.find_element(By.ID, "record-title").text == "Xero Connector"
    entries = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "dt") if e.text]
    assert entries == [sub.label for group in ui.APP.groups for sub in group.sub_areas]
    _full_page(browser, folder / "app-site-map.png")
    browser.find_element(By.LINK_TEXT, "Recent sync history").click()
    assert browser.find_element(By.ID, "record-title").text == "Recent sync history"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#grid-view tbody tr")) == len(harness.history()) >= 3
    _full_page(browser, folder / "sync-history-view.png")
