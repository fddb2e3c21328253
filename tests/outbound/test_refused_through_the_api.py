"""IPv6 spellings of refused addresses, through the API. The allow-list is empty, so every
refusal happens at submission, before any connection: nothing is sent to these addresses
(and nothing listens there)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.helpers import LoopbackServer, make_image, on_sqlite

pytestmark = on_sqlite

REFUSED_URLS = {
    "http://[64:ff9b::a9fe:a9fe]/x.jpg": "cloud metadata",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::10.1.2.3]/x.jpg": "private",
    "http://[64:ff9b:1::a9fe:a9fe]/x.jpg": "local-use NAT64",
    "http://[::ffff:169.254.169.254]/x.jpg": "cloud metadata",
    "http://[::ffff:0:127.0.0.1]/x.jpg": "loopback",  # IPv4-translated
    "http://[::127.0.0.1]/x.jpg": "loopback",  # IPv4-compatible
    "http://[::8.8.8.8]/x.jpg": "IPv4-compatible",
    "http://[2002:c0a8:101::1]/x.jpg": "private",  # 6to4 of 192.168.1.1
    "http://[2002:808:808::1]/x.jpg": "6to4 tunnel",
    "http://[2001:0:4136:e378:8000:63bf:3f57:fefe]/x.jpg": "private",  # Teredo, 192.168.1.1
    "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/x.jpg": "Teredo tunnel",
    "http://[2001:4860:1:2:0:5efe:10.9.8.7]/x.jpg": "private",  # ISATAP
    "http://[fec0::1]/x.jpg": "site-local",
}


def test_ipv6_forms_are_refused_at_submission(api_factory: Any) -> None:
    api = api_factory(workers=1, DARKROOM_OUTBOUND_ALLOW="")
    image = base64.b64encode(make_image(8, 8)).decode()
    for url, reason in REFUSED_URLS.items():
        for body in ({"source": {"url": url}}, {"source": {"base64": image}, "webhook_url": url}):
            resp = api.client.post("/v1/jobs", json=body)
            assert resp.status_code == 403, (url, resp.text)
            error = resp.json()["error"]
            assert error["code"] == "forbidden_destination"
            assert reason in error["message"], (url, error["message"])
    assert api.client.get("/v1/jobs").json()["jobs"] == []  # no job, so no download


@pytest.mark.parametrize(
    "target",
    ["[::ffff:0:127.0.0.1]", "[::127.0.0.1]", "[2002:7f00:1::1]"],
)
def test_a_redirect_to_an_ipv6_form_is_refused_by_the_worker(
    api_factory: Any, loopback: LoopbackServer, target: str
) -> None:
    """127.0.0.1 is open, but not the translated, compatible or 6to4 forms that carry it:
    the worker refuses the hop before connecting."""
    api = api_factory(workers=1, DARKROOM_OUTBOUND_ALLOW="127.0.0.1", DARKROOM_MAX_ATTEMPTS="1")

    def away(handler: Any) -> None:
        handler.send_response(302)
        handler.send_header("Location", f"http://{target}:{loopback.port}/a.jpg")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    loopback.routes["/away"] = away
    job = api.wait_job(api.submit({"source": {"url": loopback.url("/away")}})["id"])
    assert (job["status"], job["error"]["code"]) == ("failed", "forbidden_destination")
    assert "loopback (inside" in job["error"]["message"]
    assert loopback.hits == {"/away": 1}
