"""The dashboard in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) against a `darkroom serve`. A job whose source fails once is found
among the failed jobs, retried from its page, and seen to succeed without a reload.

With DARKROOM_DASHBOARD_SCREENSHOTS set to a folder, the views are saved there as PNGs
(docs/dashboard.md: `DARKROOM_DASHBOARD_SCREENSHOTS=docs/images`)."""

from __future__ import annotations

import base64
import http.server
import os
from pathlib import Path
from typing import Any

import pytest
import pyvips

from tests.dashboard.webdriver import Browser, headless_chromium, installed
from tests.helpers import DarkroomProcess, LoopbackServer, make_image, on_sqlite, wait_until
from tests.keys import as_key

TOKEN = "dashboard-admin-token"
CHROMIUM = installed()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed: apt-get install chromium chromium-driver",
)


def _fails_once(picture: bytes) -> Any:
    answered: list[int] = []

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        answered.append(1)
        if len(answered) == 1:
            handler.send_error(500)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(picture)))
        handler.end_headers()
        handler.wfile.write(picture)

    return route


def _submit(server: DarkroomProcess, body: dict[str, Any]) -> str:
    resp = server.client.post("/v1/jobs", json=body, headers=as_key(TOKEN))
    assert resp.status_code == 202, resp.text
    job_id: str = resp.json()["id"]
    return job_id


def _finished(server: DarkroomProcess, job_id: str) -> str:
    def status() -> str | None:
        found: str = server.client.get(f"/v1/jobs/{job_id}", headers=as_key(TOKEN)).json()["status"]
        return found if found in {"succeeded", "failed", "canceled"} else None

    result: str = wait_until(status, 60, 0.1)
    return result


def _shoot(browser: Browser, name: str) -> None:
    folder = os.environ.get("DARKROOM_DASHBOARD_SCREENSHOTS")
    if folder:
        path = Path(folder) / f"dashboard-{name}.png"
        browser.screenshot(path)
        # a palette keeps the PNGs in the repository small (docs/dashboard.md)
        pyvips.Image.new_from_file(str(path), access="sequential").pngsave(
            str(path.with_suffix(".tmp.png")), palette=True, compression=9
        )
        path.with_suffix(".tmp.png").replace(path)


@on_sqlite
def test_a_failed_job_retried_from_the_page_succeeds(serve_factory: Any, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    server: DarkroomProcess = serve_factory(
        workers=1,
        wait_workers=0,
        DARKROOM_AUTH="keys",
        DARKROOM_ADMIN_TOKEN=TOKEN,
        DARKROOM_MAX_ATTEMPTS="1",
    )
    source = LoopbackServer()
    source.routes["/flaky.png"] = _fails_once(make_image(160, 120, "png"))
    cover = {"name": "cover", "op": "cover", "width": 80, "height": 80, "gravity": "auto"}
    thumb = {"name": "thumb", "op": "thumbnail", "width": 96}
    shown = _submit(
        server,
        {
            "source": {"base64": base64.b64encode(make_image(240, 160, "jpeg")).decode()},
            "outputs": [cover, thumb],
            "labels": {"shelf": "demo"},
            "webhook_url": source.url("/hook"),
        },
    )
    flaky = _submit(server, {"source": {"url": source.url("/flaky.png")}, "outputs": [thumb]})
    assert _finished(server, shown) == "succeeded"
    assert _finished(server, flaky) == "failed"

    with headless_chromium(*CHROMIUM, tmp_path / "chromedriver.log") as browser:
        browser.open(f"{server.url}/dashboard")
        browser.type("#key", TOKEN)  # the login form: the key is kept in a cookie
        browser.click("#login button")
        browser.wait_for("#workers td")
        _shoot(browser, "overview")

        browser.click("#nav-failed")
        browser.wait_for(f'#jobs tr[data-id="{flaky}"]')
        _shoot(browser, "failed")
        browser.click(f'#jobs a.job-link[data-id="{flaky}"]')
        browser.wait_for('#job-status [data-status="failed"]')
        assert "source" in browser.text("#job-error").lower()
        _shoot(browser, "failed-job")
        browser.click("#retry:not([disabled])")
        browser.wait_for('#job-status [data-status="succeeded"]', timeout_s=60)  # polled
        wait_until(
            lambda: browser.script(
                "const i = document.querySelector('#outputs img'); return i && i.naturalWidth"
            ),
            30,
        )

        browser.open(f"{server.url}/dashboard#/jobs")
        browser.wait_for(f'#jobs tr[data-id="{shown}"]')
        browser.click(f'#jobs a.job-link[data-id="{shown}"]')
        browser.wait_for("figure .crop")
        assert "delivered" in browser.text("#webhook")
        wait_until(
            lambda: browser.script(
                "return [...document.querySelectorAll('#outputs img')].every(i => i.naturalWidth)"
            ),
            30,
        )
        browser.resize(1200, 1250)  # the outputs too
        _shoot(browser, "job")
