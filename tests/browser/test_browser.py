"""The page-test browser itself: it starts, renders a served page and reads it back."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium.webdriver.common.by import By

from tests.browser import browser  # noqa: F401 - the fixture


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>probe</title><h1 id='greeting'>Hello from the page</h1>"
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_headless_chromium_renders_a_served_page(browser) -> None:  # noqa: F811
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/")
        assert browser.title == "probe"
        assert browser.find_element(By.ID, "greeting").text == "Hello from the page"
    finally:
        server.shutdown()
        server.server_close()
