"""DARKROOM_AUTH=keys (docs/security.md): API keys, each key's own jobs, admin keys, signed
output links; and DARKROOM_AUTH=none keeping the API as it was."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from darkroom.api.output_links import LinkSigner
from darkroom.store.api_keys import ApiKeyStore
from tests.helpers import make_image, on_sqlite
from tests.inprocess import InProcessDarkroom
from tests.keys import ADMIN_TOKEN, as_key, keyed_api

pytestmark = on_sqlite


@pytest.fixture
def keyed(api_factory: Any) -> Iterator[tuple[InProcessDarkroom, ApiKeyStore]]:
    """An API with DARKROOM_AUTH=keys, and the store its keys are made in."""
    with keyed_api(api_factory, workers=1) as found:
        yield found


def _submit(api: InProcessDarkroom, key: str, **spec: Any) -> dict[str, Any]:
    files = {"file": ("a.jpg", make_image(64, 48), "application/octet-stream")}
    form = {"spec": json.dumps(spec)} if spec else None
    resp = api.client.post("/v1/jobs", files=files, data=form, headers={"X-API-Key": key})
    assert resp.status_code == 202, resp.text
    job: dict[str, Any] = resp.json()
    return job


def _wait(api: InProcessDarkroom, key: str, job_id: str) -> dict[str, Any]:
    for _ in range(300):
        job: dict[str, Any] = api.client.get(f"/v1/jobs/{job_id}", headers=as_key(key)).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} unfinished")


def _code(resp: httpx.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_keys_see_only_their_own_jobs_and_admins_see_all(
    keyed: tuple[InProcessDarkroom, ApiKeyStore],
) -> None:
    api, store = keyed
    _, alice = store.create("alice")
    _, bob = store.create("bob")
    _, admin = store.create("ops", admin=True)
    mine = _submit(api, alice, idempotency_key="order-1")
    theirs = _submit(api, bob)
    done = _wait(api, alice, mine["id"])
    assert done["status"] == "succeeded"
    _wait(api, bob, theirs["id"])

    listed = api.client.get("/v1/jobs", headers=as_key(alice)).json()["jobs"]
    assert [j["id"] for j in listed] == [mine["id"]]
    base = f"/v1/jobs/{mine['id']}"
    for method, path in [
        ("GET", base),
        ("GET", f"{base}/outputs/default"),
        ("GET", f"{base}/events"),
        ("POST", f"{base}/retry"),
        ("POST", f"{base}/webhook/redeliver"),
        ("DELETE", base),
    ]:
        refused = api.client.request(method, path, headers=as_key(bob))
        assert _code(refused) == (404, "not_found"), (method, path)
        unknown = api.client.request(method, path.replace(mine["id"], "no-such-job"))
        assert unknown.status_code == 401  # without a key: nothing to compare
        unknown = api.client.request(
            method, path.replace(mine["id"], "no-such-job"), headers=as_key(bob)
        )
        assert (
            unknown.json()["error"]["message"].replace("no-such-job", mine["id"])
            == (refused.json()["error"]["message"])
        )  # another key's job reads exactly as one that does not exist
    # the owner gets through to the job: its state decides
    assert _code(api.client.post(f"{base}/retry", headers=as_key(alice))) == (409, "invalid_state")
    redeliver = api.client.post(f"{base}/webhook/redeliver", headers=as_key(alice))
    assert _code(redeliver) == (409, "no_webhook")
    events = api.client.get(f"{base}/events", headers=as_key(alice))
    assert events.status_code == 200 and "succeeded" in events.text
    # an idempotency key another key used is a conflict, not that key's job
    files = {"file": ("a.jpg", make_image(64, 48), "application/octet-stream")}
    replay = api.client.post(
        "/v1/jobs",
        files=files,
        data={"spec": '{"idempotency_key": "order-1"}'},
        headers=as_key(bob),
    )
    assert _code(replay) == (409, "idempotency_conflict")

    for key in (admin, ADMIN_TOKEN):  # an admin key, and DARKROOM_ADMIN_TOKEN
        everyone = api.client.get("/v1/jobs", headers=as_key(key)).json()["jobs"]
        assert {j["id"] for j in everyone} == {mine["id"], theirs["id"]}
        assert api.client.get(f"/v1/jobs/{theirs['id']}", headers=as_key(key)).status_code == 200
    deleted = api.client.delete(base, headers={"X-API-Key": alice})
    assert deleted.status_code == 200 and deleted.json()["artifacts_deleted"] is True


def test_admin_routes_need_an_admin_key(keyed: tuple[InProcessDarkroom, ApiKeyStore]) -> None:
    api, store = keyed
    _, user = store.create("user")
    _, admin = store.create("admin", admin=True)
    resize = {"workers": 1}
    no_key = api.client.put("/v1/admin/workers", json=resize)
    assert _code(no_key) == (401, "missing_api_key")
    assert no_key.headers["www-authenticate"] == "Bearer"
    user_put = api.client.put("/v1/admin/workers", json=resize, headers=as_key(user))
    assert _code(user_put) == (403, "admin_required")
    # allowed through: this process runs no pool (in-process workers are threads)
    for key in (admin, ADMIN_TOKEN):
        allowed = api.client.put("/v1/admin/workers", json=resize, headers=as_key(key))
        assert _code(allowed) == (409, "no_pool")
        assert api.client.get("/v1/admin/workers", headers={"X-API-Key": key}).status_code == 409


def test_missing_invalid_and_revoked_keys_are_refused(
    keyed: tuple[InProcessDarkroom, ApiKeyStore],
) -> None:
    api, store = keyed
    _, key = store.create("soon-gone")
    assert api.client.get("/v1/jobs", headers=as_key(key)).status_code == 200
    assert api.client.get("/v1/stats", headers=as_key(key)).status_code == 200
    missing = api.client.get("/v1/jobs")
    assert _code(missing) == (401, "missing_api_key")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert _code(api.client.get("/v1/stats")) == (401, "missing_api_key")
    upload = api.client.post("/v1/jobs", json={"source": {"url": "https://example.com/a.jpg"}})
    assert _code(upload) == (401, "missing_api_key")
    wrong = api.client.get("/v1/jobs", headers={"X-API-Key": key + "x"})
    assert _code(wrong) == (401, "invalid_api_key")
    assert wrong.headers["www-authenticate"] == "Bearer"
    store.revoke("soon-gone")
    assert _code(api.client.get("/v1/jobs", headers=as_key(key))) == (401, "invalid_api_key")
    # open without a key: health, readiness and the API's description
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs"):
        assert api.client.get(path).status_code == 200, path
    schema = api.client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key.",
    }
    assert {"HTTPBearer": []} in schema["paths"]["/v1/jobs"]["get"]["security"]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_signed_output_links(keyed: tuple[InProcessDarkroom, ApiKeyStore]) -> None:
    api, store = keyed
    _, key = store.create("owner")
    job = _wait(api, key, _submit(api, key)["id"])
    url = job["outputs"][0]["url"]
    assert job["links"]["outputs"]["default"] == url
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"expires", "sig"}
    assert int(query["expires"][0]) > time.time() + 3000  # DARKROOM_OUTPUT_LINK_TTL_S: 3600

    signed = api.client.get(_path(url))  # no key
    assert signed.status_code == 200 and signed.headers["content-type"] == "image/webp"
    converted = api.client.get(_path(url) + "&format=png&width=32")  # variants: path signed
    assert converted.status_code == 200 and converted.content.startswith(b"\x89PNG")
    plain = f"/v1/jobs/{job['id']}/outputs/default"
    assert api.client.get(plain, headers=as_key(key)).status_code == 200  # a key needs no link
    assert _code(api.client.get(plain)) == (401, "missing_api_key")

    sig, expires = query["sig"][0], int(query["expires"][0])
    altered_sig = f"{plain}?expires={expires}&sig={sig[:-2]}AA"
    longer = f"{plain}?expires={expires + 1}&sig={sig}"
    elsewhere = f"/v1/jobs/{job['id']}/outputs/other?expires={expires}&sig={sig}"
    for tampered in (altered_sig, longer, elsewhere, f"{plain}?sig={sig}", f"{plain}?expires=1"):
        assert _code(api.client.get(tampered)) == (403, "invalid_signature"), tampered
    # signed with the shared secret, as every API process signs, an hour ago
    old = LinkSigner(store.link_secret(), 60).query(job["id"], "default", now=time.time() - 3600)
    assert _code(api.client.get(f"{plain}?{old}")) == (403, "link_expired")
    fresh = LinkSigner(store.link_secret(), 60).query(job["id"], "default")
    assert api.client.get(f"{plain}?{fresh}").status_code == 200


def test_without_access_control_everything_is_as_before(api_factory: Any) -> None:
    api: InProcessDarkroom = api_factory(workers=0, DARKROOM_ADMIN_TOKEN=ADMIN_TOKEN)
    job = api.upload(make_image(32, 32)).json()
    assert api.client.get(f"/v1/jobs/{job['id']}").status_code == 200
    assert [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]] == [job["id"]]
    assert "?" not in job["links"]["outputs"]["default"]  # plain links
    assert _code(api.client.get("/v1/admin/workers")) == (401, "unauthorized")
    assert _code(api.client.get("/v1/admin/workers", headers=as_key(ADMIN_TOKEN))) == (
        409,
        "no_pool",
    )
