"""/docs and /redoc work without internet: their pages name no other host, and every
script and stylesheet they load is served by darkroom itself."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers import on_sqlite

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ABSOLUTE_URL = re.compile(r"https?://[^\s\"'<>)]+")
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@on_sqlite
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_elsewhere(api_factory: Any, page: str) -> None:
    api = api_factory(workers=0)
    resp = api.client.get(page)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    html = resp.text
    own = str(api.client.base_url).rstrip("/")
    foreign = [url for url in ABSOLUTE_URL.findall(html) if not url.startswith(own)]
    assert foreign == []
    assets = ASSET.findall(html)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        served = api.client.get(asset)
        assert served.status_code == 200, asset
        suffix = asset[asset.rfind(".") :]
        assert CONTENT_TYPES[suffix] in served.headers["content-type"], asset
        assert len(served.content) > 0
    assert "/openapi.json" in html
    assert api.client.get("/openapi.json").json()["info"]["title"] == "darkroom"


@on_sqlite
def test_the_docs_pages_are_not_in_the_api_description(api_factory: Any) -> None:
    api = api_factory(workers=0)
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
