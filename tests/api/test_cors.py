"""CORS (DARKROOM_CORS_ORIGINS, darkroom/api/cors.py): a browser on a listed origin may call
the API and the event stream and read the headers clients need; any other origin gets no
CORS header, and without the setting no origin does."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from darkroom.api import cors
from tests.helpers import make_image, on_sqlite

APP = "https://app.example.com"
DEV = "http://localhost:5173"


def _preflight(api: Any, path: str, origin: str, method: str = "POST") -> Any:
    return api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, x-api-key, authorization",
        },
    )


def _listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


@on_sqlite  # the subject is the HTTP answer, not the engines
def test_listed_origins_may_call_the_api_and_read_its_headers(api_factory: Any) -> None:
    api = api_factory(workers=0, DARKROOM_CORS_ORIGINS=f"{APP}, {DEV}/")
    for origin in (APP, DEV):  # the trailing slash of the setting is dropped
        answer = _preflight(api, "/v1/jobs", origin)
        assert answer.status_code == 200, origin
        assert answer.headers["access-control-allow-origin"] == origin
        assert {"get", "post", "put", "patch", "delete"} <= _listed(
            answer.headers["access-control-allow-methods"]
        )
        allowed = _listed(answer.headers["access-control-allow-headers"])
        assert {"authorization", "x-api-key", "content-type", "last-event-id", "prefer"} <= allowed
        assert "access-control-allow-credentials" not in answer.headers  # keys, not cookies
        assert int(answer.headers["access-control-max-age"]) > 0

    image = base64.b64encode(make_image(40, 30)).decode()
    created = api.client.post(
        "/v1/jobs", json={"source": {"base64": image}}, headers={"Origin": APP}
    )
    assert created.status_code == 202
    assert created.headers["access-control-allow-origin"] == APP
    exposed = _listed(created.headers["access-control-expose-headers"])
    assert {
        "location",
        "etag",
        "retry-after",
        "idempotent-replayed",
        "preference-applied",
    } <= exposed
    assert created.headers["location"].endswith(f"/v1/jobs/{created.json()['id']}")

    # the event stream: canceled, the job's stream is its last event, then the end
    job_id = created.json()["id"]
    assert api.client.delete(f"/v1/jobs/{job_id}").status_code == 200
    stream = api.client.get(f"/v1/jobs/{job_id}/events", headers={"Origin": APP})
    assert stream.status_code == 200 and "event: status" in stream.text
    assert stream.headers["access-control-allow-origin"] == APP
    # errors too: a browser can read why it was refused
    missing = api.client.get("/v1/jobs/nope", headers={"Origin": APP})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == APP


@on_sqlite  # the subject is the HTTP answer, not the engines
def test_other_origins_get_no_cors_headers(api_factory: Any) -> None:
    api = api_factory(workers=0, DARKROOM_CORS_ORIGINS=APP)
    for origin in ("https://evil.example", "https://app.example.com.evil.example", DEV):
        refused = _preflight(api, "/v1/jobs", origin)
        assert refused.status_code == 400, origin  # Starlette: "Disallowed CORS origin"
        assert "access-control-allow-origin" not in refused.headers
        plain = api.client.get("/v1/jobs", headers={"Origin": origin})
        assert plain.status_code == 200  # answered, but the browser keeps it from the page
        assert "access-control-allow-origin" not in plain.headers


@on_sqlite  # the subject is the HTTP answer, not the engines
def test_off_by_default(api_factory: Any) -> None:
    api = api_factory(workers=0)
    preflight = _preflight(api, "/v1/jobs", APP)
    assert preflight.status_code == 405  # no preflight answered: OPTIONS is no route's
    assert preflight.headers["allow"] == "GET, POST"
    assert not any(name.startswith("access-control-") for name in preflight.headers)
    plain = api.client.get("/v1/jobs", headers={"Origin": APP})
    assert plain.status_code == 200
    assert not any(name.startswith("access-control-") for name in plain.headers)


def test_the_setting_names_origins() -> None:
    assert cors.origins("") == []
    assert cors.origins(f" {APP}/ ,, {DEV} ") == [APP, DEV]
    assert cors.origins("*") == ["*"]
    for wrong in ("app.example.com", "https://app.example.com/ui", "ftp://files.example"):
        with pytest.raises(ValueError, match="is not an origin"):
            cors.origins(wrong)
