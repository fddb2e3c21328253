"""Headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with httpx:
the few calls the dashboard's tests need, and no browser-automation library."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import free_port, wait_until

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C name of an element reference
BROWSERS = ["chromium", "chromium-browser", "google-chrome"]


def installed() -> tuple[str, str] | None:
    """(chromium, chromedriver) when both are on PATH."""
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class Browser:
    """One WebDriver session."""

    def __init__(self, driver: httpx.Client, session_id: str) -> None:
        self.http = driver
        self.base = f"/session/{session_id}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        resp = self.http.request(method, self.base + path, json=body)
        value = resp.json().get("value")
        if resp.status_code != 200:
            raise RuntimeError(f"{method} {path}: {value}")
        return value

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def find(self, css: str) -> str | None:
        found = self._call("POST", "/elements", {"using": "css selector", "value": css})
        if not found:
            return None
        reference: str = found[0][ELEMENT]
        return reference

    def wait_for(self, css: str, timeout_s: float = 30) -> str:
        try:
            element: str = wait_until(lambda: self.find(css), timeout_s, 0.1)
        except TimeoutError:
            raise AssertionError(f"no {css!r} on the page:\n{self.page_text()}") from None
        return element

    def click(self, css: str) -> None:
        self._call("POST", f"/element/{self.wait_for(css)}/click", {})

    def type(self, css: str, text: str) -> None:
        self._call("POST", f"/element/{self.wait_for(css)}/value", {"text": text})

    def text(self, css: str) -> str:
        value: str = self._call("GET", f"/element/{self.wait_for(css)}/text")
        return value

    def page_text(self) -> str:
        value: str = self.script("return document.body ? document.body.innerText : ''")
        return value

    def script(self, source: str) -> Any:
        return self._call("POST", "/execute/sync", {"script": source, "args": []})

    def resize(self, width: int, height: int) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))


@contextmanager
def headless_chromium(browser: str, driver: str, log: Path) -> Iterator[Browser]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([driver, f"--port={port}"], stdout=out, stderr=out)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            wait_until(lambda: _answers(http), 30, 0.1)
            options = {
                "binary": browser,
                "args": [
                    "--headless=new",
                    "--no-sandbox",  # as root in a container
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1200,860",
                    "--force-device-scale-factor=1",
                ],
            }
            capabilities = {"browserName": "chrome", "goog:chromeOptions": options}
            resp = http.post("/session", json={"capabilities": {"alwaysMatch": capabilities}})
            assert resp.status_code == 200, resp.text
            session_id = resp.json()["value"]["sessionId"]
            try:
                yield Browser(http, session_id)
            finally:
                http.delete(f"/session/{session_id}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/status").status_code == 200
    except httpx.TransportError:
        return False
