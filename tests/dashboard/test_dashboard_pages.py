"""The dashboard's page, files and sign-in, in process (docs/dashboard.md, docs/security.md)."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.helpers import make_image, on_sqlite
from tests.inprocess import InProcessDarkroom
from tests.keys import as_key, keyed_api

SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, not a place anything is loaded from
FILES = ["/dashboard", "/dashboard/static/dashboard.js", "/dashboard/static/dashboard.css"]


@on_sqlite
def test_the_page_and_its_files_are_served_and_load_nothing_from_elsewhere(
    api_factory: Any,
) -> None:
    api: InProcessDarkroom = api_factory(workers=0)
    for path in FILES:
        resp = api.client.get(path)
        assert resp.status_code == 200, (path, resp.text)
        addresses = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+", resp.text))
        assert addresses <= {SVG_NAMESPACE.rsplit("/", 1)[0].rsplit("/", 1)[0]}, (path, addresses)
    page = api.client.get("/dashboard")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/dashboard/static/dashboard.js"' in page.text
    assert api.client.get("/dashboard/static/secret.py").status_code == 404
    assert not [p for p in api.client.get("/openapi.json").json()["paths"] if "dashboard" in p]


@on_sqlite
def test_its_reads_give_the_charts_the_sources_and_the_api(api_factory: Any) -> None:
    api: InProcessDarkroom = api_factory(workers=1)
    picture = make_image(90, 60, "png")
    cover = {"name": "cover", "op": "cover", "width": 30, "height": 30, "gravity": "auto"}
    job = api.submit({"source": {"base64": base64.b64encode(picture).decode()}, "outputs": [cover]})
    assert api.wait_job(job["id"])["status"] == "succeeded"

    overview = api.client.get("/dashboard/api/overview").json()
    assert len(overview["minutes"]) == 60
    assert sum(m["created"] for m in overview["minutes"]) == 1
    assert sum(m["finished"] for m in overview["minutes"]) == 1
    assert overview["queue_depth"] == 0 and overview["workers"], overview

    source = api.client.get(f"/dashboard/api/jobs/{job['id']}/sources/0")
    assert source.content == picture and source.headers["content-type"] == "image/png"
    detail = api.client.get(f"/dashboard/api/v1/jobs/{job['id']}").json()
    assert detail["outputs"][0]["crop"]["width"] == 60
    output = api.client.get(f"/dashboard/api/v1/jobs/{job['id']}/outputs/cover")
    assert output.status_code == 200 and output.content[:4] == b"\x89PNG"


@on_sqlite
def test_with_keys_the_dashboard_needs_an_admin_key_kept_in_a_strict_cookie(
    api_factory: Any,
) -> None:
    with keyed_api(api_factory, workers=0) as (api, store):
        _, user = store.create("user")
        _, admin = store.create("ops", admin=True)
        client = api.client
        refused = client.get("/dashboard")
        assert refused.status_code == 401 and 'action="/dashboard/login"' in refused.text
        assert "dashboard.js" not in refused.text
        for path in ["/dashboard/api/overview", "/dashboard/api/v1/jobs"]:
            assert client.get(path).status_code == 401
            assert client.get(path, headers=as_key(admin)).status_code == 401  # the cookie only

        assert client.post("/dashboard/login", data={"key": user}).status_code == 401
        assert client.post("/dashboard/login", data={"key": "nonsense"}).status_code == 401
        signed = client.post("/dashboard/login", data={"key": admin}, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
        cookie = signed.headers["set-cookie"].lower()
        for part in ["httponly", "samesite=strict", "path=/dashboard"]:
            assert part in cookie, cookie

        assert client.get("/dashboard").status_code == 200
        assert client.get("/dashboard/api/overview").status_code == 200
        queued = client.post(
            "/v1/jobs",
            headers=as_key(user),
            json={
                "source": {"base64": base64.b64encode(make_image(20, 20)).decode()},
                "outputs": [{"name": "t", "op": "thumbnail", "width": 10}],
            },
        ).json()
        listed = client.get("/dashboard/api/v1/jobs").json()["jobs"]
        assert [j["id"] for j in listed] == [queued["id"]]  # an admin sees every key's jobs
        retry = f"/dashboard/api/v1/jobs/{queued['id']}/retry"
        assert client.post(retry).status_code == 403  # a change must say it is the dashboard's
        changed = client.post(retry, headers={"X-Darkroom-Dashboard": "1"})
        assert changed.status_code == 409, changed.text  # reached the API: not failed

        store.revoke("ops")  # the cookie's key is checked on each request
        assert client.get("/dashboard").status_code == 401
        out = client.post("/dashboard/logout", follow_redirects=False)
        assert 'darkroom_dashboard=""' in out.headers["set-cookie"], out.headers
