"""The admin console as a finance admin uses it, in a real headless Chromium: connect the sandbox organisation,
see it listed, map its accounts, see an invoice fail, retry it and see it succeed.

Each page is saved as a screenshot: into docs/screenshots/admin-*.png (the README's) with UPDATE_SCREENSHOTS=1
(`make screenshots`), else into the test's temporary folder, so a test run leaves the repository untouched."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import presence_of_element_located
from selenium.webdriver.support.ui import Select, WebDriverWait

from app import dynamics_schema as schema
from app.dynamics_schema import ExportStatus
from sandbox.xero.seed import TENANT_A_ID, TENANT_B_ID
from tests.admin.conftest import ADMIN_TOKEN, Console
from tests.browser import browser, screenshot  # noqa: F401 - the fixture

README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_SECONDS = 15
PAGES = ("connections", "mapping", "attention", "activity", "invoice", "queues")


@pytest.fixture
def admin_browser(browser: WebDriver) -> Iterator[WebDriver]:  # noqa: F811
    """The shared browser, sending the admin password as a person's browser does after the basic-auth prompt."""
    password = base64.b64encode(f"admin:{ADMIN_TOKEN}".encode()).decode()
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {password}"}})
    try:
        yield browser
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})


def text(driver: WebDriver, css: str = "main") -> str:
    return WebDriverWait(driver, WAIT_SECONDS).until(presence_of_element_located((By.CSS_SELECTOR, css))).text


def navigating(driver: WebDriver, element: WebElement) -> None:
    """Click, and wait until the browser shows the next page, fully loaded (so it is read, not this one).

    The old page is recognised by a mark set on its window, not by an element of it: asking Chromium about a
    node of a page it is leaving can fail with an error other than "stale element" while the page unloads."""
    driver.execute_script("window.leavingThisPage = true")
    element.click()
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.leavingThisPage && document.readyState === 'complete'")
    )


def click(driver: WebDriver, label: str, within: str = "main") -> None:
    """Press the button or follow the link showing exactly `label`."""
    scope = WebDriverWait(driver, WAIT_SECONDS).until(presence_of_element_located((By.CSS_SELECTOR, within)))
    for element in scope.find_elements(By.CSS_SELECTOR, "button, a"):
        if element.text.strip() == label:
            navigating(driver, element)
            return
    raise AssertionError(f"nothing labelled {label!r} in {within}: {scope.text}")


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    return README_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


