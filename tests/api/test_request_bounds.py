"""Numbers and names out of range are a 4xx, never a 500: none reaches a date, a database
column or a 64-bit integer it would overflow (jobs/bounds.py, docs/security.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from darkroom.config import Settings
from darkroom.jobs.bounds import MAX_RETENTION_S
from tests.helpers import make_image, on_sqlite

# PostgreSQL's columns are narrower than SQLite's (retention_s is a 32-bit INTEGER) and it
# refuses a NUL in text: what is taken must be taken by both.
on_both = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def error_of(resp: Any) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


def _inline() -> dict[str, str]:
    return {"base64": base64.b64encode(make_image(32, 32)).decode()}


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@on_both
def test_retention_is_bounded_and_the_bound_works(api_factory: Any) -> None:
    api = api_factory(workers=1)
    for retention in (MAX_RETENTION_S + 1, 300_000_000_000, 10**30, 0):
        answer = api.client.post("/v1/jobs", json={"source": _inline(), "retention_s": retention})
        assert error_of(answer) == (422, "invalid_request"), retention
        assert answer.json()["error"]["details"][0]["loc"] == ["retention_s"]
    # the longest retention taken: the job finishes, is listed, shown and deleted
    job = api.submit({"source": _inline(), "retention_s": MAX_RETENTION_S})
    done = api.wait_job(job["id"])
    assert done["status"] == "succeeded" and done["expires_at"].startswith("20")
    listed = api.client.get("/v1/jobs")
    assert listed.status_code == 200 and listed.json()["jobs"][0]["id"] == job["id"]
    deleted = api.client.delete(f"/v1/jobs/{job['id']}")
    assert deleted.status_code == 200 and deleted.json()["artifacts_deleted"] is True


def test_the_retention_setting_is_bounded_alike() -> None:
    assert Settings(retention_s=MAX_RETENTION_S).retention_s == MAX_RETENTION_S
    with pytest.raises(ValidationError, match="retention_s"):
        Settings(retention_s=MAX_RETENTION_S + 1)


@on_both
def test_listing_queries_out_of_range(api_factory: Any) -> None:
    api = api_factory(workers=0)
    job = api.submit({"source": _inline(), "labels": {"album": "summer"}})
    bad_cursors = [
        b"[" + b"1" * 400 + b', "x"]',  # past any float, once a 500
        b'[1e400, "x"]',  # infinity
        b'[NaN, "x"]',
        b'[1.0, {"id": 1}]',
        b"[" * 5000,  # nested past the parser's depth
    ]
    for raw in bad_cursors:
        answer = api.client.get("/v1/jobs", params={"cursor": _cursor(raw)})
        assert error_of(answer) == (422, "invalid_cursor"), raw[:20]
    # the first and last instants a date can name, with or without an offset
    for bound in ("0001-01-01T00:00:00", "0001-01-01", "0001-01-01T00:00:00+05:00"):
        page = api.client.get("/v1/jobs", params={"created_after": bound})
        assert [j["id"] for j in page.json()["jobs"]] == [job["id"]], bound
    for bound in ("9999-12-31T23:59:59", "9999-12-31T23:59:59-23:00"):
        page = api.client.get("/v1/jobs", params={"created_before": bound})
        assert [j["id"] for j in page.json()["jobs"]] == [job["id"]], bound
    assert error_of(api.client.get("/v1/jobs", params={"created_after": "1e20"})) == (
        422,
        "invalid_request",
    )
    assert error_of(api.client.get("/v1/jobs", params={"limit": 2**63})) == (
        422,
        "invalid_request",
    )
    # NUL, which PostgreSQL refuses in a query: a label filter, a job's id
    assert error_of(api.client.get("/v1/jobs", params={"label": "album:\x00"})) == (
        422,
        "invalid_label",
    )
    for method in ("GET", "DELETE"):
        answer = api.client.request(method, "/v1/jobs/a%00b")
        assert error_of(answer) == (404, "not_found"), method
    assert error_of(api.client.post("/v1/jobs/a%00b/retry")) == (404, "not_found")


@on_both
def test_text_the_store_keeps_in_its_columns(api_factory: Any) -> None:
    api = api_factory(workers=0)
    requests = [
        {"labels": {"album": "sum\x00mer"}},
        {"labels": {"al\x00bum": "summer"}},
        {"idempotency_key": "key\x00"},
    ]
    for extra in requests:
        answer = api.client.post("/v1/jobs", json={"source": _inline(), **extra})
        assert error_of(answer) == (422, "invalid_request"), extra
        assert "NUL" in json.dumps(answer.json())
    assert sum(api.client.get("/v1/stats").json()["jobs"].values()) == 0


@on_both
def test_path_sources_that_no_file_system_can_name(api_factory: Any, tmp_path: Path) -> None:
    root = tmp_path / "input"
    root.mkdir()
    (root / "page.jpg").write_bytes(make_image(64, 64))
    api = api_factory(workers=0, DARKROOM_INPUT_ROOT=str(root), DARKROOM_DIALECTS="smartcrop@/sc")
    unnameable = [
        "page\x00.jpg",  # a NUL
        "a" * 300 + ".jpg",  # a component over NAME_MAX
        "/".join(["abcdefgh"] * 600),  # a whole path over PATH_MAX
    ]
    for path in unnameable:
        answer = api.client.post("/v1/jobs", json={"source": {"path": path}})
        assert error_of(answer) == (422, "invalid_path"), path[:20]
    # the smartcrop service skipped paths it could not look up; the job lists them
    queued = api.client.post("/sc/thumbnail", json={"image_paths": ["page.jpg", *unnameable]})
    assert queued.status_code == 202, queued.text
    assert queued.json()["skipped_paths"][0] == "page\ufffd.jpg"  # its NUL, shown
    assert len(queued.json()["skipped_paths"]) == 3
    shown = api.client.get(f"/sc/job/{queued.json()['job_id']}")
    assert (shown.status_code, shown.json()["status"]) == (200, "queued")  # kept and read back
    alone = api.client.post("/sc/thumbnail", json={"image_path": "page\x00.jpg"})
    assert alone.status_code == 400 and set(alone.json()) == {"error"}


@on_both
def test_thumbforge_offset_and_limit_past_int64(api_factory: Any) -> None:
    api = api_factory(workers=0, DARKROOM_DIALECTS="thumbforge@/tf")
    for name in ("offset", "limit"):
        answer = api.client.get("/tf/v1/images", params={name: 2**63})
        assert answer.status_code == 422, name
        (problem,) = answer.json()["detail"]
        assert (problem["loc"], problem["type"]) == (["query", name], "less_than_equal")
    last = api.client.get("/tf/v1/images", params={"offset": 2**63 - 1})
    assert last.status_code == 200
    assert last.json()["pagination"] == {
        "total": 0,
        "limit": 20,
        "offset": 2**63 - 1,
        "has_more": False,
    }
    dated = api.client.get("/tf/v1/images", params={"created_after": "0001-01-01T00:00:00"})
    assert dated.status_code == 200


@on_sqlite
def test_greenvue_intervals_past_a_go_duration(api_factory: Any) -> None:
    """Go's time.ParseDuration refused a duration past 2**63 ns; darkroom took them, stored
    them, and every later view of the job was a 500."""
    api = api_factory(workers=0, DARKROOM_DIALECTS="greenvue@/gv")
    job = {"id": "process-image-queue", "type": "process_images"}
    for interval in ("99999999999999999999h", "9" * 400 + "h", "2562048h"):
        answer = api.client.post("/gv/api/jobs", json={**job, "interval": interval})
        assert answer.status_code == 400, interval
        assert answer.json()["success"] is False
        assert "at most 2562047h47m16s" in answer.json()["message"]
    longest = api.client.post("/gv/api/jobs", json={**job, "interval": "2562047h47m16s"})
    assert longest.status_code == 201
    shown = api.client.get("/gv/api/jobs")
    assert shown.status_code == 200
    assert shown.json()["data"][0]["interval"] == "2562047h47m16s"