def test_connect_map_fail_retry_succeed(console: Console, admin_browser: WebDriver, screenshots: Path) -> None:
    driver = admin_browser
    driver.get(f"{console.url}/admin")
    assert "No Xero organisation is connected yet" in text(driver)

    # Connect: the button goes through Xero's consent page (the sandbox's), where the admin picks one organisation.
    navigating(driver, driver.find_element(By.ID, "connect"))
    assert driver.title == "Sandbox Xero: connect"
    driver.find_element(By.CSS_SELECTOR, f"input[value='{TENANT_B_ID}']").click()  # untick Northwind
    navigating(driver, driver.find_element(By.CSS_SELECTOR, "button[value='allow']"))
    page = text(driver, "body")
    assert "Sandbox Trading Ltd" in page and "is connected" in page
    assert "invoices marked ready to update without a connection go to it" in page.lower(), "the first is default"
    [row] = console.dynamics.rows(schema.CONNECTION_ENTITY_SET)
    connection_id = row[schema.CONNECTION_ID]
    assert row[schema.CONNECTION_XERO_TENANT_ID] == TENANT_A_ID
    assert connection_id not in page, "the raw connection id is not shown"
    flow = console.harness(connection_id)
    flow.drain()  # the reference data import the connect flow queued

    click(driver, "Back to the admin console", "body")
    listed = text(driver, "#connections")
    assert "Sandbox Trading Ltd" in listed and "Connected" in listed
    assert "this minute" in listed and "today" in listed and "Never" in listed

    # Account mapping: the organisation's own accounts and tax rates, saved to the connection row.
    click(driver, "Account mapping")
    sales = Select(driver.find_element(By.ID, schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE))
    offered = [option.get_attribute("value") for option in sales.options]
    assert "260" in offered and "205" not in offered, "active accounts only (205 is archived in Xero)"
    usual = driver.find_elements(
        By.CSS_SELECTOR, f"#{schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE} optgroup[label='Usual accounts'] option"
    )
    assert [option.get_attribute("value") for option in usual] == ["200", "260", "270"], "income accounts first"
    sales.select_by_value("260")
    Select(driver.find_element(By.ID, schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE)).select_by_value("310")
    screenshot(driver, screenshots / "admin-mapping.png")
    navigating(driver, driver.find_element(By.ID, "save"))
    assert "Account mapping of Sandbox Trading Ltd saved." in text(driver, "#notice")
    saved = flow.connector.get(schema.CONNECTION_ENTITY_SET, connection_id)
    assert saved[schema.CONNECTION_DEFAULT_SALES_ACCOUNT_CODE] == "260"
    assert saved[schema.CONNECTION_DEFAULT_PURCHASE_ACCOUNT_CODE] == "310"
    flow.drain()

    # A failure: Xero answers 503 to the first call of each of the two attempts allowed.
    flow.xero.set_faults(fail_next=1)
    invoice_id = flow.new_invoice(name="Console story invoice")
    flow.drain()
    driver.get(f"{console.url}/admin/attention")
    retrying = text(driver, "#retrying")
    assert "Send invoice to Xero" in retrying and "Console story invoice" in retrying and "UTC" in retrying
    flow.xero.set_faults(fail_next=1)
    click(driver, "Retry now", "#retrying")
    assert "runs now" in text(driver, "#notice")
    flow.drain()
    driver.get(f"{console.url}/admin/attention")
    failed = text(driver, "#failed")
    assert "Console story invoice" in failed and "Retry" in failed
    assert "Xero is temporarily unavailable. The connector tried 2 times and stopped" in failed
    assert flow.invoice_row(invoice_id)[schema.INVOICE_EXPORT_STATUS] == ExportStatus.FAILED
    screenshot(driver, screenshots / "admin-attention.png")

    # Retry it: this time Xero answers, and the invoice is in Xero with the mapped account.
    click(driver, "Retry", "#failed")
    assert "a new attempt is queued" in text(driver, "#notice")
    flow.drain()
    invoice = flow.invoice_row(invoice_id)
    assert invoice[schema.INVOICE_EXPORT_STATUS] == ExportStatus.YES
    [in_xero] = flow.xero_invoices(invoice[schema.INVOICE_XERO_NUMBER])
    assert [line.get("AccountCode") for line in in_xero["LineItems"]][-1] == "260", "the write-in line's account"
    driver.get(f"{console.url}/admin/attention")
    assert "No failed invoices." in text(driver, "#failed")

    # Activity: the failure and the success, newest first, filterable; the invoice's own timeline.
    driver.get(f"{console.url}/admin/activity")
    story = [line for line in text(driver, "#activity").splitlines() if "Console story invoice" in line]
    assert len(story) == 3 and "Failed" in "".join(story) and "Success" in "".join(story), story
    assert "Xero is unavailable; retrying at" in "".join(story), "the first attempt told when it would retry"
    screenshot(driver, screenshots / "admin-activity.png")
    Select(driver.find_element(By.NAME, "outcome")).select_by_value("failed")
    click(driver, "Show", "#filters")
    filtered = text(driver, "#activity")
    assert "Failed" in filtered and "Success" not in filtered
    click(driver, "Console story invoice", "#activity")
    timeline = text(driver, "#timeline")
    assert "Failed" in timeline and "Success" in timeline
    assert "Dynamics: Create of invoice received" in timeline and "Xero: PUT Invoices → 200" in timeline
    jobs = text(driver, "#jobs")
    assert (
        "retry scheduled" in jobs
        and "Gave up after 2 attempts" in jobs
        and f"done: create in Xero: {invoice[schema.INVOICE_XERO_NUMBER]} DRAFT" in jobs
    )
    screenshot(driver, screenshots / "admin-invoice.png")

    # The connection now shows its last successful sync; the queues are empty and nothing has failed.
    click(driver, "Connections", "header")
    assert "Never" not in text(driver, "#connections")
    screenshot(driver, screenshots / "admin-connections.png")
    driver.get(f"{console.url}/admin/queues")
    queues = text(driver, "#queues")
    assert "dataverse" in queues and "maintenance" in queues
    screenshot(driver, screenshots / "admin-queues.png")
    assert all((screenshots / f"admin-{page}.png").stat().st_size > 10_000 for page in PAGES)
